"""Side-by-side benchmark of deidentify against its peers on generated corpora.

    bench/.venv-peers/bin/python bench/run.py [--scale 1] [--rounds 2] [--deid-fraction 1]
                                              [--ocr-files 3] [--text-files 50] [--cold]
                                              [--corpora small,ct,...]

`make bench` installs what this needs and calls it.  Each measured run is its own
subprocess: wall time with time.perf_counter around it, peak RSS from os.wait4's rusage
of that child (the largest single process of the run, its reaped workers included).
Every round runs each tool once per corpus, in an order rotated from round to round;
the table gives medians.  The page cache is warm (each corpus is read once before each
round, and every tool does an untimed warm-up on a few files first) unless --cold drops
it before every run; `sync` runs before every run so one tool's writeback does not land
in the next one's time.  Writes docs/benchmarks.md and docs/benchmarks.png and prints
the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

PROJECT_BIN = ROOT / ".venv" / "bin"
PEERS_BIN = HERE / ".venv-peers" / "bin"
KEY_HEX = "5f0d2c7c3b1e4a6f8d9e0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3"  # a fixed, public bench key
MIB = 1024 * 1024

CORPUS_TITLES = {
    "small": "small: {n:,} MR 64×64 16-bit, ~70 elements ({mb:.3g} MB)",
    "ct": "ct: {n:,} CT 512×512 16-bit ({mb:.3g} MB)",
    "us": "us: {n:,} ultrasound 640×480 RGB native, burnt-in banner ({mb:.3g} MB)",
    "j2k": "j2k: {n:,} ultrasound 640×480 RGB, JPEG 2000 lossless, banner ({mb:.3g} MB)",
    "us1024": "us1024: {n:,} ultrasound 1024×768 RGB native, burnt-in banner, no device rule ({mb:.3g} MB)",
    "busy": "busy: a 120-frame ultrasound cine 640×480 walked first, then {others:,} of the us images ({mb:.3g} MB)",
}

#: The OCR table's rows: tool name -> (engines, recognition, bench profile).  One worker each,
#: on the ultrasound corpora; the rows with Tesseract read BENCH_OCR_FILES images, the others
#: BENCH_TEXT_FILES.
OCR_ROWS = {
    "ocr-text": ("text-detector", "on", "ocr-text.yaml"),
    "ocr-text-norec": ("text-detector", "off", "ocr-text-norec.yaml"),
    "ocr-tesseract": ("tesseract", "—", "ocr-tesseract.yaml"),
    "ocr-both": ("text-detector + tesseract", "on", "ocr-both.yaml"),
}
OCR_CORPORA = {"us": "640×480", "us1024": "1024×768"}


def env_default(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class Job:
    """One tool on one corpus: how to run it, and what each round measured."""

    corpus: str
    tool: str
    label: str
    build: Callable[[Path], list[str]]  # the command line for an input folder
    src: Path
    out: Path
    files: int  # files this run processes
    nbytes: int  # bytes this run reads
    scale_to: int = 0  # when a subset: the corpus's file count, to extrapolate the time to
    state: Path | None = None  # deidentify's state folder
    ok_codes: tuple[int, ...] = (0,)
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # KiB
    cpu: list[float] = field(default_factory=list)  # user + sys seconds, workers included
    codes: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    per_file: list[list[float]] = field(default_factory=list)  # OCR rows: in-worker s of each file, each round
    missing: str = ""

    @property
    def cmd(self) -> list[str]:
        return self.build(self.src)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def full_time(self) -> float:
        """The median time, extrapolated linearly to the whole corpus when this ran on a subset."""
        return self.median * (self.scale_to / self.files) if self.scale_to else self.median

    @property
    def full_cpu(self) -> float:
        """The median CPU time (user + sys, every process of the run), extrapolated like :attr:`full_time`."""
        if not self.cpu:
            return float("nan")
        cpu = statistics.median(self.cpu)
        return cpu * (self.scale_to / self.files) if self.scale_to else cpu

    @property
    def files_per_s(self) -> float:
        return self.files / self.median if self.times else float("nan")

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / 1e6 / self.median if self.times else float("nan")

    @property
    def peak_mib(self) -> float:
        return max(self.rss) / 1024 if self.rss else float("nan")

    def image_s(self, upto: int = 0) -> float:
        """In-worker seconds per image (OCR rows): each round's mean over its files less the first
        (which also loads the engine's models) -- over files 2 to ``upto`` only when given --, the
        median over the rounds.  A run of one file gives that file's time."""
        means = [statistics.mean(files[1:upto or None] if len(files) > 1 else files)
                 for files in self.per_file if files]
        return statistics.median(means) if means else float("nan")

    @property
    def peak_mb(self) -> float:
        return max(self.rss) * 1024 / 1e6 if self.rss else float("nan")

    @property
    def failed(self) -> bool:
        return any(code not in self.ok_codes for code in self.codes)


# ---------------------------------------------------------------- measuring

GNU_TIME = "/usr/bin/time"


#: The environment of every measured run: as a user's, where Python writes its bytecode cache.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], log: Path, timeout: float = 900) -> tuple[float, int, float, int]:
    """(wall s, peak RSS KiB of the largest process, CPU s user+sys, exit code) of one run of ``cmd``.

    The run starts under GNU time, whose own wait4 gives the peak RSS: a child forked
    straight from this (large) Python process would carry its parent's RSS high-water
    mark through exec into ru_maxrss.  A run still going after ``timeout`` seconds is
    killed with its whole process group (exit code -9).
    """
    rss_file = log.with_suffix(".rss")
    wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd] if os.access(GNU_TIME, os.X_OK) else cmd
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=CHILD_ENV, start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: the run has its own session, so end it too
            _kill_group(proc.pid)
            raise
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    if wrapped is not cmd:
        try:
            fields = rss_file.read_text().split()
            rss, cpu = int(fields[-3]), float(fields[-2]) + float(fields[-1])
        except (OSError, ValueError, IndexError):
            pass
    return elapsed, rss, cpu, proc.returncode


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def drop_caches() -> bool:
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def warm(folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder)) if folder.exists() else 0


def read_report(state: Path) -> Counter:
    counts: Counter = Counter()
    report = state / "report.csv"
    if report.is_file():
        with open(report, newline="") as f:
            for row in csv.DictReader(f):
                key = row["status"] + (f": {row['reason']}" if row.get("reason") else "")
                counts[key] += 1
    return counts


def file_seconds(state: Path) -> list[float]:
    """Each file's seconds in the worker (the report's ``seconds``: read, decode, detect, mask,
    write), in report order: with one worker, the order the files were done in, which is the
    walk's sorted order, so the same first files in every row."""
    report = state / "report.csv"
    if not report.is_file():
        return []
    with open(report, newline="") as f:
        return [float(row["seconds"]) for row in csv.DictReader(f) if row.get("seconds")]


def clear(job: Job) -> None:
    for path in (job.out, job.state):
        if path is not None and path.exists():
            shutil.rmtree(path)


# ---------------------------------------------------------------- the jobs

def subset(work: Path, corpus_dir: Path, n: int) -> Path:
    """A folder of hard links to the first ``n`` files of ``corpus_dir``."""
    folder = work / "corpora" / "_subsets" / f"{corpus_dir.name}-{n}"  # rebuilt with the corpora
    if folder.is_dir() and count_files(folder) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in sorted(corpus_dir.iterdir())[:n]:
        os.link(path, folder / path.name)
    return folder


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def gdcm_certificate(work: Path) -> Path | None:
    cert = work / "gdcm" / "cert.pem"
    if cert.is_file():
        return cert
    cert.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=deidentify-bench", "-keyout", str(cert.parent / "key.pem"),
                        "-out", str(cert)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return cert


def build_jobs(args, work: Path, manifest: dict) -> list[Job]:
    corpora = work / "corpora"
    outs = work / "out"
    key = work / "bench.key"
    key.write_text(KEY_HEX + "\n")
    key.chmod(0o600)
    cert = gdcm_certificate(work)
    gdcm = shutil.which("gdcmanon")
    jobs: list[Job] = []

    def job(corpus_name: str, tool: str, label: str, build: Callable[[Path, Path], list[str]], src: Path,
            **kw) -> Job:
        out = outs / f"{corpus_name}-{tool}"
        return Job(corpus_name, tool, label, lambda s: build(s, out), src, out,
                   kw.pop("files", None) or count_files(src), kw.pop("nbytes", None) or folder_bytes(src), **kw)

    def deidentify(corpus_name: str, tool: str, label: str, src: Path, workers: int = 1,
                   profile: str = "basic", extra: tuple[str, ...] = ()) -> Job:
        state = outs / f"{corpus_name}-{tool}.state"
        return job(corpus_name, tool, label, lambda s, o: [
            str(PROJECT_BIN / "deidentify"), "run", str(s), str(o), "--profile", profile, "--key-file", str(key),
            "--workers", str(workers), "--quiet", "--state", str(state), *extra], src, state=state, ok_codes=(0, 1))

    def peers(corpus_name: str, src: Path, everyone: bool) -> list[Job]:
        found = [
            job(corpus_name, "cp", "cp -r", lambda s, o: ["cp", "-r", str(s), str(o)], src),
            job(corpus_name, "pydicom", "pydicom read+write, no change", lambda s, o: [
                str(PROJECT_BIN / "python"), str(HERE / "pydicom_loop.py"), str(s), str(o)], src),
        ]
        if not everyone:
            return found
        gdcm_job = job(corpus_name, "gdcmanon", "gdcmanon (GDCM, C++) Basic Profile", lambda s, o: [
            gdcm or "gdcmanon", "-e", "-c", str(cert), "-r", "--continue", "-i", str(s), "-o", str(o)], src)
        if not (gdcm and cert):
            gdcm_job.missing = "gdcmanon or openssl missing (apt-get install libgdcm-tools openssl)"
        found.append(gdcm_job)
        found.append(job(corpus_name, "dicognito", "dicognito", lambda s, o: [
            str(PEERS_BIN / "python"), "-m", "dicognito", "--quiet", "--output-directory", str(o), str(s)], src))
        found.append(job(corpus_name, "dicom-anonymizer", "Kitware dicom-anonymizer", lambda s, o: [
            str(PEERS_BIN / "dicom-anonymizer"), str(s), str(o)], src))
        n = count_files(src)
        limit = max(1, round(n * args.deid_fraction))
        label = "deid (default recipe)" + (f", on {limit:,} of {n:,} files, time ×{n / limit:.2f}" if limit < n else "")
        found.append(job(corpus_name, "deid", label, lambda s, o: [
            str(PEERS_BIN / "python"), str(HERE / "deid_run.py"), str(s), str(o), "--limit", str(limit)], src,
            files=min(limit, n), nbytes=sum(p.stat().st_size for p in sorted(src.iterdir())[:limit]),
            scale_to=n if limit < n else 0))
        return found

    def ocr_rows(name: str, src: Path, n: int) -> list[Job]:
        found = []
        for tool, (engines, recognition, profile) in OCR_ROWS.items():
            k = min(n, args.ocr_files if "tesseract" in engines else args.text_files or n)
            if k <= 0:
                continue
            label = (f"{OCR_CORPORA[name]}, {engines}" + (f", recognition {recognition}" if recognition != "—" else "")
                     + (f" (first {k:,} files)" if k < n else ""))
            folder = subset(work, src, k) if k < n else src
            row = deidentify(name, tool, label, folder, 1, str(HERE / "profiles" / profile))
            if "tesseract" in engines and not shutil.which("tesseract"):
                row.missing = "tesseract missing (apt-get install tesseract-ocr)"
            found.append(row)
        return found

    for name in [c for c in args.corpora.split(",") if c]:
        if name not in manifest["files"] or name not in CORPUS_TITLES:
            continue
        src = corpora / name
        n = manifest["files"][name]
        if name in ("small", "ct"):
            jobs += peers(name, src, everyone=True)
            jobs.append(deidentify(name, "deidentify-w1", "deidentify --workers 1", src, 1))
            jobs.append(deidentify(name, "deidentify-w2", "deidentify --workers 2", src, 2))
            # Issue 16: the same run on a Dask LocalCluster of 2 processes (its start-up included).
            jobs.append(deidentify(name, "deidentify-dask-local-w2", "deidentify --executor dask-local --workers 2",
                                   src, 2, extra=("--executor", "dask-local")))
            if name == "small":
                tenth = max(1, n // 10)
                jobs.append(deidentify(name, "deidentify-w1-one", "deidentify --workers 1, one file (start-up cost)",
                                       subset(work, src, 1), 1))
                jobs.append(deidentify(name, "deidentify-w1-tenth", f"deidentify --workers 1, first {tenth:,} files "
                                       "(memory flatness)", subset(work, src, tenth), 1))
        elif name == "busy":  # the longest file on a busy pool, as shipped (text detector)
            jobs.append(deidentify(name, "deidentify-w2", "deidentify --workers 2", src, 2))
        else:  # us, j2k, us1024: the pixel path
            if name != "us1024":  # us1024 is there for the OCR table alone
                jobs += peers(name, src, everyone=False)
                jobs.append(deidentify(name, "deidentify-rules", "deidentify --workers 1, device rules only (OCR off)",
                                       src, 1, str(HERE / "profiles" / "us-rules.yaml")))
            if name == "us":
                jobs.append(deidentify(name, "deidentify-header", "deidentify --workers 1, same images relabelled "
                                       "MR (header-only path)", corpora / "us-header", 1))
            if name in OCR_CORPORA:
                jobs += ocr_rows(name, src, n)
    return jobs


# ---------------------------------------------------------------- running

def run_all(jobs: list[Job], rounds: int, cold: bool, work: Path, timeout: float) -> dict:
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    notes = {"cold": cold, "dropped": None, "load_before": os.getloadavg()}
    runnable = [j for j in jobs if not j.missing]
    # No untimed warm-up for the rows with Tesseract (up to a minute an image): their first image,
    # which their in-worker figure leaves out, warms them, and the text-detector rows' warm-ups on the
    # same files have already warmed the page cache and the bytecode.
    warming = [j for j in runnable if not (j.tool in OCR_ROWS and "tesseract" in OCR_ROWS[j.tool][0])]
    print(f"bench: warm-up of {len(warming)} runs on 3 files each (1 for OCR)", flush=True)
    for job in warming:
        clear(job)
        if job.tool in ("dicom-anonymizer", "gdcmanon"):
            job.out.mkdir(parents=True)
        measure(job.build(subset(work, job.src, 1 if job.tool in OCR_ROWS else 3)),
                logs / f"warmup-{job.corpus}-{job.tool}.log", timeout)
        clear(job)
    corpora = sorted({j.corpus for j in runnable}, key=list(CORPUS_TITLES).index)
    for r in range(rounds):
        for name in corpora:
            group = [j for j in runnable if j.corpus == name]
            for src in {j.src for j in group}:
                warm(src)
            shift = r % len(group)
            for job in group[shift:] + group[:shift]:
                clear(job)
                if job.tool in ("dicom-anonymizer", "gdcmanon"):  # they need OUT to exist
                    job.out.mkdir(parents=True)
                os.sync()
                if cold:
                    notes["dropped"] = drop_caches()
                elapsed, rss, cpu, code = measure(job.cmd, logs / f"r{r}-{job.corpus}-{job.tool}.log", timeout)
                job.times.append(elapsed)
                job.rss.append(rss)
                job.cpu.append(cpu)
                job.codes.append(code)
                job.outputs.append(count_files(job.out))
                if job.state is not None:
                    job.statuses = read_report(job.state)
                if job.tool in OCR_ROWS or job.corpus == "busy":
                    job.per_file.append(file_seconds(job.state))
                print(f"bench: round {r + 1}/{rounds} {name:6} {job.tool:20} {elapsed:8.2f} s "
                      f"cpu {cpu:7.2f} s {rss / 1024:7.1f} MiB rc={code}"
                      + (f" {job.image_s():.3f} s/image in the worker" if job.tool in OCR_ROWS else ""), flush=True)
                clear(job)
    notes["load_after"] = os.getloadavg()
    return notes


# ---------------------------------------------------------------- reporting

def sh(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def project_source() -> str:
    """Where .venv's deidentify imports its package from: an editable install of another checkout (or
    a PYTHONPATH) would have the bench measure that code instead of this checkout's."""
    return sh([str(PROJECT_BIN / "python"), "-P", "-c", "import deidentify; print(deidentify.__file__)"])


def versions() -> dict[str, str]:
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    peer = lambda dist: sh([str(PEERS_BIN / "python"), "-c",  # noqa: E731
                            f"import importlib.metadata as m; print(m.version('{dist}'))"])
    return {
        "deidentify": sh([str(PROJECT_BIN / "deidentify"), "--version"]) + (
            f" (this checkout, commit {commit})" if (source := project_source()).startswith(str(ROOT / "deidentify"))
            else f" (imported from {source}, not this checkout at commit {commit})"),
        "pydicom (project .venv, the read+write loop)": sh([str(PROJECT_BIN / "python"), "-c",
                                                            "import pydicom; print(pydicom.__version__)"]),
        "gdcmanon": sh(["gdcmanon", "--version"]).replace("$Date$", "").strip(),
        "dicognito": peer("dicognito"),
        "dicom-anonymizer": peer("dicom-anonymizer"),
        "deid": peer("deid"),
        "pydicom (bench environment, peers)": peer("pydicom"),
        "cp": sh(["cp", "--version"]),
        "Python (project .venv)": sh([str(PROJECT_BIN / "python"), "--version"]),
    }


def machine(notes: dict) -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"cores (nproc)": sh(["nproc"]), "CPU": cpu, "memory": mem,
            "kernel": platform.release(),
            "load average (1, 5, 15 min) before / after the runs": " / ".join(
                " ".join(f"{x:.2f}" for x in notes[k]) for k in ("load_before", "load_after"))}


def fmt_time(job: Job) -> str:
    if job.missing:
        return "—"
    lo, hi = min(job.times), max(job.times)
    spread = f" ({lo:.2f}–{hi:.2f})" if len(job.times) > 1 else ""
    if job.scale_to:
        return f"{job.full_time:.1f}* ({job.median:.2f} on {job.files:,})"
    return f"{job.median:.2f}{spread}"


def outcome(job: Job) -> str:
    if job.missing:
        return job.missing
    if job.failed:
        killed = " (-9: killed at the time-out)" if -9 in job.codes else ""
        return f"FAILED rc={','.join(map(str, job.codes))}{killed}, see bench/.work/logs"
    if job.statuses:
        return "; ".join(f"{n:,} {k}" for k, n in job.statuses.most_common())
    return f"{job.outputs[-1]:,} files out"


def num(x: float) -> str:
    return "—" if x != x else f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def ratio(t_tool: float, t_ours: float) -> str:
    return f"{t_tool / t_ours:.2f}×" if t_ours and t_tool == t_tool and t_ours == t_ours else "—"


def corpus_title(name: str, manifest: dict) -> str:
    n = manifest["files"][name]
    return CORPUS_TITLES[name].format(n=n, others=n - 1, mb=manifest["bytes"][name] / 1e6)


def table(jobs: list[Job], name: str, manifest: dict) -> list[str]:
    group = [j for j in jobs if j.corpus == name and j.tool not in OCR_ROWS]
    ours = next((j for j in group if j.tool in ("deidentify-w1", "deidentify-rules")), None)
    n = manifest["files"][name]
    lines = [f"#### {corpus_title(name, manifest)}", "",
             "| tool | median wall s (min–max) | CPU s | files/s | MB/s | peak RSS MiB | "
             f"{'deidentify (1 worker)' if ours is None or ours.tool == 'deidentify-w1' else 'device-rule cleaning'}"
             " speed ÷ this tool's: wall (CPU) | outcome |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for job in group:
        if job.missing:
            lines.append(f"| {job.label} | — | — | — | — | — | — | {job.missing} |")
            continue
        if job is ours or ours is None or job.files != n and not job.scale_to:
            rel = "1.00× (reference)" if job is ours else "—"
        else:
            rel = f"{ratio(job.full_time, ours.median)} ({ratio(job.full_cpu, ours.full_cpu)})"
        lines.append(f"| {job.label} | {fmt_time(job)} | {job.full_cpu:.2f}{'*' if job.scale_to else ''} | "
                     f"{num(job.files_per_s)} | {num(job.mb_per_s)} | "
                     f"{job.peak_mib:.0f}{' (subset)' if job.scale_to else ''} | {rel} | {outcome(job)} |")
    return lines


def ocr_table(jobs: list[Job], manifest: dict) -> list[str]:
    """The OCR table: every engine row on both ultrasound frame sizes, one worker."""
    rows = [j for j in jobs if j.tool in OCR_ROWS]
    if not rows:
        return []
    lines = ["#### OCR: ultrasound burnt-in text by engine, `--workers 1`", "",
             "| frame | engines | recognition | images | s per image (in the worker) | images/s | "
             "run wall s (min–max), start-up included | peak RSS per worker, MB | outcome |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name in OCR_CORPORA:
        for tool, (engines, recognition, _) in OCR_ROWS.items():
            job = next((j for j in rows if j.corpus == name and j.tool == tool), None)
            if job is None:
                continue
            frame = f"{OCR_CORPORA[name]} ({name})"
            if job.missing:
                lines.append(f"| {frame} | {engines} | {recognition} | — | — | — | — | — | {job.missing} |")
                continue
            one = " (one image: model loading included)" if job.files == 1 else ""
            lines.append(f"| {frame} | {engines} | {recognition} | {job.files:,} | {job.image_s():.3f}{one} | "
                         f"{1 / job.image_s():.2f} | {fmt_time(job)} | {job.peak_mb:.0f} | {outcome(job)} |")
    return lines


def goals(jobs: list[Job], manifest: dict) -> list[tuple[str, str, str]]:
    """(goal, measured, ✓/✗/—) rows."""
    get = {(j.corpus, j.tool): j for j in jobs if j.times}
    rows = []

    def speed_goal(corpus_name: str, tool: str, need: float, label: str) -> None:
        ours, peer = get.get((corpus_name, "deidentify-w1")), get.get((corpus_name, tool))
        if not ours or not peer:
            rows.append((label, "not measured", "—"))
            return
        value = peer.full_time / ours.median
        extra = "; deid extrapolated from a subset" if peer.scale_to else ""
        rows.append((label, f"{value:.2f}× wall ({peer.full_cpu / ours.full_cpu:.2f}× CPU time{extra})",
                     "✓" if value >= need else "✗"))

    speed_goal("small", "gdcmanon", 1.0, "small corpus, 1 worker ≥ 1.0× gdcmanon")
    speed_goal("small", "pydicom", 5.0, "small corpus, 1 worker ≥ 5× pydicom read+write loop")
    speed_goal("small", "dicognito", 20.0, "small corpus, 1 worker ≥ 20× dicognito")
    speed_goal("small", "deid", 100.0, "small corpus, 1 worker ≥ 100× deid")
    speed_goal("ct", "gdcmanon", 1.0, "CT corpus, 1 worker ≥ 1.0× gdcmanon")
    w1, w2 = get.get(("ct", "deidentify-w1")), get.get(("ct", "deidentify-w2"))
    if w1 and w2:
        value = w1.median / w2.median
        rows.append(("CT corpus, 2 workers ≥ 1.8× 1 worker", f"{value:.2f}×", "✓" if value >= 1.8 else "✗"))
    rules, header = get.get(("us", "deidentify-rules")), get.get(("us", "deidentify-header"))
    if rules and header:
        cleaned = sum(n for k, n in rules.statuses.items() if k.startswith("written"))
        value = header.median / rules.median
        if cleaned == rules.files:
            rows.append(("US pixel cleaning by device rule ≥ 0.5× header-only speed", f"{value:.2f}×",
                         "✓" if value >= 0.5 else "✗"))
        else:
            rows.append(("US pixel cleaning by device rule ≥ 0.5× header-only speed",
                         f"not yet: {cleaned:,} of {rules.files:,} written ({outcome(rules)}); today "
                         f"{rules.files_per_s:.1f} files/s withholding vs {header.files_per_s:.1f} files/s header-only "
                         f"({value:.2f}×)", "—"))
    stated = []
    for name, frame in OCR_CORPORA.items():
        ocr = get.get((name, "ocr-text"))
        if not ocr:
            continue
        written = sum(n for k, n in ocr.statuses.items() if k.startswith("written"))
        stated.append(f"{ocr.image_s():.2f} s per {frame} image ({1 / ocr.image_s():.1f} images/s)"
                      + ("" if written == ocr.files else f" but only {written:,} of {ocr.files:,} written"))
    if stated:
        rows.append(("OCR throughput stated per image (text detector with recognition, as shipped; in the "
                     "worker, first image left out)", "; ".join(stated), "✓"))
    text, tesseract = get.get(("us", "ocr-text")), get.get(("us", "ocr-tesseract"))
    label = "OCR: text detector ≥ 10× Tesseract, images/s on the 640×480 set"
    if text and tesseract and tesseract.files > 1:
        # On the same images: Tesseract's time varies a lot from one image to the next.
        k = tesseract.files
        value = tesseract.image_s() / text.image_s(k)
        norec = get.get(("us", "ocr-text-norec"))
        extra = f"; {tesseract.image_s() / norec.image_s(k):.1f}× with recognition off" if norec else ""
        same = f"images 2–{k}" if k > 2 else "image 2"
        rows.append((label, f"{value:.1f}× ({1 / text.image_s(k):.2f} vs {1 / tesseract.image_s():.3f} images/s "
                     f"on the same {same}, recognition on{extra})", "✓" if value >= 10 else "✗"))
    else:
        rows.append((label, "not measured", "—"))
    busy = get.get(("busy", "deidentify-w2"))
    label = "longest file on a busy pool < 10 s (a 120-frame 640×480 cine walked first, `--workers 2`)"
    rounds = [seconds for seconds in (busy.per_file if busy else []) if seconds]
    if rounds:
        # The report lists inputs in walk order: the cine is its first row.
        worst = max(max(seconds) for seconds in rounds)
        rows.append((label, f"{worst:.2f} s, the slowest file of {len(rounds)} round{'s' * (len(rounds) != 1)} "
                     f"(the cine: {' / '.join(f'{seconds[0]:.2f}' for seconds in rounds)} s)",
                     "✓" if worst < 10 else "✗"))
    else:
        rows.append((label, "not measured", "—"))
    neural = [j for j in jobs if j.tool in OCR_ROWS and "text-detector" in OCR_ROWS[j.tool][0] and j.times]
    if neural:
        peak = max(neural, key=lambda j: j.peak_mb)
        rows.append(("OCR: peak memory per worker < 400 MB, every text-detector row",
                     f"max {peak.peak_mb:.0f} MB = {peak.peak_mib:.0f} MiB ({peak.label})",
                     "✓" if peak.peak_mb < 400 else "✗"))
    ours = [j for j in jobs if (j.tool.startswith("deidentify") or j.tool == "ocr-tesseract") and j.times
            and j.corpus != "busy"]  # the busy set is read by the text detector
    if ours:
        peak = max(ours, key=lambda j: j.peak_mib)
        under = peak.peak_mib < 150
        rows.append(("peak memory per process < 150 MB, every deidentify run without the text detector",
                     f"max {peak.peak_mib:.0f} MiB = {peak.peak_mib * MIB / 1e6:.0f} MB ({peak.corpus}, {peak.label})",
                     "✓" if under else "✗"))
    full, tenth = get.get(("small", "deidentify-w1")), get.get(("small", "deidentify-w1-tenth"))
    if full and tenth:
        grow = full.peak_mib - tenth.peak_mib
        rows.append(("peak memory flat whatever the corpus size",
                     f"{tenth.peak_mib:.0f} MiB on {tenth.files:,} files vs {full.peak_mib:.0f} MiB on {full.files:,} "
                     f"({grow:+.1f} MiB)", "✓" if grow <= max(5.0, 0.05 * tenth.peak_mib) else "✗"))
    return rows


def chart(jobs: list[Job], manifest: dict, path: Path) -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError as exc:
        return f"no chart: {exc}"
    shown = [j for j in jobs if j.times and j.tool not in ("deidentify-w1-one", "deidentify-w1-tenth")]
    ocr = [j for j in shown if j.tool in OCR_ROWS]
    shown = [j for j in shown if j.tool not in OCR_ROWS]
    names = [c for c in CORPUS_TITLES if any(j.corpus == c for j in shown)] + (["ocr"] if ocr else [])
    panels = len(names)
    fig, axes = plt.subplots(panels, 1, figsize=(9, 1.2 + 0.9 * panels + 0.33 * (len(shown) + len(ocr))),
                             squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        if name == "ocr":  # images/s in the worker, start-up left out
            group = ocr
            labels = [j.label for j in group]
            speeds = [1 / j.image_s() for j in group]
            title = "OCR, one worker: images/s in the worker (start-up and first image left out)"
        else:
            group = [j for j in shown if j.corpus == name]
            labels = [j.label + ("*" if j.scale_to else "") for j in group]
            speeds = [(j.scale_to or j.files) / j.full_time for j in group]
            title = corpus_title(name, manifest)
        colors = ["#d62728" if j.tool.startswith(("deidentify", "ocr-")) else "#7f7f7f" if j.tool == "cp"
                  else "#1f77b4" for j in group]
        bars = ax.barh(range(len(group)), speeds, color=colors)
        ax.set_yticks(range(len(group)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 1 else f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"{'images' if name == 'ocr' else 'files'}/s (log scale, higher is better)", fontsize=8)
        for bar, speed, job in zip(bars, speeds, group, strict=True):
            note = "" if not job.statuses or all(k.startswith("written") for k in job.statuses) else "  (withheld)"
            label = f" {speed:,.0f}{note}" if speed >= 10 else f" {speed:.2g}{note}"
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=7)
        ax.margins(x=0.25)
    fig.suptitle("deidentify (red) vs peers: files per second, one process unless stated"
                 + ("; * extrapolated from a subset" if any(j.scale_to for j in shown) else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return ""


def report(jobs, manifest, meta: dict, md_path: Path, png_path: Path) -> str:
    """docs/benchmarks.md from the measurements and ``meta`` (run settings, machine, versions)."""
    args, notes = argparse.Namespace(**meta["args"]), meta["notes"]
    started, elapsed = dt.datetime.fromisoformat(meta["started"]), meta["elapsed"]
    scale_note = "" if args.scale == 1 else f" — **quick run at scale {args.scale}**, not the full corpora"
    lines = ["# Benchmarks", "",
             f"Generated by `make bench` (`bench/run.py`) on {started:%Y-%m-%d %H:%M} UTC in "
             f"{elapsed / 60:.1f} min{scale_note}. Re-run with `make bench`; `make bench BENCH_SCALE=0.1` is a "
             "quick run. The goals are issue 6's.", "",
             "## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in meta["machine"].items()]
    if max(notes["load_before"][0], notes["load_after"][0]) > 0.5:
        lines += ["", "The machine was not idle (see the load averages): other work shared its cores, so wall "
                  "times are noisier and longer than on an idle machine; CPU seconds are less affected. The OCR "
                  "table's seconds per image are wall-clock times inside the worker, and as noisy."]
    lines += ["", "## Versions", "", "| tool | version |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in meta["versions"].items()]
    lines += ["", "## Goals", "", "| goal | measured | met |", "| --- | --- | :---: |"]
    lines += [f"| {g} | {m} | {ok} |" for g, m, ok in goals(jobs, manifest)]
    lines += ["", "## Results", "",
              f"Medians of {args.rounds} round{'s' * (args.rounds != 1)}; one process per tool unless stated. CPU s "
              "is user + system time of every process of the run. The ratio column is the tool's wall time (CPU "
              "time) divided by the reference row's on the same corpus (`deidentify --workers 1`; on the "
              "ultrasound sets, cleaning by device rule): above 1, the reference is faster."
              + (" *Values marked \\* are extrapolated linearly from a subset (deid holds every dataset it wrote "
                 "in memory, so its RSS on the whole corpus would be higher than the subset's).*"
                 if any(j.scale_to for j in jobs) else ""), ""]
    for name in CORPUS_TITLES:
        if any(j.corpus == name and j.tool not in OCR_ROWS for j in jobs):
            lines += table(jobs, name, manifest) + [""]
    ocr = ocr_table(jobs, manifest)
    if ocr:
        lines += ocr + ["", " ".join([
            "Seconds per image are measured inside the worker (the report's per-file `seconds`: read, detect,",
            "mask, write), the mean over a run's images less its first (which also loads the engine's models),",
            "median over the rounds; images/s is its inverse. The run's wall time adds the start-up and that",
            "first image. The speed-up goal compares the engines on the same images (Tesseract's time varies",
            "several-fold from one image to the next). Peak RSS is the largest process of the run, the worker",
            "(Tesseract's own processes included when they are larger), in MB of 10⁶ bytes. The 640×480 images",
            "also match deid's `Philips IU22` device rule (the banner is masked by rule as well); the 1024×768",
            "ones match none (deid's rule for that width says Rows 786), so OCR alone cleans them. Tesseract",
            "runs under the profile's `timeout` (60 s per call as shipped): an image it cannot read in time is",
            "withheld, and its time is then the time-out's."]), ""]
    if png_path.is_file():
        lines += [f"![files per second by tool and corpus]({png_path.name})", ""]
    cache = ("cold: page cache dropped before every run" if notes["cold"] and notes["dropped"]
             else "warm: each corpus read once before each round, every tool warmed up untimed on 3 files "
                  "(the OCR rows on 1; those with Tesseract not at all, their first image being left out instead); "
                  "`sync` before every run")
    lines += ["## Method", "",
              f"- Corpora: `bench/corpus.py`, deterministic (seeded), scale {args.scale}: made-up patients, "
              "explicit VR little endian, one flat folder each (dicom-anonymizer reads one level only). "
              "The ultrasound images are Philips iU22 640×480 RGB with a 44-pixel top banner of burnt-in name, "
              "ID, birth date and institution, inside deid's shipped `Philips IU22` 640×480 region rule; "
              "the header-only baseline is the same images relabelled MR. The 1024×768 set (OCR rows only) is "
              "the same generator with a larger frame and a 70-pixel banner in a larger font; no deid rule matches "
              "it. They carry no BurnedInAnnotation "
              "(their modality alone makes them suspect): deid's blacklist takes a YES for text at unknown places, "
              "which only OCR can clean. The busy set is a 120-frame cine of the same generator (8-bit grey, "
              "the speckle new in each frame) named to be walked first, then the first us images: its worker "
              "reads the cine while the other worker has files of its own. " + " ".join(manifest.get("notes", [])),
              f"- Each run is its own subprocess under GNU `time`, into a fresh output folder: wall time from "
              f"`time.perf_counter`; CPU time (user + system, workers included) and peak RSS (the largest single "
              f"process of the run, i.e. per worker) from `time`'s `wait4`. {args.rounds} round"
              f"{'s' * (args.rounds != 1)}, the order of the tools rotated every round. Page cache {cache}. "
              "Measured runs drop `PYTHONDONTWRITEBYTECODE`, so Python tools cache their bytecode as for a user.",
              "- deidentify: `.venv/bin/deidentify run SRC DST --profile basic --key-file K --workers N --quiet`; "
              "the device-rule rows use `bench/profiles/us-rules.yaml` (basic with OCR off); the OCR rows use "
              "`bench/profiles/ocr-*.yaml` (basic, device rules kept, with the row's engines and recognition) "
              f"with one worker: the text-detector rows on the first {getattr(args, 'text_files', 0) or 'all'} "
              f"images of each ultrasound set, the rows with Tesseract on the first {args.ocr_files} only, "
              "Tesseract being slow (`BENCH_TEXT_FILES`, `BENCH_OCR_FILES`).",
              "- gdcmanon: `gdcmanon -e -c cert.pem -r --continue -i SRC -o DST`, its PS3.15 E.1.1 Basic "
              "Profile mode (the originals go encrypted into EncryptedAttributesSequence under a throwaway "
              "certificate); Debian's libgdcm-tools.",
              "- dicognito: `python -m dicognito --quiet --output-directory DST SRC` (0.19's console script "
              "is broken); dicom-anonymizer: `dicom-anonymizer SRC DST`; deid: `bench/deid_run.py`, "
              "`replace_identifiers` with the default recipe, `save=True`. Peers live in `bench/.venv-peers`.",
              "- pydicom read+write: `bench/pydicom_loop.py`, `dcmread` then `save_as`, nothing changed, "
              "with the project's .venv.",
              (f"- deid runs on the first {args.deid_fraction:.0%} of the small and CT corpora to keep the bench "
               "short (`BENCH_DEID_FRACTION`); its time is scaled to the whole corpus." if args.deid_fraction < 1
               else "- Every tool runs on every file of its corpora."),
              ""]
    md = "\n".join(lines)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(md)
    return md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(env_default("BENCH_WORK", str(HERE / ".work"))))
    parser.add_argument("--scale", type=float, default=float(env_default("BENCH_SCALE", "1")))
    parser.add_argument("--rounds", type=int, default=int(env_default("BENCH_ROUNDS", "2")))
    parser.add_argument("--deid-fraction", type=float, default=float(env_default("BENCH_DEID_FRACTION", "1")))
    parser.add_argument("--ocr-files", type=int, default=int(env_default("BENCH_OCR_FILES", "3")),
                        help="images for the OCR rows with Tesseract, per ultrasound set (0: no such rows)")
    parser.add_argument("--text-files", type=int, default=int(env_default("BENCH_TEXT_FILES", "50")),
                        help="images for the text-detector-only OCR rows, per ultrasound set (0: all)")
    parser.add_argument("--timeout", type=float, default=float(env_default("BENCH_TIMEOUT", "900")),
                        help="seconds after which one run is killed and reported as failed")
    parser.add_argument("--cold", action="store_true", default=env_default("BENCH_COLD", "") not in ("", "0"))
    parser.add_argument("--corpora", default=env_default("BENCH_CORPORA", "small,ct,us,j2k,us1024,busy"))
    parser.add_argument("--tools", default=env_default("BENCH_TOOLS", ""),
                        help="only these rows, by tool name (e.g. deidentify-w2,deidentify-dask-local-w2); "
                             "write the report elsewhere (--md, --png) when leaving rows out")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report and chart from bench/.work/results.json without running anything")
    parser.add_argument("--md", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "benchmarks.png")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so a killed bench ends the run it measures
    if not args.report_only and not (PROJECT_BIN / "deidentify").exists():
        print("bench: no .venv/bin/deidentify; run `make bench` (it installs the project first)", file=sys.stderr)
        return 2
    source = project_source()
    if not args.report_only and not source.startswith(str(ROOT / "deidentify")):
        print(f"bench: warning: .venv's deidentify is {source}, not this checkout's "
              f"(run with PYTHONPATH={ROOT} to measure this one)", file=sys.stderr)
    work = args.work.resolve()
    results = work / "results.json"
    if args.report_only:
        if not results.is_file():
            print(f"bench: no {results}: run the bench first", file=sys.stderr)
            return 2
        saved = json.loads(results.read_text())
        manifest, meta, jobs = saved["manifest"], saved["meta"], [job_from_json(d) for d in saved["jobs"]]
    else:
        started = dt.datetime.now(dt.timezone.utc)
        t0 = time.perf_counter()
        work.mkdir(parents=True, exist_ok=True)
        manifest = corpus.build(work, args.scale)
        jobs = build_jobs(args, work, manifest)
        if args.tools:
            jobs = [j for j in jobs if j.tool in args.tools.split(",")]
        notes = run_all(jobs, args.rounds, args.cold, work, args.timeout)
        if args.cold and not notes["dropped"]:
            print("bench: could not drop the page cache (not root?): the runs were warm", file=sys.stderr)
            notes["cold"] = False
        meta = {"started": started.isoformat(), "elapsed": time.perf_counter() - t0,
                "args": {k: getattr(args, k) for k in ("scale", "rounds", "deid_fraction", "ocr_files",
                                                        "text_files")},
                "notes": notes, "machine": machine(notes), "versions": versions()}
        results.write_text(json.dumps({"manifest": manifest, "meta": meta, "jobs": [job_to_json(j) for j in jobs]},
                                      indent=1, default=str))
    problem = chart(jobs, manifest, args.png)
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
    md = report(jobs, manifest, meta, args.md, args.png)
    print()
    print(md[md.index("## Goals"):md.index("## Method")])
    print(f"bench: wrote {args.md} and {args.png}")
    return 1 if any(j.failed for j in jobs) else 0


def job_to_json(j: Job) -> dict:
    return {"corpus": j.corpus, "tool": j.tool, "label": j.label, "cmd": j.cmd, "files": j.files, "bytes": j.nbytes,
            "scale_to": j.scale_to, "times": j.times, "rss_kib": j.rss, "cpu_s": j.cpu, "codes": j.codes,
            "outputs": j.outputs, "statuses": dict(j.statuses), "per_file_s": j.per_file, "missing": j.missing,
            "ok_codes": list(j.ok_codes)}


def job_from_json(d: dict) -> Job:
    job = Job(d["corpus"], d["tool"], d["label"], lambda _src: d["cmd"], Path("."), Path("."), d["files"],
              d["bytes"], scale_to=d["scale_to"], ok_codes=tuple(d["ok_codes"]), missing=d["missing"])
    job.times, job.rss, job.cpu, job.codes = d["times"], d["rss_kib"], d["cpu_s"], d["codes"]
    job.outputs, job.statuses, job.per_file = d["outputs"], Counter(d["statuses"]), d.get("per_file_s", [])
    return job

if __name__ == "__main__":
    sys.exit(main())
