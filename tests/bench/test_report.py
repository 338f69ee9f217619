"""``tickwire bench``'s rows: a contender that gave no samples (every tick unanswered) is reported
as such, not as a crash of ``--json`` that loses the whole run's results."""

from __future__ import annotations

import json
import math

from tickwire.bench.report import Result, add_ratios, table


def test_an_empty_row_has_no_ratio_and_its_json_is_null_not_nan() -> None:
    floor = Result.of("tick", "floor", "floor", [100.0, 200.0, 300.0])
    empty = Result.of("tick", "x", "a contender that answered nothing", [])
    empty.extra["frames_s"] = math.inf
    add_ratios([floor, empty], "floor")
    assert math.isnan(empty.p50_ns) and empty.ratios == {}
    floor.ratios["x"] = math.nan  # a ratio made elsewhere from an empty row
    out = json.loads(json.dumps([r.to_json() for r in (floor, empty)], allow_nan=False))
    assert out[0]["p50_ns"] == 200.0 and out[0]["ratios"] == {"x": None}
    assert out[1]["p50_ns"] is None and out[1]["samples"] == 0 and out[1]["extra"] == {"frames_s": None}
    assert "—" in table([floor, empty])


def test_percentiles_are_nearest_rank_at_every_size() -> None:
    """p99.9 of 1000 samples is the 999th, not the maximum (``99.9 / 100 * 1000`` is
    999.0000000000001 in binary floating point): the bench's default 1000 ticks a round, and every
    multiple of it, took one rank too many."""
    import math as m
    from fractions import Fraction

    from tickwire.bench.report import percentile

    for n in (1, 7, 60, 100, 999, 1000, 2000, 5000, 10000):
        s = [float(i) for i in range(1, n + 1)]
        for p in (50, 99, 99.9):
            assert percentile(s, p) == m.ceil(Fraction(str(p)) * n / 100), (n, p)


def test_the_table_marks_a_tail_resting_on_too_few_samples() -> None:
    """``--quick``'s 60 ticks, or a stage's 11 round means: its p99 and p99.9 are the largest sample,
    which the table says; from 1000 samples on, p99.9 is unmarked, and each row shows its count."""
    few = Result.of("tick", "few", "sixty ticks", [float(i) for i in range(60)])
    many = Result.of("tick", "many", "a thousand ticks", [float(i) for i in range(1000)])
    lines = table([few, many]).splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln.strip().startswith(("sixty", "a thousand"))}
    assert row["sixty"].count("*") == 2 and " 60 " in row["sixty"]
    assert "*" not in row["a"] and " 1000 " in row["a"]
    assert any(ln.startswith("* ") for ln in lines)
