"""A usage count the venue reports for a window aligned to its clock (Binance's weight minute) is held
until that window ends on the venue's grid, read on the venue's clock as measured. Measured, not
known: our reading may run behind the venue's by a little (``ALIGN_MARGIN_S`` is what the budget
allows). An answer read just after the venue's boundary then reads as just *before* it: the count —
the new window's — was taken for the old window's and dropped at the old window's end plus the margin,
a whole window early, while the venue went on counting it. The margin was applied on one side only."""

from __future__ import annotations

import asyncio
from typing import Any

import tickwire
from tickwire.errors import RateLimitError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.transport.http import HttpClient
from tickwire.venues import binance

WINDOW_S = 3.0
LIMIT = 60
BEHIND_MS = 300  # our reading of the venue's clock behind it by this much (within the 0.5 s margin)


def test_a_count_read_just_after_the_venues_boundary_is_held_for_the_new_window() -> None:
    async def go() -> None:
        profile: dict[str, Any] = {"weight_limit": LIMIT}
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts={"weight_window": WINDOW_S, "ban": 30.0}) as sim:  # fmt: skip
            key = "aligned-near-boundary"
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            ep = sim.endpoint("binance", 0)
            async with tickwire.trade(
                "binance", credentials=binance.Signer(key, "s3cret"), endpoints=sim.urls()["binance"],
                adopt=False, private_stream=False, rate_wait=0,
            ) as tr:  # fmt: skip
                ep.skew(BEHIND_MS)  # the venue's clock steps ahead of what the session measured
                await asyncio.sleep(WINDOW_S + 0.2)  # the start's weight out of every window
                # Just past a boundary of the venue's (on its clock), before our reading of it gets there.
                await asyncio.sleep(WINDOW_S - (ep.now_ms() / 1000) % WINDOW_S + 0.01)
                boundary = ep.now_ms() / 1000 - 0.01
                other = HttpClient(ep.rest_base, timeout=5.0)  # another process on the address
                await other.connect()
                try:
                    used = 0
                    while used < LIMIT - 5:
                        r = await other.request("GET", "/api/v3/ping")
                        used = int(r.headers["x-mbx-used-weight-3s"])
                finally:
                    await other.close()
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
