"""What the host adds to the ``tick`` stage's server-measured figures when the venue runs on the same
machine: the bench venue (its own process, as in ``tickwire bench``) stamps tick written → order read
for the floor contender (picows answering every tick with one fixed pre-built order) and for the
same floor spinning ``--before-us`` before its write (as if it computed the order that long) or
``--busy-us`` after it, rounds alternating, one tick in flight. Each variant's write syscall is timed
in process as well.

Two effects show, neither the client's code:

- after the write: when the venue process and the client share a core (a 2-core VM with other jobs
  on it) the venue reads the order only once the client's loop sleeps, so whatever a client does after
  its write — tickwire's ``send`` tracks the order and starts its answer task there — is added to the
  server-measured time although the bytes left at the write;
- before the write: on a VM whose idle vCPUs halt at once (no guest halt-polling), an order written
  while the venue's loop is still finishing the tick's write finds it awake; one written a few µs
  later must wake a halted vCPU, which the writer pays in its send syscall and the venue in its read.
  A client whose tick→order takes N µs is then measured at more than floor + N.

A venue on another host would see neither.

    python benches/bench_one_host.py [--before-us 0,4,8,16] [--busy-us 50] [--rounds 6] [--ticks 600]

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
Variant = tuple[int, int]  # (µs spun before the write, µs spun after it)


class BusyFloor(peers.Floor):
    """The floor, spinning ``before_ns`` before its write and ``after_ns`` after it."""

    before_ns = 0
    after_ns = 0

    async def connect(self, on_text: Any) -> None:
        mono = time.monotonic_ns

        def busy(frame: Any) -> None:
            end = mono() + self.before_ns
            while mono() < end:
                pass
            on_text(frame)  # the floor's: its write, timed (``inproc``)
            end = mono() + self.after_ns
            while mono() < end:
                pass

        await super().connect(busy)


async def measure(variants: list[Variant], rounds: int, ticks: int) -> dict[Variant, dict[str, list[float]]]:
    """Per variant, each round's server-measured p50 (``server``) and write-syscall p50 (``write``),
    in µs; the variants' order rotates from round to round."""
    out: dict[Variant, dict[str, list[float]]] = {v: {"server": [], "write": []} for v in variants}
    with venue_process() as urls:
        c = BusyFloor(SYMBOLS[0], urls)
        await c.start()
        http = HttpClient(urls["rest"])
        try:
            for r in range(rounds):
                k = r % len(variants)
                for v in variants[k:] + variants[:k]:
                    c.before_ns, c.after_ns = v[0] * 1000, v[1] * 1000
                    c.report()  # forget the previous round's in-process stamps
                    res = await _run(http, SYMBOLS[0], ticks, 300)
                    ns = [x for x in res["ns"][WARM:] if x > 0]
                    if len(ns) != ticks - WARM:
                        raise RuntimeError(f"{ticks - WARM - len(ns)} ticks unanswered")
                    out[v]["server"].append(statistics.median(ns) / 1000)
                    out[v]["write"].append(statistics.median(c.report()["written"][WARM:]) / 1000)
        finally:
            await http.close()
            await c.stop()
    return out


def report(res: dict[Variant, dict[str, list[float]]]) -> str:
    base = res[(0, 0)]["server"]
    lines = [f"tick written → order read at the venue, p50 µs per round ({len(base)} rounds, rotating)"]
    for (before, after), got in res.items():
        name = "floor" + (f" + {before} µs before its write" if before else "")
        name += f" + {after} µs after it" if after else ""
        # What the venue saw beyond the floor and the time the variant spent on purpose.
        extra = statistics.median(s - b - before for s, b in zip(got["server"], base, strict=True))
        lines.append(
            f"  {name:<36} {' '.join(f'{x:7.1f}' for x in got['server'])}   added beyond its own"
            f" {extra:6.1f}, write syscall {statistics.median(got['write']):5.1f}"
        )
    return "\n".join(lines)


def test_one_host_smoke() -> None:
    variants: list[Variant] = [(0, 0), (8, 0), (0, 20)]
    res = run(measure(variants, 2, WARM + 30))
    assert all(len(v["server"]) == 2 and min(v["server"]) > 0 and min(v["write"]) > 0 for v in res.values())
    print("\n" + report(res))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before-us", default="0", help="comma-separated µs spun before the write")
    ap.add_argument("--busy-us", type=int, default=50, help="µs spun after the write (0: no such variant)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--ticks", type=int, default=600)
    a = ap.parse_args()
    if a.ticks <= WARM:
        sys.exit(f"--ticks must be more than {WARM}")
    chosen: list[Variant] = [(0, 0)] + [(int(b), 0) for b in a.before_us.split(",") if int(b)]
    if a.busy_us:
        chosen.append((0, a.busy_us))
    print(report(run(measure(chosen, a.rounds, a.ticks))))
