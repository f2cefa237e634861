"""PersonNameDetector: names in free text without knowing whose; DICOM's words are not names."""

from __future__ import annotations

import pytest

from deidentify.detect import PersonNameDetector, default_detectors, scrub
from deidentify.detect.names_data import name_lists, variants


@pytest.fixture(scope="module")
def detector() -> PersonNameDetector:
    return PersonNameDetector()


def found(detector: PersonNameDetector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in sorted(detector.find(text))]


@pytest.mark.parametrize(
    "text, names",
    [
        ("Lieselotte Köhler, born 07.03.1983.", ["Lieselotte Köhler"]),
        ("Referred by Dr. Anna Schröder. Mother (Jördis Böttcher) had", ["Anna Schröder", "Jördis Böttcher"]),
        ("Mother (Begoña Ibáñez Castaño) had similar complaints", ["Begoña Ibáñez Castaño"]),
        ("Dr. Álvaro Cañizares", ["Álvaro Cañizares"]),
        ("MR HEAD W/O - Begoña Peña Muñoz", ["Begoña Peña Muñoz"]),
        ("Dose Report Lieselotte Köhler", ["Lieselotte Köhler"]),
        ("Follow-up Lieselotte Köhler, DOB 19830307", ["Lieselotte Köhler"]),
        ("Köhler, Lieselotte", ["Köhler, Lieselotte"]),
        ("PENA MUNOZ, BEGONA", ["PENA MUNOZ, BEGONA"]),
        ("KOEHLER LIESELOTTE 19830307", ["KOEHLER LIESELOTTE"]),
        ("YAMADA TAROU 19730312", ["YAMADA TAROU"]),
        ("OESTBY AASE", ["OESTBY AASE"]),
        ("THORAX 5mm Köhler^Lieselotte", ["Köhler^Lieselotte"]),
        ("PID=1\\NAME=KOEHLER^LIESELOTTE\\NID=2", ["KOEHLER^LIESELOTTE"]),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", ["Yamada^Tarou", "山田^太郎", "やまだ^たろう"]),
        ("Schröder^Anna^^Dr.", ["Schröder^Anna^^Dr."]),
        ("山田太郎, born 1973/03/12.", ["山田太郎"]),
        ("Mother (田中由美) had", ["田中由美"]),
        ("mother 山田花子さん", ["山田花子"]),
        ("はなこ様", ["はなこ"]),
        ("Marked by Petra Kühnel", ["Petra Kühnel"]),
        ("Dr. Berg", ["Berg"]),
        ("Sra. Ordóñez", ["Ordóñez"]),
        ("Anna Lena van der Berg", ["Anna Lena van der Berg"]),
    ],
)
def test_names_are_found_in_many_scripts_and_layouts(detector, text: str, names: list[str]) -> None:
    assert found(detector, text) == names
    assert {f.kind for f in detector.find(text)} == {"person-name"}


@pytest.mark.parametrize(
    "text",
    [
        "CT THORAX W/O CONTRAST",
        "Diagnostic Imaging Report",
        "Person Observer Name",
        "Key Images",
        "Basic Application Confidentiality Profile",
        "Retain Longitudinal Temporal Information Modified Dates Option",
        "Unremarkable. Discussed with Dr. *** by phone; patient reachable at ***.",
        "GE MEDICAL SYSTEMS",
        "Sakura General Hospital",
        "Klinikum Musterstadt Nord",
        "syngo MR B17",
        "MR SMITH",  # in upper case MR is the modality, not a title
        "DR Chest PA",
        "SR Report",
        "May 2024",
        "Grant Application",
        "Rose Hall",
        "MAX INTENSITY PROJECTION",
        "the Mullerian duct",
        "van der Waals forces and de novo lesions",
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "MR brain T2 FLAIR, 3.0 T, 512 x 512 matrix, 120 slices of 1.5 mm",
        "Contrast: 80 ml Omnipaque 350 at 4 ml/s, delay 70 s",
        "Sykehusvegen 38, 9019 Tromsø, Norway",
        "Head^Neck",
    ],
)
def test_clinical_and_dicom_words_are_not_names(detector, text: str) -> None:
    assert found(detector, text) == []


def test_the_lists_come_from_faker_and_dicom_without_download() -> None:
    lists = name_lists()
    assert len(lists.given) > 20_000 and len(lists.family) > 20_000
    assert lists.is_given("Lieselotte") and lists.is_family("Yamada") and lists.is_family("KOEHLER")
    assert lists.is_vocabulary("Thorax") and lists.is_vocabulary("Follow-up")
    assert not lists.is_given("Key") and not lists.is_family("Hall")  # vocabulary wins


def test_spelling_variants_for_ascii_systems() -> None:
    assert {"muller", "mueller"} <= variants("Müller")
    assert {"ase", "aase"} <= variants("Åse")
    assert "taro" in variants("Tarou")


def test_clean_keeps_the_title_and_the_clinical_words() -> None:
    text = "Referred by Dr. Anna Schröder for CT THORAX W/O; Mother (Jördis Böttcher) has asthma."
    cleaned, _ = scrub(text, default_detectors())
    assert cleaned == "Referred by Dr. *** for CT THORAX W/O; Mother (***) has asthma."
