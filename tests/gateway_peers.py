"""Real DICOM peers for the gateway tests: ``deidentify serve`` itself, dcmtk's storescu and storescp,
Orthanc, and a throwaway certificate authority; all on loopback with free ports."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_synthetic" / "studies"
NO_OCR = ROOT / "tests" / "profiles" / "no-ocr.yaml"
DEFLATED = SAMPLE / "KOEHLER_LIESELOTTE_19830307/CT_20230514_ACC2257221/003_Radiology_Report/IM0001.dcm"
SENDER = "SENDER"
GATEWAY = "DEID_GW"


def need(*tools: str) -> None:
    """Skip when a peer's binary is missing, unless CI (which installs them) says tools are required."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
            pytest.fail(f"missing: {', '.join(missing)} (.ci/run installs dcmtk and orthanc)")
        pytest.skip(f"missing: {', '.join(missing)} (Debian packages dcmtk, orthanc)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


class Serve:
    """``deidentify serve`` as a process; its stderr goes to a file the test can read."""

    def __init__(self, tmp: Path, key: Path, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = tmp / f"serve-{self.port}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "deidentify", "serve", "--ae-title", GATEWAY, "--bind", "127.0.0.1",
                   "--port", str(self.port), "--key-file", str(key), "--profile", str(NO_OCR), *args]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env())
        deadline = time.monotonic() + 60
        while "listening on" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 90) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def storescu(port: int, *paths: Path, aet: str = SENDER, options: tuple[str, ...] = (),
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Send ``paths`` (folders recursively) to the gateway; the deflated sample file is sent as deflated."""
    command = ["storescu", "-aet", aet, "-aec", GATEWAY, "+sd", "+r", "-nh", *options, "127.0.0.1", str(port),
               *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def send_sample(port: int, sample: Path = SAMPLE, **kwargs: object) -> list[subprocess.CompletedProcess[str]]:
    """The whole sample: storescu proposes uncompressed syntaxes and would inflate the deflated file,
    so that one goes alone with -xd (sent as it is stored, its output is then run's byte for byte)."""
    others = [path for path in sorted(sample.rglob("*")) if path.is_file() and path != DEFLATED]
    sent = [storescu(port, *others, **kwargs)]  # type: ignore[arg-type]
    if DEFLATED.is_relative_to(sample):
        sent.append(storescu(port, DEFLATED, options=("-xd",), **kwargs))  # type: ignore[arg-type]
    return sent


def successes(result: subprocess.CompletedProcess[str]) -> int:
    """How many instances storescu was told were stored (needs -v)."""
    return (result.stdout + result.stderr).count("Received Store Response (Success)")


@contextmanager
def storescp(folder: Path, port: int | None = None, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """dcmtk's storescp as a destination, writing what it receives into ``folder``."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(["storescp", "-aet", "DEST", "+xa", "-od", str(folder), *options, str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def received(folder: Path) -> dict[str, pydicom.Dataset]:
    """What a destination folder holds, by SOP Instance UID."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            ds = pydicom.dcmread(path)
            found[str(ds.SOPInstanceUID)] = ds
    return found


def outputs(folder: Path) -> dict[str, Path]:
    """A DST folder's files, by SOP Instance UID (the file name)."""
    return {path.stem: path for path in folder.rglob("*.dcm")}


def run_reference(tmp: Path, key: Path, src: Path = SAMPLE) -> Path:
    """What ``deidentify run`` writes from the same files with the same key and profile."""
    dst = tmp / "reference"
    subprocess.run([sys.executable, "-m", "deidentify", "run", str(src), str(dst), "--key-file", str(key),
                    "--profile", str(NO_OCR), "--quiet", "--workers", "2"], check=False, env=env(), timeout=300)
    return dst


# --- a throwaway certificate authority -----------------------------------------------------------

def make_ca(folder: Path, name: str) -> tuple[object, object, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def issue(folder: Path, ca: tuple[object, object, Path], name: str, server: bool) -> tuple[Path, Path]:
    """A certificate and key the CA signed; a server's names 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key, ca_cert, _ = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key())  # type: ignore[attr-defined]
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path
