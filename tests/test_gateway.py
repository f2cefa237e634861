"""deidentify serve with real peers on loopback: dcmtk's storescu sends, storescp receives.

The gateway's outputs must be what ``deidentify run`` writes from the same files
with the same key; callers not on the allow-list, or without a certificate the
CA signed, must be refused before anything is spooled.
"""

from __future__ import annotations

import csv
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from deidentify.gateway import AllowList, Destination, DestinationError, SecurityError
from gateway_peers import (
    SAMPLE,
    SENDER,
    Serve,
    env,
    issue,
    make_ca,
    need,
    outputs,
    received,
    run_reference,
    send_sample,
    storescp,
    storescu,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MR_SERIES = SAMPLE / "PENA_MUNOZ_BEGONA_19880913" / "MR_20240607_ACC4803460" / "001_T1_SE_SAG"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("key")
    path = folder / "gateway.key"
    path.write_text(bytes(range(32)).hex() + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, key: Path) -> Path:
    return run_reference(tmp_path_factory.mktemp("reference"), key)


def _rows(state: Path) -> list[dict[str, str]]:
    with open(state / "report.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _original_uids() -> set[str]:
    uids = set()
    for path in SAMPLE.rglob("*"):
        if path.is_file():
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            uids |= {str(ds.get(name, "")) for name in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")}
    return uids - {""}


def test_serve_files_what_run_writes(tmp_path: Path, key: Path, reference: Path) -> None:
    need("storescu")
    dst, state = tmp_path / "dst", tmp_path / "dst.state"
    serve = Serve(tmp_path, key, "--dst", str(dst), "--allow", f"{SENDER}@127.0.0.1")
    sent = send_sample(serve.port)
    assert all(result.returncode == 0 for result in sent), [result.stderr for result in sent]
    assert serve.stop() == 0, serve.output()
    mine, theirs = outputs(dst), outputs(reference)
    assert len(mine) == 22 and mine.keys() == theirs.keys()
    for uid, path in mine.items():  # byte for byte: the one engine
        assert path.read_bytes() == theirs[uid].read_bytes(), path.relative_to(dst)
    assert {path.relative_to(dst) for path in mine.values()} == {path.relative_to(reference) for path in
                                                                 theirs.values()}
    rows = _rows(state)
    assert len(rows) == 48
    assert sum(row["status"] == "withheld" for row in rows) == 26
    assert len(list((state / "quarantine").glob("*.reason.txt"))) == 26
    assert not list((state / "spool").iterdir())  # everything finished left the spool
    for folder in (state, state / "spool"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    said = serve.output() + (state / "run.log").read_text()
    assert "received 48, refused 0" in said
    leaked = [uid for uid in _original_uids() if uid in said]
    assert not leaked, "an original UID reached the log"


def test_forward_to_storescp(tmp_path: Path, key: Path, reference: Path) -> None:
    need("storescu", "storescp")
    state = tmp_path / "state"
    with storescp(tmp_path / "received") as (_, port):
        serve = Serve(tmp_path, key, "--forward", f"DEST@127.0.0.1:{port}", "--state", str(state),
                      "--allow", f"{SENDER}@127.0.0.1")
        assert all(result.returncode == 0 for result in send_sample(serve.port))
        deadline = time.monotonic() + 60
        while len(list((tmp_path / "received").iterdir())) < 22 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert serve.stop() == 0, serve.output()
        got = received(tmp_path / "received")
    theirs = outputs(reference)
    assert got.keys() == theirs.keys()
    for uid, ds in got.items():
        assert ds == pydicom.dcmread(theirs[uid]), uid  # storescp writes its own file meta; the data set is run's
    assert not list((state / "outbound").rglob("*.dcm"))  # the queue is empty: each file left once acknowledged
    assert "forwarded 22" in serve.output()


def test_callers_not_allowed_are_refused(tmp_path: Path, key: Path) -> None:
    need("storescu", "echoscu")
    state = tmp_path / "dst.state"
    serve = Serve(tmp_path, key, "--dst", str(tmp_path / "dst"), "--allow", f"{SENDER}@10.9.9.9",
                  "--allow", "ECHOER@127.0.0.0/8")
    try:
        wrong_address = storescu(serve.port, MR_SERIES)  # the right AE title from an address not allowed
        wrong_title = storescu(serve.port, MR_SERIES, aet="STRANGER")
        echo = subprocess.run(["echoscu", "-aet", "ECHOER", "-aec", "DEID_GW", "127.0.0.1", str(serve.port)],
                              capture_output=True, text=True, timeout=30)
        spooled = list((state / "spool").iterdir())
    finally:
        assert serve.stop() == 0
    assert wrong_address.returncode != 0 and wrong_title.returncode != 0
    assert echo.returncode == 0, echo.stderr
    assert not spooled and not list((tmp_path / "dst").rglob("*.dcm")) and _rows(state) == []
    assert "STRANGER" in serve.output() or "STRANGER" in (state / "run.log").read_text()


def test_tls_needs_a_client_certificate_the_ca_signed(tmp_path: Path, key: Path) -> None:
    need("storescu")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, rogue = make_ca(certs, "hospital-ca"), make_ca(certs, "rogue-ca")
    server_cert, server_key = issue(certs, ca, "gateway", server=True)
    client_cert, client_key = issue(certs, ca, "modality", server=False)
    rogue_cert, rogue_key = issue(certs, rogue, "intruder", server=False)
    dst = tmp_path / "dst"
    serve = Serve(tmp_path, key, "--dst", str(dst), "--allow", f"{SENDER}@127.0.0.1", "--tls-cert", str(server_cert),
                  "--tls-key", str(server_key), "--tls-ca", str(ca[2]))
    try:
        trusted = ("+cf", str(ca[2]))
        good = storescu(serve.port, MR_SERIES, options=("+tls", str(client_key), str(client_cert), *trusted))
        anonymous = storescu(serve.port, MR_SERIES, options=("+tla", *trusted))
        other_ca = storescu(serve.port, MR_SERIES, options=("+tls", str(rogue_key), str(rogue_cert), *trusted))
        plain = storescu(serve.port, MR_SERIES)
    finally:
        assert serve.stop() == 0, serve.output()
    assert good.returncode == 0, good.stderr
    assert anonymous.returncode != 0 and other_ca.returncode != 0 and plain.returncode != 0
    assert len(outputs(dst)) == len([path for path in MR_SERIES.iterdir() if path.is_file()])


def test_a_full_spool_refuses_with_a_status_and_the_node_stays_up(tmp_path: Path, key: Path) -> None:
    need("storescu", "echoscu")
    serve = Serve(tmp_path, key, "--dst", str(tmp_path / "dst"), "--allow", "*@127.0.0.1", "--max-spool", "1K")
    try:
        refused = storescu(serve.port, MR_SERIES, options=("-v",))
        echo = subprocess.run(["echoscu", "-aec", "DEID_GW", "127.0.0.1", str(serve.port)], capture_output=True,
                              timeout=30)
    finally:
        assert serve.stop() == 0
    assert refused.returncode != 0 or "Refused: OutOfResources" in refused.stdout + refused.stderr
    assert re.search(r"0xa700|OutOfResources", refused.stdout + refused.stderr, re.I)
    assert echo.returncode == 0
    assert not list((tmp_path / "dst").rglob("*.dcm"))


def test_settings_file(tmp_path: Path, key: Path) -> None:
    need("echoscu")
    config = tmp_path / "deidentify.toml"
    config.write_text(f'[serve]\ndst = "{tmp_path / "dst"}"\nallow = ["{SENDER}@127.0.0.1"]\nmax-associations = 2\n'
                      "verify = false\n")
    serve = Serve(tmp_path, key, "--config", str(config), "--allow", "OTHER@127.0.0.1")
    try:
        echoes = [subprocess.run(["echoscu", "-aet", caller, "-aec", "DEID_GW", "127.0.0.1", str(serve.port)],
                                 capture_output=True, timeout=30).returncode for caller in (SENDER, "OTHER", "THIRD")]
    finally:
        assert serve.stop() == 0
    assert echoes[:2] == [0, 0] and echoes[2] != 0  # the file's allow-list, and the command line's added to it
    config.write_text('[serve]\ndst = "x"\nfoward = "A@b:1"\n')
    wrong = subprocess.run([sys.executable, "-m", "deidentify", "serve", "--config", str(config)],
                           capture_output=True, text=True, env=env(), timeout=60)
    assert wrong.returncode == 2 and "foward" in wrong.stderr


def test_settings_are_checked() -> None:
    assert Destination.parse("PACS@10.0.0.1:104") == Destination("PACS", "10.0.0.1", 104)
    assert Destination.parse("PACS@[::1]:11112").host == "::1"
    for wrong in ("PACS@10.0.0.1", "10.0.0.1:104", "PACS@host:http", "A_VERY_LONG_AE_TITLE_X@h:1"):
        with pytest.raises(DestinationError):
            Destination.parse(wrong)
    allow = AllowList(["CT1@10.1.4.21", "PACS@10.2.0.0/16", "*@127.0.0.1"])
    assert allow.allows("CT1", "10.1.4.21") and not allow.allows("CT1", "10.1.4.22")
    assert allow.allows("PACS", "10.2.200.1") and not allow.allows("CT1", "10.2.200.1")
    assert allow.allows("ANYONE", "127.0.0.1") and allow.allows("ANYONE", "::ffff:127.0.0.1")
    assert allow.ae_titles is None and AllowList(["B@1.2.3.4", "A@5.6.7.8"]).ae_titles == ["A", "B"]
    for wrong in ("CT1", "@10.0.0.1", "CT1@", "A\\B@1.2.3.4"):
        with pytest.raises(SecurityError):
            AllowList([wrong])
