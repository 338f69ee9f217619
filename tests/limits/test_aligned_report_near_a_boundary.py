"""A usage count the venue reports for a window aligned to its clock (Binance's weight minute) is held
until that window ends on the venue's grid, read on the venue's clock as measured. Measured, not
known: our reading may run behind the venue's by a little (``ALIGN_MARGIN_S`` is what the budget
allows). An answer read just after the venue's boundary then reads as just *before* it: the count —
the new window's — was taken for the old window's and dropped at the old window's end plus the margin,
a whole window early, while the venue went on counting it. The margin was applied on one side only."""

from __future__ import annotations

import asyncio

from tickwire.errors import RateLimitError
from weighed import spend, weighed_binance

WINDOW_S = 3.0
LIMIT = 60
BEHIND_MS = 300  # our reading of the venue's clock behind it by this much (within the 0.5 s margin)


def test_a_count_read_just_after_the_venues_boundary_is_held_for_the_new_window() -> None:
    async def go() -> None:
        async with weighed_binance("aligned-near-boundary", limit=LIMIT, window_s=WINDOW_S) as (_sim, ep, tr):
            ep.skew(BEHIND_MS)  # the venue's clock steps ahead of what the session measured
            await asyncio.sleep(WINDOW_S + 0.2)  # the start's weight out of every window
            # Just past a boundary of the venue's (on its clock), before our reading of it gets there.
            await asyncio.sleep(WINDOW_S - (ep.now_ms() / 1000) % WINDOW_S + 0.01)
            boundary = ep.now_ms() / 1000 - 0.01
            await spend(ep, LIMIT - 5, "3s")  # another process on the address
            await tr.open_orders("BTCUSDT")  # its answer reports the new window nearly full
            read_at = ep.now_ms() / 1000 - boundary
            assert read_at < BEHIND_MS / 1000, f"read {read_at:.3f} s after the boundary: too late"
            await asyncio.sleep(max(0.0, boundary + 1.2 - ep.now_ms() / 1000))
            counted = tr.budget.windows["WEIGHT_3S"].used(tr.budget.clock())
            results = await asyncio.gather(
                *(tr.open_orders("BTCUSDT") for _ in range(6)), return_exceptions=True
            )
            for r in results:
                assert not isinstance(r, BaseException) or isinstance(r, RateLimitError), r
        refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (429, 418)]
        assert not refused, (
            f"1.2 s into the venue's window the budget counted {counted}; the venue refused {refused}"
        )

    asyncio.run(go())
