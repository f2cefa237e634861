"""pydicom silenced: its log lines and warnings quote values of the file they complain about (PHI).

Reasons in the report say what matters instead.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def silence_pydicom() -> None:
    """Silence pydicom's logger and every warning for the rest of the process (a worker's whole life)."""
    logging.getLogger("pydicom").disabled = True
    warnings.simplefilter("ignore")


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's logger and warnings while the block runs, then put them back as they were."""
    logger = logging.getLogger("pydicom")
    was_disabled = logger.disabled
    try:
        with warnings.catch_warnings():
            silence_pydicom()
            yield
    finally:
        logger.disabled = was_disabled
