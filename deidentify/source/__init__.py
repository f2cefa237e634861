"""The source stage: which files a folder holds (:func:`walk`), and each one read into a dataset or refused
with a reason (:func:`parse_source`).  Reasons never quote a value or a path."""

from .quiet import quiet_pydicom, silence_pydicom
from .read import DICOMDIR_CLASS, Source, SourceError, digest_of, parse_source
from .walk import WalkProblem, walk

__all__ = [
    "DICOMDIR_CLASS",
    "Source",
    "SourceError",
    "WalkProblem",
    "digest_of",
    "parse_source",
    "quiet_pydicom",
    "silence_pydicom",
    "walk",
]
