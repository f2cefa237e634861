"""Shared helpers: a fixed test key and a factory for the context an action sees."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from deidentify.actions import ElementContext, PatientContext
from deidentify.detect.base import Detector
from deidentify.keys import Keyring
from deidentify.profile import Settings

TEST_KEY = bytes(range(32))


@pytest.fixture
def make_ctx() -> Callable[..., ElementContext]:
    """``make_ctx(vr, **kw)``: an :class:`ElementContext` under the test key."""

    def make(
        vr: str,
        *,
        args: Mapping[str, Any] | None = None,
        settings: Settings | None = None,
        day_offset: int = -100,
        patient_key: str = "MRN-123456",
        originals: Mapping[int, str] | None = None,
        detectors: Sequence[Detector] = (),
        key: bytes = TEST_KEY,
    ) -> ElementContext:
        return ElementContext(
            vr=vr,
            keyring=Keyring(key),
            patient=PatientContext(key=patient_key, day_offset=day_offset, originals=dict(originals or {})),
            settings=settings or Settings(),
            args=dict(args or {}),
            detectors=detectors,
        )

    return make
