"""A venue that changes a symbol's grid under a running session, against the simulator's own state
(``Simulator.set_grid``: its instrument list and its order entry, counted where they are handed
requests):

- an order the session's old grid allows goes, and the venue refuses it with its own code (Binance
  -1013 ``Filter failure: PRICE_FILTER``, OKX 51121): typed ``OrderRejected``, tracked ``rejected``,
  nothing of it in the simulator's order list;
- that refusal has the session read the instrument list once (``stale_rules`` says it names the
  grid), after which an order on the old grid is refused here (``InvalidOrder``, no request) and one
  on the new grid — refused here before the read — is placed once;
- a template's send, an amend and a batch entry go the same way (one recording point)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from test_session_binance import BINANCE
from test_session_okx import OKX
from tickwire.errors import InvalidOrder, OrderRejected
from tickwire.sim import Simulator
from tickwire.trading import rules_recheck
from tickwire.trading.session import TradingSession


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def binance_counts(sim: Simulator) -> tuple[Callable[[], int], Callable[[], int]]:
    """(new-order requests, exchangeInfo requests) the simulated Binance has been handed from now."""
    v: Any = sim.venue("binance")
    orders, info = [0], [0]
    handle, route = v.orders.handle, v.exchange_info.route

    def counting_orders(ep: Any, req: Any, account: str, params: dict[str, str]) -> Any:
        orders[0] += req.method == "POST"
        return handle(ep, req, account, params)

    def counting_info(ep: Any, req: Any, weight: Any) -> Any:
        info[0] += 1
        return route(ep, req, weight)

    v.orders.handle, v.exchange_info.route = counting_orders, counting_info
    return lambda: orders[0], lambda: info[0]


def okx_counts(sim: Simulator) -> tuple[Callable[[], int], Callable[[], int]]:
    """(order and amend operations, instrument-list requests) the simulated OKX has been handed."""
    v: Any = sim.venue("okx")
    ops, lists = [0], [0]
    run, http = v.trade.run, v.http

    def counting_run(account: str, ep: Any, op: str, arg: dict[str, Any], batch: str = "") -> Any:
        ops[0] += op in ("order", "amend-order")
        return run(account, ep, op, arg, batch)

    async def counting_http(ep: Any, req: Any) -> Any:
        lists[0] += req.path == "/api/v5/public/instruments"
        return await http(ep, req)

    v.trade.run, v.http = counting_run, counting_http
    return lambda: ops[0], lambda: lists[0]


def rejected(tr: TradingSession) -> list[Any]:
    return [o for o in list(tr.tracker) if o.status == "rejected"]


def test_binance_a_tick_changed_under_the_session_is_refused_once_then_checked_here() -> None:
    """The session starts on a 0.02 tick; the venue moves to 0.05. 100.x2 (on the old grid, off the
    new) is the venue's refusal; then 100.x5 (on the new, off the old), which the old rules refused
    here, is placed. (A price refused here first reads the list too: the next test.)"""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].tick_size == Decimal("0.02")
        sent, lists = binance_counts(sim)
        sim.set_grid("binance", a.symbol, tick="0.05")
        bid, _ = a.touch(sim)
        base = (bid - 10).quantize(Decimal("0.1"), ROUND_FLOOR)  # on both grids
        old, new = base - Decimal("0.02"), base - Decimal("0.05")
        with pytest.raises(OrderRejected) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, old), old)
        assert "PRICE_FILTER" in str(venue_said.value) and venue_said.value.code == -1013  # type: ignore[attr-defined]
        assert sent() == 1 and a.orders(sim) == []  # it reached the venue, which placed nothing
        [refused] = rejected(tr)
        assert refused.price == old and "PRICE_FILTER" in (refused.reason or "")
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.05"), "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder):
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, old), old)
        assert sent() == 1 and a.orders(sim) == []  # refused here, nothing written
        placed = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, new), new)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue("binance").instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == new and placed.status == "new"
        assert sent() == 2 and len(a.orders(sim)) == 1 and lists() == 1

    a.run(body, before=lambda sim: sim.set_grid("binance", a.symbol, tick="0.02"))


def test_binance_a_finer_tick_is_read_at_the_first_price_refused_here() -> None:
    """The session starts on a 0.05 tick; the venue moves to 0.01 (prices on its book now off the
    session's grid). An order at 100.x1 is refused here (``InvalidOrder``, nothing sent) — and no
    order of the old grid would ever reach the venue to be refused there — so the refusal has the
    list read once; the same order is then placed once. Before, every such order was refused here
    until the caller ran ``load_rules()``: a strategy pricing off the book was shut out."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].tick_size == Decimal("0.05")
        sent, lists = binance_counts(sim)
        sim.set_grid("binance", a.symbol, tick="0.01")
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(Decimal("0.1"), ROUND_FLOOR) + Decimal("0.01")
        with pytest.raises(InvalidOrder) as here:
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        assert here.value.rule == "tick_size" and sent() == 0  # type: ignore[attr-defined]
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.01"), "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        placed = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue("binance").instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == price and placed.status == "new"
        assert sent() == 1 and lists() == 1
        # A caller's own off-grid prices read it at most once every RECHECK_S.
        for _ in range(3):
            with pytest.raises(InvalidOrder):
                await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price + Decimal("0.001"))
        await asyncio.sleep(0.1)
        assert lists() == 1 and sent() == 1

    a.run(body, before=lambda sim: sim.set_grid("binance", a.symbol, tick="0.05"))


def test_okx_a_lot_changed_under_the_session_is_refused_once_then_checked_here() -> None:
    """The session starts on a 2e-8 lot; the venue moves to 5e-8: 51121 for a size on the old lot."""
    a = OKX
    lot_old, lot_new = Decimal("0.00000002"), Decimal("0.00000005")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].lot_size == lot_old
        sent, lists = okx_counts(sim)
        sim.set_grid("okx", a.symbol, lot=str(lot_new))
        bid, _ = a.touch(sim)
        price = bid - 10 * tr.rules[a.symbol].tick_size
        old, new = Decimal("0.00010002"), Decimal("0.00010005")  # 5001 old lots; 2001 new ones
        with pytest.raises(OrderRejected) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", old, price)
        assert venue_said.value.code == "51121"  # type: ignore[attr-defined]
        assert sent() == 1 and a.orders(sim) == [] and [o.qty for o in rejected(tr)] == [old]
        await until(lambda: tr.rules[a.symbol].lot_size == lot_new, "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder):
            await tr.place_order(a.symbol, "buy", "limit", old, price)
        assert sent() == 1 and a.orders(sim) == []
        placed = await tr.place_order(a.symbol, "buy", "limit", new, price)
        [theirs] = a.orders(sim, placed.client_id)
        assert theirs.open and theirs.qty * sim.venue("okx").instruments[a.symbol].lot == new
        assert sent() == 2 and len(a.orders(sim)) == 1 and lists() == 1

    a.run(body, before=lambda sim: sim.set_grid("okx", a.symbol, lot=str(lot_old)))


def test_a_template_send_the_venue_refuses_for_its_grid_reads_the_list_again() -> None:
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sent, lists = binance_counts(sim)
        sim.set_grid("binance", a.symbol, tick="0.05")
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(Decimal("0.1"), ROUND_FLOOR) - Decimal("0.01")
        tmpl = tr.template(a.symbol, "buy")
        with pytest.raises(OrderRejected):
            await tmpl.send(price, a.size(tr, price))
        assert sent() == 1 and a.orders(sim) == [] and len(rejected(tr)) == 1
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.05"), "the list read again")
        assert lists() == 1
        with pytest.raises(InvalidOrder):  # the template checks the rules read since
            tmpl.send(price, a.size(tr, price))
        assert sent() == 1

    a.run(body)


def test_an_okx_amend_and_a_batch_entry_refused_for_the_grid_read_the_list_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An amend to a price on the old tick (0.1; the venue's is now 0.2): 51000 ``Parameter px
    error``, the order as it was at the venue, the list read; then a batch with one entry on the old
    tick and one on the new: the refused entry has the list read again (``RECHECK_S`` later)."""
    monkeypatch.setattr(rules_recheck, "RECHECK_S", 0.3)
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        base = (bid - 10).quantize(Decimal(1), ROUND_FLOOR)  # on both ticks
        qty = Decimal("0.0001")
        resting = await tr.place_order(a.symbol, "buy", "limit", qty, base)
        sent, lists = okx_counts(sim)
        sim.set_grid("okx", a.symbol, tick="0.2")
        with pytest.raises(OrderRejected) as venue_said:
            await tr.amend_order(a.symbol, client_id=resting.client_id, price=base - Decimal("0.1"))
        assert venue_said.value.code == "51000"  # type: ignore[attr-defined]
        [theirs] = a.orders(sim, resting.client_id)
        inst = sim.venue("okx").instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == base  # the venue's order as it was
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.2"), "the list read again")
        assert sent() == 1 and lists() == 1
        await asyncio.sleep(rules_recheck.RECHECK_S)  # the read's rate window gone by
        sim.set_grid("okx", a.symbol, tick="0.5")
        reads = tr.rules_recheck.reads
        orders = [tr.prepare(a.symbol, "buy", "limit", qty, base - d) for d in (Decimal("0.2"), Decimal(1))]
        got = await tr.place_orders(orders)
        assert isinstance(got[0], OrderRejected) and not isinstance(got[1], Exception)
        assert [o.status for o in got[1:]] == ["new"] and len(a.orders(sim)) == 2  # type: ignore[union-attr]
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.5"), "the list read again", 10)
        assert tr.rules_recheck.reads == reads + 1 and lists() == 2

    a.run(body)


def test_binance_a_finer_tick_is_read_at_a_template_send_refused_here() -> None:
    """As above, by a template's send: refused here once, the list read (counted at the venue), and
    the template's rules refreshed at its next send, which is placed."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sent, lists = binance_counts(sim)
        sim.set_grid("binance", a.symbol, tick="0.01")
        tmpl = tr.template(a.symbol, "buy")
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(Decimal("0.1"), ROUND_FLOOR) + Decimal("0.01")
        with pytest.raises(InvalidOrder):
            tmpl.send(price, a.size(tr, price))
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.01"), "the list read again")
        assert lists() == 1 and sent() == 0
        got = await asyncio.wait_for(tmpl.send(price, a.size(tr, price)), 2.0)
        assert [o.open for o in a.orders(sim, got.client_id)] == [True] and sent() == 1

    a.run(body, before=lambda sim: sim.set_grid("binance", a.symbol, tick="0.05"))


def test_okx_a_finer_tick_is_read_at_an_amend_refused_here() -> None:
    """An amend of a resting order to a price on the venue's finer tick (0.2 → 0.1): refused here
    once, the list read (counted at the venue), then the same amend made — the simulator's order at
    the new price."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].tick_size == Decimal("0.2")
        bid, _ = a.touch(sim)
        base = (bid - 10).quantize(Decimal("1"), ROUND_FLOOR)
        resting = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, base), base)
        _, lists = okx_counts(sim)
        sim.set_grid("okx", a.symbol, tick="0.1")
        price = base - Decimal("0.1")
        with pytest.raises(InvalidOrder):
            await tr.amend_order(a.symbol, client_id=resting.client_id, price=price)
        await until(lambda: tr.rules[a.symbol].tick_size == Decimal("0.1"), "the list read again")
        assert lists() == 1
        await tr.amend_order(a.symbol, client_id=resting.client_id, price=price)
        [theirs] = a.orders(sim, resting.client_id)
        inst = sim.venue("okx").instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == price

    a.run(body, before=lambda sim: sim.set_grid("okx", a.symbol, tick="0.2"))
