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
