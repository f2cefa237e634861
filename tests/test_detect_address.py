"""AddressDetector: street addresses of many countries, with postcode, city and country."""

from __future__ import annotations

import pytest

from deidentify.detect import AddressDetector, Finding
from deidentify.detect.address import country_names


def found(text: str) -> list[str]:
    spans = sorted(AddressDetector().find(text))
    # Report the outermost spans: a street line and the postcode-city inside it are one address.
    outer = [f for f in spans if not any(o != f and o.start <= f.start and f.end <= o.end for o in spans)]
    return [text[f.start : f.end] for f in outer]


@pytest.mark.parametrize(
    "address",
    [
        "Rosenweg 4a, 04109 Leipzig, Germany",
        "Sykehusvegen 38, 9019 Tromsø, Norway",
        "Sjøgata 15, 9008 Tromsø, Norway",
        "Am Klinikpark 3, 30161 Musterstadt, Germany",
        "Calle de la Salud 21, 28029 Madrid, España",
        "Calle del Olmo 12, 48001 Bilbao, España",
        "1-8-2 Hanazono, 160-0000 Shinjuku-ku, Tokyo, Japan",
        "221B Baker Street, London NW1 6XE",
        "12 Main St., Springfield, IL 62704",
        "3 rue de la Paix, 75002 Paris",
        "Via Roma 10, 00184 Roma",
        "Hauptstraße 5",
        "Berliner Straße 12",
        "Kalverstraat 12, 1012 NX Amsterdam",
        "Aleksanterinkatu 5",
        "PO Box 123",
        "東京都新宿区西新宿2丁目8番1号",
        "48001 Bilbao, España",
        "NW1 6XE",
    ],
)
def test_addresses_are_found_whole(address: str) -> None:
    assert found(f"Lives at {address}. Next") == [address]


def test_kind_and_offsets() -> None:
    text = "at Storgata 1 today"
    assert list(AddressDetector().find(text)) == [Finding(3, 13, "address")]


@pytest.mark.parametrize(
    "text",
    [
        "Series 3", "Image 5 of 10", "Lesion Segment 7", "Im Segment 7 der Leber", "Phase 2 Dose Report",
        "Bed 2 Stage 3", "T2 4AB", "T1 3D FLAIR", "1-2 Weeks", "C5-C6", "walked down the street",
        "BP 120/80, WW/WL 400/40, lesion 12 x 8 mm at C5-C6, HU range 1000-2000",
        "Follow-up at 3/6/12 months; compare with prior (series 2, image 45)",
        "Contrast: 80 ml Omnipaque 350 at 4 ml/s, delay 70 s",
        "SOP Class 1.2.840.10008.5.1.4.1.1.2, transfer syntax 1.2.840.10008.1.2.1",
        "Radiology Report DOB 19830307", "12345 Images, Germany was not the point",
    ],
)
def test_numbers_and_capitalised_words_alone_are_not_addresses(text: str) -> None:
    assert found(text) == []


def test_country_names_in_many_languages() -> None:
    names = country_names()
    assert {"germany", "deutschland", "españa", "norge", "日本"} <= names
