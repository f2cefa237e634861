"""Orthanc (Debian's) as the gateway's destination, and as a sender through its REST API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gateway_peers import SAMPLE, Serve, free_port, need, outputs, run_reference, send_sample, wait_for_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MR = SAMPLE / "PENA_MUNOZ_BEGONA_19880913" / "MR_20240607_ACC4803460" / "001_T1_SE_SAG"


def _rest(port: int, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


def test_orthanc_receives_what_run_writes_and_sends_through_the_gateway(tmp_path: Path) -> None:
    need("Orthanc", "storescu")
    key = tmp_path / "gateway.key"
    key.write_text(bytes(range(32)).hex() + "\n")
    key.chmod(0o600)
    dicom_port, http_port, gateway_port = free_port(), free_port(), free_port()
    config = {"Name": "deidentify-test", "StorageDirectory": str(tmp_path / "orthanc"),
              "IndexDirectory": str(tmp_path / "orthanc"), "DicomAet": "ORTHANC", "DicomPort": dicom_port,
              "HttpPort": http_port, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
              "DicomCheckCalledAet": False, "Plugins": [], "DicomAlwaysAllowStore": True,
              "DicomModalities": {"gateway": ["DEID_GW", "127.0.0.1", gateway_port]}}
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    orthanc = subprocess.Popen([shutil.which("Orthanc") or "Orthanc", str(tmp_path / "orthanc.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    serve = None
    try:
        wait_for_port(http_port, 30)
        wait_for_port(dicom_port, 30)
        serve = Serve(tmp_path, key, "--forward", f"ORTHANC@127.0.0.1:{dicom_port}", "--state",
                      str(tmp_path / "state"), "--allow", "SENDER@127.0.0.1", "--allow", "ORTHANC@127.0.0.1",
                      port=gateway_port)
        assert all(result.returncode == 0 for result in send_sample(serve.port))
        deadline = time.monotonic() + 60
        while len(_rest(http_port, "/instances")) < 22 and time.monotonic() < deadline:
            time.sleep(0.3)
        uids = {_rest(http_port, f"/instances/{ident}/simplified-tags")["SOPInstanceUID"]
                for ident in _rest(http_port, "/instances")}
        assert uids == set(outputs(run_reference(tmp_path, key)))
        # Orthanc as the sender: originals uploaded over REST, sent to the gateway by C-STORE,
        # back de-identified.
        originals = [_rest(http_port, "/instances", path.read_bytes())["ID"]
                     for path in sorted(MR.iterdir()) if path.is_file()]
        answer = _rest(http_port, "/modalities/gateway/store", json.dumps(originals).encode())
        assert answer["FailedInstancesCount"] == 0, answer
        # They were in the sample already: the gateway writes the same outputs again, which Orthanc keeps once.
        state = tmp_path / "state"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len((state / "manifest.jsonl").read_text().splitlines()) < 53
                                               or list((state / "outbound").rglob("*.dcm"))):
            time.sleep(0.3)
        assert len(_rest(http_port, "/instances")) == 22 + len(originals)
        names = [str(_rest(http_port, f"/instances/{ident}/simplified-tags").get("PatientName"))
                 for ident in _rest(http_port, "/instances")]
        pseudonyms = [name for name in names if re.fullmatch(r"P[0-9A-Z]{10}", name)]
        assert len(pseudonyms) == 22  # the uploaded originals carry their name, the rest a pseudonym
        assert serve.stop() == 0, serve.output()
        assert f"received 53, refused 0, forwarded {22 + len(originals)};" in serve.output()
        serve = None
    finally:
        if serve is not None:
            assert serve.stop() == 0, serve.output()
        orthanc.terminate()
        orthanc.wait(30)
