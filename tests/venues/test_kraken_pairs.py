"""Kraken's ``AssetPairs`` read for its spot venue only: since 2026-04 an entry may name its
``execution_venue`` (``international``, the spot venue; ``bitnomial_exchange``), and a pair another
venue executes must not give a spot pair of the same name its decimals (the market data's checksums)
or its tick, lot and REST name (order entry). An entry naming no venue is the spot venue's, as
before. The truth: the spot entry's own numbers, whichever order the answer lists them in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from tickwire.venues.kraken.market import precisions
from tickwire.venues.kraken.orders import Orders

SPOT = {
    "altname": "XBTUSD", "wsname": "XBT/USD", "pair_decimals": 1, "lot_decimals": 8,
    "tick_size": "0.1", "ordermin": "0.0001", "costmin": "0.5", "execution_venue": "international",
}  # fmt: skip
OTHER = {
    "altname": "XBTUSD.B", "wsname": "XBT/USD", "pair_decimals": 2, "lot_decimals": 4,
    "tick_size": "0.01", "ordermin": "0.001", "costmin": "5", "execution_venue": "bitnomial_exchange",
}  # fmt: skip
NAMELESS = {k: v for k, v in SPOT.items() if k != "execution_venue"}


@pytest.mark.parametrize("spot", [SPOT, NAMELESS], ids=["international", "no venue named"])
@pytest.mark.parametrize("other_last", [True, False], ids=["other last", "other first"])
def test_a_pair_another_venue_executes_does_not_take_the_spot_pairs_name(
    spot: dict[str, Any], other_last: bool
) -> None:
    """Before, with the other venue's entry listed after the spot one: ``BTC/USD`` read at 2 price
    decimals (checksums over the wrong texts), a 0.01 tick and the REST name ``XBTUSD.B``."""
    entries = [("XXBTZUSD", spot), ("XBTUSD.B", OTHER)]
    result = dict(entries if other_last else entries[::-1])
    assert precisions(orjson.dumps({"error": [], "result": result})) == {"BTC/USD": (1, 8)}
    g = Orders()
    rules = g.read_rules(result)
    assert list(rules) == ["BTC/USD"]
    r = rules["BTC/USD"]
    assert (r.tick_size, r.lot_size, r.min_qty) == (Decimal("0.1"), Decimal("1e-8"), Decimal("0.0001"))
    assert g.pair("BTC/USD") == "XBTUSD"
