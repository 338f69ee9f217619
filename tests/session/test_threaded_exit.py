"""A script that exits without ``md.close()``: the threaded market-data handle is closed at interpreter
exit, as the trading handle is: the process ends, and the audit log ends with the session's
``close``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
from simproc import sim_process

CHILD = """
import json, sys, tickwire
md = tickwire.connect_threaded(
    "binance", ["BTCUSDT"], endpoints=json.loads(sys.argv[1]), probe_interval=None, audit=sys.argv[2]
)
assert md.is_synced("BTCUSDT")
print("synced", flush=True)
sys.stdin.readline()
"""  # and exits, the handle never closed


def test_a_script_that_forgets_close_is_closed_at_exit(tmp_path: Path) -> None:
    """Before: the process exited (no hang; the OS dropped its socket) with the session frozen
    mid-stream on its daemon thread — the audit log ending mid-session, no ``close`` (the trading
    handle registers its close at exit for this)."""
    audit = tmp_path / "md.audit"
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(urls["binance"]), str(audit)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "synced"
            _, err = proc.communicate("\n", timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        events = [orjson.loads(line) for line in audit.read_bytes().splitlines()]
        assert events[-1]["kind"] == "close", events[-3:]
