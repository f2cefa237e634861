"""The command line explains itself: help for every argument, an example per command, shell
completion; and the install: metadata, licence, and what is optional."""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deidentify.cli import COMMANDS, full_parser, main

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in full_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_argument_has_help_and_every_command_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = _commands()[name]
    assert [a.dest for a in parser._actions if not a.help] == []
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:\n  deidentify " + name in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_completion_script_loads_and_knows_every_command(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "deidentify.bash"
    script.write_text(capsys.readouterr().out, encoding="utf-8")
    done = subprocess.run(["bash", "-c", f"source {script} && complete -p deidentify"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "deidentify" in done.stdout
    text = script.read_text(encoding="utf-8")
    for name in COMMANDS:
        assert name in text
    assert "--fail-on" in text and "--lookup" in text


def test_the_package_metadata_and_licence() -> None:
    meta = importlib.metadata.metadata("deidentify")  # as installed: what users get
    assert meta["License-Expression"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert meta["Author"] or meta["Author-email"]
    assert any("POSIX :: Linux" in c for c in meta.get_all("Classifier") or [])
    # The main job's install leaves out what only some users need.
    requires = meta.get_all("Requires-Dist") or []
    assert not [r for r in requires if r.startswith("pyarrow") and "extra ==" not in r]
    assert [r for r in requires if r.startswith("pyarrow") and "parquet" in r.partition("extra ==")[2]]


def test_without_pyarrow_the_run_writes_the_csv_report_and_says_so(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307"
                    / "CT_20230514_ACC2257221" / "001_THORAX_5mm", src)
    # pyarrow made unimportable in a real run's process, as in an install without the [parquet] extra.
    code = ("import sys; sys.modules['pyarrow'] = None; from deidentify.cli import main; "
            f"sys.exit(main(['run', {str(src)!r}, {str(tmp_path / 'out')!r}, '--key-file', "
            f"{str(tmp_path / 'key')!r}, '--new-key', '--quiet']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    state = tmp_path / "out.state"
    assert (state / "report.csv").is_file() and not (state / "report.parquet").exists()
    assert "report.parquet was not written: pyarrow is not installed" in (state / "run.log").read_text()
    assert main(["report", str(state), "--html", str(tmp_path / "r.html")]) == 0  # read from the CSV
