"""What the report, log, manifest and summary show of an input (issue 20, item 4).

Modality, SOP class and transfer syntax come from the input, so they can hold a
surname.  They reach the state folder's files and the terminal only as terms of
the standard (PS3.3 C.7.3.1.1.1, PS3.6 through pydicom), else as ``other``.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from deidentify import vocabulary
from deidentify.report import COLUMNS, ReportWriter, screened
from deidentify.report_html import read_report

SURNAME = "ZZTOPSURNAME"
STANDARD = Path(__file__).resolve().parent.parent / "standard"


def _image(modality: str = "CT", sop_class: str = CTImageStorage, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = instance = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, instance
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    ds.PatientName, ds.PatientID = "DOE^JANE", "ID123"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.zeros((8, 8), np.uint16).tobytes()
    return ds


# Each input holds the surname (or an unregistered UID) in one of the three columns.
CASES: dict[str, dict[str, str]] = {
    "modality.dcm": {"modality": SURNAME},
    "sop-class-unregistered.dcm": {"sop_class": "1.2.3.4"},
    "sop-class-text.dcm": {"sop_class": SURNAME},
    "sop-class-is-a-transfer-syntax.dcm": {"modality": "MR", "sop_class": ExplicitVRLittleEndian},
    "transfer-syntax-text.dcm": {"syntax": SURNAME},
    "plain.dcm": {},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A CLI run over CASES, then `deidentify report`: the state folder and all they printed."""
    root = tmp_path_factory.mktemp("vocabulary")
    src = root / "src"
    src.mkdir()
    for name, values in CASES.items():
        with warnings.catch_warnings():  # pydicom warns of the text in a UI element, as it should
            warnings.simplefilter("ignore")
            _image(**values).save_as(src / name, enforce_file_format=False, implicit_vr=False, little_endian=True)
    state = root / "dst.state"
    command = [sys.executable, "-m", "deidentify.cli"]
    done = subprocess.run([*command, "run", str(src), str(root / "dst"), "--key-file", str(root / "key"),
                           "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # the unknown transfer syntax is withheld
    again = subprocess.run([*command, "report", str(state)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    return state, done.stdout + done.stderr + again.stdout + again.stderr


def test_no_state_file_and_nothing_printed_holds_the_surname(run: tuple[Path, str]) -> None:
    state, printed = run
    assert SURNAME.lower() not in printed.lower()
    files = [p for p in state.rglob("*") if p.is_file() and not (p.parent.name == "quarantine" and p.suffix == ".bin")]
    names = {p.name for p in files}
    assert {"report.csv", "report.parquet", "report.html", "run.log", "manifest.jsonl"} <= names
    for path in files:
        assert SURNAME.lower().encode() not in path.read_bytes().lower(), path.name
    # Parquet may compress a column: look at its values, not only its bytes.
    values = [str(v) for column in pq.read_table(state / "report.parquet").to_pydict().values() for v in column]
    assert not [v for v in values if SURNAME.lower() in v.lower()]
    # The quarantine does hold the surname: its copies of the inputs are the only place it is kept.
    assert any(SURNAME.encode() in p.read_bytes() for p in (state / "quarantine").glob("*.bin"))


def test_the_report_says_other_for_what_is_not_a_term_of_the_standard(run: tuple[Path, str]) -> None:
    state, printed = run
    with open(state / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(CASES)
    columns = [(r["modality"], r["sop_class"], r["transfer_syntax_in"]) for r in rows]
    explicit = ExplicitVRLittleEndian
    assert sorted(columns) == sorted([
        ("other", CTImageStorage, explicit),  # the surname in Modality
        ("CT", "other", explicit),  # 1.2.3.4 is registered nowhere
        ("CT", "other", explicit),  # the surname as the SOP class
        ("MR", "other", explicit),  # registered, but as a transfer syntax, not a SOP class
        ("CT", CTImageStorage, "other"),  # the surname as the transfer syntax
        ("CT", CTImageStorage, explicit),
    ])
    assert re.search(r"^\s+other\s+1\s+0$", printed, re.MULTILINE)  # the summary's modality table
    manifest = [json.loads(line) for line in (state / "manifest.jsonl").read_text().splitlines() if line.strip()]
    assert sorted(entry["row"]["modality"] for entry in manifest) == sorted(c[0] for c in columns)


def test_rows_an_older_version_kept_are_screened_on_their_way_into_a_new_report(tmp_path: Path) -> None:
    old = {column: "" for column in COLUMNS} | {
        "file_id": "f1", "status": "written", "modality": SURNAME, "sop_class": SURNAME,
        "transfer_syntax_in": SURNAME, "transfer_syntax_out": "1.2.840.10008.1.2.1", "bytes": 10, "seconds": 0.1,
    }
    writer = ReportWriter(tmp_path / "report.csv")
    writer.add(old)
    tally = writer.close(before=[old | {"file_id": "f0"}])
    text = (tmp_path / "report.csv").read_text()
    assert SURNAME not in text
    assert text.count("other") == 6
    assert tally.modalities == {"other": {True: 2}}


def test_a_report_an_older_version_wrote_is_screened_when_read(tmp_path: Path) -> None:
    row = {column: "0" for column in COLUMNS} | {
        "file_id": "f1", "status": "written", "reason": "", "output": "", "masked_by": "",
        "modality": SURNAME, "sop_class": "1.2.3.4", "transfer_syntax_in": SURNAME, "transfer_syntax_out": "",
    }
    with open(tmp_path / "report.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerow(row)
    frame = read_report(tmp_path)
    assert frame.loc[0, ["modality", "sop_class", "transfer_syntax_in", "transfer_syntax_out"]].tolist() == [
        "other", "other", "other", ""]


# -- the vocabulary ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    ("CT", "CT"), ("US", "US"), ("XAPROTOCOL", "XAPROTOCOL"), ("PA", "PA"),
    ("DS", "DS"),  # a Retired Defined Term: older files still carry it
    ("CT ", "CT"),  # CS padding
    ("", ""),  # absent stays absent
    ("ct", "other"), ("SC", "other"), ("CT\\MR", "other"), (SURNAME, "other"), ("DOE^JANE", "other"),
])
def test_modality_shows_only_the_standards_terms(value: str, shown: str) -> None:
    assert vocabulary.modality(value) == shown


@pytest.mark.parametrize("value, sop_class, transfer_syntax", [
    ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2", "other"),  # CT Image Storage
    ("1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.6", "other"),  # a retired SOP class
    ("1.2.840.10008.1.2.4.50", "other", "1.2.840.10008.1.2.4.50"),  # JPEG Baseline
    ("1.2.840.10008.1.2.1\0", "other", "1.2.840.10008.1.2.1"),  # UI padding
    ("1.2.840.10008.5.1.1.9", "other", "other"),  # a Meta SOP Class, not a SOP class of an instance
    ("1.2.840.10008.1.1", "1.2.840.10008.1.1", "other"),  # Verification: a SOP Class in PS3.6
    ("1.2.3.4", "other", "other"),
    ("2.25.1234567", "other", "other"),
    (SURNAME, "other", "other"),
    ("", "", ""),
])
def test_uids_show_only_when_ps3_6_registers_them_as_that_kind(
    value: str, sop_class: str, transfer_syntax: str
) -> None:
    assert (vocabulary.sop_class(value), vocabulary.transfer_syntax(value)) == (sop_class, transfer_syntax)


def test_screened_touches_only_the_columns_read_from_the_input() -> None:
    entry = {"file_id": "f", "status": "written", "reason": SURNAME, "modality": SURNAME, "bytes": 3}
    assert screened(entry) == {**entry, "modality": "other", "sop_class": "", "transfer_syntax_in": "",
                               "transfer_syntax_out": ""}


def test_the_modality_table_is_the_standards() -> None:
    with open(STANDARD / "ps3.3_c.7.3.1.1.1_modality.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    terms = [row["term"] for row in rows]
    assert len(terms) == len(set(terms)) == 97
    assert sum(row["retired"] == "N" for row in rows) == 79  # PS3.3 2026a: 79 Defined Terms
    assert sum(row["retired"] == "Y" for row in rows) == 18  # and 18 Retired Defined Terms
    assert {row["source_edition"] for row in rows} == {"PS3.3 2026a"}
    assert all(re.fullmatch(r"[A-Z0-9_ ]{1,16}", term) for term in terms)  # each a valid CS value
    current = {row["term"] for row in rows if row["retired"] == "N"}
    assert all(row["incorporated_in"] in current for row in rows if row["incorporated_in"])
    assert {"CT", "MR", "US", "OT", "SR", "SEG", "CFM", "PA"} <= current
    assert "SC" not in terms  # a common vendor value, not a term of the standard
    assert vocabulary.modality(terms[0]) == terms[0] and all(vocabulary.modality(t) == t for t in terms)
