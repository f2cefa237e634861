"""deidentify: remove patient identity from DICOM studies before they leave a hospital.

The Python API (see :mod:`deidentify.api`)::

    import deidentify
    result = deidentify.run("studies", "shareable", profile="research", key="project.key")
    clean = deidentify.deidentify_dataset(ds, profile="basic", key="project.key")
    report = deidentify.check("shareable", against="studies")

Names are imported on first use, so that ``deidentify --help`` starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "run": "api", "deidentify_dataset": "api", "check": "api", "Deidentifier": "api", "NotWritten": "api",
    "load_profile": "profile", "Profile": "profile", "RunResult": "batch", "CheckReport": "checker.runner",
    "DeidentifyError": "errors",
}

__all__ = [
    "CheckReport",
    "Deidentifier",
    "DeidentifyError",
    "NotWritten",
    "Profile",
    "RunResult",
    "__version__",
    "check",
    "deidentify_dataset",
    "load_profile",
    "run",
]

if TYPE_CHECKING:
    from .api import Deidentifier, NotWritten, check, deidentify_dataset, run
    from .batch import RunResult
    from .checker.runner import CheckReport
    from .errors import DeidentifyError
    from .profile import Profile, load_profile


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'deidentify' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
