"""The README's example profile is a working profile, and its set-up commands exist."""

import re
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent


def test_readme_starts_with_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_readme_example_profile_loads_and_acts(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Your own profile\n\n```yaml\n(.*?)```", text, re.S).group(1)
    path = tmp_path / "our-trial.yaml"
    path.write_text(block)
    profile = load_profile(path)
    assert {"retain-device-identity", "retain-long-modified-dates"} <= profile.options
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    outcome = deidentify_bytes(data, RuleBook(profile), Keyring(b"k" * 32))
    assert outcome.status == "written", outcome.reason
    from io import BytesIO

    ds = pydicom.dcmread(BytesIO(outcome.data))
    assert ds.StudyDescription == "TRIAL CT"
    assert "Hospital" not in str(ds.get("InstitutionName", ""))
