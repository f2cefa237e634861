"""Nothing acknowledged is lost: the destination going down mid-stream, and ``kill -9`` of serve mid-stream.

storescu's successes are what the gateway acknowledged; every one of them must
reach the destination, once.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from gateway_peers import SAMPLE, SENDER, Serve, need, received, storescp, successes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MR = SAMPLE / "PENA_MUNOZ_BEGONA_19880913" / "MR_20240607_ACC4803460" / "001_T1_SE_SAG"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "gateway.key"
    path.write_text(bytes(range(32)).hex() + "\n")
    path.chmod(0o600)
    return path


def _instances(folder: Path, count: int) -> list[Path]:
    """``count`` small MR instances of one series (the sample's, new UIDs), each one the pipeline writes."""
    template = pydicom.dcmread(next(path for path in sorted(MR.iterdir()) if path.is_file()))
    folder.mkdir()
    template.SeriesInstanceUID = generate_uid(entropy_srcs=["gateway test series"])
    paths = []
    for number in range(count):
        template.SOPInstanceUID = generate_uid(entropy_srcs=["gateway test", str(number)])
        template.file_meta.MediaStorageSOPInstanceUID = template.SOPInstanceUID
        template.InstanceNumber = number + 1
        path = folder / f"IM{number:04d}.dcm"
        template.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_destination_down_then_stopped_mid_stream(tmp_path: Path, key: Path) -> None:
    need("storescu", "storescp")
    files = _instances(tmp_path / "in", 12)
    state, destination = tmp_path / "state", tmp_path / "received"
    from gateway_peers import free_port

    port = free_port()
    serve = Serve(tmp_path, key, "--forward", f"DEST@127.0.0.1:{port}", "--state", str(state),
                  "--allow", f"{SENDER}@127.0.0.1")
    try:
        sent = subprocess.run(["storescu", "-v", "-aet", SENDER, "-aec", "DEID_GW", "127.0.0.1", str(serve.port),
                               *map(str, files)], capture_output=True, text=True, timeout=60)
        assert successes(sent) == 12, sent.stderr
        # The destination is down: everything waits in the outbound queue.
        _wait(lambda: len(list((state / "outbound").rglob("*.dcm"))) == 12, 60, "the queue")
        # Up, but slow (a second after each instance); stopped after a few, then up again.
        with storescp(destination, port, "--sleep-after", "1") as (slow, _):
            _wait(lambda: len(list(destination.iterdir())) >= 3, 60, "the first instances")
            slow.terminate()
            slow.wait(10)
        partial = len(list(destination.iterdir()))
        assert partial < 12, "the destination was not stopped mid-stream"
        with storescp(destination, port):
            # A store sent as the slow destination dies can wait for its answer until the
            # forwarder's DIMSE timeout (120 s): seen in 5 of 21 runs, after which the queue
            # emptied and every instance arrived once (the test took 132 s instead of 12).
            _wait(lambda: not list((state / "outbound").rglob("*.dcm")), 180, "the queue to empty")
    finally:
        assert serve.stop() == 0, serve.output()
    got = received(destination)
    assert len(got) == 12
    assert "forwarded 12;" in serve.output(), serve.output()  # acknowledged once each, none sent twice


def test_kill_9_mid_stream_then_restart_delivers_every_acknowledged_instance(tmp_path: Path, key: Path) -> None:
    need("storescu", "storescp")
    files = _instances(tmp_path / "in", 200)
    state, destination = tmp_path / "state", tmp_path / "received"
    with storescp(destination) as (_, port):
        args = ("--forward", f"DEST@127.0.0.1:{port}", "--state", str(state), "--allow", f"{SENDER}@127.0.0.1")
        serve = Serve(tmp_path, key, *args)
        sender = subprocess.Popen(["storescu", "-v", "-aet", SENDER, "-aec", "DEID_GW", "127.0.0.1", str(serve.port),
                                   *map(str, files)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        manifest = state / "manifest.jsonl"
        _wait(lambda: manifest.exists() and len(manifest.read_text().splitlines()) >= 10, 60, "the pipeline")
        serve.kill()  # SIGKILL: mid-stream for the sender, the pipeline and the queue
        out, _ = sender.communicate(timeout=60)
        acknowledged = out.count("Received Store Response (Success)")
        assert 0 < acknowledged < 200, "not killed mid-stream"
        at_kill = len(list(destination.iterdir()))
        serve = Serve(tmp_path, key, *args, port=serve.port)  # restart: the spool and the queue resume
        _wait(lambda: len(list(destination.iterdir())) >= acknowledged
              and not list((state / "outbound").rglob("*.dcm")) and not list((state / "spool").glob("*.dcm")),
              120, "every acknowledged instance")
        assert serve.stop() == 0, serve.output()
    got = received(destination)
    assert acknowledged <= len(got) <= 200 and at_kill <= len(got)
    assert {int(ds.InstanceNumber) for ds in got.values()} >= set(range(1, acknowledged + 1))
