"""Order round trip (send → answer applied) against the simulator in a separate process: raw REST
(kept-alive socket + stdlib hmac), ``place_order`` over REST with and without the private stream and
over the WS API, and order templates over both — the ``order round trip`` stage of ``tickwire bench``
(``tickwire/bench/roundtrip.py``), rounds alternating, ratios to raw REST.

    python benches/bench_orders.py [--orders 300] [--rounds 3]

Under pytest it runs briefly as a smoke test.
"""

from __future__ import annotations

import argparse
import sys

import tickwire
from tickwire.bench import roundtrip
from tickwire.bench.report import table


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def test_order_round_trip_smoke() -> None:
    rows = tickwire.run(roundtrip.measure_async(True, _progress, orders=5, rounds=1))
    assert {r.key for r in rows} == set(roundtrip.NAMES)
    assert all(r.samples == 5 for r in rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(table(tickwire.run(roundtrip.measure_async(False, _progress, orders=a.orders, rounds=a.rounds))))
