"""One root error type and one set of statuses (issue 12).

Every exception class deidentify defines derives from DeidentifyError; a file's
status is an ``outcome.Status`` member, whose text is what reports always said.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import deidentify
from deidentify.checker.findings import Severity
from deidentify.errors import DeidentifyError
from deidentify.outcome import Outcome, Status
from deidentify.pixels.clean import PixelStatus
from deidentify.report import ReportWriter, Tally, row
from deidentify.textenum import TextEnum

PACKAGE = Path(deidentify.__file__).parent

def _modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.walk_packages(deidentify.__path__, "deidentify.")]
    # __main__ modules run their command when imported.
    return [deidentify] + [importlib.import_module(name) for name in names if not name.endswith(".__main__")]


def _exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for module in _modules():
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


EXCEPTIONS = _exceptions()


def test_every_exception_class_derives_from_the_root() -> None:
    strays = sorted(name for name, cls in EXCEPTIONS.items() if not issubclass(cls, DeidentifyError))
    assert not strays


def test_the_search_finds_exception_classes_in_subpackages() -> None:
    assert {"deidentify.batch.errors.RunError", "deidentify.pixels.detectors.base.DetectorUnavailable",
            "deidentify.watch.InboxLocked"} <= EXCEPTIONS.keys()


def test_errors_callers_catch_by_a_builtin_type_keep_it() -> None:
    from deidentify.keys import KeyFileError
    from deidentify.report_html import ReportMissing
    from deidentify.source import SourceError

    assert issubclass(SourceError, ValueError) and issubclass(KeyFileError, ValueError)
    assert issubclass(ReportMissing, FileNotFoundError)


# --- statuses -----------------------------------------------------------------------------------

#: Where the same words mean something else: the pixel stage's own outcome (unchanged, cleaned, withheld).
STATUS_TEXT_ELSEWHERE = {"pixels/clean.py", "outcome.py"}


def test_a_status_is_the_text_reports_always_held() -> None:
    assert [s.value for s in Status] == ["written", "withheld", "filtered", "not DICOM", "error"]
    assert Status.NOT_DICOM == "not DICOM" and hash(Status.NOT_DICOM) == hash("not DICOM")
    assert f"{Status.WITHHELD}: reason" == "withheld: reason" and f"{Status.WRITTEN:<8}|" == "written |"
    assert json.dumps({"status": Status.NOT_DICOM}) == '{"status": "not DICOM"}'
    assert Status.WRITTEN in frozenset({"written"}) and "written" in frozenset({Status.WRITTEN})


@pytest.mark.parametrize("member", [Status.NOT_DICOM, PixelStatus.CLEANED, Severity.HIGH], ids=str)
def test_every_status_enum_prints_as_its_text(member: TextEnum) -> None:
    # The pixel stage's status reaches `explain`'s output and the checker's severity its reports.
    text = member.value
    assert str(member) == f"{member}" == format(member, "") == text and member == text
    assert json.dumps([member]) == json.dumps([text])


def test_a_report_row_of_a_status_reads_back_as_text(tmp_path: Path) -> None:
    writer = ReportWriter(tmp_path / "report.csv")
    writer.add(row(Outcome("id1", Status.NOT_DICOM, "empty file"), "", 0.0))
    writer.add(row(Outcome("id2", Status.WRITTEN), "out", 0.0))
    tally = writer.close()
    text = (tmp_path / "report.csv").read_text()
    assert "id1,not DICOM,empty file" in text and "id2,written," in text and "Status" not in text
    assert tally.statuses == {"not DICOM": 1, "written": 1} and not tally.all_written
    assert Tally.of([{"status": "written"}]).all_written  # rows read back from a CSV hold plain text


def test_statuses_are_not_spelled_out_across_the_library() -> None:
    texts = {s.value for s in Status} - {"error"}  # "error" is also a finding's severity
    spelled = set()
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name in STATUS_TEXT_ELSEWHERE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        spelled |= {name for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in texts}
    assert not spelled
