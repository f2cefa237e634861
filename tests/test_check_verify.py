"""verify_output: one de-identified output checked against its input, as `run --verify` will."""

from __future__ import annotations

import logging
import os
import shutil
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from deidentify.checker import verify_output
from deidentify.checker.scanners.validity import errors_of, normalise
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from deidentify.profile.model import CLEAN_PIXEL_DATA_CODE
from deidentify.source import walk

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"
KEY = bytes(range(32))


def _require_dciodvfy() -> None:
    if shutil.which("dciodvfy") is None:
        if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
            pytest.fail("dciodvfy is required (DEIDENTIFY_REQUIRE_TOOLS is set)")
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")


def _pair(profile: str, want=lambda ds: ds.Modality == "CT") -> tuple[bytes, bytes]:
    rules = RuleBook(load_profile(profile))
    for path in walk(STUDIES):
        data = path.read_bytes()
        if want(pydicom.dcmread(BytesIO(data), force=True, stop_before_pixels=True)):
            outcome = deidentify_bytes(data, rules, Keyring(KEY))
            if outcome.status == "written":
                return data, outcome.data  # type: ignore[return-value]
    raise AssertionError("no such input in the sample")


def _bytes(ds: pydicom.Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_a_faithful_output_has_no_finding(profile: str) -> None:
    source, output = _pair(profile)
    assert verify_output(output, source, load_profile(profile)) == []
    assert verify_output(output, source, RuleBook(load_profile(profile))) == []


def test_every_kind_of_leak_is_a_finding_that_quotes_no_value() -> None:
    source, output = _pair("basic")
    original = pydicom.dcmread(BytesIO(source), force=True)
    ds = pydicom.dcmread(BytesIO(output))
    ds.ImageComments = f"MRN {original.PatientID}, phone +44 20 7946 0958"
    ds.FrameOfReferenceUID = original.FrameOfReferenceUID
    ds.PatientIdentityRemoved = "NO"
    findings = verify_output(_bytes(ds), source, load_profile("basic"))
    found = {(f.element, f.detector) for f in findings}
    assert {
        ("ImageComments", "source-id"),
        ("ImageComments", "phone"),
        ("ImageComments", "removed-by-profile"),
        ("FrameOfReferenceUID", "original-uid"),
        ("PatientIdentityRemoved", "identity-not-marked-removed"),
    } <= found
    assert all(f.file == "output" for f in findings)
    shown = " ".join(f"{f.element} {f.value} {f.message}" for f in findings)
    assert original.PatientID not in shown and original.FrameOfReferenceUID not in shown


def test_a_private_element_the_profile_does_not_allow() -> None:
    source, output = _pair("research")
    ds = pydicom.dcmread(BytesIO(output))
    ds.private_block(0x0029, "SOME VENDOR", create=True).add_new(0x01, "LO", "free text")
    findings = verify_output(_bytes(ds), source, load_profile("research"))
    assert {(f.element, f.detector) for f in findings} >= {
        ("(0029,0010)", "removed-by-profile"), ("(0029,1001)", "removed-by-profile")
    }


def test_an_image_that_may_carry_burnt_in_text_is_withheld_by_its_finding() -> None:
    # Its pixels not cleaned: the input itself offered as the output.
    source = next(p for p in walk(STUDIES) if "US_" in str(p)).read_bytes()
    ds = pydicom.dcmread(BytesIO(source), force=True)
    findings = verify_output(source, source, load_profile("basic"))
    assert ("PixelData", "burnt-in-text-risk") in {(f.element, f.detector) for f in findings}
    assert ds.Modality == "US"


@pytest.mark.parametrize("modality", ["US", "OT"])
def test_an_image_whose_burnt_in_text_was_cleaned_has_no_finding(modality: str) -> None:
    source, output = _pair("basic", lambda ds: ds.Modality == modality)
    ds = pydicom.dcmread(BytesIO(output))
    assert ds.BurnedInAnnotation == "NO"
    assert CLEAN_PIXEL_DATA_CODE[0] in {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
    assert ds.PixelData != pydicom.dcmread(BytesIO(source), force=True).PixelData
    assert verify_output(output, source, load_profile("basic")) == []


def test_validity_counts_only_errors_the_source_did_not_have() -> None:
    _require_dciodvfy()
    source, output = _pair("basic")
    broken = pydicom.dcmread(BytesIO(output))
    del broken.Modality  # Type 1 in the General Series module
    findings = [f for f in verify_output(_bytes(broken), source, load_profile("basic")) if f.scanner == "validity"]
    assert findings and all(f.detector == "dciodvfy" and f.severity == "low" for f in findings)
    assert "Modality" in {f.element for f in findings}
    broken_source = pydicom.dcmread(BytesIO(source), force=True)
    del broken_source.Modality
    again = verify_output(_bytes(broken), _bytes(broken_source), load_profile("basic"))
    assert [f for f in again if f.scanner == "validity"] == []


def test_deflated_files_are_checked_in_explicit_little_endian() -> None:
    _require_dciodvfy()
    source, output = _pair("basic", lambda ds: ds.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian)
    assert pydicom.dcmread(BytesIO(output)).file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    assert verify_output(output, source, load_profile("basic")) == []
    errors = errors_of(output)
    assert not any("deflate" in e.lower() or "cannot" in e.lower() for e in errors)


def test_dciodvfy_messages_lose_the_values_they_quote_but_keep_names() -> None:
    line = "Error - Value invalid for this VR - (0x0010,0x0010) PN Patient's Name  PN [1] = <KOEHLER^L> - x"
    assert normalise(line) == "Error - Value invalid for this VR - (0x0010,0x0010) PN Patient's Name PN [1] = <…> - x"
    line = "Warning - Unrecognized defined term <99KMN> for value 1 of attribute <Coding Scheme Designator>"
    assert normalise(line) == ("Warning - Unrecognized defined term <…> for value 1 of attribute "
                               "<Coding Scheme Designator>")
    line = "Error - Missing attribute Type 1C Conditional Element=<Modality> Module=<GeneralSeries>"
    assert normalise(line) == line


def test_nothing_is_logged_or_warned(caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    source, output = _pair("basic")
    ds = pydicom.dcmread(BytesIO(output))
    ds.PatientSize = "1.75"
    data = _bytes(ds)
    assert data.count(b"1.75") == 1
    broken = data.replace(b"1.75", b"1.7x")  # reading it makes pydicom warn, quoting the value
    with caplog.at_level(logging.DEBUG):
        findings = verify_output(broken, source, load_profile("basic"))
    assert findings  # the profile empties PatientSize under basic
    assert "1.7x" not in caplog.text
    assert not [w for w in recwarn if "1.7x" in str(w.message)]
