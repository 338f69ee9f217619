"""Every order's life rebuilt from the audit file alone, by a reader of its JSON lines written here,
after a busy, faulty OKX session against the simulator — a place whose answer was lost (reconciled),
an amend, a partial fill, a cancel, a venue refusal, a risk refusal and a kill — and compared with the
simulator's own orders and fills, never with what the session says of itself."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import tickwire
from session_cases import settle
from test_session_binance import BINANCE
from test_session_okx import OKX
from tickwire.audit import AuditLog
from tickwire.errors import InsufficientFunds, RiskLimitExceeded, TradingHalted, TransportError
from tickwire.sim import Simulator
from tickwire.trading import RiskLimits
from tickwire.trading.session import TradingSession

SIM_STATUS = {
    "NEW": "new",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
}


def _read(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _lives(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each client id's life from the audit alone: its last status, its fills (trade ids), its steps."""
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        cid = e.get("client_id")
        if not isinstance(cid, str):
            # A request, a refusal or a loss names the order in its parameters or body.
            text = orjson.dumps({k: v for k, v in e.items() if k not in ("ts_ns", "mono_ns")}).decode()
            for known, life in out.items():
                if known in text:
                    life["kinds"].append(e["kind"])
                    life["monos"].append(e["mono_ns"])
            continue
        life = out.setdefault(cid, {"status": None, "filled": None, "fills": [], "kinds": [], "monos": []})
        life["kinds"].append(e["kind"])
        life["monos"].append(e["mono_ns"])
        if e["kind"] == "order":
            life["status"], life["filled"] = e["status"], Decimal(e["filled"])
        elif e["kind"] == "fill":
            life["fills"].append((str(e["trade_id"]), Decimal(e["qty"])))
    return out


def test_the_audit_alone_rebuilds_every_order_as_the_venue_has_it(tmp_path: Path) -> None:
    a = OKX
    path = tmp_path / "audit.jsonl"
    got: dict[str, Any] = {}

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            audit = AuditLog(path)
            limits = RiskLimits(max_order_qty=Decimal(9_000))
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], audit=audit, risk=limits
            ) as tr:
                sim.endpoint(a.venue, 0).lose_answer(a.place_op)
                rest = await a.rest_below(sim, tr, 40, 3)
                tick = tr.rules[a.symbol].tick_size
                await tr.amend_order(a.symbol, client_id=rest.client_id, price=rest.price - tick)
                second = await a.rest_below(sim, tr, 50, 2)
                _, ask = a.touch(sim)
                book = sim.book(a.venue, a.symbol)
                # More than the best ask holds: filled in part, the rest resting.
                take = book.asks[0][1] + a.size(tr, ask)
                partial = await tr.place_order(a.symbol, "buy", "limit", min(take, Decimal(4)), ask)
                await tr.cancel_order(a.symbol, client_id=second.client_id)
                with pytest.raises(InsufficientFunds):
                    await tr.place_order(a.symbol, "sell", "limit", Decimal(9_000), ask * 2)
                with pytest.raises(RiskLimitExceeded):
                    await tr.place_order(a.symbol, "buy", "limit", Decimal(9_500), ask)
                with pytest.raises(RiskLimitExceeded):
                    await tr.amend_order(a.symbol, client_id=rest.client_id, qty=Decimal(9_500))
                got["amended"] = rest.client_id
                await asyncio.sleep(0.3)  # the private stream's fills heard
                report = await tr.kill("incident")
                got["report"] = report
                got["tracked"] = {o.client_id for o in tr.tracker}
                got["lot"] = tr.rules[a.symbol].lot_size
                got["partial"] = partial.client_id
            got["sim"] = {o.client_id: o for o in a.orders(sim)}
            audit.close()

    asyncio.run(go())
    events = _read(path)
    lives = _lives(events)
    sim_orders: dict[str, Any] = got["sim"]
    lot: Decimal = got["lot"]

    # Every order the venue has is in the audit, with the venue's status, filled quantity and fills.
    for cid, so in sim_orders.items():
        life = lives.get(cid)
        assert life is not None, f"{cid} on the venue but not in the audit"
        assert "order_request" in life["kinds"], (cid, life["kinds"])
        assert life["status"] == SIM_STATUS[so.status], (cid, life["status"], so.status)
        assert life["filled"] == so.filled * lot, (cid, life["filled"], so.filled * lot)
        trade_ids = [t for t, _ in life["fills"]]
        assert len(trade_ids) == len(set(trade_ids)), f"{cid}: a fill audited twice: {trade_ids}"
        assert sorted(trade_ids) == sorted(str(f.trade_id) for f in so.fills), (cid, trade_ids, so.fills)
        assert sum((q for _, q in life["fills"]), Decimal(0)) == so.filled * lot
        assert life["monos"] == sorted(life["monos"]), f"{cid}: events out of order"
    assert lives[got["partial"]]["fills"], "the partly filled order's fill is not in the audit"

    # The venue's refusal: requested, refused, rejected; never on the venue.
    rejected = [c for c, life in lives.items() if life["status"] == "rejected"]
    assert len(rejected) == 1 and rejected[0] not in sim_orders
    assert "refused" in lives[rejected[0]]["kinds"]

    # The risk refusal: in the audit, and never as sent.
    risk = [e for e in events if "risk" in e["kind"]]
    assert risk, f"a risk refusal is not in the audit: {sorted({e['kind'] for e in events})}"
    assert [(e["kind"], e["limit"], e["qty"]) for e in risk] == [
        ("risk_refused", "max_order_qty", "9500")
    ] * 2
    refused_id = risk[0]["client_id"]
    assert isinstance(refused_id, str) and refused_id not in sim_orders
    assert lives[refused_id]["kinds"] == ["risk_refused"], lives[refused_id]["kinds"]  # never as sent
    # The amend refused names its order, and is no amend request (nothing sent).
    assert risk[1]["client_id"] == got["amended"]
    amended = lives[got["amended"]]["kinds"]
    assert amended.count("amend_request") == 1 and amended.index("amend_request") < amended.index(
        "risk_refused"
    )

    # The kill's steps, its last line the report.
    kinds = [e["kind"] for e in events]
    assert "kill" in kinds and "kill_done" in kinds and kinds.index("kill") < kinds.index("kill_done")
    done = next(e for e in events if e["kind"] == "kill_done")
    report = got["report"]
    assert done["reason"] == report.reason == "incident"
    assert done["cancelled"] == [o.order_id or o.client_id for o in report.cancelled]
    assert done["unconfirmed"] == [o.order_id or o.client_id for o in report.unconfirmed]


def _refusals(tmp_path: Path) -> list[dict[str, Any]]:
    """The audit of a session that refuses, before anything is tracked or sent: a place while halted
    (after a kill), a place while the session closes, and a kill after the close."""
    a = OKX
    path = tmp_path / "audit.jsonl"

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            audit = AuditLog(path)
            tr = tickwire.trade(a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], audit=audit)
            async with tr:
                await tr.kill("incident")
                bid, _ = a.touch(sim)
                with pytest.raises(TradingHalted):
                    await tr.place_order(a.symbol, "buy", "limit", Decimal("0.001"), bid)
                tr.resume()
                closing = asyncio.ensure_future(tr.close())
                await asyncio.sleep(0)  # the close begun
                with pytest.raises(TransportError):
                    await tr.place_order(a.symbol, "sell", "limit", Decimal("0.002"), bid * 2)
                await closing
            with pytest.raises(TransportError):
                await tr.kill("too late")
            assert not sim.venue(a.venue).engine.orders  # nothing of it reached the venue
            audit.close()

    asyncio.run(go())
    events = _read(path)
    # Refused before anything was tracked or sent: no intent, no request to place.
    assert not [e for e in events if e["kind"] == "order_request" or e.get("method") == "POST"]
    return events


def _terms(events: list[dict[str, Any]], kind: str) -> list[tuple[Any, ...]]:
    return [
        (e["operation"], e.get("symbol"), e.get("side"), e.get("qty")) for e in events if e["kind"] == kind
    ]


def test_an_order_refused_while_halted_is_named_in_its_audit_line(tmp_path: Path) -> None:
    """Before, ``halted_refusal`` said only ``place_order``: which order was refused, nowhere."""
    events = _refusals(tmp_path)
    assert _terms(events, "halted_refusal") == [("place_order", OKX.symbol, "buy", "0.001")], [
        e for e in events if e["kind"] == "halted_refusal"
    ]


def test_an_order_refused_while_the_session_closes_is_in_the_audit(tmp_path: Path) -> None:
    """Before, the refusal (``TransportError``, unsent) left no line at all."""
    events = _refusals(tmp_path)
    kinds = [e["kind"] for e in events]
    got = _terms(events, "closing_refusal")
    assert got == [("place_order", OKX.symbol, "sell", "0.002")], f"not in the audit: {kinds}"


def test_a_kill_refused_after_the_close_is_in_the_audit(tmp_path: Path) -> None:
    """A kill that never ran is one of the kill switch's steps; before, no line told of it."""
    events = _refusals(tmp_path)
    kinds = [e["kind"] for e in events]
    assert [e["reason"] for e in events if e["kind"] == "kill_refused"] == ["too late"], kinds
    assert kinds.index("kill_refused") > kinds.index("close")


def test_a_template_send_refused_unsent_is_in_the_audit_as_place_orders_is(tmp_path: Path) -> None:
    """``transport="ws"`` with the order socket down: ``place_order``'s refusal (nothing written) is
    ``order_request`` then ``order_withdrawn``; a template's send, refused the same way, must leave its
    line too (before, none: the order was never registered, so nothing named it)."""
    a = BINANCE
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    sent: dict[str, Any] = {}

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket up")
        tmpl = tr.template(a.symbol, "buy")
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        bid, _ = a.touch(sim)
        price = bid - 40 * tr.rules[a.symbol].tick_size
        sent.update(price=str(price), qty=str(a.size(tr, price)))
        with pytest.raises(TransportError, match="socket is down"):
            await tmpl.send(price, a.size(tr, price))
        with pytest.raises(TransportError, match="socket is down"):
            await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price), price)
        assert not a.orders(sim)

    a.run(body, transport="ws", audit=audit)
    audit.close()
    withdrawn = [e for e in _read(path) if e["kind"] == "order_withdrawn"]
    assert len(withdrawn) == 2, f"a template's refusal is not in the audit: {withdrawn}"
    template = withdrawn[0]
    assert (template["symbol"], template["side"], template["price"], template["qty"], template["error"]) == (
        a.symbol, "buy", sent["price"], sent["qty"], "TransportError"
    )  # fmt: skip
