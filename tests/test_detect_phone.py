"""PhoneDetector: real phone numbers are found whole; numbers that are not phones are left."""

import pytest

from deidentify.detect import Finding, PhoneDetector


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in sorted(PhoneDetector().find(text))]


@pytest.mark.parametrize(
    "number",
    [
        "+1 555 010 9999",
        "+1-555-010-9999",
        "+1 (555) 010-9999",
        "(555) 010-9999",
        "(555)010-9999",
        "555-010-9999",
        "555.010.9999",
        "555 010 9999",
        "555-0199",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+442079460958",
        "020 7946 0958",
        "01632 960123",
        "+27 21 555 1234",
        "+91 98765 43210",
        "+33 1 23 45 67 89",
        "01 23 45 67 89",
        "01.23.45.67.89",
        "03-1234-5678",
    ],
)
def test_phone_numbers_are_found_whole(number: str) -> None:
    assert found(f"Contact: {number}, thanks") == [number]


def test_findings_carry_kind_and_offsets() -> None:
    text = "call 555-0199 now"
    assert list(PhoneDetector().find(text)) == [Finding(5, 13, "phone")]


def test_several_numbers_in_one_text() -> None:
    text = "home (555) 010-9999; work +44 20 7946 0958; mobile 020 7946 0958"
    assert found(text) == ["(555) 010-9999", "+44 20 7946 0958", "020 7946 0958"]


@pytest.mark.parametrize(
    "text",
    [
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "pi is 3.14159 and the ratio 1234.5678",
        "acquired 20240131 at 083015",
        "on 2024-01-31, 31.01.2024, 31-01-2024 and 01 31 2024",
        "SOP 1.2.840.10008.5.1.4.1.1.2 series 1.2.826.0.1.3680043.2.1125.1.34918616334",
        "length 120 mm, dose 3.5 mSv, DLP 1200.5 mGy*cm",
        "matrix 512 512 1024 px",
        "volume 1024 768 120 slices",
        "window 1000-2000 HU",
        "range 1000-2000",
        "series 101 102 103 104",
        "host 192.168.100.200",
        "SSN 123-45-6789",
        "BP 120/80, WW/WL 400/40, C5-C6, T2",
        "reference 12345678901234567890",
    ],
)
def test_non_phone_numbers_are_left_alone(text: str) -> None:
    assert found(text) == []


def test_too_few_or_too_many_digits() -> None:
    assert found("ext 12-34") == []
    assert found("+1 23 45") == []
    assert found("+44 1234 5678 9012 3456") == []


@pytest.mark.parametrize(
    "number",
    [  # national numbers of more countries, valid in their plans, found without a cue
        "0511 5550123",  # Germany
        "91 555 02 00",  # Spain (no trunk 0)
        "22 33 44 55",  # Norway
        "(212) 555-0123",  # North America
        "98765 43210",  # an Indian mobile
        "138 0013 8000",  # a Chinese mobile
        "010-12345678",  # Beijing
        "(11) 3456-7890",  # São Paulo
        "06 12 34 56 78",  # a French mobile
    ],
)
def test_valid_national_numbers_of_more_countries(number: str) -> None:
    assert found(f"Patient reachable at {number} after 6 pm.") == [number]


@pytest.mark.parametrize(
    "number",
    [  # not valid in any plan the detector knows; found only after a cue
        "+1 555 010 9999",  # NANP exchanges never start with 0
        "555-0199",  # no area code
        "02079460958",  # unbroken
        "1234 5678",  # two groups of an eight-digit plan
    ],
)
def test_invalid_or_ambiguous_numbers_need_a_cue(number: str) -> None:
    assert found(f"ref {number} end") == []
    for cue in ("Tel", "Tel.:", "phone", "Fax no.", "call", "called", "T:", "Mobile #"):
        assert found(f"{cue} {number} end") == [number], cue


def test_numbers_valid_only_without_their_trunk_prefix_are_left() -> None:
    # phonenumbers alone would call these British or German numbers (trunk 0 left out).
    assert found("ID 4711 0815 42") == []
    assert found("ratio 1234.5678") == []
