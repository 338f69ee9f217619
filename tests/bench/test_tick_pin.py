"""``tickwire bench --pin``: the bench venue's loop on a core of its own, the contenders' on the
others — read back from the kernel, not from what was asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tickwire.bench.tick_order import pinned

ROOT = Path(__file__).resolve().parents[2]
TWO_CORES = len(os.sched_getaffinity(0)) >= 2


@pytest.mark.skipif(not TWO_CORES, reason="--pin needs two cores")
def test_the_venue_gets_the_last_core_and_everyone_else_the_rest() -> None:
    own = os.sched_getaffinity(0)
    cpus = sorted(own)
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) for _ in range(3)]
    try:
        venue, *clients = sleepers
        assert pinned(venue.pid, [c.pid for c in clients]) == ""
        assert os.sched_getaffinity(venue.pid) == {cpus[-1]}
        for c in clients:
            assert os.sched_getaffinity(c.pid) == set(cpus[:-1])
        assert os.sched_getaffinity(0) == set(cpus[:-1])
    finally:
        os.sched_setaffinity(0, own)
        for p in sleepers:
            p.kill()
            p.wait()


@pytest.mark.skipif(not TWO_CORES, reason="--pin needs two cores")
def test_a_pinned_run_answers_every_tick_under_its_own_stage_keys() -> None:
    args = [sys.executable, "-m", "tickwire.cli", "bench", "--quick", "--json", "--stages", "tick", "--pin"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert not any("--pin" in n for n in out["notes"])
    rows = {(r["stage_key"], r["key"]): r for r in out["results"]}
    tick = {k: r for (s, k), r in rows.items() if s == "tick_pin"}
    assert {"floor", "tickwire", "bare"} <= set(tick)
    for key, r in tick.items():
        assert r["samples"] == 60, f"{key} left ticks unanswered: {r['note']}"
    assert not any(s == "tick" for s, _ in rows)  # the pinned regime never fills the default rows
