"""``run --verify``: the checker's view of each output before it is written."""

from __future__ import annotations

from typing import Any

from ..outcome import Outcome, Status
from ..plan import RuleBook


def withhold_unverified(outcome: Outcome, data: bytes, rules: RuleBook, accept: Any = None) -> None:
    """Check a written ``outcome`` against its input ``data``; any finding withholds it, and is its reason.

    ``accept``: a site's :class:`~deidentify.checker.accept.AcceptList`; the findings it accepts withhold nothing.
    """
    from ..checker import verify_output  # the checker's detectors load only when asked for

    assert outcome.data is not None
    findings = verify_output(outcome.data, data, rules, accept=accept)
    if findings:
        outcome.status = Status.WITHHELD
        outcome.reason = "verify: " + "; ".join(sorted({f"{f.element} {f.detector}" for f in findings}))
        outcome.data = None
