"""State an order template captured when it was built that goes stale afterwards (refreshed rules,
a rotated key, a closing session). Each case checks the simulator's own order list (or the slow
path's bytes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from template_cases import KEY, KEY2, SECRET2, SYMBOL, account, below_bid, two_key_account
from tickwire.errors import InvalidOrder, TickwireError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_rules_refreshed_by_load_rules_are_the_ones_a_template_checks(ints: bool) -> None:
    """``load_rules`` fetches the instrument rules anew (a venue's tick changed): a price off the new
    tick is refused by ``place_order``; the template built before the refresh must refuse it too and
    write nothing, not send what the slow path would not."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        old = tr.rules[SYMBOL]
        coarse = old.tick_size * 10
        read = tr.grammar.read_rules

        def refreshed(body: Any) -> Any:  # the venue now announces a tick ten times coarser
            rules = read(body)
            rules[SYMBOL] = replace(rules[SYMBOL], tick_size=coarse)
            return rules

        tr.grammar.read_rules = refreshed  # type: ignore[method-assign]
        await tr.load_rules()
        off = (price // coarse) * coarse - old.tick_size  # on the old tick, off the new one
        with pytest.raises(InvalidOrder):  # the slow path's verdict
            await tr.place_order(SYMBOL, "buy", "limit", qty, off)
        before = len(a.orders(sim))
        args = (int(off.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))) if ints else (off, qty)
        with pytest.raises(InvalidOrder):
            await tmpl.send(*args)
        assert len(a.orders(sim)) == before, "the template wrote an order off the refreshed tick"

    a.run(body)


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path's fallback
def test_a_send_on_a_closed_session_writes_nothing_and_charges_no_budget(ints: bool) -> None:
    """After ``close()`` nothing can be written: ``place_order`` refuses before taking anything from the
    budget (the windows are shared by every session of the key). A template's send must refuse as
    well and leave the budget's order window as it was."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        window = tr.budget.windows["ORDERS_10S"]
        await tr.close()
        used = window.used(tr.budget.clock())
        with pytest.raises(TickwireError):  # the slow path: refused, nothing charged
            await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        assert window.used(tr.budget.clock()) == used
        scaled = (int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))
        args = scaled if ints else (price, qty)
        with pytest.raises(TickwireError):
            await tmpl.send(*args)
        assert a.orders(sim) == []
        assert window.used(tr.budget.clock()) == used, "a send that wrote nothing was charged"

    a.run(body)


def test_an_order_waiting_for_the_budget_across_a_key_rotation_is_signed_with_the_new_key() -> None:
    """``send`` waits for room in the budget and signs the order when it goes. A rotation meanwhile
    switches every request to the new key, and the old key may be revoked once ``rotate`` returns:
    the waiting order must go out with the new key (the venue would refuse the revoked one), as
    ``place_order``'s would."""
    from tickwire.limits import Limit
    from tickwire.venues import binance

    a = two_key_account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        # One order per 2 s for this account (the reserve keeps the second slot for cancels).
        tr.budget.set_limits([Limit("ORDERS_TEST", 2, 2.0, per="account", counts="ORDERS")], replace=True)
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        first = await tmpl.send(price, qty)
        waiting = tmpl.send(price - tr.rules[SYMBOL].tick_size, qty)  # waits for the window
        await tr.rotate(binance.Signer(KEY2, SECRET2))
        assert not waiting.done(), "the rotation took longer than the budget's wait"
        sim.venue("binance").keys.pop(KEY)  # the old key revoked once rotate returned
        second = await waiting
        assert (first.status, second.status) == ("new", "new"), second
        assert len(a.orders(sim)) == 2

    a.run(body, private_stream=False)


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_a_send_racing_the_sessions_close_writes_nothing(ints: bool) -> None:
    """``close()`` has begun (its quote rules stopped, its sockets and connections about to close): a
    template send then must write nothing — an order written now can neither be answered nor
    reconciled, and stays open at the venue as ``unknown``."""
    import asyncio

    from template_cases import mantissas

    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        await tr.open_orders(SYMBOL)  # a kept-alive connection idle
        closing = asyncio.ensure_future(tr.close())
        await asyncio.sleep(0)  # close() is under way
        with pytest.raises(TickwireError):  # a typed error, at once or from the task
            await (tmpl.send(*mantissas(tmpl, price, qty)) if ints else tmpl.send(price, qty))
        await closing
        assert a.orders(sim) == [], "an order was written while the session closed"

    a.run(body, timeout=1.0)
