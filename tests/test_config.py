"""--config files, and the README's systemd unit and cron line run as written (paths moved to a
temporary folder)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deidentify.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307" / "CT_20230514_ACC2257221"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(language: str, marker: str) -> str:
    return next(b for b in re.findall(rf"```{language}\n(.*?)```", README, re.S) if marker in b)


def _moved(text: str, tmp_path: Path) -> str:
    """The README's paths, moved under ``tmp_path``; its deidentify, this interpreter's."""
    text = text.replace("/opt/deidentify/.venv/bin/deidentify", f"{sys.executable} -m deidentify")
    for prefix in ("/etc/deidentify", "/srv/deidentify", "/srv/export", "/srv/shareable"):
        text = text.replace(prefix, str(tmp_path / prefix.strip("/").replace("/", "-")))
    return text


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The README's config file, its paths moved, with a key."""
    (tmp_path / "etc-deidentify").mkdir()
    path = tmp_path / "etc-deidentify" / "deidentify.toml"
    path.write_text(_moved(_block("toml", "[watch]"), tmp_path), encoding="utf-8")
    key = tmp_path / "etc-deidentify" / "project.key"
    key.write_text(os.urandom(32).hex() + "\n")
    key.chmod(0o600)
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_the_readme_systemd_unit_runs_and_stops_cleanly(config: Path, tmp_path: Path) -> None:
    unit = _block("ini", "ExecStart=")
    command = shlex.split(_moved(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1), tmp_path))
    inbox, done = Path(command[4]), tmp_path / "srv-deidentify" / "done"
    inbox.mkdir(parents=True)
    done.mkdir()
    service = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        files = sorted(p for p in SERIES.rglob("*") if p.is_file())[:2]
        for n, path in enumerate(files):
            shutil.copy(path, inbox / f"{n}.dcm")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(done.rglob("*.dcm"))) < len(files):
            time.sleep(0.3)
    finally:
        service.send_signal(signal.SIGTERM)  # what systemctl stop sends
        _, err = service.communicate(timeout=60)
    assert service.returncode == 0, err
    assert len(list(done.rglob("*.dcm"))) == len(files)  # moved to processed, as the config says
    state = Path(command[5] + ".state")
    assert json.loads((state / "run.json").read_text())["profile_name"] == "research"
    first = (state / "run.log").read_text().splitlines()[0]
    assert json.loads(first)["message"].startswith("run started")  # log-format json, from the config


def test_the_readme_cron_line_runs(config: Path, tmp_path: Path) -> None:
    line = _moved(next(x for x in _block("sh", "crontab").splitlines() if x and not x.startswith("#")), tmp_path)
    command = shlex.split(line)[5:]  # the five time fields go
    shutil.copytree(SERIES, command[4])
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # quiet = true, from the config: cron mails only what goes wrong
    assert any(Path(command[5]).rglob("*.dcm"))


def test_the_command_line_wins_over_the_file(config: Path, tmp_path: Path) -> None:
    shutil.copytree(SERIES, tmp_path / "src")
    os.environ["DEIDENTIFY_CONFIG"] = str(config)
    try:
        assert main(["run", str(tmp_path / "src"), str(tmp_path / "out"), "--profile", "basic"]) == 0
    finally:
        del os.environ["DEIDENTIFY_CONFIG"]
    assert json.loads((tmp_path / "out.state" / "run.json").read_text())["profile_name"] == "basic"


@pytest.mark.parametrize(("text", "fragment"), [
    ('[run]\nprofle = "research"\n', "[run] has no option 'profle' (did you mean 'profile'?)"),
    ('[run]\nworkers = "many"\n', "[run] workers: invalid literal"),
    ('[run]\nlog-format = "xml"\n', "[run] log-format: 'xml' is not one of text, json"),
    ('[run]\nquiet = "yes"\n', "[run] quiet: true or false"),
    ('[preview]\nframe = 3\n', "unknown table(s) preview"),  # serve has one now (issue 14)
    ("[run\n", "not valid TOML"),
])
def test_a_bad_config_is_refused_naming_the_file_and_key(tmp_path: Path, text: str, fragment: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(tmp_path), str(tmp_path / "out"), "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and fragment in err
