"""Per-stage latency histograms, cheap enough to leave on.

:class:`LatencyRecorder` keeps one HDR histogram per pipeline stage plus an end-to-end ``"total"``
(1 ns .. 1 h, 3 significant figures, in Rust). One call per frame records every stage::

    rec = LatencyRecorder(["decode", "apply", "callback"])
    rec.record(t_read, t_decoded, t_applied, t_called)   # time.monotonic_ns() stamps
    rec.percentiles("total")                            # {50.0: ns, 99.0: ns, 99.9: ns}
    print(format_summary(rec.summary()))

Percentiles are nearest-rank and at most 0.1% above the true sample; count, min, max and mean are
exact. A stamp earlier than the one before it is counted under ``"negative"`` and not recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

from tickwire._core import Histogram, LatencyRecorder

__all__ = ["COLUMNS", "Histogram", "LatencyRecorder", "format_summary"]

COLUMNS = ("count", "min", "p50", "p90", "p99", "p999", "max", "mean")


def _us(ns: float) -> str:
    # µs with 2 decimals reads well from ~100 ns (a decode) to seconds (a stalled callback).
    return f"{ns / 1000:.2f}"


def format_summary(summary: Mapping[str, Mapping[str, int | float]]) -> str:
    """A fixed-width table of ``LatencyRecorder.summary()`` in microseconds, one stage per row.

    A ``negative`` column appears only when some stage counted backwards stamps, since that means
    stamps from different clocks were mixed and the figures above it are suspect.
    """
    show_negative = any(row.get("negative", 0) for row in summary.values())
    header = ["stage", *COLUMNS[:1], *(f"{c} µs" for c in COLUMNS[1:])]
    if show_negative:
        header.append("negative")
    rows = [header]
    for stage, row in summary.items():
        cells = [stage, str(int(row.get("count", 0)))]
        cells += [_us(float(row.get(c, 0))) for c in COLUMNS[1:]]
        if show_negative:
            cells.append(str(int(row.get("negative", 0))))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for r in rows:
        first = r[0].ljust(widths[0])
        rest = (cell.rjust(w) for cell, w in zip(r[1:], widths[1:], strict=True))
        lines.append("  ".join([first, *rest]))
    return "\n".join(lines)
