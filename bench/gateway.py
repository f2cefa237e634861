"""Throughput of ``deidentify serve`` (not part of make test or make bench): instances/s received and
forwarded, plain and over TLS, beside Orthanc's and storescp's own C-STORE receive rate measured the
same way (storescu sending the same files), and serve's peak memory.

    python bench/gateway.py [--ct 1000] [--profile basic] [--workers 2]

Received: storescu's run until its last instance is acknowledged (in the spool).  Processed: until the
spool is empty and every instance is in the manifest.  Forwarded: until storescp has every output.
Peak RSS: VmHWM of serve's process and of its largest worker, read just before SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from gateway_peers import SAMPLE, Serve, free_port, issue, make_ca, storescp, wait_for_port  # noqa: E402


def _files(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*")) if path.is_file()]


def _hwm(pid: int) -> int:
    """Peak resident memory of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _send(port: int, files: list[Path], aec: str, tls: tuple[str, ...] = ()) -> float:
    start = time.perf_counter()
    subprocess.run(["storescu", "-aet", "SENDER", "-aec", aec, "-nh", *tls, "127.0.0.1", str(port),
                    *map(str, files)], check=False, capture_output=True)
    return time.perf_counter() - start


def _wait(condition: object, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def measure_serve(work: Path, key: Path, files: list[Path], profile: str, workers: int, tls: dict[str, Path] | None,
                  forward: bool) -> dict[str, float]:
    work.mkdir(parents=True)
    server_args: list[str] = []
    client: tuple[str, ...] = ()
    if tls:
        server_args = ["--tls-cert", str(tls["server_cert"]), "--tls-key", str(tls["server_key"]),
                       "--tls-ca", str(tls["ca"])]
        client = ("+tls", str(tls["client_key"]), str(tls["client_cert"]), "+cf", str(tls["ca"]))
    state = work / "state"
    common = ["--state", str(state), "--allow", "SENDER@127.0.0.1", "--workers", str(workers), "--profile", profile,
              *server_args]
    result: dict[str, float] = {}
    if forward:
        with storescp(work / "received") as (_, port):
            serve = Serve(work, key, "--forward", f"DEST@127.0.0.1:{port}", *common)
            start = time.perf_counter()
            result["receive_s"] = _send(serve.port, files, "DEID_GW", client)
            _wait(lambda: _lines(state / "manifest.jsonl") >= len(files) and not list((state / "spool").glob("*"))
                  and not list((state / "outbound").rglob("*.dcm")))
            result["forward_s"] = time.perf_counter() - start
            result["forwarded"] = len(list((work / "received").iterdir()))
            result["rss_serve_mb"] = _hwm(serve.process.pid) / 1024
            result["rss_worker_mb"] = max((_hwm(child) for child in _children(serve.process.pid)), default=0) / 1024
            serve.stop()
    else:
        serve = Serve(work, key, "--dst", str(work / "dst"), *common)
        start = time.perf_counter()
        result["receive_s"] = _send(serve.port, files, "DEID_GW", client)
        _wait(lambda: _lines(state / "manifest.jsonl") >= len(files) and not list((state / "spool").glob("*")))
        result["process_s"] = time.perf_counter() - start
        result["rss_serve_mb"] = _hwm(serve.process.pid) / 1024
        result["rss_worker_mb"] = max((_hwm(child) for child in _children(serve.process.pid)), default=0) / 1024
        serve.stop()
    return result


def measure_orthanc(work: Path, files: list[Path]) -> float:
    work.mkdir(parents=True)
    dicom_port, http_port = free_port(), free_port()
    config = {"Name": "bench", "StorageDirectory": str(work / "db"), "IndexDirectory": str(work / "db"),
              "DicomAet": "ORTHANC", "DicomPort": dicom_port, "HttpPort": http_port, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "DicomCheckCalledAet": False, "Plugins": [],
              "DicomAlwaysAllowStore": True}
    (work / "orthanc.json").write_text(json.dumps(config))
    orthanc = subprocess.Popen(["Orthanc", str(work / "orthanc.json")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_port(dicom_port, 30)
        return _send(dicom_port, files, "ORTHANC")
    finally:
        orthanc.terminate()
        orthanc.wait(30)


def measure_storescp(work: Path, files: list[Path]) -> float:
    with storescp(work / "storescp") as (_, port):
        return _send(port, files, "DEST")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ct", type=int, default=1000, help="how many CTs (bench/corpus.py's, 512x512)")
    parser.add_argument("--profile", default="basic")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    key = work / "key"
    key.write_text(bytes(range(32)).hex() + "\n")
    key.chmod(0o600)
    certs = work / "certs"
    certs.mkdir()
    ca = make_ca(certs, "ca")
    server_cert, server_key = issue(certs, ca, "gateway", server=True)
    client_cert, client_key = issue(certs, ca, "modality", server=False)
    tls = {"ca": ca[2], "server_cert": server_cert, "server_key": server_key, "client_cert": client_cert,
           "client_key": client_key}
    from corpus import make_ct

    (work / "ct").mkdir()
    make_ct(work / "ct", args.ct)
    corpora = {"sample (48)": _files(SAMPLE), f"CT 512x512 ({args.ct})": _files(work / "ct")}
    rows = []
    for name, files in corpora.items():
        n = len(files)
        for label, context in (("plain", None), ("TLS", tls)):
            tag = f"{len(rows)}"
            filed = measure_serve(work / f"dst{tag}", key, files, args.profile, args.workers, context, False)
            sent = measure_serve(work / f"fwd{tag}", key, files, args.profile, args.workers, context, True)
            rows.append((name, label, n / filed["receive_s"], n / filed["process_s"],
                         sent["forwarded"] / sent["forward_s"], max(filed["rss_serve_mb"], sent["rss_serve_mb"]),
                         max(filed["rss_worker_mb"], sent["rss_worker_mb"])))
        rows.append((name, "Orthanc receive", n / measure_orthanc(work / f"orthanc{len(rows)}", files), 0, 0, 0, 0))
        rows.append((name, "storescp receive", n / measure_storescp(work / f"scp{len(rows)}", files), 0, 0, 0, 0))
    print(f"profile {args.profile}, {args.workers} worker(s)")
    print("| corpus | how | received /s | de-identified /s | forwarded /s | serve peak RSS MB | worker peak RSS MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join([row[0], row[1]] + [f"{value:.1f}" if value else "" for value in row[2:]]) + " |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
