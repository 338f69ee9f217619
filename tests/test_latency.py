"""Latency histograms: percentiles against an exact sorted-list reference, merge, reset, misuse."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.latency import Histogram, LatencyRecorder, format_summary

PS = (0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0)


def nearest_rank(sorted_vals: list[int], p: float) -> int:
    """The sample at rank ceil(p/100 · n), p read as the decimal it was written as."""
    n = len(sorted_vals)
    rank = max(1, math.ceil(Fraction(repr(p)) * n / 100))
    return sorted_vals[rank - 1]


def within_3_sig_figs(got: int, truth: int) -> bool:
    # HDR reports the top of the sample's bucket: never below it, at most 1/1024 of it above.
    return truth <= got <= truth + truth // 1000


durations = st.lists(
    st.one_of(
        st.integers(0, 3000),  # sub-µs: exact buckets
        st.integers(0, 10**9),  # up to 1 s
        st.integers(0, 3_600_000_000_000),  # up to the 1 h bound
    ),
    min_size=1,
    max_size=400,
)


@settings(max_examples=200, deadline=None)
@given(durations)
def test_histogram_percentiles_match_exact_reference(vals: list[int]) -> None:
    h = Histogram()
    for v in vals:
        h.record(v)
    s = sorted(vals)
    for p in PS:
        got, truth = h.percentile(p), nearest_rank(s, p)
        assert within_3_sig_figs(got, truth), (p, got, truth)
    assert (h.count, h.min, h.max) == (len(vals), s[0], s[-1])
    assert h.mean == pytest.approx(sum(vals) / len(vals), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 10**7)] * 4), min_size=1, max_size=200))
def test_recorder_stages_and_total_match_reference(gaps: list[tuple[int, int, int, int]]) -> None:
    rec = LatencyRecorder(["decode", "apply", "callback"])
    per_stage: list[list[int]] = [[], [], [], []]
    for t0_off, d1, d2, d3 in gaps:
        t0 = 10**12 + t0_off
        rec.record(t0, t0 + d1, t0 + d1 + d2, t0 + d1 + d2 + d3)
        for i, d in enumerate((d1, d2, d3, d1 + d2 + d3)):
            per_stage[i].append(d)
    assert rec.count == len(gaps)
    summary = rec.summary()
    assert list(summary) == ["decode", "apply", "callback", "total"]
    for name, vals in zip(summary, per_stage, strict=True):
        s = sorted(vals)
        row = summary[name]
        assert (row["count"], row["min"], row["max"], row["negative"]) == (len(s), s[0], s[-1], 0)
        assert row["mean"] == pytest.approx(sum(s) / len(s))
        for key, p in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)):
            assert within_3_sig_figs(int(row[key]), nearest_rank(s, p)), (name, key)
        pcts = rec.percentiles(name, [50, 99.9])
        assert set(pcts) == {50.0, 99.9}
        assert pcts[50.0] == row["p50"] and pcts[99.9] == row["p999"]


def test_default_percentiles_are_p50_p99_p999() -> None:
    rec = LatencyRecorder(["a"])
    for i in range(1, 1001):
        rec.record(0, i)
    assert rec.percentiles("a") == {50.0: 500, 99.0: 990, 99.9: 999}
    assert rec.percentiles("total") == {50.0: 500, 99.0: 990, 99.9: 999}


def test_merge_equals_recording_everything() -> None:
    rnd = random.Random(5)
    a, b, both = (LatencyRecorder(["x", "y"]) for _ in range(3))
    for _ in range(5000):
        t0 = rnd.randrange(10**12)
        stamps = (t0, t0 + rnd.randrange(10**6), t0 + rnd.randrange(10**6, 10**9))
        (a if rnd.random() < 0.3 else b).record(*stamps)
        both.record(*stamps)
    a.merge(b)
    assert a.summary() == both.summary()
    assert a.count == both.count == 5000
    a.merge(a)
    assert a.count == 10000 and a.summary()["x"]["count"] == 10000


def test_merge_refuses_different_stages() -> None:
    with pytest.raises(ValueError, match="different stages"):
        LatencyRecorder(["x", "y"]).merge(LatencyRecorder(["y", "x"]))


def test_reset_empties_everything() -> None:
    rec = LatencyRecorder(["x"])
    rec.record(10, 5)  # negative: counted
    rec.record(10, 20)
    rec.reset()
    assert rec.count == 0
    for row in rec.summary().values():
        assert set(row.values()) == {0}
    rec.record(1, 4)
    assert rec.percentiles("x", [100]) == {100.0: 3}


def test_negative_differences_are_counted_not_recorded() -> None:
    rec = LatencyRecorder(["decode", "apply"])
    rec.record(100, 90, 150)  # decode went backwards
    rec.record(100, 120, 110)  # apply went backwards
    rec.record(100, 90, 80)  # both, and the total
    s = rec.summary()
    assert [s[k]["negative"] for k in ("decode", "apply", "total")] == [2, 2, 1]
    assert [s[k]["count"] for k in ("decode", "apply", "total")] == [1, 1, 2]
    assert s["decode"]["max"] == 20 and s["apply"]["max"] == 60
    assert rec.count == 3


def test_misuse_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LatencyRecorder([])
    with pytest.raises(ValueError, match="reserved"):
        LatencyRecorder(["total"])
    with pytest.raises(ValueError, match="twice"):
        LatencyRecorder(["a", "a"])
    with pytest.raises(ValueError, match="at most"):
        LatencyRecorder([str(i) for i in range(LatencyRecorder.max_stages + 1)])
    rec = LatencyRecorder(["a", "b"])
    with pytest.raises(ValueError, match="3 stamps expected"):
        rec.record(1, 2)
    with pytest.raises(ValueError, match="3 stamps expected"):
        rec.record(1, 2, 3, 4)
    with pytest.raises(ValueError, match="consecutive"):
        rec.record(1, 2, None, 4)
    assert rec.count == 0
    with pytest.raises(KeyError):
        rec.percentiles("nope")
    with pytest.raises(ValueError, match=r"0\.\.=100"):
        rec.percentiles("a", [101])
    with pytest.raises(ValueError):
        Histogram().record(-1)


def test_max_stages_fit_one_call() -> None:
    n = LatencyRecorder.max_stages
    rec = LatencyRecorder([f"s{i}" for i in range(n)])
    rec.record(*range(0, 10 * (n + 1), 10))
    assert rec.summary()["total"]["max"] == 10 * n


def test_values_beyond_an_hour_keep_exact_max() -> None:
    h = Histogram()
    h.record(2 * 3_600_000_000_000)
    h.record(5)
    assert (h.min, h.max) == (5, 7_200_000_000_000)
    assert h.percentile(100) == 7_200_000_000_000


def test_format_summary_shows_every_stage_in_microseconds() -> None:
    rec = LatencyRecorder(["decode", "callback"])
    rec.record(0, 1_500, 4_000)
    text = format_summary(rec.summary())
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["stage", "count"]
    assert "negative" not in lines[0]
    assert [ln.split()[0] for ln in lines[1:]] == ["decode", "callback", "total"]
    assert lines[1].split()[1:3] == ["1", "1.50"]
    assert lines[3].split()[2] == "4.00"
    rec.record(10, 5, 20)
    assert format_summary(rec.summary()).splitlines()[0].split()[-1] == "negative"
