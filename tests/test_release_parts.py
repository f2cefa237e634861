"""The parts of a signed release that the command-line tests do not reach one by one: hashing and manifests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from deidentify.release import ReleaseError
from deidentify.release.hashing import CHUNK, hash_files, sha256_file
from deidentify.release.manifest import decode_path, encode_path, format_manifest, parse_manifest


def test_a_file_larger_than_a_chunk_hashes_as_hashlib_does(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 12345)
    (tmp_path / "big").write_bytes(data)
    assert sha256_file(tmp_path / "big") == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_parallel_hashing_keeps_the_order_and_marks_unreadable_files(tmp_path: Path, workers: int) -> None:
    names = [f"f{i:03d}" for i in range(60)]
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(bytes([i]) * (i * 7919))
    results = list(hash_files(tmp_path, [*names, "missing"], workers))
    assert [name for name, _ in results] == [*names, "missing"]
    assert results[-1][1] is None
    assert all(digest == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name, digest in results[:-1])


def test_manifest_paths_percent_encode_cr_lf_and_percent_only() -> None:
    path = "data/a%b\nc\rd e.dcm"
    assert encode_path(path) == "data/a%25b%0Ac%0Dd e.dcm"
    assert decode_path(encode_path(path)) == path
    text = format_manifest([(path, "ab" * 32), ("data/x.dcm", "CD" * 32)])
    assert parse_manifest(text, "m") == {path: "ab" * 32, "data/x.dcm": "cd" * 32}


@pytest.mark.parametrize("line", [
    "nothex  data/a.dcm",
    f"{'a' * 64}  ../outside",
    f"{'a' * 64}  /etc/passwd",
    f"{'a' * 64}  data/./a.dcm",
    f"{'a' * 64}  data/a.dcm\n{'b' * 64}  data/a.dcm",
])
def test_a_malformed_manifest_is_refused(line: str) -> None:
    with pytest.raises(ReleaseError):
        parse_manifest((line + "\n").encode(), "manifest-sha256.txt")
