"""Pre-trade risk limits (``tickwire.trading.risk``): the gate's exposure against a reference model
recomputed from the tracker's orders, and the limits against the simulator's own order list and
ledger — the venue's announced MAX_NUM_ORDERS, the user's open-order, position and per-order limits,
on ``place_order``, template sends and quote rules."""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quote_cases import QTY
from quote_cases import run as run_quote
from session_cases import SimAccount, market_buy_cost, settle
from template_cases import account
from tickwire.errors import InvalidOrder, RiskLimitExceeded
from tickwire.sim import Simulator
from tickwire.trading import RiskLimits
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.risk import RiskGate
from tickwire.trading.session import TradingSession
from tickwire.trading.tracker import OrderTracker

SYMBOL = "BTCUSDT"
OPS = ("BTC", "ETH")

# -- the gate against a reference model ------------------------------------------------------------


def _model(tr: OrderTracker, symbol: str, amending: dict[str, Decimal]) -> dict[str, Decimal | int]:
    """Exposure recomputed from scratch from every order the tracker holds (none forgotten)."""
    opened = [o for o in tr if o.symbol == symbol and o.is_open]

    def unfilled(o: Order) -> Decimal:
        return max(Decimal(0), max(o.qty, amending.get(o.client_id, o.qty)) - o.filled)

    return {
        "open_orders": len(opened),
        "open_buy_qty": sum((unfilled(o) for o in opened if o.side == "buy"), Decimal(0)),
        "open_sell_qty": sum((unfilled(o) for o in opened if o.side == "sell"), Decimal(0)),
        "position": sum(
            (o.filled if o.side == "buy" else -o.filled for o in tr if o.symbol == symbol), Decimal(0)
        ),
    }


_step = st.tuples(
    st.sampled_from(["place", "ack", "fill", "cum", "cancel", "reject", "withdraw", "unknown", "amend"]),
    st.integers(0, 7),
    st.integers(1, 5),
    st.sampled_from(OPS),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=60))
def test_the_gates_exposure_is_what_the_trackers_orders_make_it(steps: list[Any]) -> None:
    """Any sequence of what a session tells its tracker — places, acks, fills (some repeated),
    cumulative quantities, cancels, rejections, withdrawals, unknown outcomes, amends begun and
    ended — leaves the gate's open count, open quantities and position equal to a recomputation
    from the tracker's orders."""
    gate = RiskGate()
    tr = OrderTracker()
    tr.retain_s = None
    tr.exposure = gate
    amending: dict[str, Decimal] = {}
    trades = 0
    for op, k, n, sym, buy in steps:
        cid = f"c{k}"
        o = tr.get(cid)
        if op == "place" and o is None:
            order = Order(venue="binance", symbol=sym, side="buy" if buy else "sell", type="limit",
                          tif="GTC", qty=Decimal(n * 2), price=Decimal(100), client_id=cid)  # fmt: skip
            tr.track(order)
        elif o is None:
            continue
        elif op == "ack":
            tr.apply(OrderEvent(source="rest", client_id=cid, order_id=f"o{k}", status="new"))
        elif op == "fill":
            trades += 1
            tid = f"t{trades if buy else max(1, trades - 1)}-{k}"  # sometimes a repeat
            fill = Fill(venue="binance", symbol=o.symbol, side=o.side, qty=Decimal(n) / 2,
                        price=Decimal(100), trade_id=tid, order_id=None, client_id=cid,
                        fee=Decimal(0), fee_asset=None)  # fmt: skip
            tr.apply(OrderEvent(source="stream", client_id=cid, fill=fill))
        elif op == "cum":
            tr.apply(OrderEvent(source="rest", client_id=cid, filled_cum=min(o.qty, Decimal(n))))
        elif op == "cancel":
            tr.apply(OrderEvent(source="rest", client_id=cid, status="canceled"))
        elif op == "reject":
            tr.apply(OrderEvent(source="rest", client_id=cid, status="rejected"))
        elif op == "withdraw":
            tr.withdraw(cid)
        elif op == "unknown":
            tr.mark_unknown(cid, "lost")
        elif op == "amend":
            if buy and cid not in amending:
                amending[cid] = o.qty + n
                tr.begin_amend(cid, (o.qty + n, o.price))
            elif cid in amending:
                del amending[cid]
                tr.end_amend(cid)
        for sym_ in OPS:
            got = gate.exposure(sym_)
            theirs = {k_: got[k_] for k_ in ("open_orders", "open_buy_qty", "open_sell_qty", "position")}
            assert theirs == _model(tr, sym_, _amend_view(tr, amending))


def _amend_view(tr: OrderTracker, amending: dict[str, Decimal]) -> dict[str, Decimal]:
    """The amends still open as the tracker holds them (one the venue settled is closed there)."""
    return {c: q for c, q in amending.items() if (o := tr.get(c)) is not None and o.is_open}


def test_the_limits_refuse_in_the_worst_case_and_say_which() -> None:
    gate = RiskGate({"BTCUSDT": RiskLimits(max_open_orders=2, max_position=Decimal(3))})
    tr = OrderTracker()
    tr.exposure = gate
    gate.set_position("BTCUSDT", Decimal(1))
    tr.track(Order(venue="binance", symbol="BTCUSDT", side="buy", type="limit", tif="GTC",
                   qty=Decimal(2), price=Decimal(100), client_id="a"))  # fmt: skip
    with pytest.raises(RiskLimitExceeded, match="max_position") as e:
        gate.check("BTCUSDT", "buy", Decimal("0.5"))  # 1 held + 2 open + 0.5 > 3
    assert (e.value.symbol, e.value.limit) == ("BTCUSDT", "max_position")
    gate.check("BTCUSDT", "sell", Decimal(4))  # 1 - 4 = -3: at the limit, not past it
    with pytest.raises(RiskLimitExceeded, match="max_position"):
        gate.check("BTCUSDT", "sell", Decimal("4.5"))
    gate.reserve("rule", "BTCUSDT", "sell", Decimal(1))
    with pytest.raises(RiskLimitExceeded, match="max_open_orders"):
        gate.check("BTCUSDT", "sell", Decimal(1))  # one tracked, one reserved: 2 of 2
    gate.release("rule")
    gate.check("BTCUSDT", "sell", Decimal(1))
    gate.check("ETHUSDT", "buy", Decimal(100))  # no limits there
    assert gate.exposure("BTCUSDT")["position"] == 1
    with pytest.raises(ValueError):
        RiskLimits(max_open_orders=0)
    with pytest.raises(ValueError):
        RiskLimits(max_order_qty=Decimal("NaN"))


def test_an_amend_to_more_counts_its_larger_quantity_until_settled() -> None:
    gate = RiskGate(RiskLimits(max_position=Decimal(5), max_order_qty=Decimal(4)))
    tr = OrderTracker()
    tr.exposure = gate
    o = tr.track(Order(venue="binance", symbol="BTCUSDT", side="buy", type="limit", tif="GTC",
                       qty=Decimal(2), price=Decimal(100), client_id="a"))  # fmt: skip
    with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
        gate.check_amend(o, Decimal(5), o.price)
    gate.check_amend(o, Decimal(4), o.price)
    tr.begin_amend("a", (Decimal(4), o.price))
    assert gate.exposure("BTCUSDT")["open_buy_qty"] == 4
    with pytest.raises(RiskLimitExceeded, match="max_position"):
        gate.check("BTCUSDT", "buy", Decimal(2))  # 4 on its way + 2 > 5
    tr.end_amend("a")  # the venue kept the old terms
    assert gate.exposure("BTCUSDT")["open_buy_qty"] == 2
    gate.check("BTCUSDT", "buy", Decimal(2))


def test_a_replaced_amend_to_more_counts_while_the_venue_may_still_apply_it() -> None:
    """An amend to 4 left open (its answer lost), replaced by one to 3 that the venue confirms: the
    first may still be applied after it where the venue names no request window (the tracker keeps
    its change, ``Record.queued_amends``, and takes the venue's word stating it), so its 4 counts
    against the limits until the venue's word settles it. Before, only the open amend's quantity
    counted: 3, and a buy of 2 passed with 4 + 2 > 5 possible at the venue."""
    gate = RiskGate(RiskLimits(max_position=Decimal(5)))
    tr = OrderTracker()
    tr.exposure = gate
    tr.track(Order(venue="okx", symbol="BTCUSDT", side="buy", type="limit", tif="GTC",
                   qty=Decimal(2), price=Decimal(100), client_id="a"))  # fmt: skip
    tr.apply(OrderEvent(source="rest", client_id="a", order_id="1", status="new"))
    tr.begin_amend("a", (Decimal(4), Decimal(100)))  # its answer lost: left open
    tr.begin_amend("a", (Decimal(3), Decimal(100)))  # replaces it
    tr.apply(OrderEvent(source="rest", client_id="a", status="new", qty=Decimal(3), price=Decimal(100)))
    got = gate.exposure("BTCUSDT")["open_buy_qty"]
    assert got == 4, f"open buy quantity counted {got}, the venue may hold 4"
    with pytest.raises(RiskLimitExceeded, match="max_position"):
        gate.check("BTCUSDT", "buy", Decimal(2))  # 4 possible + 2 > 5
    # The venue applies it late: its word taken, the change off the queue; 4 counts as the order's own.
    tr.apply(OrderEvent(source="stream", client_id="a", status="new", qty=Decimal(4), price=Decimal(100)))
    assert tr._recs["a"].queued_amends == [] and gate.exposure("BTCUSDT")["open_buy_qty"] == 4
    # Applied in order instead — its word heard while the later amend was open — it counts no more
    # once the later one settles: the venue cannot apply it again.
    tr.begin_amend("a", (Decimal(5), Decimal(100)))  # left open
    tr.begin_amend("a", (Decimal(3), Decimal(100)))  # replaces it
    tr.apply(OrderEvent(source="stream", client_id="a", status="new", qty=Decimal(5), price=Decimal(100)))
    tr.apply(OrderEvent(source="rest", client_id="a", status="new", qty=Decimal(3), price=Decimal(100)))
    assert gate.exposure("BTCUSDT")["open_buy_qty"] == 3


# -- against the simulator -------------------------------------------------------------------------

A = account()


def _run(body: Any, profile: dict[str, Any] | None = None, **trade_kw: Any) -> None:
    """``body(sim, tr)`` on a simulated Binance spot with ``profile``."""
    import tickwire

    async def go() -> None:
        async with Simulator(
            ["binance"], seed=31, rate=0, depth=20, profiles={"binance": profile or {}}
        ) as sim:
            A.register(sim.venue("binance"))
            sim.fund("binance", A.key, A.funds)
            async with tickwire.trade("binance", credentials=A.signer, endpoints=sim.urls()["binance"],
                                      **trade_kw) as tr:  # fmt: skip
                await body(sim, tr)

    asyncio.run(go())


def _posts(sim: Simulator) -> int:
    return [op for _, op, _, _ in sim.endpoint("binance", 0).exchanges].count("POST /api/v3/order")


async def _below(sim: Simulator, tr: TradingSession, ticks: int, times: int = 1) -> tuple[Decimal, Decimal]:
    bid, _ = A.touch(sim)
    price = bid - ticks * tr.rules[SYMBOL].tick_size
    return price, A.size(tr, price, times)


def test_the_venues_max_num_orders_is_read_and_never_crossed_by_concurrent_sends() -> None:
    """The venue announces 3 open orders per symbol: five ``place_order`` calls at once place three
    (the simulator holds three, and got three requests); two are refused unsent. A template send is
    refused too; once one order is cancelled, it goes. Before, every call was sent and the venue
    refused two with -2010 (``OrderRejected``)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[SYMBOL].max_open_orders == 3  # from exchangeInfo's MAX_NUM_ORDERS
        orders = [await _below(sim, tr, 30 + i) for i in range(5)]
        got = await asyncio.gather(
            *(tr.place_order(SYMBOL, "buy", "limit", q, p) for p, q in orders), return_exceptions=True
        )
        placed = [o for o in got if isinstance(o, Order)]
        refused = [e for e in got if isinstance(e, RiskLimitExceeded)]
        assert len(placed) == 3 and len(refused) == 2, got
        assert all(e.limit == "max_open_orders" for e in refused)
        assert len(A.open(sim)) == 3 and _posts(sim) == 3
        tmpl = tr.template(SYMBOL, "buy")
        p, q = orders[0]
        pm, qm = int(p.scaleb(tmpl.price_scale)), int(q.scaleb(tmpl.qty_scale))
        with pytest.raises(RiskLimitExceeded):
            tmpl.send(pm, qm)
        assert _posts(sim) == 3 and len(tr.tracker.open_orders()) == 3
        await tr.cancel_order(SYMBOL, client_id=placed[0].client_id)
        sent = await tmpl.send(pm, qm)
        assert sent.status == "new" and len(A.open(sim)) == 3 and _posts(sim) == 4
        assert tr.risk.exposure(SYMBOL)["open_orders"] == 3

    _run(body, {"max_open_orders": 3})


def test_max_position_counts_fills_and_open_orders_in_the_worst_case() -> None:
    """A buy that fills at once moves the position by what the simulator's ledger moved; a resting
    buy up to the limit counts as if it filled; past that a buy is refused unsent, while a sell down
    to minus the limit (everything held and the limit again) goes."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        limit = tr.risk.exposure(SYMBOL)["max_position"]
        assert isinstance(limit, Decimal)
        btc0 = A.free(sim, "BTC")
        _, ask = A.touch(sim)
        taken = await tr.place_order(SYMBOL, "buy", "limit", A.size(tr, ask), ask, tif="IOC")
        held = A.free(sim, "BTC") - btc0  # the ledger's truth
        assert held > 0 and tr.risk.exposure(SYMBOL)["position"] == held == taken.filled
        p, _ = await _below(sim, tr, 40)
        await tr.place_order(SYMBOL, "buy", "limit", limit - held, p)  # the worst case at the limit
        before = _posts(sim)
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(SYMBOL, "buy", "limit", A.size(tr, p), p)
        assert _posts(sim) == before
        _, ask = A.touch(sim)
        high = ask + 40 * tr.rules[SYMBOL].tick_size
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(SYMBOL, "sell", "limit", held + limit + tr.rules[SYMBOL].lot_size, high)
        sell = await tr.place_order(SYMBOL, "sell", "limit", held + limit, high)
        assert sell.status == "new" and _posts(sim) == before + 1

    _run(body, risk={SYMBOL: RiskLimits(max_position=Decimal("0.0003"))})


def test_per_order_caps_refuse_before_sending_on_every_path() -> None:
    """``max_order_qty`` and ``max_order_notional``: ``place_order`` raises ``RiskLimitExceeded``;
    a template refuses the numbers in Rust as it refuses the venue's own bounds (``InvalidOrder``
    naming the rule); nothing reaches the simulator either way."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        p, q = await _below(sim, tr, 30, 2)
        with pytest.raises(RiskLimitExceeded, match="max_order_qty"):
            await tr.place_order(SYMBOL, "buy", "limit", q * 3, p)
        with pytest.raises(RiskLimitExceeded, match="max_order_notional"):
            await tr.place_order(SYMBOL, "buy", "limit", q * 2, p)
        tmpl = tr.template(SYMBOL, "buy")
        pm = int(p.scaleb(tmpl.price_scale))
        with pytest.raises(InvalidOrder) as e:
            tmpl.send(pm, int((q * 3).scaleb(tmpl.qty_scale)))
        assert e.value.rule == "max_qty"
        with pytest.raises(InvalidOrder) as e:
            tmpl.send(pm, int((q * 2).scaleb(tmpl.qty_scale)))
        assert e.value.rule == "max_notional"
        assert _posts(sim) == 0 and A.orders(sim) == []
        ok = await tmpl.send(pm, int(q.scaleb(tmpl.qty_scale)))
        assert ok.status == "new" and _posts(sim) == 1

    _run(body, risk=RiskLimits(max_order_qty=Decimal("0.0005"), max_order_notional=Decimal(15)))


async def _market_buy_unpriced(sim: Simulator, tr: TradingSession, qty: Decimal) -> None:
    """A market buy of ``qty`` refused for want of a book to price it, by ``place_order`` and by a
    market template, and nothing at the simulator."""
    with pytest.raises(RiskLimitExceeded, match="no book to price it"):
        await tr.place_order(SYMBOL, "buy", "market", qty)
    tmpl = tr.template(SYMBOL, "buy", "market")
    with pytest.raises(RiskLimitExceeded, match="no book to price it"):
        tmpl.send(None, int(qty.scaleb(tmpl.qty_scale)))
    assert _posts(sim) == 0 and A.orders(sim) == []


def test_a_market_order_under_a_notional_cap_with_no_book_to_price_it_is_refused() -> None:
    """``tickwire.trade`` alone has no book: a market order's notional cannot be bounded, so under a
    ``max_order_notional`` it is refused — by ``place_order`` and a market template alike — and
    nothing reaches the simulator (before: the cap needed a price, and market orders went out
    unbounded)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        q = tr.rules[SYMBOL].min_qty * 20
        await _market_buy_unpriced(sim, tr, q)

    _run(body, risk=RiskLimits(max_order_notional=Decimal(1_000_000)))


async def _book_synced(md: Any, symbol: str = SYMBOL) -> None:
    def synced() -> bool:
        try:
            return bool(md.book(symbol).is_synced)
        except KeyError:  # nothing from the venue yet
            return False

    await settle(synced, "the book synced")


def test_a_market_orders_notional_is_priced_from_the_book_md_trade_keeps() -> None:
    """Under ``md.trade`` a market buy's notional is what it would take from the book's asks: one
    whose cost, walked on the simulator's own book, is above the cap is refused naming that cost,
    nothing sent; one under it is placed and fills — by ``place_order`` and a market template. One
    larger than every level the venue shows cannot be priced and is refused too."""
    cap = Decimal(15)

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: Any) -> None:
        await _book_synced(md)
        r = tr.rules[SYMBOL]
        small = r.min_qty * 20
        big = small * 2
        cost = functools.partial(market_buy_cost, sim, "binance", SYMBOL)
        assert cost(small) <= cap < cost(big)
        with pytest.raises(RiskLimitExceeded) as e:
            await tr.place_order(SYMBOL, "buy", "market", big)
        took = re.search(r"would take (\S+) from the book", str(e.value))
        assert took is not None and Decimal(took[1]) == cost(big), e.value
        tmpl = tr.template(SYMBOL, "buy", "market")
        with pytest.raises(RiskLimitExceeded, match="max_order_notional"):
            tmpl.send(None, int(big.scaleb(tmpl.qty_scale)))
        # More than every ask the venue shows: what it would cost past them is unknown.
        beyond = sum(size for _, size in sim.book("binance", SYMBOL).asks) * 2
        with pytest.raises(RiskLimitExceeded, match="no book to price it"):
            await tr.place_order(SYMBOL, "buy", "market", beyond)
        assert _posts(sim) == 0
        placed = await tr.place_order(SYMBOL, "buy", "market", small)
        sent = await tmpl.send(None, int(small.scaleb(tmpl.qty_scale)))
        assert placed.status == sent.status == "filled" and _posts(sim) == 2
        assert [(o.type, o.filled) for o in A.orders(sim)] == [("MARKET", o.qty) for o in A.orders(sim)]

    run_quote(body, risk=RiskLimits(max_order_notional=cap))


def test_a_market_order_is_not_priced_from_the_book_of_a_closed_market_session() -> None:
    """``md.trade``'s session outlives its market session: once ``md`` is closed its books no
    longer follow the venue (they keep saying synced, frozen at the close), so a market order under
    ``max_order_notional`` has no book to price it and is refused, nothing sent — by ``place_order``
    and a market template (before: priced from the frozen book and sent, however the market moved)."""
    cap = Decimal(15)

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: Any) -> None:
        await _book_synced(md)
        small = tr.rules[SYMBOL].min_qty * 20
        assert market_buy_cost(sim, "binance", SYMBOL, small) <= cap
        await md.close()
        sim.advance(20, "binance", SYMBOL)  # the venue's market goes on; the closed session hears none of it
        await _market_buy_unpriced(sim, tr, small)

    run_quote(body, risk=RiskLimits(max_order_notional=cap))


def test_a_quote_rule_never_holds_more_open_orders_than_the_limit() -> None:
    """A GTC quote 50 ticks under the bid on every update, ``max_open_orders=2``: its orders rest,
    so after two the rule loads nothing more (``risk_held``) however many ticks come; the
    simulator holds two. Once one is cancelled the rule quotes again, up to two."""
    a: SimAccount = replace(account())

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = tr.template(SYMBOL, "buy").quote(md, QTY, offset_ticks=-50, when="every")
        md.quotes.append(q)
        for _ in range(8):
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.03)
        await settle(lambda: q.in_flight is None, "the last answer")
        assert len(a.open(sim)) == 2 and q.sent == 2 and q.risk_held > 0
        assert max(held for held, _, _ in seen) <= 2
        first = min(a.open(sim), key=lambda o: o.id)
        await tr.cancel_order(SYMBOL, client_id=first.client_id)
        for _ in range(4):
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.03)
        await settle(lambda: q.sent == 3 and q.in_flight is None, "the rule's third order")
        assert len(a.open(sim)) == 2 and q.error is None
        q.stop()

    run_quote(body, risk=RiskLimits(max_open_orders=2))


def test_limits_from_plain_tables_as_a_config_file_gives_them() -> None:
    """``risk=`` as TOML gives it: one table of fields, or a table per symbol; numbers as ints or
    strings (a float is refused: never a float on the way in)."""
    one = RiskGate({"max_open_orders": 5, "max_position": "1.5"})
    assert one.limits("ANY") == RiskLimits(max_open_orders=5, max_position=Decimal("1.5"))
    per = RiskGate({"BTCUSDT": {"max_order_qty": 2}, "ETHUSDT": RiskLimits(max_open_orders=1)})
    assert per.limits("BTCUSDT") == RiskLimits(max_order_qty=Decimal(2)) and per.limits("XRPUSDT") is None
    for bad in ({"max_position": 1.5}, {"BTCUSDT": {"max_orders": 3}}, {"BTCUSDT": 3}, [1]):
        with pytest.raises(ValueError):
            RiskGate(bad)  # type: ignore[arg-type]


def test_the_venues_account_wide_limit_counts_every_symbol() -> None:
    """exchangeInfo's EXCHANGE_MAX_NUM_ORDERS of 3 (the symbols' own limits far above it): two buys
    rest on BTCUSDT and one on ETHUSDT; a fourth on either symbol is refused unsent — on the code
    before it went, and the simulator refused it with -2010 "Filter failure: EXCHANGE_MAX_NUM_ORDERS"."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.risk.account_max == 3
        for sym, ticks in (("BTCUSDT", 30), ("BTCUSDT", 31), ("ETHUSDT", 30)):
            bid = sim.book("binance", sym).bids[0][0]
            price = bid - ticks * tr.rules[sym].tick_size
            await tr.place_order(sym, "buy", "limit", _size(tr, sym, price), price)
        for sym in ("BTCUSDT", "ETHUSDT"):
            price = sim.book("binance", sym).bids[0][0] - 40 * tr.rules[sym].tick_size
            with pytest.raises(RiskLimitExceeded, match="account_max_open_orders"):
                await tr.place_order(sym, "buy", "limit", _size(tr, sym, price), price)
        assert len(A.open(sim)) == 3 and _posts(sim) == 3
        assert tr.risk.exposure("ETHUSDT")["account_open_orders"] == 3

    _run(body, {"exchange_max_open_orders": 3})


def _size(tr: TradingSession, symbol: str, price: Decimal) -> Decimal:
    """The smallest quantity ``symbol``'s rules accept at ``price``."""
    return replace(A, symbol=symbol).size(tr, price)


def test_a_position_limit_counts_from_what_the_venue_says_the_account_holds() -> None:
    """USDⓈ-M: an earlier session leaves the account long 0.01 BTC (the simulator's own position).
    A session with ``max_position=0.015`` reads it at start: a buy of 0.01 more is refused unsent,
    a sell of 0.025 (to short 0.015) goes; the gate's position follows the simulator's."""
    import tickwire
    from kill_cases import ACCOUNTS, funded

    _, signer, _ = ACCOUNTS["binance-usdm"]

    async def go() -> None:
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            engine = sim.venue("binance-usdm").engine
            inst = sim.venue("binance-usdm").instruments["BTCUSDT"]
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls) as tr:
                await tr.place_order("BTCUSDT", "buy", "market", "0.01")
            held = engine.position("kill-usdm", "BTCUSDT") * inst.lot
            assert held == Decimal("0.01")
            limits = {"BTCUSDT": RiskLimits(max_position=Decimal("0.015"))}
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, risk=limits) as tr:
                assert tr.risk.exposure("BTCUSDT")["position"] == held
                with pytest.raises(RiskLimitExceeded, match="max_position"):
                    await tr.place_order("BTCUSDT", "buy", "market", "0.01")
                assert engine.position("kill-usdm", "BTCUSDT") * inst.lot == held
                await tr.place_order("BTCUSDT", "sell", "market", "0.025")
                now = engine.position("kill-usdm", "BTCUSDT") * inst.lot
                assert now == Decimal("-0.015") and tr.risk.exposure("BTCUSDT")["position"] == now

    asyncio.run(go())


@pytest.mark.parametrize("category", ["spot", "linear"])
def test_a_bybit_market_session_prices_spot_market_orders_only_from_spot_books(category: str) -> None:
    """Bybit's order entry here is spot. ``md.trade`` on a market session of spot books prices a
    market buy under ``max_order_notional`` from them and it fills; on one of linear contracts (other
    instruments, ``category="linear"``) it takes no price from them: the buy is refused unpriced,
    nothing sent (before: priced from the contracts' book and sent). The simulator serves one book
    for every category, so only the refusal tells them apart."""
    import tickwire
    from test_session_bybit import BYBIT as b

    async def go() -> None:
        async with Simulator(["bybit"], seed=31, rate=0, depth=20) as sim:
            b.register(sim.venue("bybit"))
            sim.fund("bybit", b.key, b.funds)
            urls = sim.urls()["bybit"]
            async with tickwire.connect(
                "bybit", [b.symbol], endpoints=urls, venue_options={"category": category}, probe_interval=None
            ) as md:
                risk = RiskLimits(max_order_notional=Decimal(1_000_000))
                async with md.trade(credentials=b.signer, risk=risk) as tr:
                    await _book_synced(md, b.symbol)
                    qty = tr.rules[b.symbol].lot_size * 4800  # 0.0048 BTC: past minOrderAmt
                    if category == "spot":
                        o = await tr.place_order(b.symbol, "buy", "market", qty)
                        assert o.status == "filled" and len(b.orders(sim)) == 1
                    else:
                        with pytest.raises(RiskLimitExceeded, match="no book to price it"):
                            await tr.place_order(b.symbol, "buy", "market", qty)
                        assert b.orders(sim) == []

    asyncio.run(go())
