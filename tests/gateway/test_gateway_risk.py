"""Risk limits on a gateway's account (``options = { risk = ... }`` in ``gateway.toml``): one gate for
every strategy that trades the account through it, against the simulator's own order list."""

from __future__ import annotations

import asyncio

import gateway_harness
import pytest
from gateway_harness import config, remote, rest_buy, run, venue
from tickwire.errors import RiskLimitExceeded
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
