"""scrub() and default_detectors()."""

import pytest
from pydicom import Dataset

from deidentify.detect import (
    DateDetector,
    EmailDetector,
    Finding,
    OwnValuesDetector,
    PhoneDetector,
    default_detectors,
    scrub,
)


class Spans:
    """A detector that reports fixed spans, to test merging on its own."""

    def __init__(self, *findings: Finding) -> None:
        self.findings = findings

    def find(self, text: str) -> tuple[Finding, ...]:
        return self.findings


@pytest.mark.parametrize(
    "text",
    [
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "MR brain T2 FLAIR, 3.0 T, 512 x 512 matrix, 120 slices of 1.5 mm",
        "Dose 3.5 mSv, DLP 1200.4 mGy*cm, CTDIvol 12.1 mGy, kVp 120, 250 mAs",
        "BP 120/80, WW/WL 400/40, lesion 12 x 8 mm at C5-C6, HU range 1000-2000",
        "Follow-up at 3/6/12 months; compare with prior (series 2, image 45)",
        "SOP Class 1.2.840.10008.5.1.4.1.1.2, transfer syntax 1.2.840.10008.1.2.1",
        "Contrast: 80 ml Omnipaque 350 at 4 ml/s, delay 70 s",
        "",
    ],
)
def test_clinical_text_comes_out_unchanged(text: str) -> None:
    assert scrub(text, default_detectors()) == (text, [])


def test_identifying_parts_are_removed_and_reported() -> None:
    text = (
        "Call +44 20 7946 0958 or mail j.doe@example.org. NHS 943 476 5919, "
        "SSN 123-45-6789, DOB 31 Jan 1980. CT chest, 5 mm slices."
    )
    cleaned, findings = scrub(text, default_detectors())
    assert cleaned == "Call *** or mail ***. NHS ***, SSN ***, DOB ***. CT chest, 5 mm slices."
    assert {f.kind for f in findings} == {"phone", "email", "uk-nhs", "us-ssn", "date"}
    assert findings == sorted(findings)


@pytest.mark.parametrize(
    "written, kind",
    [
        ("2345 6789 0124", "in-aadhaar"),
        ("8001015009087", "za-id"),
        ("2 95 10 99 126 111 93", "fr-nir"),
        ("130 692 544", "ca-sin"),
    ],
)
def test_default_detectors_cover_every_national_id(written: str, kind: str) -> None:
    cleaned, findings = scrub(f"id {written} ok", default_detectors())
    assert cleaned == "id *** ok"
    assert kind in {f.kind for f in findings}


def test_default_detectors_are_the_pattern_detectors() -> None:
    detectors = default_detectors()
    # The national identifiers run as one detector of many kinds (NationalIdDetector.kinds).
    kinds = {kind for d in detectors for kind in (d.kinds if hasattr(d, "kinds") else (d.kind,))}
    assert kinds == {
        "phone", "email", "us-ssn", "uk-nhs", "in-aadhaar", "za-id", "fr-nir", "ca-sin", "date",
        "person-name", "address",
        "de-idnr", "nl-bsn", "be-nn", "se-personnummer", "dk-cpr", "no-fodselsnummer", "es-dni", "es-nie",
        "it-codicefiscale", "br-cpf", "cn-ric", "fi-hetu",
    }


def test_overlapping_and_touching_spans_become_one_replacement() -> None:
    text = "0123456789abcdef"
    detector = Spans(
        Finding(2, 6, "a"), Finding(4, 8, "b"), Finding(8, 10, "c"), Finding(12, 14, "d")
    )
    cleaned, findings = scrub(text, [detector])
    assert cleaned == "01#ab#ef".replace("#", "***")
    assert [f.kind for f in findings] == ["a", "b", "c", "d"]


def test_nested_span_and_duplicates() -> None:
    detector = Spans(Finding(1, 9, "outer"), Finding(3, 5, "inner"), Finding(3, 5, "inner"))
    cleaned, findings = scrub("0123456789", [detector, detector])
    assert cleaned == "0***9"
    assert findings == [Finding(1, 9, "outer"), Finding(3, 5, "inner")]


def test_custom_replacement() -> None:
    cleaned, _ = scrub("mail a@b.org now", [EmailDetector()], replacement="[EMAIL]")
    assert cleaned == "mail [EMAIL] now"


def test_pattern_and_own_value_detectors_together() -> None:
    ds = Dataset()
    ds.PatientName = "Ødegård^Åse"
    ds.PatientID = "PID-778899"
    detectors = [*default_detectors(), OwnValuesDetector.from_dataset(ds)]
    text = "Åse Ødegård (PID 778899) called 555-0199 on 2024-01-31 re: CT chest with contrast."
    cleaned, findings = scrub(text, detectors)
    assert cleaned == "*** (***) called *** on *** re: CT chest with contrast."
    assert [f.kind for f in findings] == ["name", "person-name", "id", "phone", "date"]


def test_phone_and_date_detectors_do_not_fight_over_dates() -> None:
    cleaned, findings = scrub("on 2024-01-31", [PhoneDetector(), DateDetector()])
    assert cleaned == "on ***"
    assert [f.kind for f in findings] == ["date"]
