"""Order templates (``tr.template``) on Binance spot against the slow path and the simulator: the same
bytes as ``place_order`` for the same order, client id and timestamp (REST and WS API), signatures
checked with Python's ``hmac`` too; the simulator accepts and fills them; off-tick / off-lot refused
with nothing written; the bytes on the wire when ``send`` returns. (A lost answer reconciled, the
order registered as ``place_order``'s: ``test_template_answer.py``.)"""

from __future__ import annotations

import asyncio
import copy
import re
import socket
import threading
import time
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import orjson
import pytest
import tickwire
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from template_cases import (
    KEY,
    KEY2,
    SECRET2,
    SYMBOL,
    TS,
    Frozen,
    account,
    below_bid,
    capture,
    mac,
    mantissas,
    two_key_account,
)
from tickwire import _core
from tickwire.errors import InvalidOrder, NotSupported, TradingHalted
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading.numbers import Mantissa
from tickwire.trading.session import TradingSession
from tickwire.venues import binance


@pytest.mark.parametrize("recv_window", [None, 5000])
@pytest.mark.parametrize("post_only", [False, True])
def test_rest_bytes_are_the_slow_paths_byte_for_byte(recv_window: int | None, post_only: bool) -> None:
    clock = Frozen()
    a = account(clock=clock, recv_window=recv_window)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy", post_only=post_only)
        clock.at = ts = int(time.time() * 1000)
        sent = capture(tr)
        o = await tr.place_order(SYMBOL, "buy", "limit", qty, price, post_only=post_only)
        [slow] = sent
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        assert o.status == "new"
        fast = tmpl.rest.fill(p, q, o.client_id, ts)
        assert fast == slow
        # The signature, independently: Python's hmac over the query as sent.
        line = fast.split(b"\r\n", 1)[0].decode()
        query = line.split("?", 1)[1].rsplit(" ", 1)[0]
        signed, sig = query.rsplit("&signature=", 1)
        assert sig == mac(signed)
        assert (
            signed
            == tr.signer.sign_request("POST", "/api/v3/order", tr.grammar.new_order(o).params).query.rsplit(
                "&signature=", 1
            )[0]
        )

    a.run(body)


@pytest.mark.parametrize("recv_window", [None, 5000])
def test_ws_api_bytes_are_the_slow_paths_byte_for_byte(recv_window: int | None) -> None:
    clock = Frozen()
    a = account(clock=clock, recv_window=recv_window)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "sell", tif="IOC")
        clock.at = TS
        order = tr.prepare(SYMBOL, "sell", "limit", qty, price, tif="IOC")
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw42")
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        fast = tmpl.ws.fill(p, q, order.client_id, TS, "tw42")
        assert fast == slow
        params = orjson.loads(fast)["params"]
        sig = params.pop("signature")
        assert sig == mac("&".join(f"{k}={params[k]}" for k in sorted(params)))

    a.run(body)


def test_the_simulator_accepts_and_fills_template_orders() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        buy = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        requests = tr.wire.requests
        # ints at the instrument's scale, and Decimals checked against tick and lot
        rest = await buy.send(int(price.scaleb(buy.price_scale)), int(qty.scaleb(buy.qty_scale)))
        assert tr.wire.requests == requests + 1
        [theirs] = a.orders(sim, rest.client_id)
        assert theirs.open and rest.status == "new" and rest.order_id == str(theirs.id)
        assert rest.price == price and rest.qty == qty  # as the venue answered it
        again = await buy.send(Mantissa(int(price.scaleb(9)), 9), Mantissa(int(qty.scaleb(8)), 8))
        assert (again.price, again.qty, again.status) == (price, qty, "new")
        _, ask = a.touch(sim)
        taker = await tr.template(SYMBOL, "buy", tif="IOC").send(ask, a.size(tr, ask))
        [theirs] = a.orders(sim, taker.client_id)
        assert taker.status == "filled" and taker.filled == a.size(tr, ask) and not theirs.open
        assert len(a.orders(sim)) == 3
        assert tr.tracker.get(rest.client_id) is rest

    a.run(body)


class _Ticks(int):
    """An int subclass (an ``IntEnum``, a user's unit type): an int all the same."""


def test_an_int_subclass_is_sent_as_the_mantissa_a_plain_int_is() -> None:
    """``send`` with an int subclass for price and quantity places the order a plain int places: the
    mantissas at the template's scales, so the venue holds it at ``price`` for ``qty`` (before: the
    subclass was read as the integer value itself, the bytes carried 10**price_scale times the
    price and 10**qty_scale times the quantity)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        buy = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        p, q = int(price.scaleb(buy.price_scale)), int(qty.scaleb(buy.qty_scale))
        assert D(p).scaleb(-buy.price_scale) == price and D(q).scaleb(-buy.qty_scale) == qty
        sent = await buy.send(_Ticks(p), _Ticks(q))
        r = tr.rules[SYMBOL]
        [theirs] = a.orders(sim, sent.client_id)  # the engine's ticks and lots
        held = (theirs.price * r.tick_size, theirs.qty * r.lot_size)
        assert held == (price, qty) == (sent.price, sent.qty), (held, price, qty)

    a.run(body)


def test_over_the_order_socket() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        before = [e[1] for e in sim.endpoint("binance", 0).exchanges]
        price, qty = below_bid(a, sim, tr, 10)
        o = await tr.template(SYMBOL, "buy").send(price, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.status == "new"
        # Not over REST: no new POST in the REST request log.
        after = [e[1] for e in sim.endpoint("binance", 0).exchanges]
        assert after.count("POST /api/v3/order") == before.count("POST /api/v3/order")

    a.run(body, transport="ws")


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_int_sends_take_the_one_call_path_and_the_venue_has_each_order_once(transport: str) -> None:
    """Integer mantissas go through ``OrderTemplate.fire`` (client ids spelled from a range the
    session's ``ClientIds`` set aside; the budget counted in Rust) on REST and on the WS API: every
    order is at the simulator once, under the client id the tracker holds, and the session's order
    window counted each of them."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        orders_10s = tr.budget.windows["ORDERS_10S"]
        used = orders_10s.used(tr.budget.clock())
        form = tmpl.ws if transport == "ws" else tmpl.rest
        assert form is not None
        left = form.ids_left
        got = [await tmpl.send(p - k, q) for k in range(3)]
        assert form.ids_left == left - 3  # the fast path spelled them
        assert orders_10s.used(tr.budget.clock()) == used + 3
        for o in got:
            [theirs] = a.orders(sim, o.client_id)
            assert theirs.open and o.status == "new" and tr.tracker.get(o.client_id) is o
            assert o.client_id.startswith(tr.client_ids._stem)
        assert len({o.client_id for o in got}) == 3 and len(a.orders(sim)) == 3
        log = [e[1] for e in sim.endpoint("binance", 0).exchanges]
        assert log.count("POST /api/v3/order") == (3 if transport == "rest" else 0)

    a.run(body, transport=transport)


def test_off_tick_or_off_lot_is_refused_and_nothing_is_written() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        r = tr.rules[SYMBOL]
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        log = sim.endpoint("binance", 0).exchanges
        before = list(log)
        in_flight = list(tr.tracker.in_flight())
        cases: list[tuple[Any, Any, str]] = [
            (p + 1 if r.tick_size.scaleb(tmpl.price_scale) > 1 else p, q, "tick_size"),
            (price + r.tick_size / 2, qty, "tick_size"),
            (p, q + 1 if r.lot_size.scaleb(tmpl.qty_scale) > 1 else q, "lot_size"),
            (price, qty + r.lot_size / 2, "lot_size"),
        ]
        for pp, qq, rule in cases:
            if (pp, qq) == (p, q):
                continue  # a tick or lot of one unit at the scale: no off-grid int exists
            with pytest.raises(InvalidOrder) as e:
                await tmpl.send(pp, qq)
            assert getattr(e.value, "rule", None) == rule
            slow = e.value
            with pytest.raises(InvalidOrder) as e:  # the rules' own verdict on the same numbers
                r.validate("buy", "limit", qq if type(qq) is not int else D(qq).scaleb(-tmpl.qty_scale),
                           pp if type(pp) is not int else D(pp).scaleb(-tmpl.price_scale))  # fmt: skip
            assert str(slow) == str(e.value) and slow.nearest == e.value.nearest  # type: ignore[attr-defined]
        for pp, qq in ((-p, q), (p, 0), (p, 2**70)):
            with pytest.raises(InvalidOrder):
                await tmpl.send(pp, qq)
        # Rust's own refusal (the int path), nothing produced.
        if r.tick_size.scaleb(tmpl.price_scale) > 1:
            with pytest.raises(InvalidOrder):
                tmpl.rest.fill(p + 1, q, "x", TS)
        assert list(log) == before and a.orders(sim) == []
        assert list(tr.tracker.in_flight()) == in_flight

    a.run(body)


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_refused_send_spends_no_client_id_and_no_request_id(transport: str) -> None:
    """Numbers refused after the ids were taken — a ``Decimal`` exact at the template's scales but
    under the minimum notional, over the maximum price or off the tick or lot (the slow path: Rust's
    check refuses it), the same as ints (the one-call path) — leave the session's ids as they were:
    the next order at the simulator carries the client id the first refused one would have had, and
    on the order socket the request id after the last one written."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        p, q = mantissas(tmpl, price, qty)
        r = tr.rules[SYMBOL]
        over = int((r.max_price + r.tick_size).scaleb(tmpl.price_scale))
        assert 1 * p < r.min_notional.scaleb(tmpl.price_scale + tmpl.qty_scale)  # one lot unit is too little
        cases: list[tuple[Any, Any]] = [
            (price, D(1).scaleb(-tmpl.qty_scale)), (p, 1),
            (D(over).scaleb(-tmpl.price_scale), qty), (over, q),
        ]  # fmt: skip
        if r.tick_size.scaleb(tmpl.price_scale) > 1:
            cases += [(D(p + 1).scaleb(-tmpl.price_scale), qty), (p + 1, q)]
        if r.lot_size.scaleb(tmpl.qty_scale) > 1:
            cases += [(price, D(q + 1).scaleb(-tmpl.qty_scale)), (p, q + 1)]
        rids: list[str] = []
        ws = tr.orders_ws
        if transport == "ws":
            assert ws is not None and ws.connected
            write = ws.write

            def spy(data: bytes, rid: str) -> Any:
                rids.append(rid)
                return write(data, rid)

            ws.write = spy  # type: ignore[method-assign]
        first = await tmpl.send(price, qty)  # a Decimal: the path that writes through ws.write
        expected = copy.copy(tr.client_ids).next()  # what the next order takes, worked out aside
        for pp, qq in cases:
            with pytest.raises(InvalidOrder):
                await tmpl.send(pp, qq)
        second = await tmpl.send(price - r.tick_size, qty)
        assert second.client_id == expected != first.client_id
        assert sorted(o.client_id for o in a.orders(sim)) == sorted([first.client_id, second.client_id])
        if transport == "ws":
            assert len(rids) == 2 and int(rids[1][2:]) == int(rids[0][2:]) + 1, rids

    a.run(body, transport=transport)


def test_a_resends_refused_fill_keeps_its_client_id_spent() -> None:
    """A resend fills the order's own client id again (``_complete``, after a rate-limit wait or a
    clock remedy). That id was written once already: a refusal then must not hand it back for the
    next order to carry. Only a fresh order's refused fill gives its id back."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        p, _ = mantissas(tmpl, price, qty)
        cid = tr.client_ids.next()  # as send takes it; say it went out on the first try
        with pytest.raises(InvalidOrder):
            tmpl._fill(p, 1, cid)  # the resend's fill, refused (one lot unit: under the notional)
        assert copy.copy(tr.client_ids).next() != cid
        with pytest.raises(InvalidOrder):
            tmpl._fill(p, 1, cid, fresh=True)  # had it never been written: back it goes
        assert copy.copy(tr.client_ids).next() == cid

    a.run(body)


def test_what_a_template_does_not_cover_is_refused() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        with pytest.raises(InvalidOrder):
            tr.template(SYMBOL, "buy", "stop")  # type: ignore[arg-type]
        with pytest.raises(InvalidOrder):
            tr.template("NOPEUSDT", "buy")

    a.run(body)


def test_a_halted_session_refuses_template_orders_before_anything_is_written() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        before = list(sim.endpoint("binance", 0).exchanges)
        tr.halted = "test"
        with pytest.raises(TradingHalted):
            await tmpl.send(price, qty)
        tr.resume()
        assert list(sim.endpoint("binance", 0).exchanges) == before and a.orders(sim) == []
        await tmpl.send(price, qty)
        assert len(a.orders(sim)) == 1

    a.run(body)


def test_templates_sign_with_hmac_keys_only() -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(NotSupported):
        _core.OrderTemplate.binance_spot(
            binance.Signer("k", private_key_pem=pem), SYMBOL, "BUY", transport="rest", price_scale=2,
            qty_scale=5, tick=1, lot=1,
        )  # fmt: skip
    with pytest.raises(ValueError):
        _core.OrderTemplate.binance_spot(
            binance.Signer("k", "s"),
            SYMBOL,
            "BUY",
            transport="fix",
            price_scale=2,
            qty_scale=5,
            tick=1,
            lot=1,
        )


def test_after_a_key_rotation_templates_sign_with_the_new_key() -> None:
    a = two_key_account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        first = await tmpl.send(price, qty)
        await tr.rotate(binance.Signer(KEY2, SECRET2))
        sim.venue("binance").keys.pop(KEY)  # the old key revoked: only the new one signs now
        second = await tmpl.send(price - tr.rules[SYMBOL].tick_size, qty)
        assert (first.status, second.status) == ("new", "new")
        assert [o.account for o in a.orders(sim)] == [KEY, KEY]
        assert tmpl.rest is not None
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        assert b"\r\nX-MBX-APIKEY: " + KEY2.encode() + b"\r\n" in tmpl.rest.fill(p, q, "c", 1)

    a.run(body)


def test_an_order_that_waited_for_the_rate_budget_is_signed_when_it_goes() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        # One order per 0.3 s for this account (the reserve keeps the second slot for cancels).
        tr.budget.set_limits([Limit("ORDERS_TEST", 2, 0.3, per="account", counts="ORDERS")], replace=True)
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        sent = capture(tr)
        first = await tmpl.send(price, qty)
        second = await tmpl.send(price, qty)
        assert (first.status, second.status) == ("new", "new") and len(a.orders(sim)) == 2
        ts = [int(re.search(rb"timestamp=(\d+)", b).group(1)) for b in sent]  # type: ignore[union-attr]
        assert ts[1] - ts[0] >= 200  # stamped after the wait, not before it

    a.run(body)


class Relay:
    """A TCP relay on a thread between the session and the simulator's REST port: it sees the
    client's bytes as the kernel delivers them, whatever the event loop is doing."""

    def __init__(self, port: int) -> None:
        self.port, self.seen = port, bytearray()
        self.order = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        while data := src.recv(65536):
            if watch:
                self.seen += data
                if b"POST /api/v3/order?" in self.seen and self.seen.endswith(b"\r\n\r\n"):
                    self.order.set()
            dst.sendall(data)
        dst.close()


def test_the_order_is_on_the_wire_when_send_returns() -> None:
    """Called with the loop blocked right after: the relay still receives the whole signed request,
    so the bytes left in ``send`` itself, and the order is already tracked."""
    a = account()

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("binance"))
            sim.fund("binance", KEY, a.funds)
            [ep] = sim.urls()["binance"]
            relay = Relay(int(ep["rest"].rsplit(":", 1)[1]))
            async with tickwire.trade(
                "binance", credentials=a.signer, endpoints=[{**ep, "rest": relay.url}]
            ) as tr:
                price, qty = below_bid(a, sim, tr, 10)
                tmpl = tr.template(SYMBOL, "buy")
                p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
                await tr.open_orders(SYMBOL)  # a kept-alive connection is idle now
                relay.seen.clear()
                task = tmpl.send(p, q)
                assert relay.order.wait(5.0), "the request was not on the wire when send returned"
                [cid] = [o.client_id for o in tr.tracker]  # tracked before any await
                assert f"newClientOrderId={cid}".encode() in relay.seen
                assert not task.done()
                o = await task
                assert o.client_id == cid and o.status == "new"
                assert [x.client_id for x in a.orders(sim)] == [cid]

    asyncio.run(go())


@pytest.mark.parametrize(
    ("bound", "rule"),
    [({"max_qty": D(0)}, "max_qty"), ({"max_qty": D("1E-12")}, "max_qty"),
     ({"max_notional": D("1E-20")}, "max_notional"), ({"max_price": D("1E-12")}, "max_price")],
)  # fmt: skip
def test_a_maximum_that_admits_no_order_at_the_scales_refuses_every_send(
    bound: dict[str, Any], rule: str
) -> None:
    """Rust reads an integer bound of 0 as none: a maximum the rules hold that is 0 at the template's
    scales must still refuse, ints and Decimals alike, with the rules' own error and nothing written."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        tr.rules[SYMBOL] = replace(tr.rules[SYMBOL], **bound)
        tmpl = tr.template(SYMBOL, "buy")
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        log = sim.endpoint("binance", 0).exchanges
        before = list(log)
        for pp, qq in ((p, q), (price, qty)):
            with pytest.raises(InvalidOrder) as e:
                await tmpl.send(pp, qq)
            assert getattr(e.value, "rule", None) == rule
        assert list(log) == before and a.orders(sim) == []

    a.run(body)
