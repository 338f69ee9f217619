"""The trading part of ``tickwire demo`` (``cmd/demo_trade.py``) run briefly against an in-process
simulator, and what it says checked against the simulator's own order list, fills, ledger and record
of lost answers — never against what the demo or the session say of themselves."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
from tickwire.cmd.demo_trade import FUNDS, TRADE_VENUES, Result, flatten_legs, run_trading
from tickwire.cmd.demo_trade_view import checks
from tickwire.sim import Simulator
from tickwire.sim.engine import Order as SimOrder

DURATION = 5.0


@dataclass
class Run:
    """One run of the trading part and the simulator's truth after it."""

    venue: str
    res: Result
    out: list[str]
    orders: list[SimOrder]  # the simulator's orders of the demo's account
    balances: dict[str, Decimal]
    locked: dict[str, Decimal]
    lost: list[str]  # the operations whose answer the simulator lost
    lost_client_ids: list[str] = field(default_factory=list)  # the client ids in those requests
    inst: Any = None  # the simulator's instrument (tick, lot)
    errors: list[BaseException] = field(default_factory=list)


def _client_id(data: bytes) -> str:
    """The client order id in an order socket request (Binance ``newClientOrderId``, OKX ``clOrdId``,
    Bybit ``orderLinkId``)."""

    def find(x: Any) -> str | None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("newClientOrderId", "clOrdId", "orderLinkId"):
                    return str(v)
                if (got := find(v)) is not None:
                    return got
        if isinstance(x, list):
            for v in x:
                if (got := find(v)) is not None:
                    return got
        return None

    return find(orjson.loads(data)) or "?"


def _run(venue: str) -> Run:
    cfg = TRADE_VENUES[venue]
    key = cfg["keys"]["key"]
    out: list[str] = []

    async def go() -> Run:
        async with Simulator([venue], seed=5, rate=200, depth=60, symbols={venue: [cfg["symbol"]]}) as sim:
            ep = sim.endpoint(venue, 0)
            lost_ids: list[str] = []
            handle = ep.on_ws_message

            def spy(conn: Any, data: bytes, binary: bool) -> None:
                before = len(ep.lost)
                handle(conn, data, binary)
                if len(ep.lost) > before:
                    lost_ids.append(_client_id(data))

            ep.on_ws_message = spy  # type: ignore[method-assign]
            res = await run_trading(sim.urls(), venue, DURATION, out.append, plain=True)
            engine = sim.venue(venue).engine
            ledger = engine.ledger
            return Run(
                venue,
                res,
                out,
                [o for o in engine.orders.values() if o.account == key],
                dict(ledger.balances.get(key, {})),
                dict(ledger.locked.get(key, {})),
                list(ep.lost),
                lost_ids,
                sim.venue(venue).instruments[cfg["symbol"]],
                list(sim.errors),
            )

    return asyncio.run(go())


@pytest.fixture(scope="module", params=sorted(TRADE_VENUES))
def run(request: pytest.FixtureRequest) -> Run:
    return _run(request.param)


def test_the_demo_says_it_ended_flat_and_equal_to_the_simulator(run: Run) -> None:
    assert run.res.ok, "\n".join(run.out)
    assert "Trading ended flat, every count equal to the simulator's — yes" in run.out[-1]
    assert run.errors == []


def test_every_order_the_demo_sent_is_at_the_simulator_exactly_once(run: Run) -> None:
    res = run.res
    ids = [o.client_id for o in run.orders]
    assert res.send_errors == []
    assert sorted(ids) == sorted(res.client_ids) and len(set(ids)) == len(ids)
    assert len(ids) == sum(res.sent.values())
    assert res.sent["quote"] > 5 and res.sent["ioc"] >= 2  # it did quote and cross
    # The strategy's limits: never more than one quote a side open, never faster than its gap.
    assert res.sent["quote"] + res.sent["ioc"] <= DURATION / 0.15 + 2


def test_fills_are_counted_once_and_equal_the_simulators(run: Run) -> None:
    theirs = {(o.client_id, str(f.trade_id)): (o.side, f) for o in run.orders for f in o.fills}
    mine = {(f.client_id, f.trade_id): f for f in run.res.fills.values()}
    assert set(mine) == set(theirs) and run.res.duplicate_fills == 0
    assert any(f.maker for _, f in theirs.values()) and any(not f.maker for _, f in theirs.values())
    # Side, price, quantity and liquidity as the simulator filled them.
    for k, f in mine.items():
        side, sf = theirs[k]
        assert f.side == ("buy" if side == 0 else "sell")
        assert (f.price, f.qty) == (run.inst.price(sf.price), run.inst.qty(sf.qty))
        assert f.liquidity == ("maker" if sf.maker else "taker")


def test_the_account_is_flat_at_the_simulator_and_the_pnl_is_its_cash_change(run: Run) -> None:
    base, quote = TRADE_VENUES[run.venue]["assets"]
    assert not any(o.open for o in run.orders)
    assert run.balances[base] == Decimal(FUNDS[base])
    assert all(v == 0 for v in run.locked.values()), run.locked
    assert run.res.position == 0
    assert run.res.pnl == run.balances[quote] - Decimal(FUNDS[quote])
    k = run.res.kill
    assert k is not None and k.complete and k.reason == "demo end"
    # What the kill switch cancelled really was open until then, and is cancelled at the simulator.
    by_id = {o.client_id: o for o in run.orders}
    assert all(by_id[o.client_id].status == "CANCELED" for o in k.cancelled)


def test_the_socket_drop_lost_one_answer_and_that_order_is_at_the_simulator_once(run: Run) -> None:
    op = TRADE_VENUES[run.venue]["place_op"]
    assert run.lost == [op]
    assert run.res.probe is not None and run.lost_client_ids == [run.res.probe]
    assert [o.client_id for o in run.orders].count(run.res.probe) == 1
    assert any(f"RECONCILED order {run.res.probe}" in line for line in run.out)


def test_tick_to_order_is_stamped_once_per_template_order(run: Run) -> None:
    res = run.res
    assert len(res.stamps) == res.sent["quote"] + res.sent["ioc"]
    # on_book entered, then the bytes handed to the write and written inside send, then send returned
    for s in res.stamps:
        assert (s.ready is None) == (s.written is None)
        assert 0 < s.callback <= (s.ready or s.callback) <= (s.written or s.callback) <= s.returned, s
    # Most writes happen in send itself (a few may wait for the rate budget or a connection).
    assert sum(1 for s in res.stamps if s.written is not None) > len(res.stamps) / 2
    out = "\n".join(run.out)
    assert "→ bytes written by tmpl.send()" in out and "→ bytes handed to the write" in out


def test_the_checks_fail_when_the_simulator_disagrees(run: Run) -> None:
    """The demo's own verdict is not vacuous: each kind of disagreement with the simulator fails it."""
    res = run.res
    base = res.base
    orders = res.sim_orders
    probe = next(o for o in orders if o["client_id"] == res.probe)
    filled = next(o for o in orders if o["fills"])
    bad_base = {**res.end_balances, base: {"free": "0.099", "locked": "0"}}
    extra_fill = {**filled, "fills": [*filled["fills"], {**filled["fills"][0], "trade_id": 1}]}
    twice = [*res.client_ids, probe["client_id"]]
    tampered = {
        "an order the demo never sent": replace(res, sim_orders=[*orders, {**probe, "client_id": "other"}]),
        "the probe placed twice": replace(res, sim_orders=[*orders, probe], client_ids=twice),
        "a fill the demo missed": replace(res, sim_orders=[extra_fill if o is filled else o for o in orders]),
        "an order left open": replace(res, sim_orders=[*orders[:-1], {**orders[-1], "status": "NEW"}]),
        "inventory left": replace(res, end_balances=bad_base),
        "a P&L off by a cent": replace(res, pnl=res.pnl + Decimal("0.01")),
    }
    assert all(ok for _, ok in checks(res))
    for what, r in tampered.items():
        assert not all(ok for _, ok in checks(r)), what


@pytest.mark.parametrize(
    "left,orders",
    [("0.0007", 1), ("-0.0007", 1), ("0.0002", 1), ("0.00003", 2), ("-0.00003", 2), ("0", 0)],
)
def test_flattening_takes_any_position_to_zero_in_orders_of_at_least_the_minimum(
    left: str, orders: int
) -> None:
    least = Decimal("0.0002")
    legs = flatten_legs(Decimal(left), least)
    assert sum(legs, Decimal(left)) == 0 and len(legs) == orders
    assert all(abs(leg) >= least for leg in legs)
