"""``tickwire bench --pin``: the bench venue's loop on a core of its own, the contenders' on the
others — read back from the kernel, not from what was asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tickwire.bench.tick_order import pinned

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
