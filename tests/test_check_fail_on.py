"""`check`'s exit status follows the most serious finding that fails it, and a site's accept-list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from deidentify.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307" / "CT_20230514_ACC2257221"
DEVICE = ["--profile", "research", "--option", "retain-device-identity"]


@pytest.fixture(scope="module")
def device_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A research run that keeps device identity on purpose: check flags the kept identifiers."""
    root = tmp_path_factory.mktemp("device")
    shutil.copytree(SERIES, root / "src")
    assert main(["run", str(root / "src"), str(root / "out"), *DEVICE, "--key-file", str(root / "key"),
                 "--new-key", "--quiet"]) == 0
    return root


def _check(root: Path, *extra: str) -> tuple[int, dict]:
    report = root / f"check-{len(list(root.glob('check-*')))}.json"
    status = main(["check", str(root / "out"), "--against", str(root / "src"), *DEVICE, "--quiet",
                   "--json", str(report), *extra])
    return status, json.loads(report.read_text(encoding="utf-8"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_kept_device_identifiers_fail_until_the_site_accepts_them(device_run: Path) -> None:
    status, found = _check(device_run)
    kinds = {(f["element"], f["detector"]) for f in found["findings"]}
    assert status == 1 and ("StationName", "source-device") in kinds and ("DeviceUID", "original-uid") in kinds
    accept = _write(device_run / "accept.yaml", """\
accept:
  - {element: StationName, detector: source-device, reason: kept on purpose (retain-device-identity)}
  - {element: DeviceSerialNumber, detector: source-device, reason: kept on purpose}
  - {element: DeviceUID, detector: original-uid, reason: kept on purpose}
""")
    status, found = _check(device_run, "--accept", str(accept))
    assert status == 0
    assert found["findings"] and all(f["accepted"] for f in found["findings"])  # still shown, with the reason
    assert found["summary"]["accepted"] == len(found["findings"]) and found["summary"]["failing"] == 0
    partial = _write(device_run / "partial.yaml", "accept:\n  - {element: Station*, detector: '*', reason: ok}\n")
    status, found = _check(device_run, "--accept", str(partial))
    assert status == 1 and {f["element"] for f in found["findings"] if not f["accepted"]} == {
        "DeviceSerialNumber", "DeviceUID"}


@pytest.mark.parametrize(("text", "fragment"), [
    ("accept:\n  - {element: StationName, detector: source-device}\n", "accept.yaml:2: entry 1: 'reason' is required"),
    ("accept:\n  - {element: X, detector: y, reason: z, why: w}\n", "unknown key(s) why"),
    ("- just a list\n", "a mapping with a list 'accept'"),
])
def test_a_bad_accept_list_is_refused_naming_the_place(device_run: Path, text: str, fragment: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    accept = _write(device_run / "accept.yaml", text)
    assert main(["check", str(device_run / "out"), "--accept", str(accept), "--quiet"]) == 2
    assert fragment in capsys.readouterr().err


def test_fail_on_sets_the_least_serious_finding_that_fails(tmp_path: Path) -> None:
    shutil.copytree(SERIES, tmp_path / "src")
    assert main(["run", str(tmp_path / "src"), str(tmp_path / "out"), "--profile", "research",
                 "--key-file", str(tmp_path / "key"), "--new-key", "--quiet"]) == 0
    # Checked against the basic profile, the research outputs hold what basic would have removed.
    args = ["check", str(tmp_path / "out"), "--profile", "basic", "--quiet", "--json", str(tmp_path / "f.json")]
    assert main(args) == 1
    severities = {f["severity"] for f in json.loads((tmp_path / "f.json").read_text())["findings"]}
    assert "medium" in severities and "high" not in severities
    assert main([*args, "--fail-on", "high"]) == 0
    assert main([*args, "--fail-on", "low"]) == 1


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="needs dicom3tools' dciodvfy (.ci/run installs it)")
def test_validity_notes_fail_a_check_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "JPEG2000.dcm"):  # pydicom's, with dciodvfy notes
        shutil.copy(get_testdata_file(name), tmp_path / "src" / name)
    assert main(["run", str(tmp_path / "src"), str(tmp_path / "out"), "--key-file", str(tmp_path / "key"),
                 "--new-key", "--quiet"]) == 0
    args = ["check", str(tmp_path / "out"), "--quiet", "--skip", "structure", "--json", str(tmp_path / "f.json")]
    assert main([*args, "--fail-on", "low"]) == 0
    findings = json.loads((tmp_path / "f.json").read_text())["findings"]
    assert findings and {f["scanner"] for f in findings} == {"validity"}
    assert main([*args, "--fail-on", "low", "--fail-on-validity"]) == 1


def test_run_verify_honours_the_accept_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(SERIES / "001_THORAX_5mm", tmp_path / "src")
    base = ["run", str(tmp_path / "src"), "--key-file", str(tmp_path / "key"), "--new-key", "--quiet", "--verify",
            *DEVICE]
    assert main([*base[:1], base[1], str(tmp_path / "held"), *base[2:]]) == 1  # kept device identity: withheld
    accept = _write(tmp_path / "accept.yaml", """\
accept:
  - {element: StationName, detector: source-device, reason: kept on purpose}
  - {element: DeviceSerialNumber, detector: source-device, reason: kept on purpose}
  - {element: DeviceUID, detector: original-uid, reason: kept on purpose}
""")
    assert main([*base[:1], base[1], str(tmp_path / "ok"), *base[2:], "--accept", str(accept)]) == 0
    assert any((tmp_path / "ok").rglob("*.dcm"))
    assert main([*base[:1], base[1], str(tmp_path / "x"), *base[2:6], "--accept", str(accept)]) == 2  # no --verify
    assert "give --verify too" in capsys.readouterr().err
