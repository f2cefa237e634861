"""What one Dask task costs the deidentify executor, apart from the files' own work (issue 16).

    .venv/bin/python bench/dask_overhead.py [--workers 2] [--tasks 400]

Starts a LocalCluster as ``--executor dask-local`` does (processes under a nanny, one thread
each, loopback, no dashboard) and prints: its start-up time; a no-op task's round trip
(submit, run, result, one at a time: the latency a chunk pays); the cluster's throughput of
no-op tasks submitted together (the scheduler's cost per task when every worker is busy); and
sealing and unsealing a chunk of 256 inputs and its 256 results (what the executor adds to each
task).  Not part of `make bench`'s tables: a figure for docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import time
from pathlib import Path

from distributed import Client, LocalCluster

from deidentify.batch.executors.dask import seal, unseal
from deidentify.batch.worker import Done
from deidentify.outcome import Outcome, Status


def noop(x: int) -> int:
    return x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=400)
    args = parser.parse_args()
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    client.submit(noop, -1, pure=False).result()
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(100):
        client.submit(noop, i, pure=False).result()
    latency = (time.perf_counter() - t0) / 100
    t0 = time.perf_counter()
    futures = [client.submit(noop, i, pure=False) for i in range(args.tasks)]
    client.gather(futures)
    throughput = (time.perf_counter() - t0) / args.tasks
    client.close()
    cluster.close()

    secret = secrets.token_bytes(32)
    chunk = [(Path(f"/archive/collection/patient{i:05d}/study/series/{i:08d}.dcm"), secrets.token_hex(8))
             for i in range(256)]
    results = [Done(pid, 40_000, 1_700_000_000_000_000_000, Outcome(pid, Status.WRITTEN, ""), 0.01)
               for _, pid in chunk]
    t0 = time.perf_counter()
    for _ in range(50):
        unseal(secret, seal(secret, chunk))
        unseal(secret, seal(secret, results))
    sealing = (time.perf_counter() - t0) / 50
    print(f"LocalCluster of {args.workers} start-up: {start:.2f} s")
    print(f"no-op task round trip, one at a time: {latency * 1e3:.2f} ms")
    print(f"no-op tasks submitted together: {throughput * 1e3:.2f} ms each ({1 / throughput:.0f} tasks/s)")
    print(f"seal + unseal of a 256-input chunk and its 256 results: {sealing * 1e3:.2f} ms "
          f"({len(seal(secret, chunk)) / 1024:.0f} KiB + {len(seal(secret, results)) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
