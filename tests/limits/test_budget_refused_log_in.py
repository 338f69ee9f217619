"""An order whose Clarofinlore token log-in the session's own budget refuses (no room, and the caller
would not wait): nothing was written — not the log-in, not the order — so it is the budget's typed
refusal, marked unsent, the order withdrawn as for any order the budget refuses
(``test_binance_limits.test_a_caller_that_will_not_wait_gets_rate_limited_at_once_and_nothing_is_sent``);
not an order the venue rejected, and no block of the budget as if the venue had refused."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import tickwire
from tickwire.errors import OrderNotFound, RateLimitError, TickwireError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import was_unsent
from tickwire.venues import binance, clarofinlore
from tickwire.venues.clarofinlore import limits
from venue_limits import Account, refusals

V = "clarofinlore"
KEY, SECRET = "claro-refused-login", "claro-refused-login-secret"
A = Account(V, "btc-usdt", KEY, clarofinlore.Signer(KEY, SECRET), lambda v: v.add_key(KEY, SECRET))


def test_an_order_whose_log_in_the_budget_refuses_is_withdrawn_unsent() -> None:
    """At a tier of 5 a second (4 for orders and queries, 1 kept for cancels): three queries, then an
    order takes the fourth unit and its token, dropped, needs a log-in the budget has no room for.
    Before, the budget's refusal went out as the venue's: the order recorded ``rejected``, the
    budget blocked for it (every lane, cancels too)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([limits.tier(5)], replace=True)
        await asyncio.sleep(2.3)  # the start's requests out of both windows
        for i in range(3):
            with contextlib.suppress(OrderNotFound):
                await tr.order_status(A.symbol, client_id=f"neverplaced{i}")
        tokens = tr.wire.tokens
        assert tokens is not None
        tokens.forget(tokens.token)
        tokens._refresh = ""  # type: ignore[attr-defined]  # a full log-in (a refresh is charged alike)
        tracked = {o.client_id: o.status for o in tr.tracker}
        exchanges = len(sim.endpoint(V, 0).exchanges)
        with pytest.raises(RateLimitError) as e:
            await A.resting_buy(sim, tr)
        assert len(sim.endpoint(V, 0).exchanges) == exchanges  # nothing written
        assert was_unsent(e.value), "the budget's own refusal, not the venue's"
        assert {o.client_id: o.status for o in tr.tracker} == tracked  # withdrawn, not rejected
        assert tr.budget.refusals == 0 and refusals(sim, V) == 0
        assert tr.budget.windows["REQUESTS"].state()[2] == 0.0  # not blocked

    A.run(body, {"rate_limit": 5}, rate_wait=0)


def test_a_clock_reading_the_budget_refuses_blocks_nothing_and_a_cancel_still_goes() -> None:
    """Binance, the venue's clock stepped 2 s back; the address's weight at the order lane's cap
    after an order that is refused for its timestamp (-1021). The remedy's clock reading finds no
    room and the caller would not wait: the budget's own refusal, the -1021 the call's answer.
    Before, the reading's refusal was taken as the venue's: every weight window blocked for it, and
    a cancel right after — which the reserve has room for, the venue's clock back where it was — was
    refused by the session."""
    key = "lim-clock-room"

    async def go() -> None:
        profile, windows = {"weight_limit": 50}, {"weight_window": 3.0, "ban": 30.0}
        async with Simulator(["binance"], seed=5, rate=0, depth=20, profiles={"binance": profile},
                             timeouts=windows) as sim:  # fmt: skip
            sim.venue("binance").add_key(ApiKey(key, secret=b"s3cret"))
            sim.fund("binance", key, {"USDT": "100000000", "BTC": "100"})
            signer, urls = binance.Signer(key, "s3cret"), sim.urls()["binance"]
            async with tickwire.trade("binance", credentials=signer, endpoints=urls, rate_wait=0) as tr:
                rules = tr.rules["BTCUSDT"]
                price = sim.book("binance", "BTCUSDT").bids[0][0] - 200 * rules.tick_size
                qty = rules.min_qty * 1000
                ep = sim.endpoint("binance", 0)
                await asyncio.sleep(3.05 - ep.now_ms() / 1000 % 3.0)  # a venue window just opened
                first = await tr.place_order("BTCUSDT", "buy", "limit", qty, price)
                ep.skew(-2000)
                budget = tr.budget
                w, cap = budget.windows["WEIGHT_3S"], 50 - 5
                for _ in range(cap - 1 - w.used(budget.clock())):  # the order takes the last unit
                    assert budget.try_take({"WEIGHT": 1}, "query") <= 0
                with pytest.raises(TickwireError) as e:
                    await tr.place_order("BTCUSDT", "buy", "limit", qty, price)
                assert getattr(e.value, "code", None) == -1021, e.value
                assert tr.wire.remedies.clock_resyncs == 1  # the reading was asked for, and refused here
                ep.skew(0)  # the venue's clock stepped back again: a cancel signed as before is taken
                canceled = await tr.cancel_order("BTCUSDT", client_id=first.client_id)
                assert canceled.status == "canceled"
                engine = sim.venue("binance").engine
                assert [o.open for o in engine.orders.values() if o.client_id == first.client_id] == [False]
                assert refusals(sim, "binance") == 0 and budget.refusals == 0

    asyncio.run(asyncio.wait_for(go(), 60))
