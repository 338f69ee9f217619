"""``tickwire.trade("binance")`` over REST against the simulator: the shared cases (``session_cases``)
and Binance's own."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
import tickwire
from session_cases import SessionCases, SimAccount, SocketCases
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
    ws_place_op="order.place",
    amend_op="PUT /api/v3/order/amend/keepPriority",
    amend_reprices=False,  # keepPriority only lowers the quantity
    unknown_symbol="NOPEUSDT",
)


class TestBinance(SessionCases, SocketCases):
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


# A session opened from market data, and one on a background thread -------------------------------


def test_a_market_data_session_opens_a_trading_session_on_its_endpoints_and_audit(tmp_path: Any) -> None:
    a = BINANCE
    path = tmp_path / "audit.jsonl"

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=50, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            async with tickwire.connect(
                a.venue, [a.symbol], endpoints=sim.urls()[a.venue], audit=str(path), probe_interval=None
            ) as md:
                signer = binance.Signer(KEY, SECRET, clock=md.clock.now_ms)
                async with md.trade(credentials=signer) as tr:
                    o = await a.rest_below(sim, tr, 40)
                    assert a.orders(sim, o.client_id)[0].open
                    await tr.cancel_order(a.symbol, client_id=o.client_id)
                md.audit.flush()
                kinds = [orjson.loads(line)["kind"] for line in path.read_text().splitlines()]
                # Market data and orders in the one audit trail.
                assert "subscribe" in kinds and "order_request" in kinds and "order" in kinds
                # The secret, and the signatures made with it, never reach the file.
                text = path.read_text()
                assert SECRET not in text and "signature" not in text

    asyncio.run(go())


def test_a_synchronous_bot_trades_through_the_threaded_handle() -> None:
    from simproc import control, sim_process

    with sim_process("--venue", "binance", "--rate", "0", "--depth", "20") as urls:
        asyncio.run(control(urls, "/keys", {"venue": "binance", "args": {"key": KEY, "secret": SECRET}}))
        asyncio.run(control(urls, "/fund", {"venue": "binance", "account": KEY, "balances": BINANCE.funds}))
        seen: list[Any] = []
        tr = tickwire.trade_threaded(
            "binance",
            credentials=binance.Signer(KEY, SECRET),
            endpoints=urls["binance"],
            on_order=seen.append,
        )
        try:
            book = asyncio.run(control(urls, "/book?venue=binance&symbol=BTCUSDT"))
            price = Decimal(book["bids"][0][0]) - 40 * tr.session.rules[BINANCE.symbol].tick_size
            o = tr.place_order(BINANCE.symbol, "buy", "limit", BINANCE.size(tr.session, price), price)
            assert [x.client_id for x in tr.open_orders(BINANCE.symbol)] == [o.client_id]
            c = tr.cancel_order(BINANCE.symbol, client_id=o.client_id)
            assert c.status == "canceled" and tr.open_orders(BINANCE.symbol) == []
            assert [x.status for x in seen if x.client_id == o.client_id][-1] == "canceled"
        finally:
            tr.close()
