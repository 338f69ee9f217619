"""A venue that changes a symbol's grid under a running session, on the venues ``test_stale_rules``
leaves out — Bybit, Kraken, Coinbase, HTX, Binance USDⓈ-M —, against the simulator's own state
(``Simulator.set_grid``: its instrument list and its order entry, counted where its HTTP handler
and its order socket are handed requests), over REST and, where the simulator has one, the order
socket (``transport="ws"``):

- an order on the session's old grid only goes, and the venue refuses it with its own code (Bybit
  170134, Kraken ``EOrder:Tick size check failed``, Coinbase ``INVALID_LIMIT_PRICE_PRECISION``, HTX
  ``order-orderprice-precision-error``, USDⓈ-M -4014): typed ``OrderRejected``, tracked
  ``rejected``, nothing of it in the simulator's order list;
- that refusal has the session read the instrument list once (``stale_rules`` names the code), after
  which an order on the old grid is refused here (``InvalidOrder``, no request) and one on the new
  grid — off the old one where the venue lists ticks freely — is placed once;
- an amend to a price on the old grid only goes the same way (Coinbase's edit answers
  ``PREVIEW_INVALID_PRICE_PRECISION``), the venue's order staying as it was until the amend on the
  new grid."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from session_cases import SimAccount
from test_session_bybit import BYBIT
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_usdm import USDM
from tickwire.errors import InvalidOrder, OrderRejected
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def counts(sim: Simulator, venue: str, lists: tuple[str, ...], transport: str) -> Any:
    """(order places and amends, instrument-list requests) the simulated ``venue`` has been handed
    from now: over HTTP (``ORDER_PATHS``; GETs of a path of ``lists``) and on its order socket; an
    order request on the other ``transport`` fails the test."""
    v: Any = sim.venue(venue)
    sent, listed, stray = [0], [0], []
    http = v.http

    def count(on: str, order: bool) -> None:
        sent[0] += order
        if order and on != transport:
            stray.append(on)

    def orders() -> int:
        assert not stray, f"order requests over {stray}, not {transport}"
        return sent[0]

    async def counting_http(ep: Any, req: Any) -> Any:
        count("rest", (req.method, req.path) in ORDER_PATHS[venue])
        listed[0] += req.method == "GET" and req.path in lists
        return await http(ep, req)

    v.http = counting_http
    if venue == "bybit":
        on_message = v.trade.on_message

        def counting_bybit(conn: Any, msg: dict[str, Any]) -> None:
            count("ws", msg.get("op") in ("order.create", "order.amend"))
            on_message(conn, msg)

        v.trade.on_message = counting_bybit
    elif venue == "kraken":
        on_method = v.trade.on_method

        def counting_kraken(conn: Any, method: str, params: dict[str, Any], reply: Any) -> None:
            count("ws", method in ("add_order", "amend_order"))
            on_method(conn, method, params, reply)

        v.trade.on_method = counting_kraken
    elif venue == "binance-usdm":
        ws_orders = v.wsapi.orders

        def counting_usdm(ep: Any, req: Any, account: str, params: dict[str, str]) -> Any:
            count("ws", (req.method, req.path) in ORDER_PATHS[venue])
            return ws_orders(ep, req, account, params)

        v.wsapi.orders = counting_usdm
    return orders, (lambda: listed[0])


def _posts(*paths: str) -> frozenset[tuple[str, str]]:
    return frozenset(("POST", p) for p in paths)


ORDER_PATHS = {
    "bybit": _posts("/v5/order/create", "/v5/order/amend", "/v5/order/create-batch"),
    "kraken": _posts("/0/private/AddOrder", "/0/private/AmendOrder"),
    "coinbase": _posts("/api/v3/brokerage/orders", "/api/v3/brokerage/orders/edit"),
    "htx": _posts("/v1/order/orders/place", "/v1/order/batch-orders"),
    "binance-usdm": _posts("/fapi/v1/order", "/fapi/v1/batchOrders") | {("PUT", "/fapi/v1/order")},
}


def rejected(tr: TradingSession) -> list[Any]:
    return [o for o in list(tr.tracker) if o.status == "rejected"]


@dataclass(frozen=True)
class Case:
    """One venue's grid change: the session starts on tick ``start`` (None: the simulator's own),
    the venue moves to ``new``; ``base`` rounds a price near the book onto both. The venue's refusal
    of a new order: ``code`` and a word of its text; of an amend: ``amend_code`` (None: the venue
    has no amend)."""

    acct: SimAccount
    lists: tuple[str, ...]
    start: str | None
    new: str
    base: Decimal
    code: Any
    words: str
    amend_code: Any = None


CASES = {
    "bybit": Case(
        BYBIT, ("/v5/market/instruments-info",), "0.02", "0.05", Decimal("0.1"),
        170134, "Order price decimal too long", 170134,
    ),
    "kraken": Case(
        KRAKEN, ("/0/public/AssetPairs",), "0.2", "0.5", Decimal(1),
        "EOrder:Tick size check failed", "Tick size", "EOrder:Tick size check failed",
    ),
    "coinbase": Case(
        COINBASE, ("/api/v3/brokerage/market/products", "/api/v3/brokerage/products"), "0.02", "0.05",
        Decimal("0.1"), "INVALID_LIMIT_PRICE_PRECISION", "", "PREVIEW_INVALID_PRICE_PRECISION",
    ),
    # HTX lists its tick in decimal places: the old grid (0.01) holds the new one (0.1). No amend.
    "htx": Case(
        HTX, ("/v1/common/symbols",), None, "0.1", Decimal(1),
        "order-orderprice-precision-error", "precision",
    ),
    "binance-usdm": Case(
        USDM, ("/fapi/v1/exchangeInfo",), "0.2", "0.5", Decimal(1),
        -4014, "Price not increased by tick size", -4014,
    ),
}  # fmt: skip
# The venues whose simulator has an order socket the session places and amends on (transport="ws").
SOCKETS = ("bybit", "kraken", "binance-usdm")
PLACES = [(v, "rest") for v in CASES] + [(v, "ws") for v in SOCKETS]
AMENDS = [(v, "rest") for v, c in CASES.items() if c.amend_code is not None] + [(v, "ws") for v in SOCKETS]


def _run(venue: str, transport: str, body: Any) -> None:
    c = CASES[venue]
    before = None if c.start is None else (lambda sim: sim.set_grid(venue, c.acct.symbol, tick=c.start))
    c.acct.run(body, before=before, transport=transport)


def _prices(c: Case, sim: Simulator, tr: TradingSession) -> tuple[Decimal, Decimal, Decimal]:
    """(on both grids, on the old grid only, on the new grid — off the old one where ``start`` is
    given) below the book."""
    old_tick, new = tr.rules[c.acct.symbol].tick_size, Decimal(c.new)
    bid, _ = c.acct.touch(sim)
    base = (bid - 10).quantize(c.base, ROUND_FLOOR)
    assert base % old_tick == 0 == base % new and (base - old_tick) % new != 0
    return base, base - old_tick, base - new


@pytest.mark.parametrize(("venue", "transport"), PLACES)
def test_a_tick_changed_under_the_session_is_refused_by_the_venue_once_then_checked_here(
    venue: str, transport: str
) -> None:
    """The session starts on the ``start`` tick; the venue moves to ``new``. A price on the old tick
    only is the venue's refusal, with its code; the list is read once; the same price is then
    refused here, and one on the new tick is placed once."""
    c = CASES[venue]
    a, new = c.acct, Decimal(c.new)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        got = tr.rules[a.symbol].tick_size
        assert c.start is None or got == Decimal(c.start), f"the session starts on {got}, not {c.start}"
        sent, lists = counts(sim, venue, c.lists, transport)
        sim.set_grid(venue, a.symbol, tick=c.new)
        _, old, fresh = _prices(c, sim, tr)
        with pytest.raises(OrderRejected) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, old), old)
        e: Any = venue_said.value
        assert str(e.code) == str(c.code) and c.words in str(e), (e.code, str(e))
        assert sent() == 1 and a.orders(sim) == []  # it reached the venue, which placed nothing
        assert [o.price for o in rejected(tr)] == [old]
        await until(lambda: tr.rules[a.symbol].tick_size == new, "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder):
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, old), old)
        assert sent() == 1 and a.orders(sim) == []  # refused here, nothing written
        placed = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, fresh), fresh)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue(venue).instruments[a.symbol]
        assert theirs.open and theirs.price * inst.tick == fresh and placed.status == "new"
        assert sent() == 2 and len(a.orders(sim)) == 1 and lists() == 1

    _run(venue, transport, body)


@pytest.mark.parametrize(("venue", "transport"), AMENDS)
def test_an_amend_to_the_old_tick_is_refused_by_the_venue_once_then_checked_here(
    venue: str, transport: str
) -> None:
    """A resting order on both grids and one on the old grid only; the venue moves its tick. An amend
    to a price on the old tick only: the venue's refusal with its code, its order as it was; the list
    read once; the same amend then refused here, and one to the new tick made — the simulator's order
    at that price. The order off the new grid rests on, untouched."""
    c = CASES[venue]
    a, new = c.acct, Decimal(c.new)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        base, old, fresh = _prices(c, sim, tr)
        qty = a.size(tr, fresh)
        resting = await tr.place_order(a.symbol, "buy", "limit", qty, base)
        stays = await tr.place_order(a.symbol, "buy", "limit", qty, old)
        inst = sim.venue(venue).instruments[a.symbol]
        sent, lists = counts(sim, venue, c.lists, transport)
        sim.set_grid(venue, a.symbol, tick=c.new)
        with pytest.raises(OrderRejected) as venue_said:
            await tr.amend_order(a.symbol, client_id=resting.client_id, price=old)
        e: Any = venue_said.value
        assert str(e.code) == str(c.amend_code), (e.code, str(e))
        [theirs] = a.orders(sim, resting.client_id)
        assert theirs.open and theirs.price * inst.tick == base and sent() == 1  # as it was
        await until(lambda: tr.rules[a.symbol].tick_size == new, "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder):
            await tr.amend_order(a.symbol, client_id=resting.client_id, price=old)
        assert sent() == 1
        await tr.amend_order(a.symbol, client_id=resting.client_id, price=fresh)
        [theirs] = a.orders(sim, resting.client_id)
        assert theirs.open and theirs.price * inst.tick == fresh and sent() == 2 and lists() == 1
        [kept] = a.orders(sim, stays.client_id)
        assert kept.open and kept.price * inst.tick == old and tr._current(stays.client_id).status == "new"

    _run(venue, transport, body)


@dataclass(frozen=True)
class QtyCase:
    """A venue's quantity grid change: ``start`` then ``new`` (``set_grid`` keywords, ``start`` set
    before the session opens); ``old`` a size on the start grid only, ``fresh`` one on the new grid
    (off the start one where the venue lists steps freely); the venue's refusal code."""

    start: dict[str, str]
    new: dict[str, str]
    old: str
    fresh: str
    code: Any
    rule: str  # the session's rule for the old size once it read the new grid


QTY_CASES = {
    "bybit": QtyCase({"lot": "0.000002"}, {"lot": "0.000005"}, "0.000102", "0.000105", 170137, "lot_size"),
    "coinbase": QtyCase(
        {"lot": "0.00000002"}, {"lot": "0.00000005"}, "0.00010002", "0.00010005", "INVALID_SIZE_PRECISION",
        "lot_size",
    ),
    # amount-precision: decimal places, so the old step (1e-6) holds the new one (1e-4).
    "htx": QtyCase(
        {}, {"lot": "0.0001"}, "0.000201", "0.0003", "order-orderamount-precision-error", "lot_size"
    ),
    "binance-usdm": QtyCase({"lot": "0.002"}, {"lot": "0.005"}, "0.012", "0.015", -4023, "lot_size"),
    # Kraken lists its step as lot_decimals (unchanged here): its minimum, ordermin, moves.
    "kraken": QtyCase(
        {}, {"min_qty": "0.0002"}, "0.0001", "0.0002", "EOrder:Order minimum not met", "min_qty"
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("venue", "transport"), [(v, "rest") for v in QTY_CASES] + [(v, "ws") for v in SOCKETS]
)
def test_a_step_or_minimum_changed_under_the_session_is_refused_by_the_venue_once_then_checked_here(
    venue: str, transport: str
) -> None:
    """As the tick case, by the order's size: a size on the old step (Kraken: over the old minimum,
    under the new one) is the venue's refusal with its code, the list is read once, the same size is
    refused here and one on the new grid placed once."""
    q, c = QTY_CASES[venue], CASES[venue]
    a = c.acct
    old, fresh = Decimal(q.old), Decimal(q.fresh)
    name, value = next(iter(q.new.items()))
    field = {"lot": "lot_size", "min_qty": "min_qty"}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        start = getattr(tr.rules[a.symbol], field)
        assert all(Decimal(x) == start for x in q.start.values()), f"the session starts on {start}"
        sent, lists = counts(sim, venue, c.lists, transport)
        sim.set_grid(venue, a.symbol, **q.new)
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(c.base, ROUND_FLOOR)
        with pytest.raises(OrderRejected) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", old, price)
        e: Any = venue_said.value
        assert str(e.code) == str(q.code), (e.code, str(e))
        assert sent() == 1 and a.orders(sim) == [] and [o.qty for o in rejected(tr)] == [old]
        await until(lambda: getattr(tr.rules[a.symbol], field) == Decimal(value), "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder) as here:
            await tr.place_order(a.symbol, "buy", "limit", old, price)
        assert here.value.rule == q.rule and sent() == 1 and a.orders(sim) == []  # type: ignore[attr-defined]
        placed = await tr.place_order(a.symbol, "buy", "limit", fresh, price)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue(venue).instruments[a.symbol]
        assert theirs.open and theirs.qty * inst.lot == fresh and placed.status == "new"
        assert sent() == 2 and len(a.orders(sim)) == 1 and lists() == 1

    before = (lambda sim: sim.set_grid(venue, a.symbol, **q.start)) if q.start else None
    a.run(body, before=before, transport=transport)


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_usdm_step_made_coarser_is_refused_for_its_precision_and_read_again(transport: str) -> None:
    """Binance USDⓈ-M moves BTCUSDT's step from 0.001 to 0.01, its listed quantityPrecision from 3
    to 2. A quantity on the old step only (0.013) has more places than the symbol's precision: the
    venue refuses it -1111 "Precision is over the maximum defined for this asset." (BAD_PRECISION,
    as USDⓈ-M users report it for a quantity past quantityPrecision), which says the grid may have
    moved: the list is read once, the same size is then refused here, and one on the new step goes.
    Before, the simulator answered -4023 (a step within the precision) and the session did not
    count -1111 as a grid refusal: every order on the old step went on being refused by the venue,
    the rules read again only at the next periodic read."""
    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].lot_size == Decimal("0.001")
        sent, lists = counts(sim, "binance-usdm", ("/fapi/v1/exchangeInfo",), transport)
        sim.set_grid("binance-usdm", a.symbol, lot="0.01")
        bid, _ = a.touch(sim)
        price = (bid - 10).quantize(Decimal(1), ROUND_FLOOR)
        with pytest.raises(OrderRejected) as venue_said:
            await tr.place_order(a.symbol, "buy", "limit", Decimal("0.013"), price)
        e: Any = venue_said.value
        assert str(e.code) == "-1111", (e.code, str(e))
        assert sent() == 1 and a.orders(sim) == []
        await until(lambda: tr.rules[a.symbol].lot_size == Decimal("0.01"), "the list read again")
        assert lists() == 1 and tr.rules_recheck.reads == 1
        with pytest.raises(InvalidOrder):
            await tr.place_order(a.symbol, "buy", "limit", Decimal("0.013"), price)
        placed = await tr.place_order(a.symbol, "buy", "limit", Decimal("0.02"), price)
        [theirs] = a.orders(sim, placed.client_id)
        inst = sim.venue("binance-usdm").instruments[a.symbol]
        assert theirs.open and theirs.qty * inst.lot == Decimal("0.02") and sent() == 2 and lists() == 1

    a.run(body, transport=transport)
