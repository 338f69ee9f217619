"""What a client's work after its order write costs in the ``tick`` stage's server-measured figures,
where the venue runs on the same host: the bench venue (its own process, as in ``tickwire bench``)
stamps tick written → order read for the floor contender (picows answering every tick with one fixed
pre-built order) and for the same floor spinning ``--busy-us`` after its write before it returns to
its loop, rounds alternating, one tick in flight.

When the venue process and the client share a core (a 2-core VM with other jobs on it), the venue
reads the order only once the client's loop sleeps, so whatever a client does after its write —
tickwire's ``send`` tracks the order and starts its answer task there — is added to the server-measured
time although the bytes left at the write. A venue on another host would not see it; in-process
figures (tick read → order written) do not include it.

    python benches/bench_one_host.py [--busy-us 50] [--rounds 6] [--ticks 600]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from tickwire.bench import peers
from tickwire.bench.tick_order import _run, venue_process
from tickwire.bench.venue import SYMBOLS
from tickwire.loop import run
from tickwire.transport.http import HttpClient

WARM = 100  # ticks of each round left out (connections and caches settling)


class BusyFloor(peers.Floor):
    """The floor, spinning ``busy_ns`` after its write (0: the floor itself)."""

    busy_ns = 0

    async def connect(self, on_text: Any) -> None:
        mono = time.monotonic_ns

        def after_write(frame: Any) -> None:
            on_text(frame)
            end = mono() + self.busy_ns
            while mono() < end:
                pass

        await super().connect(after_write)


async def measure(busy_us: int, rounds: int, ticks: int) -> dict[int, list[float]]:
    """Per busy time (0 and ``busy_us``), each round's server-measured p50 in µs."""
    out: dict[int, list[float]] = {0: [], busy_us: []}
    with venue_process() as urls:
        c = BusyFloor(SYMBOLS[0], urls)
        await c.start()
        http = HttpClient(urls["rest"])
        try:
            for r in range(rounds):
                for busy in (0, busy_us) if r % 2 == 0 else (busy_us, 0):
                    c.busy_ns = busy * 1000
                    res = await _run(http, SYMBOLS[0], ticks, 300)
                    ns = [x for x in res["ns"][WARM:] if x > 0]
                    if len(ns) != ticks - WARM:
                        raise RuntimeError(f"{ticks - WARM - len(ns)} ticks unanswered")
                    out[busy].append(statistics.median(ns) / 1000)
        finally:
            await http.close()
            await c.stop()
    return out


def report(busy_us: int, res: dict[int, list[float]]) -> str:
    pairs = list(zip(res[0], res[busy_us], strict=True))
    ratios = [b / f for f, b in pairs]
    added = statistics.median(b - f for f, b in pairs)
    lines = [
        f"tick written → order read at the venue, p50 µs per round ({len(ratios)} rounds, alternating)",
        f"  floor                          {' '.join(f'{x:7.1f}' for x in res[0])}",
        f"  floor + {busy_us} µs after its write {' '.join(f'{x:7.1f}' for x in res[busy_us])}",
        f"  added: median {added:.1f} µs, ratio median {statistics.median(ratios):.2f}"
        f" (range {min(ratios):.2f} to {max(ratios):.2f})",
    ]
    return "\n".join(lines)


def test_one_host_smoke() -> None:
    res = run(measure(20, 2, WARM + 30))
    assert all(len(v) == 2 and min(v) > 0 for v in res.values())
    print("\n" + report(20, res))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--busy-us", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--ticks", type=int, default=600)
    a = ap.parse_args()
    if a.ticks <= WARM:
        sys.exit(f"--ticks must be more than {WARM}")
    print(report(a.busy_us, run(measure(a.busy_us, a.rounds, a.ticks))))
