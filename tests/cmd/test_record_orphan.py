"""``tickwire record --endpoint sim`` runs the simulator as its child: however the recording ends —
SIGKILLed too, which no handler sees — the child must not outlive it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]


def _serving(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups clean up after the test")
def test_a_sigkilled_recording_leaves_no_simulator_behind(tmp_path: Path) -> None:
    out = tmp_path / "binance.jsonl"
    cmd = [sys.executable, "-m", "tickwire.cli", "record", "--venue", "binance", "--symbols", "BTCUSDT"]
    cmd += ["--out", str(out), "--endpoint", "sim"]
    # Its own process group: whatever it leaves behind is killed at the end, whatever the outcome.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 30
        while not any(e["kind"] == "recv" for e in _lines(out)):
            assert time.monotonic() < end and proc.poll() is None, "recording did not start"
            time.sleep(0.05)
        url = next(str(e["url"]) for e in _lines(out) if e["kind"] == "open")
        port = urllib.parse.urlparse(url).port
        assert port is not None and _serving(port)
        proc.kill()  # SIGKILL: no handler, no finally in the recording runs
        proc.wait()
        end = time.monotonic() + 20
        while _serving(port):
            assert time.monotonic() < end, f"the simulator on port {port} outlived its SIGKILLed recording"
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
