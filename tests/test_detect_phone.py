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
