"""Risk limits on a gateway's account (``options = { risk = ... }`` in ``gateway.toml``): one gate for
every strategy that trades the account through it, against the simulator's own order list."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import gateway_harness
import pytest
from gateway_harness import HEARTBEAT, VENUE, config, remote, rest_buy, resting_qty, run, venue
from session_cases import market_buy_cost, settle
from tickwire.errors import RiskLimitExceeded
from tickwire.gateway.config import GatewayConfig
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def test_the_accounts_open_order_limit_holds_across_strategies_and_its_refusal_crosses_typed(
    nats_urls: list[str],
) -> None:
    """``risk = { max_open_orders = 3 }`` as TOML gives it (a plain table): two strategies rest two
    buys each at once through one gateway; three reach the simulator, the fourth is refused by the
    gateway's session with nothing sent, and the client gets ``RiskLimitExceeded`` naming the limit.
    A per-symbol table leaves other symbols free."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("risk")
            acct["options"]["risk"] = {"max_open_orders": 3}
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "risk", "a") as a, \
                    remote(nats_urls, "risk", "b") as b:  # fmt: skip
                got = await asyncio.gather(
                    *(rest_buy(v, tr, "BTCUSDT", 30 + i) for i, tr in enumerate((a, a, b, b))),
                    return_exceptions=True,
                )
                refused = [e for e in got if isinstance(e, BaseException)]
                assert len(refused) == 1 and isinstance(refused[0], RiskLimitExceeded), got
                assert (refused[0].limit, refused[0].symbol) == ("max_open_orders", "BTCUSDT")  # type: ignore[attr-defined]
                assert len(v.open("risk")) == len(v.orders("risk")) == 3  # the venue never saw a fourth

        async with venue() as v:
            acct = v.account("risk2")
            acct["options"]["risk"] = {"BTCUSDT": {"max_open_orders": 1}}
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "risk2", "a") as a:
                await rest_buy(v, a, "BTCUSDT")
                with pytest.raises(RiskLimitExceeded):
                    await rest_buy(v, a, "BTCUSDT", 31)
                await rest_buy(v, a, "ETHUSDT")
                await rest_buy(v, a, "ETHUSDT", 31)
                assert len(v.open("risk2")) == 3

    run(body)


async def _synced(v: Any, md: Any) -> None:
    """Until the gateway's book is synced and shows the simulator's touch (diffs come only when the
    market moves: it is moved a step at a time)."""

    def same() -> bool:
        if not md.is_synced("BTCUSDT"):
            v.sim.advance(1, VENUE, "BTCUSDT")
            return False
        ask = md.book("BTCUSDT").best_ask_exact()
        return ask is not None and ask[0] == v.sim.book(VENUE, "BTCUSDT").asks[0][0]

    await settle(same, "the gateway's book synced")


@pytest.mark.parametrize("markets", [["BTCUSDT"], ["ETHUSDT", "BTCUSDT"]])
def test_a_market_order_under_the_accounts_notional_cap_is_priced_from_the_gateways_books(
    nats_urls: list[str], markets: list[str]
) -> None:
    """The gateway publishes the venue's book and serves an account under ``max_order_notional``:
    a remote client's market buy costing more than the cap on the simulator's own book is refused
    with ``RiskLimitExceeded``, nothing sent; one costing less fills (before: a market order passed
    the cap unpriced). The book may be any ``[[market]]`` entry's of the venue (before 2026-12-06:
    only the first one's priced, and an order on the second's symbol was refused as unpriced)."""

    async def body() -> None:
        async with venue() as v:
            name = f"mkt{len(markets)}"
            acct = v.account(name)
            acct["options"]["risk"] = {"max_order_notional": "200"}
            cfg = GatewayConfig.from_dict({
                "gateway": {"name": "gw1", "nats": nats_urls, "heartbeat": HEARTBEAT},
                "account": [acct],
                "market": [
                    {"venue": VENUE, "symbols": [sym], "options": {"endpoints": v.sim.urls()[VENUE]}}
                    for sym in markets
                ],
            })  # fmt: skip
            async with Gateway(cfg) as gw, remote(nats_urls, name, "a") as a:
                md = gw.markets[-1].md
                await _synced(v, md)
                small = resting_qty(a, "BTCUSDT", v.sim.book(VENUE, "BTCUSDT").asks[0][0])
                big = small * 2
                assert (
                    market_buy_cost(v.sim, VENUE, "BTCUSDT", small)
                    <= Decimal(200)
                    < market_buy_cost(v.sim, VENUE, "BTCUSDT", big)
                )
                with pytest.raises(RiskLimitExceeded) as e:
                    await a.place_order("BTCUSDT", "buy", "market", big)
                assert e.value.limit == "max_order_notional" and v.orders(name) == []  # type: ignore[attr-defined]
                got = await a.place_order("BTCUSDT", "buy", "market", small)
                assert got.status == "filled"
                assert [(o.type, o.filled == o.qty) for o in v.orders(name)] == [("MARKET", True)]

    run(body)
