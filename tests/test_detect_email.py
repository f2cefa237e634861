"""EmailDetector."""

import pytest

from deidentify.detect import EmailDetector


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in sorted(EmailDetector().find(text))]


@pytest.mark.parametrize(
    "address",
    [
        "john.doe@example.org",
        "J.Doe+radiology@mail.hospital.co.uk",
        "first_last-99@sub-domain.example.com",
        "jürgen.müller@klinik-münchen.de",
    ],
)
def test_addresses_are_found_whole(address: str) -> None:
    assert found(f"Send to <{address}>.") == [address]


def test_sentence_final_dot_is_not_part_of_the_address() -> None:
    assert found("Mail me at jane@example.com.") == ["jane@example.com"]


def test_kind_is_email() -> None:
    assert {f.kind for f in EmailDetector().find("a.b@c.de")} == {"email"}


@pytest.mark.parametrize(
    "text",
    [
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "twitter handle @radiology",
        "user@localhost",
        "version 1.2@3.4",
        "a @ b.com",
    ],
)
def test_non_addresses_are_left_alone(text: str) -> None:
    assert found(text) == []
