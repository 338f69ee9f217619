"""The ``decode`` stage of ``tickwire bench``: its quick run is the CI smoke test, so its rows must be
sane and both contenders must have built the same books."""

from __future__ import annotations

import math
import time

from tickwire.bench import decode
from tickwire.bench.report import Result


def test_quick_run_has_both_contenders_per_venue_and_they_agree() -> None:
    said: list[str] = []
    t0 = time.monotonic()
    rows = decode.measure(True, said.append)
    assert time.monotonic() - t0 < 10  # ~1 s on the shared 2-core VM; generous for CI
    assert said and all(isinstance(s, str) and s for s in said)
    stages: dict[str, dict[str, Result]] = {}
    for r in rows:
        stages.setdefault(r.stage, {})[r.key] = r
    # Every simulated venue, without ../shared (quick never reads the captures).
    want = [f"decode {v} (sim)" for v in decode.STREAM_VENUES] + [f"decode {n}" for n in decode.SIM_VARIANTS]
    assert sorted(stages) == sorted(want)
    for stage, by in stages.items():
        assert set(by) == {decode.TICKWIRE, decode.PEER}, stage
        ours, peer = by[decode.TICKWIRE], by[decode.PEER]
        for r in (ours, peer):
            assert r.samples >= 3 and 0 < r.p50_ns <= r.p99_ns and not math.isnan(r.p50_ns), r
            assert r.extra["frames"] >= 300 and r.extra["frames_per_s"] > 0
            # Both books ended on the same touch, every book.
            assert r.extra["books"] >= 1 and r.extra["books_agree"] == r.extra["books"], r
        assert ours.ratios[decode.PEER] == ours.p50_ns / peer.p50_ns
        assert decode.PEER not in peer.ratios


def test_sim_streams_end_on_the_simulators_own_book() -> None:
    for venue in decode.STREAM_VENUES:
        s = decode.sim_stream(venue, 200, seed=5)
        assert s.timed == 200 and s.truth
        ours, theirs = decode.final_touches(s)
        # tickwire, the orjson peer and the simulator's ground truth: three independent books.
        assert ours == theirs == s.truth, venue
        bid, _, ask, _ = s.truth[next(iter(s.truth))]
        assert bid < ask


def test_okx_as_it_writes_now_carries_checksum_0_and_ends_on_the_simulators_book() -> None:
    """The OKX row as OKX writes its books since 2026-06-23 (``"checksum":0`` on every one): both
    sides and the simulator end on one book, and tickwire verified no checksum on the way."""
    name = "okx (sim, checksum 0)"
    venue, profile = decode.SIM_VARIANTS[name]
    s = decode.sim_stream(venue, 200, seed=5, profile=profile, name=name)
    assert s.name == name and all(b'"checksum":0,' in f for _, f in s.events)
    ours, theirs = decode.final_touches(s)
    assert ours == theirs == s.truth
    feed = decode.tickwire_feed(s)
    decode.tickwire_pass(feed, s.events)
    stats = feed.book("BTC-USDT").stats()
    assert stats["checksum_ok"] == stats["checksum_fail"] == 0


def _without_snapshot(s: decode.Stream, truth: bool) -> decode.Stream:
    """``s`` with its REST snapshot left out: no side can build a book from it."""
    events = [e for e in s.events if e[0] is None]
    return decode.Stream(s.name, s.venue, events, s.start - 1, truth=s.truth if truth else {})


def test_the_agreement_check_fails_the_stage_and_does_not_pass_on_no_books(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ "Both must end on the same touch for every book, or the stage fails": a stream where neither
    side built a book (0 of 0 books) is not an agreement, with the simulator's truth to compare or
    without (a capture's), and a disagreement fails the run (its exit status), not just a column."""
    import argparse

    from tickwire.cmd import bench

    base = decode.sim_stream("binance", 20, seed=5)
    monkeypatch.setattr(
        decode,
        "streams",
        lambda quick, progress, *a: [_without_snapshot(base, True), _without_snapshot(base, False)],
    )
    rows, notes = bench.measure(["decode"], True, None, None)
    assert [r.extra["books_agree"] for r in rows] == [0.0] * 4
    assert sum("did NOT agree" in n for n in notes) == 2, notes
    args = argparse.Namespace(
        stages="decode", quick=True, rounds=None, ticks=None, spin=False, pin=False, venue_spin=False,
        check=False, plot=None, json=True, budgets="",
    )  # fmt: skip
    assert bench.run(args) == 1
