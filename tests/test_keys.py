"""The secret key file and the keyed derivations."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydicom.uid import UID

from deidentify.keys import KEY_ENV, KeyFileError, Keyring, default_key_path, load_or_create_key

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def test_a_missing_key_is_created_private_and_then_read_back(tmp_path: Path) -> None:
    path = tmp_path / "config" / "deidentify" / "key"
    key, created = load_or_create_key(path, create_folder=True)
    assert created is True
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii").strip() == key.hex()

    again, created_again = load_or_create_key(path)
    assert created_again is False
    assert again == key


def test_two_created_keys_differ(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a")[0] != load_or_create_key(tmp_path / "b")[0]


def test_an_existing_key_is_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("  " + KEY_A.hex().upper() + "\n\n", encoding="ascii")
    path.chmod(0o600)
    assert load_or_create_key(path) == (KEY_A, False)


def test_a_key_in_a_folder_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "key"
    with pytest.raises(KeyFileError, match="folder does not exist"):
        load_or_create_key(path)
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640, 0o604, 0o620])
def test_a_key_file_others_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "key"
    path.write_text(KEY_A.hex() + "\n", encoding="ascii")
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key(path)
    assert load_or_create_key(path, allow_open=True) == (KEY_A, False)
    path.chmod(0o400)
    assert load_or_create_key(path) == (KEY_A, False)


@pytest.mark.parametrize(
    "content",
    [
        "not hex at all",
        "abc",  # odd number of digits
        "",  # empty
        "00" * 8,  # 64 bits: too short to be a key
        b"\xff\xfe\x00binary".decode("latin-1"),
    ],
)
def test_a_malformed_key_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        load_or_create_key(path)
    assert str(path) in str(info.value)
    # The refused file is left as it was, never replaced by a new key.
    assert path.read_bytes() == content.encode("latin-1")


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        load_or_create_key(tmp_path)


def test_default_key_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_key_path() == tmp_path / "xdg" / "deidentify" / "key"

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "site.key"))
    assert default_key_path() == tmp_path / "site.key"


def test_default_key_path_without_xdg_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_key_path() == tmp_path / ".config" / "deidentify" / "key"


def test_same_key_same_outputs_other_key_other_outputs() -> None:
    a, a_again, b = Keyring(KEY_A), Keyring(bytes(KEY_A)), Keyring(KEY_B)
    uid = "1.2.826.0.1.3680043.8.498.1"
    assert a.uid(uid) == a_again.uid(uid) != b.uid(uid)
    assert a.pseudonym("MRN-1") == a_again.pseudonym("MRN-1") != b.pseudonym("MRN-1")
    assert a.file_id(b"digest") == a_again.file_id(b"digest") != b.file_id(b"digest")
    offsets_a = [a.day_offset(f"MRN-{i}", -3650, -1) for i in range(20)]
    offsets_b = [b.day_offset(f"MRN-{i}", -3650, -1) for i in range(20)]
    assert offsets_a == [a_again.day_offset(f"MRN-{i}", -3650, -1) for i in range(20)]
    assert offsets_a != offsets_b


def test_uid_derivation_gives_valid_uids() -> None:
    ring = Keyring(KEY_A)
    for i in range(200):
        new = ring.uid(f"1.2.3.{i}")
        assert new.startswith("2.25.") and len(new) <= 64 and UID(new).is_valid
    assert len({ring.uid(f"1.2.3.{i}") for i in range(200)}) == 200


def test_pseudonyms_use_the_unambiguous_alphabet() -> None:
    ring = Keyring(KEY_A)
    codes = {ring.pseudonym(f"MRN-{i}") for i in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 10 and not set(c) & set("IO01") and c.isalnum() and c.isupper() for c in codes)
    assert len(ring.pseudonym("MRN-1", length=6)) == 6
    # Blanks around an identifier do not make another person.
    assert ring.pseudonym(" MRN-1 ") == ring.pseudonym("MRN-1")


def test_domains_are_separate() -> None:
    ring = Keyring(KEY_A)
    # The same text as a UID, a patient ID or a date-shift key must not share derived material.
    digests = {ring._digest(domain, "1.2.3") for domain in ("uid", "pseudonym", "date-shift", "file")}
    assert len(digests) == 4


@pytest.mark.parametrize(("low", "high"), [(-3650, -1), (-1095, -30), (1, 10), (-5, -5), (-1, 1), (0, 3)])
def test_day_offset_is_in_range_never_zero_and_stable(low: int, high: int) -> None:
    ring = Keyring(KEY_A)
    for i in range(300):
        patient = f"MRN-{i}"
        offset = ring.day_offset(patient, low, high)
        assert low <= offset <= high
        assert offset != 0
        assert offset == ring.day_offset(patient, low, high)
        assert offset == ring.day_offset(f"  {patient} ", low, high)


def test_day_offsets_spread_over_the_range() -> None:
    ring = Keyring(KEY_A)
    offsets = {ring.day_offset(f"MRN-{i}", -3650, -1) for i in range(300)}
    assert len(offsets) > 250  # keyed, not one offset for everybody
    assert min(offsets) < -3000 and max(offsets) > -600
