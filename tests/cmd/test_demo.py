"""``tickwire demo`` as a user runs it: no arguments needed, no network, faults recovered, every
book equal to the simulator's at the end, then the trading part ending flat (its checks against the
simulator's truth are ``test_demo_trade.py``'s)."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_recovers_from_every_fault_and_ends_with_correct_books() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "demo", "--duration", "6", "--plain", "--trade-duration", "5"],
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
    # The trading part, after the market data: the drop reconciled, the kill switch, flat, percentiles.
    trading = out[out.index("Trading summary") :]
    assert re.search(r"RECONCILED order \S+: found at the venue", trading)
    assert "KILL demo end" in trading and "tick→order (µs, in-process" in trading
    assert "Trading ended flat, every count equal to the simulator's — yes" in trading


def test_the_venues_off_the_default_list_end_with_books_equal_to_the_simulators() -> None:
    # --venues takes bybit and coinbase too; a Bybit session holds the 50 levels of orderbook.50, so
    # its book is compared with the simulator's top 50 (before: with all 60, and the demo exited 1).
    args = ["demo", "--duration", "2", "--plain", "--no-trade", "--venues", "bybit,coinbase"]
    proc = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-2000:] + proc.stderr
    assert "Books equal to the simulator's at the end: 2/2 — yes" in out, out[-2000:]
