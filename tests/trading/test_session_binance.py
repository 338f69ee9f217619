"""``tickwire.trade("binance")`` over REST against the simulator: the shared cases (``session_cases``)
and Binance's own."""

from __future__ import annotations

from typing import Any

from session_cases import SessionCases, SimAccount
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance

KEY, SECRET = "trade-key", "trade-secret"

BINANCE = SimAccount(
    venue="binance",
    symbol="BTCUSDT",
    key=KEY,
    signer=binance.Signer(KEY, SECRET),
    register=lambda v: v.add_key(ApiKey(KEY, secret=SECRET.encode())),
    place_op="POST /api/v3/order",
    unknown_symbol="NOPEUSDT",
)


class TestBinance(SessionCases):
    acct = BINANCE

    def test_cancel_all_without_the_venues_cancel_all_cancels_the_listed_orders_one_by_one(self) -> None:
        """The session's path for venues without a cancel-all (OKX spot), on Binance's single cancels."""
        a = self.acct

        async def body(sim: Simulator, tr: TradingSession) -> None:
            for i in range(2):
                await a.rest_below(sim, tr, 10 + i)
            grammar: Any = tr.grammar
            grammar.cancel_all = lambda symbol: None
            done = await tr.cancel_all(a.symbol)
            assert sorted(o.client_id for o in done) == sorted(o.client_id for o in a.orders(sim))
            assert all(o.status == "canceled" for o in done) and a.open(sim) == []

        a.run(body)
