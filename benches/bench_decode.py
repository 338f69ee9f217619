"""Decode + apply + touch per venue, on frames shaped like each venue's traffic: tickwire
(``BookFeed(touch=True).on_frame``, the touch in its summary) vs orjson + dict/float + max/min,
same frames, same run.

Frames: the simulator's venue modules (Binance spot 8-decimal strings, USDⓈ-M 2-decimal prices and
3-decimal sizes, OKX with checksums, Kraken v2 JSON numbers), and the real captures in
``../shared/fixtures/real`` when present. The streams, both contenders and the interleaved timing are
``tickwire.bench.decode``'s (the ``tickwire bench`` stage), so this file and the command measure the
same thing.

Run ``pytest benches/bench_decode.py --benchmark-enable -s`` (after ``maturin develop --release``);
``test_interleaved_ratio`` then asserts each ratio against issue 13's 0.05. Plain ``pytest`` runs each
once as a smoke test.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
from pathlib import Path
from typing import Any

import pytest
from tickwire.bench import decode

TARGET_RATIO = 0.05
FRAMES = 2000
ROUNDS = 11

# Measured above the target (2026-12-06, stop 45, ``BookFeed(touch=True)``; two ``tickwire bench
# --stages decode`` runs, see README "Order books"): strict, so a stream that meets the target fails
# here until its mark is removed.
ABOVE_TARGET = {
    "binance (sim)": "0.067-0.071x: 1-3 levels a frame; the Python loop is ~1/6 of it",
    "binance-usdm (sim)": "0.068-0.070x: 1-3 levels a frame; the Python loop is ~1/6 of it",
    "okx (sim)": "0.099x: a CRC32 over the top 25 per 1-3-level update",
    "kraken (sim)": "0.078-0.079x: a CRC32 over the top 10 per 1-3-level update",
    "binance (capture)": "0.051x: its four REST snapshots are half of tickwire's time",
    "binance-usdm (capture)": "0.053x",
    "okx (capture)": "0.180-0.181x: a CRC32 over the top 25 per update, 400-level books",
    "kraken (capture)": "0.045-0.047x (0.049-0.057x on stops 42-44): straddles the target",
}
# Streams whose ratio straddles the target run to run (within the machine's noise of it): marked,
# but not strictly (either outcome is what the machine gave; the printed ratio is the figure).
AT_TARGET = {"binance (capture)", "binance-usdm (capture)", "kraken (capture)"}

SIM = list(decode.STREAM_VENUES)
# From this checkout, not from where the package is installed (CI installs it into site-packages,
# where ``decode.CAPTURES`` points nowhere).
CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


@functools.cache
def _sim(venue: str) -> decode.Stream:
    return decode.sim_stream(venue, FRAMES)


@functools.cache
def _capture(venue: str) -> decode.Stream:
    s = decode.capture_stream(venue, CAPTURES)
    if s is None:
        pytest.skip(f"{CAPTURES / decode.CAPTURE_FILES[venue]} absent (../shared is not in a user's clone)")
    return s


def _streams() -> list[Any]:
    out = [pytest.param(("sim", v), id=f"{v}-sim") for v in SIM]
    out += [pytest.param(("capture", v), id=f"{v}-capture") for v in decode.CAPTURE_FILES]
    return out


def _stream(which: tuple[str, str]) -> decode.Stream:
    kind, venue = which
    return _sim(venue) if kind == "sim" else _capture(venue)


def _benchmarks_enabled(config: pytest.Config) -> bool:
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


@pytest.mark.parametrize("venue", SIM)
def test_tickwire_on_frame(benchmark: Any, venue: str) -> None:
    s = _sim(venue)
    setup, timed = s.events[: s.start], s.events[s.start :]

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        feed = decode.tickwire_feed(s)
        decode.tickwire_pass(feed, setup)
        return (feed, timed), {}

    benchmark.pedantic(decode.tickwire_pass, setup=fresh, rounds=5)


@pytest.mark.parametrize("venue", SIM)
def test_orjson_dict_book(benchmark: Any, venue: str) -> None:
    s = _sim(venue)
    setup, timed = s.events[: s.start], s.events[s.start :]
    peer = decode.PEERS[venue]

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        books: decode.Books = {}
        wait: dict[str, list[Any]] = {}
        peer(setup, books, wait)
        return (timed, books, wait), {}

    benchmark.pedantic(peer, setup=fresh, rounds=5)


@pytest.mark.parametrize("which", _streams())
def test_both_ways_agree_on_the_touch(which: tuple[str, str]) -> None:
    s = _stream(which)
    ours, theirs = decode.final_touches(s)
    assert ours and ours == theirs
    if s.truth:
        assert ours == s.truth  # the simulator's own book after the last frame


@pytest.mark.parametrize("which", _streams())
def test_interleaved_ratio(request: pytest.FixtureRequest, which: tuple[str, str]) -> None:
    s = _stream(which)
    if not _benchmarks_enabled(request.config):
        decode.interleaved_ns(dataclasses.replace(s, events=s.events[: s.start + 5]), 1)
        return
    if s.name in ABOVE_TARGET:
        strict = s.name not in AT_TARGET
        request.applymarker(pytest.mark.xfail(strict=strict, reason=ABOVE_TARGET[s.name]))
    ns_t, ns_p = decode.interleaved_ns(s, ROUNDS)
    t, p = statistics.median(ns_t), statistics.median(ns_p)
    print(
        f"{s.name}: tickwire {t / 1000:.2f} µs/frame, orjson+dict {p / 1000:.2f} µs/frame, ratio {t / p:.3f}"
    )
    assert t / p <= TARGET_RATIO, (t, p)
