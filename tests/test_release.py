"""Signed releases (issue 18), through the command line: keygen, run --sign, sign, verify-release, package.

One signed run of the synthetic sample is made per module; each test that
tampers with a release works on its own copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import bagit
import pytest

from deidentify.cli import main
from deidentify.release.layout import BAG_INFO, MANIFEST, SIGNATURE, TAG_MANIFEST
from deidentify.sample import SampleManifest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_synthetic"
STUDIES = SAMPLE / "studies"
FINGERPRINT = re.compile(r"SHA256:[0-9a-f]{4}(-[0-9a-f]{4}){15}")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two key pairs, and the sample de-identified with ``run --sign`` under the first."""
    base = tmp_path_factory.mktemp("release")
    assert main(["keygen", str(base / "keys")]) == 0
    assert main(["keygen", str(base / "other-keys")]) == 0
    dst = base / "out"
    status = main(["run", str(STUDIES), str(dst), "--key-file", str(base / "pseudonym.key"), "--new-key",
                   "--workers", "2", "--quiet", "--sign", str(base / "keys" / "release.key")])
    assert status == 0
    return {"dst": dst, "state": base / "out.state", "key": base / "keys" / "release.key",
            "pub": base / "keys" / "release.pub", "other_pub": base / "other-keys" / "release.pub",
            "other_key": base / "other-keys" / "release.key", "pseudonym": base / "pseudonym.key"}


@pytest.fixture
def copy(signed: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the signed release to tamper with."""
    target = tmp_path / "copy"
    shutil.copytree(signed["dst"], target)
    return target


def _payload(bag: Path) -> list[Path]:
    return sorted(p for p in (bag / "data").rglob("*") if p.is_file())


def _rel(bag: Path, path: Path) -> str:
    return path.relative_to(bag).as_posix()


# --- keys ---------------------------------------------------------------------------------------

def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _cli(capsys, "keygen", tmp_path / "k")
    assert status == 0 and FINGERPRINT.search(out)
    private, public = tmp_path / "k" / "release.key", tmp_path / "k" / "release.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PUBLIC KEY" in public.read_bytes()
    assert not [p for p in (tmp_path / "k").iterdir() if p.name.endswith(".partial")]
    before = private.read_bytes(), public.read_bytes()
    status, _, err = _cli(capsys, "keygen", tmp_path / "k")
    assert status == 2 and "never overwritten" in err
    assert (private.read_bytes(), public.read_bytes()) == before


def test_a_signing_key_others_may_read_is_refused_before_anything_is_written(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "open.key"
    shutil.copy(signed["key"], key)
    key.chmod(0o644)
    status, _, err = _cli(capsys, "run", STUDIES, tmp_path / "out", "--key-file", signed["pseudonym"],
                          "--sign", key, "--quiet")
    assert status == 2 and "chmod 600" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    status, _, err = _cli(capsys, "sign", tmp_path, "--key", signed["pseudonym"])  # the pseudonym key is no signing key
    assert status == 2 and "not an unencrypted Ed25519 private key" in err


# --- a signed run -------------------------------------------------------------------------------

def test_a_signed_run_is_a_bag_that_verifies_and_that_bagit_validates(
        signed: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    dst = signed["dst"]
    assert sorted(p.name for p in dst.iterdir()) == sorted(
        ["bagit.txt", BAG_INFO, MANIFEST, TAG_MANIFEST, SIGNATURE, "data"])
    assert len(_payload(dst)) == 48
    assert all(re.match(r"^data/P[A-Z2-9]{10}/[0-9.]+/[0-9.]+/[0-9.]+\.dcm$", _rel(dst, p)) for p in _payload(dst))
    status, out, _ = _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])
    assert status == 0 and "verified: 48 files" in out
    bag = bagit.Bag(str(dst))
    bag.validate()  # raises BagValidationError on any problem; checks every digest and Payload-Oxum
    assert bag.info["Deidentify-Profile"] == "basic"
    assert bag.info["Deidentify-Inputs"] == "written 48"
    assert "CT written 17" in bag.info["Deidentify-Modality"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", bag.info["Bagging-Date"])
    assert FINGERPRINT.fullmatch(bag.info["Deidentify-Signing-Key"])


def test_the_release_files_hold_no_planted_value_nor_the_source_path(signed: dict[str, Path]) -> None:
    dst = signed["dst"]
    texts = "".join((dst / name).read_text() for name in ("bagit.txt", BAG_INFO, MANIFEST, TAG_MANIFEST, SIGNATURE))
    for entry in SampleManifest.load(SAMPLE).planted:
        assert entry.value not in texts, (entry.kind, entry.where)
    assert "studies" not in texts and str(STUDIES) not in texts
    assert signed["pseudonym"].read_bytes().hex() not in texts


def test_the_html_report_of_a_signed_run_shows_the_key_fingerprint(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "report.html"
    assert _cli(capsys, "report", signed["state"], "--html", page)[0] == 0
    fingerprint = (signed["dst"] / BAG_INFO).read_text().split("Deidentify-Signing-Key: ")[1].strip()
    assert f"<code>{fingerprint}</code>" in page.read_text()


# --- what verify-release catches ----------------------------------------------------------------

def test_one_changed_byte_is_listed_as_changed(
        signed: dict[str, Path], copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _payload(copy)[7]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    status, out, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 1
    assert out.splitlines() == [f"changed: {_rel(copy, victim)}"]
    assert "NOT VERIFIED" in err and "1 changed" in err


def test_a_deleted_file_is_missing_and_an_added_one_extra(
        signed: dict[str, Path], copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = _payload(copy)[3]
    gone.unlink()
    added = copy / "data" / "PZZZZZZZZZZ" / "1.2" / "1.2.3" / "1.2.3.4.dcm"
    added.parent.mkdir(parents=True)
    added.write_bytes(b"\0" * 132)
    (copy / "notes.txt").write_text("added on the way\n")
    status, out, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 1
    assert out.splitlines() == [f"missing: {_rel(copy, gone)}", "extra: data/PZZZZZZZZZZ/1.2/1.2.3/1.2.3.4.dcm",
                                "extra: notes.txt"]
    assert "1 missing, 2 extra" in err


def test_another_public_key_is_a_wrong_key(signed: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli(capsys, "verify-release", signed["dst"], "--public-key", signed["other_pub"])
    assert status == 2 and out == ""
    assert "NOT VERIFIED: wrong key" in err


def test_a_missing_or_swapped_signature_fails(
        signed: dict[str, Path], copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The signature of another release by the same key: the copy signed again after one file went.
    other = tmp_path / "other"
    shutil.copytree(copy, other)
    _payload(other)[0].unlink()
    assert _cli(capsys, "sign", other, "--key", signed["key"])[0] == 0
    shutil.copy(other / SIGNATURE, copy / SIGNATURE)
    status, _, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 2 and "bad signature" in err
    (copy / SIGNATURE).write_text("not a signature\n")
    status, _, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 2 and "bad signature" in err
    (copy / SIGNATURE).unlink()
    status, _, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 2 and "no signature" in err


def test_tampered_bag_info_and_manifests_are_caught(
        signed: dict[str, Path], copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = {name: (copy / name).read_bytes() for name in (BAG_INFO, MANIFEST, TAG_MANIFEST)}
    (copy / BAG_INFO).write_bytes(original[BAG_INFO].replace(b"written 48", b"written 49"))
    status, out, _ = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 1 and out.splitlines() == [f"changed: {BAG_INFO}"]
    (copy / BAG_INFO).write_bytes(original[BAG_INFO])

    # A file swapped and the manifest edited to match: the manifest no longer is the signed one.
    victim = _payload(copy)[5]
    victim.write_bytes(b"forged")
    digest = hashlib.sha256(b"forged").hexdigest()
    lines = [f"{digest}  {_rel(copy, victim)}" if line.endswith(_rel(copy, victim)) else line
             for line in original[MANIFEST].decode().splitlines()]
    (copy / MANIFEST).write_text("\n".join(lines) + "\n")
    status, out, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 1 and out.splitlines() == [f"changed: {MANIFEST}"]
    assert "the payload was not checked" in err

    # The tag manifest edited to match too: that is what the signature covers.
    tags = original[TAG_MANIFEST].decode()
    manifest_digest = hashlib.sha256((copy / MANIFEST).read_bytes()).hexdigest()
    tags = re.sub(r"^[0-9a-f]{64}(  manifest-sha256\.txt)$", manifest_digest + r"\1", tags, flags=re.M)
    (copy / TAG_MANIFEST).write_text(tags)
    status, _, err = _cli(capsys, "verify-release", copy, "--public-key", signed["pub"])
    assert status == 2 and "bad signature" in err


def test_verify_release_refuses_what_is_not_a_release(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _cli(capsys, "verify-release", tmp_path / "nowhere", "--public-key", signed["pub"])
    assert status == 2 and "is not a folder" in err
    status, _, err = _cli(capsys, "verify-release", signed["dst"], "--public-key", signed["key"])
    assert status == 2 and "not an Ed25519 public key" in err
    status, _, err = _cli(capsys, "verify-release", tmp_path, "--public-key", signed["pub"])
    assert status == 2 and "no signature" in err


# --- signing again, sign, and runs into a signed DST --------------------------------------------

def test_runs_into_a_signed_dst_keep_its_layout_and_signing_again_covers_everything(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst, state = tmp_path / "out", tmp_path / "out.state"
    shutil.copytree(signed["dst"], dst)
    shutil.copytree(signed["state"], state)
    before = {_rel(dst, p): p.read_bytes() for p in _payload(dst)}
    status, _, err = _cli(capsys, "run", STUDIES, dst, "--key-file", signed["pseudonym"], "--quiet")
    assert status == 0 and "sign it again" in err
    assert {_rel(dst, p): p.read_bytes() for p in _payload(dst)} == before  # finished inputs: nothing rewritten
    assert sorted(p.name for p in dst.iterdir() if p.is_dir()) == ["data"]
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])[0] == 0

    status, out, _ = _cli(capsys, "run", STUDIES, dst, "--key-file", signed["pseudonym"], "--quiet",
                          "--sign", signed["other_key"])
    assert status == 0 and "signed again over everything" in out and "another key" in out
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])[0] == 2
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["other_pub"])[0] == 0


def test_sign_makes_an_unsigned_dst_a_release_and_a_rerun_then_writes_under_data(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "plain"
    assert _cli(capsys, "run", STUDIES, dst, "--key-file", signed["pseudonym"], "--quiet")[0] == 0
    outputs = sorted(_rel(dst, p) for p in dst.rglob("*.dcm"))
    status, out, _ = _cli(capsys, "sign", dst, "--key", signed["key"])
    assert status == 0 and "now a BagIt bag" in out and FINGERPRINT.search(out)
    assert sorted(_rel(dst / "data", p) for p in _payload(dst)) == outputs
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])[0] == 0
    bagit.Bag(str(dst)).validate()
    # The state folder's outputs are relative to the payload folder: --restart finds them there.
    shutil.rmtree(dst / "data" / outputs[0].split("/")[0])
    status, _, _ = _cli(capsys, "run", STUDIES, dst, "--key-file", signed["pseudonym"], "--quiet", "--restart")
    assert status == 0
    assert sorted(_rel(dst / "data", p) for p in _payload(dst)) == outputs
    assert sorted(p.name for p in dst.iterdir() if p.is_dir()) == ["data"]


def test_a_signing_stopped_half_way_is_finished_by_the_next(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "half"
    shutil.copytree(signed["dst"], dst)
    # As if killed while moving: one patient folder still at the top, the old signature gone.
    first = sorted((dst / "data").iterdir())[0]
    os.rename(first, dst / first.name)
    (dst / SIGNATURE).unlink()
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])[0] == 2
    status, out, _ = _cli(capsys, "sign", dst, "--key", signed["key"])
    assert status == 0 and not (dst / first.name).exists()
    assert _cli(capsys, "verify-release", dst, "--public-key", signed["pub"])[0] == 0


# --- package ------------------------------------------------------------------------------------

def test_package_zips_a_release_that_verifies_once_unzipped(
        signed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "to-partner.zip"
    status, text, _ = _cli(capsys, "package", signed["dst"], "--zip", out, "--public-key", signed["pub"])
    assert status == 0 and "53 files" in text
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert all(name.startswith("to-partner/") for name in names)
        assert "to-partner/release.sig" in names
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        archive.extractall(tmp_path / "received")
    received = tmp_path / "received" / "to-partner"
    status, text, _ = _cli(capsys, "verify-release", received, "--public-key", signed["pub"])
    assert status == 0 and "verified: 48 files" in text
    bagit.Bag(str(received)).validate()
    status, _, err = _cli(capsys, "package", signed["dst"], "--zip", out)
    assert status == 2 and "never overwritten" in err


def test_package_refuses_a_release_changed_since_signing(
        signed: dict[str, Path], copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _payload(copy)[0].write_bytes(b"changed")
    status, _, err = _cli(capsys, "package", copy, "--zip", tmp_path / "p.zip")
    assert status == 2 and "does not match what was signed" in err and "changed: data/" in err
    assert not list(tmp_path.glob("*p.zip*"))
    status, _, err = _cli(capsys, "package", copy, "--zip", tmp_path / "p.zip", "--public-key", signed["other_pub"])
    assert status == 2 and "wrong key" in err
