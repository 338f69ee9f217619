"""``tickwire demo`` as a user runs it: no arguments needed, no network, faults recovered, and every
book equal to the simulator's at the end."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_recovers_from_every_fault_and_ends_with_correct_books() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "demo", "--duration", "6", "--plain"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    m = re.search(r"Books equal to the simulator's at the end: (\d+)/(\d+) — yes", out)
    assert m and m.group(1) == m.group(2) and int(m.group(2)) >= 6, out[-2000:]
    for fault in ("endpoint A drops", "sequence gap", "corrupted checksum", "drops the connection"):
        assert fault in out
    # Binance ran two lines: the dropped one came back, the other kept the book in sync.
    assert re.search(r"binance line A disconnected", out)
    assert not re.search(r"binance out_of_sync", out)
    assert re.search(r"okx out_of_sync BTC-USDT gap", out) and re.search(r"okx synced BTC-USDT", out)
    assert "latency, socket read" in out
