"""A listing paged by a cursor that names the last row a page gave — how the simulator pages the
fills listings whose venues answer an opaque cursor (Bybit's ``nextPageCursor``, Coinbase's
``cursor``): stable while new fills arrive, since a page is the rows older than the cursor's."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def after_cursor(rows: list[tuple[int, int, T]], cursor: str, limit: int) -> tuple[list[T], str]:
    """One page of ``rows`` (``(time ms, trade id, row)``, newest first) after ``cursor`` ("time:trade
    id" of the last row a page gave; "" from the newest): its rows, and the cursor to the next page
    ("" on the last). ValueError for a cursor that is not one."""
    if cursor:
        t, tid = (int(x) for x in cursor.split(":"))
        rows = [r for r in rows if (r[0], r[1]) < (t, tid)]
    more = f"{rows[limit - 1][0]}:{rows[limit - 1][1]}" if len(rows) > limit else ""
    return [r[2] for r in rows[:limit]], more
