"""One received Binance depth frame (40 levels) into a book: tickwire vs orjson + dict.

Run ``pytest benches/bench_book.py --benchmark-enable`` (after ``maturin develop --release``) to
measure; plain ``pytest`` runs each once as a smoke test.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from tickwire import BookFeed

N = 2000


def _px(ticks: int) -> str:
    return f"{ticks // 10000}.{(ticks % 10000) * 10000:08d}"


def _frames() -> tuple[str, list[bytes]]:
    rnd = random.Random(7)

    def level(p: int, q: int) -> str:
        return f'["{_px(p)}","{q}.00000000"]'

    snap = (
        '{"lastUpdateId":1000,"bids":['
        + ",".join(level(3500 - i, 100 + i) for i in range(1000))
        + '],"asks":['
        + ",".join(level(3501 + i, 100 + i) for i in range(1000))
        + "]}"
    )
    frames = []
    for k in range(N):

        def side(base: int, sign: int) -> str:
            qty = lambda: rnd.choice([0, rnd.randrange(1, 5000)])  # noqa: E731
            return ",".join(level(base + sign * rnd.randrange(40), qty()) for _ in range(20))

        bids, asks = side(3500, -1), side(3501, 1)
        frames.append(
            (
                '{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC",'
                f'"U":{1001 + 3 * k},"u":{1003 + 3 * k},"b":[{bids}],"a":[{asks}]}}}}'
            ).encode()
        )
    return snap, frames


SNAP, FRAMES = _frames()


def _cycle(on_wrap: Callable[[], None]) -> Iterator[bytes]:
    while True:
        on_wrap()
        yield from FRAMES


def test_tickwire_on_frame(benchmark: Any) -> None:
    feed = BookFeed("binance")
    it = _cycle(lambda: feed.on_snapshot("BNBBTC", SNAP))
    next_frame = it.__next__

    def run() -> object:
        return feed.on_frame(next_frame())

    benchmark(run)
    book = feed.book("BNBBTC")
    assert book.is_synced
    assert book.best_bid() is not None


def test_orjson_dict_book(benchmark: Any) -> None:
    """The usual pure-Python way: parse to dicts, update two dicts of floats keyed by price str."""
    state: dict[str, dict[str, float]] = {"b": {}, "a": {}}

    def reset() -> None:
        snap = orjson.loads(SNAP)
        state["b"] = {p: float(q) for p, q in snap["bids"]}
        state["a"] = {p: float(q) for p, q in snap["asks"]}

    it = _cycle(reset)
    next_frame = it.__next__

    def run() -> object:
        data = orjson.loads(next_frame())["data"]
        for key in ("b", "a"):
            side = state[key]
            for p, q in data[key]:
                qty = float(q)
                if qty == 0.0:
                    side.pop(p, None)
                else:
                    side[p] = qty
        best_bid = max(state["b"], key=float)
        best_ask = min(state["a"], key=float)
        return best_bid, best_ask

    benchmark(run)


def test_orjson_dict_updates_only(benchmark: Any) -> None:
    """Lower bound of the pure-Python way: parse and update dicts, no best-price query at all."""
    state: dict[str, dict[str, float]] = {"b": {}, "a": {}}

    def reset() -> None:
        snap = orjson.loads(SNAP)
        state["b"] = {p: float(q) for p, q in snap["bids"]}
        state["a"] = {p: float(q) for p, q in snap["asks"]}

    next_frame = _cycle(reset).__next__

    def run() -> object:
        data = orjson.loads(next_frame())["data"]
        for key in ("b", "a"):
            side = state[key]
            for p, q in data[key]:
                qty = float(q)
                if qty == 0.0:
                    side.pop(p, None)
                else:
                    side[p] = qty
        return data["u"]

    benchmark(run)
