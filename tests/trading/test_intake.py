"""An order's terms checked before anything is sent (``trading/intake.py::check_terms``), the same
for ``place_order`` and an order template: terms no venue form carries are an ``InvalidOrder``, with
nothing at the venue (the simulator's order list) and nothing tracked."""

from __future__ import annotations

from typing import Any

import pytest
from template_cases import SYMBOL, account, below_bid
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

BAD_TERMS: list[tuple[str, dict[str, Any]]] = [
    # A truthy string: before, place_order placed a post-only order (LIMIT_MAKER) for "false".
    ("a string for post_only", {"post_only": "false"}),
    # Post-only IOC/FOK: before, Binance sent a resting LIMIT_MAKER (the IOC dropped) and Coinbase an
    # IOC that may take (the post-only dropped); OKX, Bybit and USDⓈ-M rested it as Binance did.
    ("post-only IOC", {"post_only": True, "tif": "IOC"}),
    ("post-only FOK", {"post_only": True, "tif": "FOK"}),
]


@pytest.mark.parametrize(("what", "terms"), BAD_TERMS, ids=[w for w, _ in BAD_TERMS])
def test_terms_no_venue_form_carries_are_refused_before_anything_is_sent(
    what: str, terms: dict[str, Any]
) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        with pytest.raises(InvalidOrder):
            await tr.place_order(SYMBOL, "buy", "limit", qty, price, **terms)
        with pytest.raises(InvalidOrder):
            tr.template(SYMBOL, "buy", **terms)
        assert a.orders(sim) == [], f"{what}: at the venue: {[(o.type, o.tif) for o in a.orders(sim)]}"
        assert tr.tracker.open_orders() == []

    a.run(body, private_stream=False)
