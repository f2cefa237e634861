"""``deidentify check``: show that a folder is clean and valid DICOM.

:func:`check_folder` scans every element of every file under a folder --
sequences at any depth, private and UN elements, the file meta, the path --
with the scanners of :mod:`.scanners`, optionally against the source the
folder was made from; :func:`verify_output` does the same for one output and
its input, for ``run --verify``.  Findings name the file, the element and the
detector, and show a value only as its class and length.
"""

from .findings import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, SEVERITIES, Finding
from .runner import CheckReport, check_folder, verify_output
from .scanners import SCANNER_NAMES
from .source_index import SourceIndex

__all__ = [
    "EXIT_CLEAN",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "SCANNER_NAMES",
    "SEVERITIES",
    "CheckReport",
    "Finding",
    "SourceIndex",
    "check_folder",
    "verify_output",
]
