"""OwnValuesDetector built from a real pydicom dataset and from plain values."""

from io import BytesIO

import pytest
from pydicom import Dataset, dcmread
from pydicom.filewriter import dcmwrite

from deidentify.detect import OwnValuesDetector


def make_dataset() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen^Karl^Dr.^Jr"
    ds.PatientBirthDate = "19800215"
    ds.PatientID = "MRN-123456"
    ds.AccessionNumber = "ACC2024-0042"
    ds.StudyID = "1"
    ds.StudyDate = "20240131"
    ds.PatientAddress = "221B Baker Street, London, NW1 6XE"
    ds.PatientTelephoneNumbers = "+44 20 7946 0958"
    ds.ReferringPhysicianName = "Ødegård^Åse"
    ds.OperatorsName = ["José^Ñúñez", "van der Berg^Anna-Lena"]
    ds.PatientMotherBirthName = "Yamada^Hanako=山田^花子=やまだ^はなこ"

    other_id = Dataset()
    other_id.PatientID = "ZX99887"
    other_id.IssuerOfPatientID = "NORDKLINIK"
    ds.OtherPatientIDsSequence = [other_id]

    # Two levels deep: a request item holding a referenced patient item.
    referenced = Dataset()
    referenced.PatientName = "Wang^Xiaodong=王^小东"
    referenced.PatientBirthDate = "19750704"
    request = Dataset()
    request.AccessionNumber = "NESTED-7788"
    request.ReferencedPatientSequence = [referenced]
    ds.RequestAttributesSequence = [request]
    return ds


def round_trip(ds: Dataset) -> Dataset:
    buffer = BytesIO()
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    return dcmread(buffer, force=True)


@pytest.fixture(scope="module", params=["built", "read-from-bytes"])
def detector(request) -> OwnValuesDetector:
    ds = make_dataset()
    if request.param == "read-from-bytes":
        ds = round_trip(ds)
    return OwnValuesDetector.from_dataset(ds)


def found(detector: OwnValuesDetector, text: str) -> list[tuple[str, str]]:
    return [(text[f.start : f.end], f.kind) for f in sorted(detector.find(text))]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Pt Müller^Jürgen seen", [("Müller^Jürgen", "name")]),
        ("Pt MUELLER, Jurgen K.", [("MUELLER, Jurgen", "name")]),
        ("Jürgen Karl Müller", [("Jürgen Karl Müller", "name")]),
        ("asked for jurgen", [("jurgen", "name")]),
        ("per Dr. Ødegård", [("Ødegård", "name")]),
        ("per Dr Odegard, Ase", [("Odegard, Ase", "name")]),
        ("op JOSE NUNEZ", [("JOSE NUNEZ", "name")]),
        ("op Ñúñez", [("Ñúñez", "name")]),
        ("Anna Lena van der Berg", [("Anna Lena van der Berg", "name")]),
        ("Dr. Berg", [("Berg", "name")]),
        ("mother 山田花子さん", [("山田花子", "name")]),
        ("mother 山田 花子", [("山田 花子", "name")]),
        ("はなこ様", [("はなこ", "name")]),
        ("ref 王小东 and Wang Xiaodong", [("王小东", "name"), ("Wang Xiaodong", "name")]),
    ],
)
def test_names_found_in_any_case_order_or_spelling(detector, text, expected) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Dr Smith Jr reviewed",  # titles of the patient's name are not identifying
        "the Mullerian duct",  # whole words only
        "van der Waals forces and de novo lesions",  # name particles on their own
        "CT chest with contrast, 5 mm slices, follow-up in 3 months",
        "Study 1 of 1",  # StudyID "1" is too short to search for
    ],
)
def test_ordinary_text_is_not_a_name_or_id(detector, text) -> None:
    assert found(detector, text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MRN-123456", [("MRN-123456", "id")]),
        ("mrn 123456", [("mrn 123456", "id")]),
        ("id zx 99887 (other)", [("zx 99887", "id")]),
        ("issuer Nordklinik", [("Nordklinik", "id")]),
        ("acc ACC2024-0042", [("ACC2024-0042", "id")]),
        ("nested-7788", [("nested-7788", "id")]),
        ("MRN-1234567", []),
        ("ZX998870", []),
    ],
)
def test_ids_with_or_without_separators(detector, text, expected) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DOB 15/02/1980", [("15/02/1980", "date")]),
        ("born Feb 15, 1980", [("Feb 15, 1980", "date")]),
        ("study 31-JAN-2024", [("31-JAN-2024", "date")]),
        ("on 2024-01-31", [("2024-01-31", "date")]),
        ("father born 04.07.1975", [("04.07.1975", "date")]),
        ("scheduled 2024-02-01", []),
    ],
)
def test_own_dates_in_any_format(detector, text, expected) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("lives at 221B Baker St, London", [("221B Baker", "address"), ("London", "address")]),
        ("postcode nw1 6xe", [("nw1 6xe", "address")]),
        (
            "221B Baker Street, London, NW1 6XE",
            [("221B Baker Street, London, NW1 6XE", "address")],
        ),
        ("walked down the street", []),
    ],
)
def test_address_and_its_parts(detector, text, expected) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tel +44 20 7946 0958", [("+44 20 7946 0958", "phone")]),
        ("tel 0044-20-7946-0958", [("0044-20-7946-0958", "phone")]),
        ("tel 020 7946 0958", [("020 7946 0958", "phone")]),
        ("tel 442079460958", [("442079460958", "phone")]),
        ("count 1442079460958", []),
    ],
)
def test_phone_digits_ignoring_punctuation(detector, text, expected) -> None:
    assert found(detector, text) == expected


def test_decomposed_accents_stay_inside_the_span(detector) -> None:
    text = "op Jose\u0301 N\u0303u\u0301n\u0303ez."
    assert found(detector, text) == [("Jose\u0301 N\u0303u\u0301n\u0303ez", "name")]


def test_from_plain_values() -> None:
    detector = OwnValuesDetector(
        {
            "name": ["Ødegård^Åse"],
            "id": ["PID-0001"],
            "date": ["1980-02-15"],
            "address": ["Storgata 1"],
            "phone": ["555 010 9999"],
        }
    )
    text = "Odegard Ase, PID 0001, 15.02.1980, Storgata 1, (555) 010-9999"
    assert [kind for _, kind in found(detector, text)] == ["name", "id", "date", "address", "phone"]


def test_plain_values_are_not_split_into_parts() -> None:
    detector = OwnValuesDetector({"name": ["Müller^Jürgen"]})
    assert found(detector, "Müller Jürgen") == [("Müller Jürgen", "name")]
    assert found(detector, "Jürgen") == []


def test_an_id_of_one_repeated_character_is_a_placeholder() -> None:
    """Real corpora carry station names "000000000" and serial numbers "00000": a checker that
    took them for identifiers flagged every orientation and slope of the output ("1.00000")."""
    detector = OwnValuesDetector({"id": ["000000000", "00000", "1111", "A0000"]})
    assert found(detector, "1.00000\\0.00000 slope 1.0000, code 1111") == []
    assert found(detector, "serial A-0000") == [("A-0000", "id")]


def test_rejects_unknown_kinds_and_unreadable_dates() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        OwnValuesDetector({"email": ["a@b.c"]})
    with pytest.raises(ValueError, match="not a date"):
        OwnValuesDetector({"date": ["sometime in 1980"]})


def test_empty_dataset_finds_nothing() -> None:
    detector = OwnValuesDetector.from_dataset(Dataset())
    assert found(detector, "Müller 20240131 MRN-123456") == []


def test_unreadable_da_value_is_skipped() -> None:
    ds = Dataset()
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):
        ds.StudyDate = "2024XX31"
    ds.PatientName = "Doe^Jane"
    assert found(OwnValuesDetector.from_dataset(ds), "Jane Doe 2024XX31") == [("Jane Doe", "name")]
