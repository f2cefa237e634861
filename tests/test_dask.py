"""The run on a real Dask cluster (issue 16): same bytes as the local pool, whatever is killed.

A ``dask scheduler`` and two ``dask worker`` processes (each under its nanny) are started from
this venv on loopback, on free ports, without dashboards; the runs go through them (and
through a LocalCluster) and are compared byte for byte with one local run under the same key.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import deidentify
from deidentify.batch import ExecutorSpec, run
from deidentify.batch.executors.dask import RunPlugin, Sealed
from deidentify.batch.pool import WorkerSetup
from deidentify.profile import load_profile

distributed = pytest.importorskip("distributed")

KEY = bytes(range(7, 39))
ROOT = Path(deidentify.__file__).resolve().parents[1]
STUDIES = ROOT / "sample_synthetic" / "studies"
SMALL_FILES = 2000
DASK = Path(sys.executable).parent / "dask"


# --- corpora and the local reference -----------------------------------------------------------


def _small_files(folder: Path, n: int) -> None:
    """``n`` tiny valid DICOM files (an 8x8 MR each, with a name, an ID, dates and UIDs) in 20 studies."""
    studies = [(f"PAT{i:03d}", generate_uid(), generate_uid(), f"Doe^Jane{i}") for i in range(20)]
    for i in range(n):
        patient_id, study, series, name = studies[i % len(studies)]
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = name, patient_id, "19700101"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.StudyDate, ds.Modality, ds.InstanceNumber = "20240102", "MR", i
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = bytes((i + j) % 256 for j in range(128))
        target = folder / patient_id / f"{i:05d}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    _small_files(folder, SMALL_FILES)
    return folder


@pytest.fixture(scope="module")
def mixed(small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample and the small files, in one SRC."""
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copytree(STUDIES, folder / "sample")
    shutil.copytree(small, folder / "small")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(small: Path, mixed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, dict[str, bytes]]:
    """The local pool's outputs of each SRC, under the same key.  Output paths and bytes depend on
    the inputs' content alone, so the mixed SRC's are the small files' and the sample's together."""
    trees = []
    for src in (small, STUDIES):
        dst = tmp_path_factory.mktemp("reference") / "dst"
        assert run(src, dst, load_profile("basic"), KEY, workers=2).exit_code == 0
        trees.append(_tree(dst))
    assert not set(trees[0]) & set(trees[1])
    return {small: trees[0], mixed: trees[0] | trees[1]}


def _key_file(folder: Path) -> Path:
    path = folder / "key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o600)
    return path


def _report(state: Path) -> pd.DataFrame:
    return pd.read_csv(state / "report.csv", keep_default_na=False)


def _rows(state: Path) -> int:
    """Inputs committed so far: the manifest gets a line per input as it is committed (the report is buffered)."""
    try:
        with open(state / "manifest.jsonl", "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def _wait_for_rows(state: Path, rows: int, alive: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while _rows(state) < rows:
        assert time.monotonic() < deadline, "the run made no progress"
        assert alive(), "the run ended before it could be interrupted"  # type: ignore[operator]
        time.sleep(0.02)


def _no_leftovers(dst: Path, state: Path) -> None:
    """No temporary file anywhere: every output whole, once (names are the new SOP Instance UIDs)."""
    assert not [p for p in dst.rglob("*") if p.is_file() and not p.name.endswith(".dcm")]
    assert not list(dst.rglob(".deidentify-*"))
    assert not list(state.rglob("*.partial"))


# --- the cluster ----------------------------------------------------------------------------------


@dataclass
class Cluster:
    address: str
    logs: list[Path]
    processes: list[subprocess.Popen[bytes]]

    def worker_pids(self) -> dict[str, int]:
        """Each Dask worker's own process (the nanny's child), by the worker's address."""
        with distributed.Client(self.address, set_as_default=False, timeout=30) as client:
            pids: dict[str, int] = client.run(os.getpid)
            return pids

    def wait_for_workers(self, n: int, seconds: float = 60) -> None:
        with distributed.Client(self.address, set_as_default=False, timeout=30) as client:
            client.wait_for_workers(n, timeout=seconds)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``dask scheduler`` and two ``dask worker`` (nanny, one thread) on 127.0.0.1, logging at debug level."""
    folder = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               DASK_LOGGING__DISTRIBUTED="debug")
    scheduler_file = folder / "scheduler.json"
    logs = [folder / "scheduler.log", folder / "worker-1.log", folder / "worker-2.log"]
    processes = []

    def start(argv: list[str], log: Path) -> None:
        with open(log, "wb") as out:
            processes.append(subprocess.Popen([str(DASK), *argv], stdout=out, stderr=subprocess.STDOUT, env=env,
                                              start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
               str(scheduler_file)], logs[0])
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline and processes[0].poll() is None, logs[0].read_text()
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give it a moment
        for log in logs[1:]:
            start(["worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1", "--nthreads", "1",
                   "--nworkers", "1", "--no-dashboard", "--memory-limit", "2GiB"], log)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        found = Cluster(address, logs, processes)
        found.wait_for_workers(2)
        yield found
    finally:
        for process in reversed(processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _on(cluster: Cluster, **kw: int) -> ExecutorSpec:
    return ExecutorSpec("dask", cluster.address, **kw)


# --- the tests --------------------------------------------------------------------------------


def test_the_sample_and_2000_small_files_on_a_dask_cluster_give_the_local_bytes(
        cluster: Cluster, mixed: Path, reference: dict[Path, dict[str, bytes]], tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    result = run(mixed, dst, load_profile("basic"), KEY, executor=_on(cluster, chunk_bytes=256 << 10))
    assert result.exit_code == 0, result.summary
    assert _tree(dst) == reference[mixed]
    report = _report(tmp_path / "dst.state")
    assert len(report) == sum(p.is_file() for p in mixed.rglob("*")) and set(report.status) == {"written"}
    _no_leftovers(dst, tmp_path / "dst.state")
    # Run again: everything is finished and unchanged, nothing is redone, the bytes stay.
    again = run(mixed, dst, load_profile("basic"), KEY, executor=_on(cluster))
    assert again.exit_code == 0 and _tree(dst) == reference[mixed]


def test_a_dask_worker_killed_mid_run_costs_nothing(cluster: Cluster, small: Path,
                                                    reference: dict[Path, dict[str, bytes]], tmp_path: Path) -> None:
    """kill -9 of one worker's process: Dask retries its task elsewhere, its nanny starts it again."""
    dst, state = tmp_path / "dst", tmp_path / "dst.state"
    pids = cluster.worker_pids()
    outcome: dict[str, object] = {}

    def go() -> None:
        outcome["result"] = run(small, dst, load_profile("basic"), KEY, executor=_on(cluster, chunk_files=32))

    thread = threading.Thread(target=go)
    thread.start()
    _wait_for_rows(state, 200, thread.is_alive)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    assert _rows(state) < SMALL_FILES
    thread.join(timeout=300)
    assert not thread.is_alive()
    result = outcome["result"]
    assert result.exit_code == 0, result.summary  # type: ignore[attr-defined]
    assert _tree(dst) == reference[small]
    assert len(_report(state)) == SMALL_FILES
    _no_leftovers(dst, state)
    assert victim not in cluster.worker_pids().values()  # it was killed mid-run, and replaced
    cluster.wait_for_workers(2)


def test_a_client_killed_mid_run_resumes_from_the_manifest(cluster: Cluster, small: Path,
                                                           reference: dict[Path, dict[str, bytes]],
                                                           tmp_path: Path) -> None:
    dst, state = tmp_path / "dst", tmp_path / "dst.state"
    command = [sys.executable, "-m", "deidentify.cli", "run", str(small), str(dst), "--key-file",
               str(_key_file(tmp_path)), "--executor", "dask", "--scheduler", cluster.address, "--quiet",
               "--task-size", "32K"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    _wait_for_rows(state, 300, lambda: client.poll() is None)
    client.kill()
    client.wait()
    done_before = _rows(state)
    assert done_before < SMALL_FILES
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _tree(dst) == reference[small]
    report = _report(state)
    assert len(report) == SMALL_FILES and report.file_id.is_unique and set(report.status) == {"written"}
    _no_leftovers(dst, state)


def test_no_key_path_or_identifier_in_any_scheduler_or_worker_log(cluster: Cluster, small: Path,
                                                                   tmp_path: Path) -> None:
    """The earlier tests ran through this cluster, logging at debug level (every message Dask
    carries is printed, pickles as escaped bytes): neither the key nor a source path shows."""
    shutil.copytree(STUDIES / os.listdir(STUDIES)[0], tmp_path / "src")
    assert run(tmp_path / "src", tmp_path / "dst", load_profile("basic"), KEY,
               executor=_on(cluster)).exit_code in (0, 1)
    assert not list((tmp_path / "dst.state").glob("dask-*"))  # the run's secret is gone with the run
    secrets = [KEY.hex(), KEY.hex().upper(), repr(KEY), repr(KEY)[2:-1], str(list(KEY)), KEY.hex(":")]
    paths = [str(small), str(tmp_path / "src"), "KOEHLER", "Doe^Jane", "PAT017"]
    for log in cluster.logs:
        text = log.read_text(errors="replace")
        assert " - DEBUG - " in text, log.name
        assert "'op': 'plugin-add'" in text or log.name.startswith("scheduler"), log.name  # messages shown
        assert "deidentify-" in text, log.name  # the runs did pass here
        assert not [s for s in secrets + paths if s in text], log.name
        assert KEY not in log.read_bytes()
    setup = WorkerSetup(print, (None, KEY), print, print)
    plugin = RunPlugin("0123", setup, bytes(32), tmp_path / "secret")
    for shown in (repr(plugin), str(plugin), repr(plugin.sealed), str(vars(plugin))):
        assert not [s for s in secrets if s in shown]
    assert repr(Sealed(KEY)) == "Sealed(<redacted>)"


def test_a_local_dask_cluster_gives_the_local_bytes_on_loopback(small: Path, reference: dict[Path, dict[str, bytes]],
                                                              tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    result = run(small, dst, load_profile("basic"), KEY, workers=2, executor=ExecutorSpec("dask-local"))
    assert result.exit_code == 0, result.summary
    assert _tree(dst) == reference[small]
    _no_leftovers(dst, tmp_path / "dst.state")
    log = (tmp_path / "dst.state" / "run.log").read_text()
    assert "dask executor: scheduler tcp://127.0.0.1:" in log


def test_executor_arguments_are_checked(tmp_path: Path) -> None:
    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "deidentify.cli", "run", str(STUDIES), str(tmp_path / "dst"),
                               "--key-file", str(_key_file(tmp_path)), *argv], capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s"))

    assert "needs --scheduler" in cli("--executor", "dask").stderr
    assert "--scheduler is for --executor dask" in cli("--scheduler", "tcp://127.0.0.1:1").stderr
    unreachable = cli("--executor", "dask", "--scheduler", "tcp://127.0.0.1:1")
    assert unreachable.returncode == 2 and "cannot reach the Dask scheduler" in unreachable.stderr
    assert not list((tmp_path / "dst").rglob("*.dcm"))
