"""``run --verify``: the checker's view of each output before it is written."""

from __future__ import annotations

from ..outcome import Outcome, Status
from ..plan import RuleBook


def withhold_unverified(outcome: Outcome, data: bytes, rules: RuleBook) -> None:
    """Check a written ``outcome`` against its input ``data``; any finding withholds it, and is its reason."""
    from ..checker import verify_output  # the checker's detectors load only when asked for

    assert outcome.data is not None
    findings = verify_output(outcome.data, data, rules)
    if findings:
        outcome.status = Status.WITHHELD
        outcome.reason = "verify: " + "; ".join(sorted({f"{f.element} {f.detector}" for f in findings}))
        outcome.data = None
