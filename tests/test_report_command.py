"""`deidentify report STATE`: the summary again, and an HTML page with tables and charts but no PHI."""

from __future__ import annotations

import argparse
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from deidentify.batch import RunResult, run
from deidentify.cli.report import add_parser
from deidentify.cli.report import main as report_main
from deidentify.profile import load_profile
from deidentify.report_html import read_report, render_html
from deidentify.sample import SampleManifest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_synthetic"
STUDIES = SAMPLE / "studies"
KEY = bytes(range(32))
# The report is tested on a run without OCR: fast, and with files written and withheld.  The
# images OCR would read are withheld: the capture images (US, OT) and the CTs, which deid's
# device list flags as carrying burnt-in text at places it does not know.
NO_OCR = ROOT / "tests" / "profiles" / "no-ocr.yaml"
BURNT_IN = "burnt-in text not cleaned"


def _args(*argv: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deidentify")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["report", *map(str, argv)])


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(STUDIES, tmp_path_factory.mktemp("report") / "out", load_profile(NO_OCR), KEY)


class _Tables(HTMLParser):
    """Each table's rows of cell texts; also checks that every opened element is closed."""

    VOID = {"meta", "br", "rect", "line", "polyline", "img", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.open: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
        elif tag == "svg":
            self.svgs += 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] in ("td", "th"):
            self.tables[-1][-1][-1] += data


def _parse(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    parser.close()
    assert parser.open == [], parser.open
    return parser


def _forms(value: str) -> set[str]:
    forms = {value, value.upper(), value.lower(), value.replace("^", " ")}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6:
        forms.add(digits)
    return {f for f in forms if len(f) >= 3}


def test_report_prints_the_summary_again_and_writes_the_page(
        done: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_main(_args(done.state)) == 0
    out = capsys.readouterr().out
    # The same summary as the run printed; only the time differs (the report keeps per-file times).
    assert out.splitlines()[1:len(done.summary.splitlines())] == done.summary.splitlines()[1:]
    assert out.splitlines()[0].startswith("48 files, 3.0 MB in ")
    page_path = done.state / "report.html"
    assert f"HTML report: {page_path}" in out
    page = page_path.read_text(encoding="utf-8")

    tables = _parse(page)
    by_status, by_modality, by_reason, files = tables.tables
    assert by_status == [["status", "files", "MB"], ["withheld", "26", "2.7"], ["written", "22", "0.2"]]
    assert by_modality[0] == ["modality", "written", "withheld", "total"]
    assert {row[0]: row[1:] for row in by_modality[1:]} == {
        "CT": ["0", "17", "17"], "MR": ["19", "0", "19"], "OT": ["0", "3", "3"], "SR": ["3", "0", "3"],
        "US": ["0", "6", "6"]}
    assert by_reason[0] == ["reason", "status", "files"] and len(by_reason) == 2
    [[reason, status, count]] = by_reason[1:]
    assert reason.startswith(BURNT_IN) and (status, count) == ("withheld", "26")
    assert reason == done.report.reason[done.report.status == "withheld"].iloc[0]
    report = done.report
    assert files[0] == list(report.columns)
    assert [row[0] for row in files[1:]] == report["file_id"].tolist()
    assert [row[3] for row in files[1:]] == report["output"].tolist()
    # Charts: status, modality, reasons, and throughput (files and MB).
    assert tables.svgs == 5
    assert "Files finished over processing time" in page and "Files not written, by reason" in page


def test_the_page_holds_no_planted_value_and_no_path(done: RunResult) -> None:
    page = render_html(read_report(done.state))
    lowered = page.lower()
    for entry in SampleManifest.load(SAMPLE).planted:
        for form in _forms(entry.value):
            assert form not in page and form.lower() not in lowered, (entry.kind, entry.where)
    assert str(done.state) not in page and "studies" not in page and str(STUDIES) not in page


def test_html_elsewhere_and_csv_when_there_is_no_parquet(done: RunResult, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "report.csv").write_bytes((done.state / "report.csv").read_bytes())
    target = tmp_path / "pages" / "run.html"
    assert report_main(_args(state, "--html", target)) == 0
    assert not (state / "report.html").exists()
    from_csv = target.read_text(encoding="utf-8")
    assert from_csv == render_html(read_report(done.state))
    assert BURNT_IN in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_report(state), read_report(done.state), check_dtype=False)


def test_no_report_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_main(_args(tmp_path)) == 2
    assert "no report" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_a_long_report_shows_the_files_not_written_first(done: RunResult) -> None:
    page = render_html(read_report(done.state), max_rows=30)
    files = _parse(page).tables[-1]
    assert len(files) == 31
    statuses = [row[1] for row in files[1:]]
    assert statuses == ["withheld"] * 26 + ["written"] * 4
    assert "18 of 48 rows are left out here" in page


def test_an_empty_report_still_makes_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    (tmp_path / "inbox").mkdir()
    result = run(tmp_path / "inbox", empty, load_profile("basic"), KEY)
    assert result.exit_code == 0
    assert report_main(_args(result.state)) == 0
    assert capsys.readouterr().out.startswith("0 files")
    tables = _parse((result.state / "report.html").read_text(encoding="utf-8"))
    assert tables.tables[-1] == [list(result.report.columns)]
