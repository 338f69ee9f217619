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
    assert sorted(stages) == sorted(f"decode {v} (sim)" for v in decode.STREAM_VENUES)
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
