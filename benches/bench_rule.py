"""The frame route to an order's bytes, in process, with no network and nothing between ticks: what
each way of answering a tick costs on top of decoding and applying it. Same 40-level Binance diffs
(spot's 8-decimal text), one order per frame, rounds alternating:

- ``route`` — ``Dispatcher.on_frame`` alone (decode + apply): the floor of every other;
- ``bare`` — ``on_book`` in Python reads the best bid and calls ``OrderTemplate.fill`` (fixed client
  id and timestamp, as the tick bench's ``bare`` diagnostic);
- ``fire`` — ``on_book`` calls ``OrderTemplate.fire`` (client id, venue clock, fill, sign, write in
  one call): ``tmpl.send``'s one call without the session's Python around it;
- ``rule`` — a ``QuoteRule`` loaded before each frame fires inside ``on_frame`` (``tmpl.quote``).

Times are from before ``on_frame`` to the bytes handed to the write (the form's ``ready_ns``, or a
stamp right after ``fill``). The tick bench (``tickwire bench --stages tick``) measures the same paths
between a socket read and a real write, where the previous order's answer has been handled in between;
the difference between the two is that handling's and the loop's, not the path's.

    python benches/bench_rule.py [--frames 20000] [--rounds 5]

Under pytest it runs briefly as a smoke test: every path writes one order per frame, priced at the
best bid of a dict reference book fed the same frames.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from tickwire import _core
from tickwire.venues import binance

SYMBOL = "BTCUSDT"
LEVELS = 20  # per side per diff
PRICE_SCALE, QTY_SCALE = 2, 5
RULES = {"price_scale": PRICE_SCALE, "qty_scale": QTY_SCALE, "tick": 1, "lot": 1}
HEAD = b"POST /api/v3/order?"
TAIL = b" HTTP/1.1\r\nHost: bench\r\nX-MBX-APIKEY: bench-key\r\n\r\n"
QTY = 100
PATHS = ("route", "bare", "fire", "rule")


def frames(n: int, seed: int = 1) -> tuple[bytes, list[bytes]]:
    """A REST snapshot and ``n`` diffs continuing it (20 bid and 20 ask levels each), prices walking
    from 50,000.00."""
    rnd = random.Random(seed)

    def px(m: int) -> str:
        return f"{m // 100}.{m % 100:02d}000000"

    snap = orjson.dumps(
        {
            "lastUpdateId": 1000,
            "bids": [[px(5_000_000 - i), "1.00000000"] for i in range(100)],
            "asks": [[px(5_000_100 + i), "1.00000000"] for i in range(100)],
        }
    )

    def qty() -> str:  # a quarter of the levels removed, so the touch moves
        return "0.00000000" if rnd.random() < 0.25 else f"{rnd.randint(1, 900) / 1000:.8f}"

    out, mid = [], 5_000_050
    for k in range(n):
        # The market walks; the levels just past the new touch are removed, as a venue would.
        mid += rnd.randint(-3, 3)
        gone = [[px(mid - 50 + j), "0.00000000"] for j in (1, 2, 3)]
        bids = gone + [[px(mid - 50 - i), qty()] for i in range(LEVELS - 3)]
        gone = [[px(mid + 50 - j), "0.00000000"] for j in (1, 2, 3)]
        asks = gone + [[px(mid + 50 + i), qty()] for i in range(LEVELS - 3)]
        u = 1001 + k
        diff = {"e": "depthUpdate", "E": 1, "s": SYMBOL, "U": u, "u": u, "b": bids, "a": asks}
        out.append(orjson.dumps(diff))
    return snap, out


def reference_bids(snap: bytes, diffs: list[bytes]) -> list[int]:
    """The best bid (a mantissa at 2 decimals) after each diff, from a dict book."""
    bids = {Decimal(p): Decimal(q) for p, q in orjson.loads(snap)["bids"]}
    out = []
    for d in diffs:
        for p, q in orjson.loads(d)["b"]:
            if Decimal(q) == 0:
                bids.pop(Decimal(p), None)
            else:
                bids[Decimal(p)] = Decimal(q)
        out.append(int(max(bids) * 100))
    return out


def _form() -> Any:
    signer = binance.Signer("bench-key", "bench-secret")
    f = _core.OrderTemplate.binance_spot(
        signer, SYMBOL, "BUY", transport="rest", head=HEAD, tail=TAIL, tif="IOC", **RULES
    )
    f.give_ids("bench", 0, 100_000_000)
    return f


def run(path: str, snap: bytes, diffs: list[bytes]) -> tuple[list[int], list[bytes]]:
    """One pass of ``path`` over ``diffs``: ns from before ``on_frame`` to the bytes handed to the
    write, per frame, and the requests written."""
    feed = _core.BookFeed("binance")
    written: list[bytes] = []
    keep = written.append

    def write(head: bytes, data: bytes) -> None:  # the kept-alive connection's write(head, data)
        keep(data)

    form, clock, mono = _form(), _core.VenueTime(), time.monotonic_ns
    ns: list[int] = []
    t0 = [0]
    on_book: Callable[[Any], None] | None = None
    if path == "bare":
        fill = form.fill

        def on_book(book: Any) -> None:
            data = fill(book.best_bid_mantissa(PRICE_SCALE), QTY, "bench-bare", 1_700_000_000_000, "")
            ns.append(mono() - t0[0])
            keep(data)

    elif path == "fire":
        fire = form.fire

        def on_book(book: Any) -> None:
            fire(book.best_bid_mantissa(PRICE_SCALE), QTY, clock, "", write, HEAD)
            ns.append(form.ready_ns - t0[0])

    route = _core.Dispatcher(feed, None, _raise, None, False)
    route.on_snapshot(SYMBOL, snap)
    route.on_book = on_book  # from the first diff on, as the rule
    rule = None
    if path == "rule":
        rule = _core.QuoteRule(
            SYMBOL, reference="bid", offset=0, qty=QTY, when="every", price_scale=PRICE_SCALE,
            on_sent=lambda cid, data, price: None, on_error=_raise,
        )  # fmt: skip
        route.quotes.arm(rule)
    on_frame = route.on_frame
    gc.disable()
    try:
        for d in diffs:
            if rule is not None:
                rule.load(form, clock, "", write, HEAD, None)
            t = t0[0] = mono()
            on_frame(d, t, True)
            if rule is not None:
                ns.append(form.ready_ns - t)
            elif path == "route":
                ns.append(mono() - t)
    finally:
        gc.enable()
    return ns, written


def _raise(e: BaseException) -> None:
    raise e


def measure(rounds: int, n: int) -> dict[str, Any]:
    snap, diffs = frames(n)
    medians: dict[str, list[float]] = {p: [] for p in PATHS}
    for r in range(rounds):
        for p in PATHS if r % 2 == 0 else reversed(PATHS):
            ns, _ = run(p, snap, diffs)
            medians[p].append(statistics.median(ns[n // 10 :]))
    out: dict[str, Any] = {}
    floor = statistics.median(medians["route"])
    for p in PATHS:
        m = statistics.median(medians[p])
        out[p] = {"median_ns": m, "over_route_ns": m - floor, "rounds": medians[p]}
    return out


def test_every_path_writes_one_order_per_frame_at_the_reference_books_best_bid() -> None:
    snap, diffs = frames(300)
    want = reference_bids(snap, diffs)
    for p in ("bare", "fire", "rule"):
        ns, written = run(p, snap, diffs)
        assert len(ns) == len(written) == len(diffs), p
        prices = [int(Decimal(w.split(b"price=")[1].split(b"&")[0].decode()) * 100) for w in written]
        assert prices == want, p
    assert measure(1, 300)["route"]["median_ns"] > 0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args(argv)
    res = measure(a.rounds, a.frames)
    print(f"{a.frames} 40-level Binance diffs a round, {a.rounds} rounds alternating (median of medians)")
    for p in PATHS:
        m = res[p]
        extra = "" if p == "route" else f"  (+{m['over_route_ns']:.0f} ns over the route)"
        print(f"  {p:6s} {m['median_ns']:7.0f} ns to the bytes handed to the write{extra}")


if __name__ == "__main__":
    main()
