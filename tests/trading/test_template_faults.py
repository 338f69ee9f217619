"""Order templates and quote rules reviewed against the simulator's own order list (a helper
session's review): what a template refuses, and what such a refusal leaves behind (the rate budget,
the tracker, the venue's orders)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from quote_cases import ioc, moves, run
from session_cases import settle
from template_cases import SYMBOL, Frozen, account, below_bid, signed_account
from test_session_binance import BINANCE
from tickwire.errors import InvalidOrder, TransportError
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading.numbers import Mantissa
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import was_unsent


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path's fallback
def test_template_sends_refused_while_the_order_socket_is_down_take_nothing_of_the_order_count(
    ints: bool,
) -> None:
    """``transport="ws"`` with the order socket down: a template's send is refused unsent, as
    ``place_order``'s is, so the venue counts none of them and neither may the budget (4 orders per
    10 s here, one kept for cancels). Once the socket is back, the orders the venue's count leaves room
    for go (before: each refusal was charged to the order window, and the next orders — a template's
    or ``place_order``'s alike — were refused ``RateLimitError`` for the window though the venue had
    counted one order)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.budget.set_limits([Limit("ORDERS", 4, 10.0, "account")], replace=True)
        await a.rest_below(sim, tr, 30)
        tmpl = tr.template(a.symbol, "buy")
        accept = sim.venue(a.venue).accept
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")

        def terms(ticks: int) -> tuple[object, object]:
            bid, _ = a.touch(sim)
            price = bid - ticks * tr.rules[a.symbol].tick_size
            qty = a.size(tr, price)
            if ints:
                return int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
            return price, qty

        tracked = [o.client_id for o in tr.tracker]
        for i in range(4):
            with pytest.raises(TransportError, match="socket is down"):
                await tmpl.send(*terms(40 + i))
        assert [o.client_id for o in tr.tracker] == tracked
        sim.venue(a.venue).accept = accept  # type: ignore[method-assign]
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back", 5.0)
        placed = [await tmpl.send(*terms(50)), await a.rest_below(sim, tr, 51)]
        assert [o.status for o in placed] == ["new", "new"]
        assert len(a.orders(sim)) == 3  # what the venue counted: within the 3 new orders may take

    a.run(body, transport="ws", private_stream=False, timeout=1.0, rate_wait=0)


def test_a_mantissa_too_large_for_any_rule_is_invalid_order_and_nothing_is_written() -> None:
    """An int (or a ``Mantissa`` of a large negative scale) with more digits than any price or
    quantity: ``InvalidOrder``, as for any number outside the instrument's bounds — not a bare
    ``decimal.Rounded`` from explaining Rust's refusal, which a caller catching ``InvalidOrder`` (or
    ``TickwireError``) does not catch. Nothing at the venue, nothing tracked, no order counted."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        window = tr.budget.windows["ORDERS_10S"]
        used = window.used(tr.budget.clock())
        for args in [(10**120, q), (p, 10**120), (Mantissa(p, -200), q)]:
            with pytest.raises(InvalidOrder):
                await tmpl.send(*args)
        assert len(a.orders(sim)) == 0 and list(tr.tracker) == []
        assert window.used(tr.budget.clock()) == used
        o = await tmpl.send(p, q)  # the template still works
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    a.run(body)


def test_a_loaded_quote_rule_checks_its_next_order_by_rules_refreshed_meanwhile() -> None:
    """``load_rules`` fetches the rules anew while a quote rule is loaded (the venue's tick now ten
    times coarser): the rule's next order must be checked by the new tick, as ``send``'s is — never an
    order off it at the venue (before: the write loaded with the old forms went out on the next tick,
    off the new tick, and only the load after it saw the refresh)."""
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        await settle(lambda: q.in_flight is None and q.rule.loaded, "the rule loaded again")
        coarse = tr.rules[SYMBOL].tick_size * 10
        step = int(coarse.scaleb(q.template.price_scale))  # the new tick as a price mantissa
        read = tr.grammar.read_rules

        def refreshed(body: Any) -> Any:
            rules = read(body)
            rules[SYMBOL] = replace(rules[SYMBOL], tick_size=coarse)
            return rules

        tr.grammar.read_rules = refreshed  # type: ignore[method-assign]
        await tr.load_rules()
        before = len(a.orders(sim))
        for _ in range(4):
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.03)
        await settle(lambda: q.in_flight is None, "the last answer")
        after = sorted(a.orders(sim), key=lambda o: o.id)[before:]
        off = [o.price for o in after if o.price % step]
        assert not off, f"orders off the refreshed tick at the venue: {off}"

    run(body)


@pytest.mark.parametrize("scale", [10**7, -(10**6)])
def test_a_mantissa_of_an_absurd_scale_is_refused_at_once(scale: int) -> None:
    """``Mantissa(value, scale)`` with a scale no order's number has: ``InvalidOrder`` at once, as
    ``place_order`` refuses it (its ``to_decimal`` in microseconds) — not after the template's
    rescaling raised 10 to the scale's distance, holding the event loop (every socket, every quote
    rule) for seconds. Nothing at the venue."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        _, qty = below_bid(a, sim, tr, 10)
        q = int(qty.scaleb(tmpl.qty_scale))
        t0, cpu0 = time.monotonic(), time.thread_time()
        with pytest.raises(InvalidOrder):
            await tmpl.send(Mantissa(1, scale), q)
        took, cpu = time.monotonic() - t0, time.thread_time() - cpu0
        # The loop's own CPU time (this thread's): what a refusal computing 10 to the scale's distance
        # spent. The time on the clock includes any wait for a CPU the suite's other process holds,
        # so it is bounded only loosely.
        assert cpu < 0.2 and took < 2.0, f"the refusal held the event loop {took:.2f} s ({cpu:.2f} s CPU)"
        assert a.orders(sim) == [] and list(tr.tracker) == []

    a.run(body)


@pytest.mark.parametrize("venue", ["binance", "okx", "bybit"])
def test_a_market_template_cannot_be_post_only(venue: str) -> None:
    """``place_order`` refuses a post-only market order (``InvalidOrder``: a maker-only intent has no
    market form). A market template asked to be post-only must refuse as well, with nothing at the
    venue (before: it was built, and its send went out as a plain market order that took liquidity —
    filled at the simulator, the opposite of what post-only asks)."""
    a, _ = signed_account(venue, Frozen())

    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, ask = a.touch(sim)
        qty = a.size(tr, ask)
        with pytest.raises(InvalidOrder):  # the slow path's verdict
            await tr.place_order(a.symbol, "buy", "market", qty, post_only=True)
        refused: InvalidOrder | None = None
        try:
            tmpl = tr.template(a.symbol, "buy", "market", post_only=True)
            await tmpl.send(None, int(qty.scaleb(tmpl.qty_scale)))
        except InvalidOrder as e:
            refused = e
        theirs = [(o.type, o.status, o.post_only) for o in a.orders(sim)]
        assert theirs == [], f"a post-only market template order went out: {theirs}"
        assert refused is not None

    a.run(body)


@pytest.mark.parametrize("path", ["template", "place_order"])
def test_an_order_no_connection_could_take_is_refused_unsent_not_left_unknown(path: str) -> None:
    """The venue's REST endpoint refuses connections (down for 2 s) and the pool's connections are
    gone: the order's request is written nowhere — the connect itself failed. The send must be refused
    ``TransportError`` marked unsent, with nothing tracked, as for any request nothing of which went
    out (the simulator has no order). Before, the connect's failure was taken for a lost answer: the
    order was tracked, reconciled over the same refused connects, and raised ``UnknownOutcome`` — left
    ``unknown`` (open, in the risk counts, awaited by ``close`` and the kill) until the venue came back
    and a later look found no trace of it."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        await sim.endpoint("binance", 0).down(2.0)
        await asyncio.sleep(0.1)  # the pool's connections seen closed: none left to write on
        with pytest.raises(TransportError) as got:
            if path == "template":
                p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
                await tmpl.send(p, q)
            else:
                await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        assert was_unsent(got.value), f"not marked unsent: {got.value!r}"
        assert a.orders(sim) == []
        left = [(o.client_id, o.status) for o in tr.tracker]
        assert left == [], f"tracked though never written: {left}"

    a.run(body, timeout=1.0)
