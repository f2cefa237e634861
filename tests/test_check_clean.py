"""`run` under clean-descriptors scrubs free text with the check's detectors: the identifying
words go, the clinical words stay."""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest

from deidentify.batch import run
from deidentify.checker.elements import iter_elements
from deidentify.keys import Keyring
from deidentify.profile import load_profile
from deidentify.sample import SampleManifest
from deidentify.source import walk

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_synthetic"
STUDIES = SAMPLE / "studies"
KEY = bytes(range(32))
_WORD = re.compile(r"[^\W\d_]{3,}")


@pytest.fixture(scope="module")
def cleaned_pairs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str]]:
    """(element path, source text, cleaned text) of every free-text element research cleaned."""
    out = tmp_path_factory.mktemp("clean") / "research"
    run(STUDIES, out, load_profile("research"), KEY)
    outputs = {pydicom.dcmread(p).SOPInstanceUID: p for p in out.rglob("*.dcm")}
    keyring, pairs = Keyring(KEY), []
    for path in walk(STUDIES):
        source = pydicom.dcmread(path, force=True)
        target = outputs.get(keyring.uid(source.SOPInstanceUID))
        if target is None:
            continue
        before = {e.path: e.text for e in iter_elements(source) if e.free and e.text}
        after = {e.path: e.text for e in iter_elements(pydicom.dcmread(target)) if e.free and e.text}
        pairs += [(p, before[p], after[p]) for p in before.keys() & after.keys() if _cleaned_from(after[p], before[p])]
    return pairs


def _cleaned_from(cleaned: str, source: str) -> bool:
    """True when ``cleaned`` is ``source`` with spans replaced by ``***`` (content items that
    clean-structured-content removes shift the SR tree, so equal paths may hold other texts)."""
    if "***" not in cleaned:
        return False
    pattern = ".+?".join(re.escape(part) for part in cleaned.split("***"))
    return re.fullmatch(pattern, source, re.DOTALL) is not None


def _identifying_words() -> set[str]:
    manifest = SampleManifest.load(SAMPLE)
    return {w.casefold() for p in manifest.planted for w in _WORD.findall(p.value)}


def test_identifying_values_are_cut_out(cleaned_pairs) -> None:
    assert len(cleaned_pairs) > 100
    planted = [p.value for p in SampleManifest.load(SAMPLE).planted if len(p.value) >= 4]
    for path, _, cleaned in cleaned_pairs:
        assert not [v for v in planted if v in cleaned or v.replace("^", " ") in cleaned], path


def test_clinical_words_survive(cleaned_pairs) -> None:
    identifying = _identifying_words() | {"radiology"}  # a department name of one site: an own value
    kept = lost = 0
    for path, source, cleaned in cleaned_pairs:
        for word in _WORD.findall(source):
            if word.casefold() in identifying:
                continue
            if word in cleaned:
                kept += 1
            else:
                lost += 1
                pytest.fail(f"{path}: a clinical word was cut out")
    assert kept > 300 and lost == 0


def test_names_and_addresses_no_element_holds_are_cut_out_too(tmp_path: Path) -> None:
    """The own-value detector cannot know a sister's name or a street no element holds; the
    person-name and address detectors that ``check`` uses can."""
    source = next(p for p in walk(STUDIES) if "CT_" in str(p))
    ds = pydicom.dcmread(source, force=True)
    ds.ImageComments = "Came with her sister Maria Gonzalez from 12 Main St., Springfield, IL 62704; no contrast."
    (tmp_path / "src").mkdir()
    ds.save_as(tmp_path / "src" / "one.dcm")
    run(tmp_path / "src", tmp_path / "out", load_profile("research"), KEY)
    (written,) = (tmp_path / "out").rglob("*.dcm")
    assert pydicom.dcmread(written).ImageComments == "Came with her sister *** from ***; no contrast."
