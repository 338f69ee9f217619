"""One received Binance depth frame (40 levels) into a book and the touch read back: tickwire vs
orjson + dict/float + max/min.

Run ``pytest benches/bench_book.py --benchmark-enable -s`` (after ``maturin develop --release``) to
measure; ``test_interleaved_ratio`` then asserts the ratio measured in the same run. Plain ``pytest``
runs each once as a smoke test.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from tickwire import BookFeed, OrderBook

N = 2000
# Issue 3: decode + apply + touch from Python at most 0.05x the orjson + dict way, same run.
TARGET_RATIO = 0.05


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


def _benchmarks_enabled(config: pytest.Config) -> bool:
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def test_tickwire_on_frame(benchmark: Any) -> None:
    """One Rust call per frame, then the touch read back: what a strategy does per message."""
    feed = BookFeed("binance")
    feed.on_snapshot("BNBBTC", SNAP)
    book = feed.book("BNBBTC")
    it = _cycle(lambda: feed.on_snapshot("BNBBTC", SNAP))
    next_frame = it.__next__

    def run() -> object:
        feed.on_frame(next_frame())
        return book.top()

    benchmark(run)
    assert book.is_synced
    assert book.best_bid() is not None


def _dict_state() -> tuple[dict[float, float], dict[float, float]]:
    snap = orjson.loads(SNAP)
    return {float(p): float(q) for p, q in snap["bids"]}, {float(p): float(q) for p, q in snap["asks"]}


def _dict_pass(frames: list[bytes], bids: dict[float, float], asks: dict[float, float]) -> object:
    """The usual pure-Python way: orjson, two dicts of floats keyed by float price, max/min for the
    touch after every frame."""
    loads = orjson.loads
    best: object = None
    for raw in frames:
        data = loads(raw)["data"]
        for key, side in (("b", bids), ("a", asks)):
            for p, q in data[key]:
                px, qty = float(p), float(q)
                if qty == 0.0:
                    side.pop(px, None)
                else:
                    side[px] = qty
        bb, ba = max(bids), min(asks)
        best = (bb, bids[bb]), (ba, asks[ba])
    return best


def _tickwire_pass(frames: list[bytes], feed: BookFeed, book: OrderBook) -> object:
    on_frame, top = feed.on_frame, book.top
    best: object = None
    for raw in frames:
        on_frame(raw)
        best = top()
    return best


def test_orjson_dict_book(benchmark: Any) -> None:
    state = list(_dict_state())
    i = 0

    def run() -> object:
        nonlocal i
        if i == len(FRAMES):
            state[:] = _dict_state()
            i = 0
        i += 1
        return _dict_pass(FRAMES[i - 1 : i], state[0], state[1])

    benchmark(run)


def test_both_ways_agree_on_the_touch() -> None:
    feed = BookFeed("binance")
    feed.on_snapshot("BNBBTC", SNAP)
    (bb, bq), (ba, aq) = _dict_pass(FRAMES, *_dict_state())  # type: ignore[misc]
    assert _tickwire_pass(FRAMES, feed, feed.book("BNBBTC")) == (bb, bq, ba, aq)


def interleaved_us(rounds: int, frames: list[bytes]) -> dict[str, float]:
    """Median µs per frame of each way, alternating passes over the same frames in one process so
    machine noise hits both alike. Resetting to the snapshot is outside the timed part."""
    samples: dict[str, list[float]] = {"tickwire": [], "orjson+dict": []}
    for _ in range(rounds):
        feed = BookFeed("binance")
        feed.on_snapshot("BNBBTC", SNAP)
        book = feed.book("BNBBTC")
        t0 = time.perf_counter()
        _tickwire_pass(frames, feed, book)
        t1 = time.perf_counter()
        bids, asks = _dict_state()
        t2 = time.perf_counter()
        _dict_pass(frames, bids, asks)
        t3 = time.perf_counter()
        samples["tickwire"].append((t1 - t0) / len(frames) * 1e6)
        samples["orjson+dict"].append((t3 - t2) / len(frames) * 1e6)
    return {k: statistics.median(v) for k, v in samples.items()}


def test_interleaved_ratio(request: pytest.FixtureRequest) -> None:
    if not _benchmarks_enabled(request.config):
        interleaved_us(1, FRAMES[:5])  # smoke: the measuring code runs
        return
    us = interleaved_us(15, FRAMES)
    ratio = us["tickwire"] / us["orjson+dict"]
    print(
        f"tickwire {us['tickwire']:.2f} µs/frame, orjson+dict {us['orjson+dict']:.2f} µs/frame, "
        f"ratio {ratio:.3f}"
    )
    assert ratio <= TARGET_RATIO, us
