"""`deidentify preview` and `run --preview-dir`: pictures of what pixel cleaning masked, through the command line,
on real files (the synthetic studies, pydicom's test data, deid-data's ultrasounds)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from deidentify.batch import RunError, run
from deidentify.cli import main
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.pixels import Box
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from test_pixels_support import drawn_over, on_screen, preview_panels

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"


def _files(modality: str) -> list[Path]:
    return [path for path in sorted(STUDIES.rglob("*")) if path.is_file()
            and pydicom.dcmread(path, stop_before_pixels=True, force=True).get("Modality") == modality]


def _testdata(name: str) -> Path:
    path = get_testdata_file(name)
    assert isinstance(path, str), name
    return Path(path)


def _deid_data(name: str) -> Path:
    deid_data = pytest.importorskip("deid_data", reason="the deid-data package holds the ultrasound samples")
    return Path(deid_data.__file__).parent / "data" / "ultrasounds" / name


def _masked(path: Path) -> tuple[Box, ...]:
    """The regions a run with the default profile masks on the first frame (what the preview outlines)."""
    outcome = deidentify_bytes(path.read_bytes(), RuleBook(load_profile("basic")), Keyring(bytes(32)))
    boxes: tuple[Box, ...] = outcome.pixels.boxes[0]
    return boxes


def test_preview_draws_the_original_with_masks_beside_the_result(tmp_path: Path) -> None:
    source = _files("US")[0]
    header = pydicom.dcmread(source, stop_before_pixels=True)
    assert main(["preview", str(source), "-o", str(tmp_path / "p.png")]) == 0
    original, cleaned, _ = preview_panels(Image.open(tmp_path / "p.png"), header.Rows, header.Columns)
    red = lambda panel: (panel[..., 0] > 200) & (panel[..., 1] < 80) & (panel[..., 2] < 80)  # noqa: E731
    assert red(original).sum() > 100  # outlines and numbers on the original
    assert red(cleaned).sum() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # the temporary file was renamed, not left
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o600  # it shows the original image


@pytest.mark.parametrize("name", ["synthetic Dose Report", "US1_UNCI.dcm", "GREYSCALE_IMAGE.dcm"])
def test_the_cleaned_panel_is_the_original_wherever_nothing_was_masked(name: str, tmp_path: Path) -> None:
    if name == "US1_UNCI.dcm":
        source = _testdata(name)
    elif name == "GREYSCALE_IMAGE.dcm":
        source = _deid_data(name)
    else:  # MONOCHROME2, no window, values 24 to 235: shown by min/max, which masking to 0 changes
        source = next(path for path in _files("OT") if "Dose_Report" in str(path))
    ds = pydicom.dcmread(source)
    assert main(["preview", str(source), "-o", str(tmp_path / "p.png")]) == 0
    original, cleaned, scale = preview_panels(Image.open(tmp_path / "p.png"), ds.Rows, ds.Columns)
    boxes = _masked(source)
    assert len(boxes) > 5
    # A reduced image's pixels are averages: those next to a masked one are darker on the cleaned panel.
    masked = on_screen(boxes, scale, original.shape, grow=0 if scale >= 1 else 2)
    if ds.PhotometricInterpretation == "RGB":
        # 8-bit RGB is shown as stored: the test draws the original frame as the preview does.
        size = (original.shape[1], original.shape[0])
        shown = np.asarray(Image.fromarray(ds.pixel_array).resize(size, Image.Resampling.NEAREST)).astype(int)
        assert np.array_equal(cleaned[~masked], shown[~masked])
        assert (original == shown).all(axis=-1)[~masked].mean() > 0.9  # all but the numbers and outlines
    else:
        unmarked = ~masked & ~drawn_over(original)
        assert unmarked.mean() > 0.5
        assert np.array_equal(original[unmarked], cleaned[unmarked])
    assert cleaned[on_screen(boxes, scale, cleaned.shape, grow=-2)].max() <= 16  # masked reads as black


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "FILE does not exist"),
        ("folder", "FILE is a folder"),
        ("text", "nothing to preview: not DICOM"),
        ("empty", "nothing to preview: empty file"),
        ("frame 0", "frame 0 is out of range: the image has 1 frame"),
        ("frame 2", "frame 2 is out of range: the image has 1 frame"),
        ("no folder", "the PNG's folder does not exist"),
        ("output is a folder", "PNG is a folder"),
    ],
)
def test_what_cannot_be_previewed_is_one_clear_line(case: str, message: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not an image\n" * 20)
    (tmp_path / "empty.dcm").write_bytes(b"")
    before = sorted(tmp_path.rglob("*"))
    file, output, extra = _testdata("US1_UNCI.dcm"), tmp_path / "p.png", []
    if case == "missing":
        file = tmp_path / "nope.dcm"
    elif case == "folder":
        file = tmp_path
    elif case == "text":
        file = tmp_path / "notes.txt"
    elif case == "empty":
        file = tmp_path / "empty.dcm"
    elif case.startswith("frame"):
        extra = ["--frame", case.split()[1]]
    elif case == "no folder":
        output = tmp_path / "new" / "p.png"
    else:
        output = tmp_path
    assert main(["preview", str(file), "-o", str(output), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deidentify preview: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before  # no PNG, no folder, no temporary file


def test_frames_count_from_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cine = next(path for path in _files("US") if pydicom.dcmread(path, stop_before_pixels=True).get("NumberOfFrames"))
    assert pydicom.dcmread(cine, stop_before_pixels=True).NumberOfFrames == 5
    assert main(["preview", str(cine), "--frame", "5", "-o", str(tmp_path / "p.png")]) == 0
    assert main(["preview", str(cine), "--frame", "6", "-o", str(tmp_path / "q.png")]) == 2
    assert capsys.readouterr().err.endswith("deidentify preview: frame 6 is out of range: the image has 5 frames\n")


def test_an_image_pixel_cleaning_leaves_alone_has_nothing_to_preview(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(_testdata("emri_small.dcm")), "-o", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert err == "deidentify preview: nothing to preview: pixel cleaning does not apply to this image\n"
    assert not any(tmp_path.iterdir())


def test_preview_creates_the_png_and_nothing_else_anywhere(tmp_path: Path) -> None:
    home, temp, cwd, out = (tmp_path / name for name in ("home", "tmp", "cwd", "out"))
    for folder in (home, temp, cwd, out):
        folder.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    env.pop("XDG_CACHE_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "deidentify.cli", "preview", str(_deid_data("RGB_IMAGE.dcm")), "-o", str(out / "p.png")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out / 'p.png'}\n"
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*"))] == [
        "cwd", "home", "out", "out/p.png", "tmp"]
    assert Image.open(out / "p.png").format == "PNG"


def test_preview_of_a_file_without_pixels_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sr = _files("SR")[0]
    assert main(["preview", str(sr), "-o", str(tmp_path / "p.png")]) == 2
    assert "nothing to preview" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_run_writes_one_preview_per_cleaned_series_outside_dst(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for index, path in enumerate(_files("US")[:3]):
        shutil.copy(path, src / f"{index}.dcm")
    series = {pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID for p in src.iterdir()}
    result = run(src, tmp_path / "out", load_profile("basic"), bytes(range(32)), preview_dir=tmp_path / "previews")
    assert result.exit_code == 0
    assert (tmp_path / "previews").stat().st_mode & 0o777 == 0o700
    previews = sorted((tmp_path / "previews").iterdir())
    assert len(previews) == len(series) and all(p.suffix == ".png" for p in previews)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in previews)
    assert [p.suffix for p in (tmp_path / "out").rglob("*") if p.is_file()] == [".dcm"] * 3
    with pytest.raises(RunError, match="preview"):
        run(src, tmp_path / "out2", load_profile("basic"), bytes(range(32)),
            preview_dir=tmp_path / "out2" / "previews")


def test_run_creates_the_preview_folder_asked_for_not_its_parents(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(RunError, match="the preview folder's parent does not exist"):
        run(src, tmp_path / "out", load_profile("basic"), bytes(range(32)), preview_dir=tmp_path / "a" / "previews")
    assert not (tmp_path / "a").exists()
