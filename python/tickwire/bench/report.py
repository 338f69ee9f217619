"""What a stage of ``tickwire bench`` reports: one row per contender, percentiles in nanoseconds,
ratios to the peers measured in the same run, and the table / JSON views of them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

Progress = Callable[[str], None]


def percentile(sorted_ns: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0 to 100) of already sorted samples, nearest rank: the
    ``ceil(p/100 * n)``-th smallest, the rank computed exactly (in binary floating point 99.9 / 100 *
    1000 is 999.0000000000001, which would take the 1000th of 1000 — the maximum — for p99.9)."""
    if not sorted_ns:
        return math.nan
    rank = Fraction(str(p)) * len(sorted_ns) / 100
    k = max(0, min(len(sorted_ns) - 1, math.ceil(rank) - 1))
    return float(sorted_ns[k])


# Fewer samples than these and the percentile is the largest sample (nearest rank): what the table
# marks, so a p99.9 of 60 ticks (``--quick``) or of a stage's 11 round means is not read as a tail.
TAIL_SAMPLES = {"p99": 100, "p999": 1000}


@dataclass
class Result:
    """One contender of one stage. ``stage`` groups rows into one table; ``key`` names the contender
    for budgets and JSON (stable, ascii); ``name`` is what the table shows."""

    stage: str
    key: str
    name: str
    p50_ns: float
    p99_ns: float = math.nan
    p999_ns: float = math.nan
    samples: int = 0
    # Ratios of this row's p50 to other rows of the same stage, by their key ("floor", "pure", …).
    ratios: dict[str, float] = field(default_factory=dict)
    # Anything else worth a column: frames/s, CPU µs per message, …
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""
    # The raw samples (ns), kept for --plot; not written to JSON.
    raw: list[float] = field(default_factory=list, repr=False)
    # The stage's short name for budgets and JSON ("tick", "decode", …); the title when not given.
    stage_key: str = ""

    def __post_init__(self) -> None:
        self.stage_key = self.stage_key or self.stage

    @classmethod
    def of(cls, stage: str, key: str, name: str, samples_ns: Sequence[float], **kw: Any) -> Result:
        s = sorted(samples_ns)
        return cls(
            stage=stage, key=key, name=name, p50_ns=percentile(s, 50), p99_ns=percentile(s, 99),
            p999_ns=percentile(s, 99.9), samples=len(s), raw=list(s), **kw,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The row for ``--json``: NaN (a contender that gave no samples) as null, nested too, so
        one empty row never costs a run its output (``json.dumps(allow_nan=False)``)."""
        d = asdict(self)
        d.pop("raw")
        return {k: _finite(v) for k, v in d.items()}


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    return v


def add_ratios(rows: list[Result], *peers: str) -> None:
    """Fills each row's ``ratios`` with its p50 over the p50 of every row of the same stage whose
    key is in ``peers``."""
    by = {(r.stage, r.key): r for r in rows}
    for r in rows:
        for peer in peers:
            other = by.get((r.stage, peer))
            if other is not None and other is not r and other.p50_ns > 0 and r.p50_ns >= 0:
                r.ratios[peer] = r.p50_ns / other.p50_ns


def _us(ns: float, samples: int = 0, least: int = 0) -> str:
    if math.isnan(ns):
        return "—"
    mark = "*" if samples < least else ""
    return (f"{ns / 1000:.2f}" if ns < 100_000 else f"{ns / 1000:.0f}") + mark


def table(rows: list[Result]) -> str:
    """A plain-text table per stage: p50/p99/p99.9 in µs, then ratios and extras. A p99 from fewer
    than 100 samples or a p99.9 from fewer than 1000 is marked ``*`` (it is the largest sample), with
    a footnote saying so."""
    out: list[str] = []
    few = False
    stages: list[str] = []
    for r in rows:
        if r.stage not in stages:
            stages.append(r.stage)
    for stage in stages:
        group = [r for r in rows if r.stage == stage]
        width = max(len(r.name) for r in group)
        out.append(f"\n{stage}")
        out.append(
            f"  {'':{width}s} {'p50 µs':>9s} {'p99 µs':>9s} {'p99.9 µs':>9s} {'samples':>8s}  ratios / notes"
        )
        for r in group:
            tail = "  ".join(f"{v:.3f}x {k}" for k, v in r.ratios.items())
            extra = "  ".join(f"{k} {v:,.0f}" if v >= 100 else f"{k} {v:.3g}" for k, v in r.extra.items())
            notes = "  ".join(x for x in (tail, extra, r.note) if x)
            p99 = _us(r.p99_ns, r.samples, TAIL_SAMPLES["p99"])
            p999 = _us(r.p999_ns, r.samples, TAIL_SAMPLES["p999"])
            few = few or p99.endswith("*") or p999.endswith("*")
            out.append(
                f"  {r.name:{width}s} {_us(r.p50_ns):>9s} {p99:>9s} {p999:>9s} {r.samples:>8d}  {notes}"
            )
    if few:
        out.append(
            "\n* from too few samples to be that tail (p99 < 100, p99.9 < 1000 samples): the largest one"
        )
    return "\n".join(out)
