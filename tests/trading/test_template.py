"""Order templates (``tr.template``) against the slow path and the simulator: the same bytes as
``place_order`` for the same order, client id and timestamp (REST and WS API), signatures checked with
Python's ``hmac`` too; the simulator accepts and fills them; off-tick / off-lot refused with nothing
written; a lost answer reconciled into exactly one order."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
import test_session_clarofinlore as claro_case
import test_session_htx as htx_case
import test_session_okx as okx_case
import test_session_usdm as usdm_case
import tickwire
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from session_cases import SimAccount
from test_session_bybit import BYBIT
from test_session_clarofinlore import CLARO
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from test_session_tradefence import TRADEFENCE
from test_session_usdm import USDM
from tickwire import _core
from tickwire.errors import AuthError, InvalidOrder, NotSupported, TradingHalted
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.numbers import Mantissa
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, bybit, clarofinlore, htx, okx

KEY, SECRET = "tmpl-key", "tmpl-secret"
TS = 1_700_000_000_123
SYMBOL = "BTCUSDT"


class Frozen:
    """A signer clock that reads the real time until frozen (the venue checks the timestamp)."""

    def __init__(self) -> None:
        self.at: int | None = None

    def __call__(self) -> int:
        return self.at if self.at is not None else int(time.time() * 1000)


def account(clock: Any = None, recv_window: int | None = None) -> SimAccount:
    return SimAccount(
        venue="binance",
        symbol=SYMBOL,
        key=KEY,
        signer=binance.Signer(KEY, SECRET, clock=clock, recv_window=recv_window),
        register=lambda v: v.add_key(ApiKey(KEY, secret=SECRET.encode())),
        place_op="POST /api/v3/order",
        ws_place_op="order.place",
        unknown_symbol="NOPEUSDT",
    )


def mac(text: str) -> str:
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def capture(tr: TradingSession) -> list[bytes]:
    """Every request's bytes the session's HTTP client writes."""
    http: Any = tr.wire.http
    sent: list[bytes] = []
    original = http._exchange

    async def spy(loop: Any, method: str, data: bytes, *rest: Any) -> Any:
        sent.append(data)
        return await original(loop, method, data, *rest)

    http._exchange = spy
    return sent


def below_bid(
    a: SimAccount, sim: Simulator, tr: TradingSession, ticks: int, symbol: str = SYMBOL
) -> tuple[Decimal, Decimal]:
    bid, _ = a.touch(sim)
    price = bid - ticks * tr.rules[symbol].tick_size
    return price, a.size(tr, price, 2)


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


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_a_lost_answer_is_reconciled_into_exactly_one_order(ints: bool) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).lose_answer(a.place_op)
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy")
        o = await (tmpl.send(*mantissas(tmpl, price, qty)) if ints else tmpl.send(price, qty))
        assert len(a.orders(sim, o.client_id)) == 1 and len(a.orders(sim)) == 1
        assert o.status == "new" and o.order_id == str(a.orders(sim)[0].id)
        assert sim.endpoint("binance", 0).lost == [a.place_op]

    a.run(body, timeout=1.0)


def test_a_retry_pending_when_the_private_stream_brings_the_ack_is_dropped() -> None:
    """The answer to a template's order is lost and a resend is scheduled for it; the private stream
    then reports the order: the scheduled resend is dropped, reconciliation ends in the venue's one
    order, and the simulator has exactly that one."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None  # the private stream is on
        sim.endpoint("binance", 0).lose_answer(a.place_op)
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        task = tmpl.send(*mantissas(tmpl, price, qty))
        [pending] = tr.tracker.in_flight()
        cid = pending.client_id
        tr.tracker.schedule_retry(cid)
        for _ in range(200):  # the stream's executionReport arrives long before the answer's time-out
            got = tr.tracker.get(cid)
            if got is not None and got.status not in ("pending", "unknown"):
                break
            await asyncio.sleep(0.01)
        assert not tr.tracker.retry_due(cid)  # the event dropped the scheduled resend
        o = await task
        assert o.client_id == cid and o.status == "new"
        [theirs] = a.orders(sim)
        assert theirs.client_id == cid and o.order_id == str(theirs.id)
        assert sim.endpoint("binance", 0).lost == [a.place_op]

    a.run(body, timeout=1.0)


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_a_lost_answer_on_the_order_socket_is_reconciled_into_exactly_one_order(ints: bool) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        sim.endpoint("binance", 0).lose_answer(a.ws_place_op)
        price, qty = below_bid(a, sim, tr, 30)
        tmpl = tr.template(SYMBOL, "buy")
        o = await (tmpl.send(*mantissas(tmpl, price, qty)) if ints else tmpl.send(price, qty))
        assert sim.endpoint("binance", 0).lost == [a.ws_place_op]
        assert len(a.orders(sim)) == 1 and a.orders(sim, o.client_id)[0].open and o.status == "new"

    a.run(body, transport="auto", timeout=1.0)


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


# OKX spot: the `order` op on the logged-in order socket ---------------------------------------------


@pytest.mark.parametrize("post_only", [False, True])
def test_okx_order_op_bytes_are_the_slow_paths_byte_for_byte(post_only: bool) -> None:
    clock = Frozen()
    a = replace(OKX, signer=okx.Signer(OKX.key, okx_case.SECRET, okx_case.PASSPHRASE, clock=clock))

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy", post_only=post_only)
        order = tr.prepare(a.symbol, "buy", "limit", qty, price, post_only=post_only)
        clock.at = TS  # expTime: the signer's clock plus the grammar's time to live
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw5")
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        assert tmpl.ws.fill(p, q, order.client_id, TS, "tw5") == slow
        assert orjson.loads(slow)["expTime"] == str(TS + tr.grammar.request_ttl_ms)

    a.run(body)


@pytest.mark.parametrize("transport", ["ws", "rest"])
@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_socket_venues_the_simulator_accepts_template_orders(venue: str, transport: str) -> None:
    a = OKX if venue == "okx" else BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        before = [e[1] for e in sim.endpoint(venue, 0).exchanges].count(a.place_op)
        o = await tr.template(a.symbol, "buy").send(price, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.status == "new" and o.price == price and o.qty == qty
        after = [e[1] for e in sim.endpoint(venue, 0).exchanges].count(a.place_op)
        # Over the socket when it is there, else the REST template.
        assert after == before + (transport == "rest")

    a.run(body, transport=transport)


def test_after_a_key_rotation_templates_sign_with_the_new_key() -> None:
    key2, secret2 = "tmpl-key-2", "tmpl-secret-2"

    def both(v: Any) -> None:
        v.add_key(ApiKey(KEY, secret=SECRET.encode()))
        v.add_key(ApiKey(key2, secret=secret2.encode(), account=KEY))

    a = replace(account(), register=both)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        first = await tmpl.send(price, qty)
        await tr.rotate(binance.Signer(key2, secret2))
        sim.venue("binance").keys.pop(KEY)  # the old key revoked: only the new one signs now
        second = await tmpl.send(price - tr.rules[SYMBOL].tick_size, qty)
        assert (first.status, second.status) == ("new", "new")
        assert [o.account for o in a.orders(sim)] == [KEY, KEY]
        assert tmpl.rest is not None
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        assert b"\r\nX-MBX-APIKEY: " + key2.encode() + b"\r\n" in tmpl.rest.fill(p, q, "c", 1)

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


# Bybit spot: order.create on the authenticated trade socket -----------------------------------------


@pytest.mark.parametrize("post_only", [False, True])
def test_bybit_order_create_bytes_are_the_slow_paths_byte_for_byte(post_only: bool) -> None:
    clock = Frozen()
    a = replace(BYBIT, signer=bybit.Signer(BYBIT.key, "bybit-trade-secret", clock=clock))

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy", post_only=post_only)
        order = tr.prepare(SYMBOL, "buy", "limit", qty, price, post_only=post_only)
        clock.at = TS
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw5")
        p, q = int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale))
        assert tmpl.ws.fill(p, q, order.client_id, TS, "tw5") == slow

    a.run(body)


# Signed templates laid out from the slow path: Binance spot market, USDⓈ-M, OKX/Bybit/HTX REST ------


def signed_account(venue: str, clock: Frozen) -> tuple[SimAccount, str]:
    """The venue's simulator account signing on ``clock``, and its secret."""
    if venue == "binance":
        return account(clock=clock), SECRET
    if venue == "binance-usdm":
        return replace(USDM, signer=binance.Signer(USDM.key, usdm_case.SECRET, clock=clock)), usdm_case.SECRET
    if venue == "okx":
        s = okx.Signer(OKX.key, okx_case.SECRET, okx_case.PASSPHRASE, clock=clock)
        return replace(OKX, signer=s), okx_case.SECRET
    if venue == "bybit":
        return replace(BYBIT, signer=bybit.Signer(BYBIT.key, "bybit-trade-secret", clock=clock)), (
            "bybit-trade-secret"
        )
    if venue == "clarofinlore":
        return replace(CLARO, signer=clarofinlore.Signer(CLARO.key, claro_case.SECRET, clock=clock)), (
            claro_case.SECRET
        )
    if venue == "coinbase":  # its ES256 key (the tokens are checked in test_template_coinbase.py)
        from test_template_coinbase import account as coinbase_account

        a, public = coinbase_account("ES256", clock)
        return a, public.decode()
    assert venue == "htx"
    return replace(HTX, signer=htx.Signer(HTX.key, htx_case.SECRET, clock=clock)), htx_case.SECRET


def head(data: bytes) -> dict[str, str]:
    lines = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in lines)


def check_rest_signature(venue: str, data: bytes, secret: str, signer: Any) -> None:
    """The request's signature recomputed with Python's ``hmac`` from the venue's documented scheme."""
    line = data.decode().split("\r\n", 1)[0]
    target = line.split(" ")[1]
    path, _, query = target.partition("?")
    body = data.split(b"\r\n\r\n", 1)[1]
    h = head(data)
    assert int(h.get("Content-Length", "0")) == len(body)

    def mac(text: bytes) -> bytes:
        return hmac.new(secret.encode(), text, hashlib.sha256).digest()

    if venue.startswith("binance"):
        signed, sig = query.rsplit("&signature=", 1)
        assert sig == mac(signed.encode() + body).hex()
    elif venue == "okx":
        pre = h["OK-ACCESS-TIMESTAMP"].encode() + b"POST" + path.encode() + body
        assert h["OK-ACCESS-SIGN"] == base64.b64encode(mac(pre)).decode()
    elif venue == "bybit":
        pre = (h["X-BAPI-TIMESTAMP"] + signer.api_key + h["X-BAPI-RECV-WINDOW"]).encode() + body
        assert h["X-BAPI-SIGN"] == mac(pre).hex()
    else:
        signed, sig = query.rsplit("&Signature=", 1)
        pre = f"POST\n{signer.host.lower()}\n{path}\n{signed}".encode()
        assert urllib.parse.unquote(sig) == base64.b64encode(mac(pre)).decode()


# (venue, type, side): HTX sizes a market buy in the quote currency, so its market template sells.
REST_CASES = [
    ("binance", "market", "buy"),
    ("binance-usdm", "limit", "buy"),
    ("binance-usdm", "market", "buy"),
    ("okx", "limit", "buy"),
    ("okx", "market", "buy"),
    ("bybit", "limit", "buy"),
    ("bybit", "market", "buy"),
    ("htx", "limit", "buy"),
    ("htx", "market", "sell"),
]


def order_terms(
    a: SimAccount, sim: Simulator, tr: TradingSession, type: str, side: str
) -> tuple[Decimal | None, Decimal]:
    """A resting limit below the bid, or a market order of the smallest size at the touch."""
    if type == "limit":
        return below_bid(a, sim, tr, 10, a.symbol)
    bid, ask = a.touch(sim)
    return None, a.size(tr, ask if side == "buy" else bid)


def mantissas(tmpl: Any, price: Decimal | None, qty: Decimal) -> tuple[int, int]:
    return (0 if price is None else int(price.scaleb(tmpl.price_scale))), int(qty.scaleb(tmpl.qty_scale))


@pytest.mark.parametrize(("venue", "type", "side"), REST_CASES)
def test_signed_rest_bytes_are_the_slow_paths_byte_for_byte(venue: str, type: Any, side: Any) -> None:
    clock = Frozen()
    a, secret = signed_account(venue, clock)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = order_terms(a, sim, tr, type, side)
        tmpl = tr.template(a.symbol, side, type)
        assert tmpl.rest is not None and tmpl.rest.priced == (type == "limit")
        clock.at = ts = int(time.time() * 1000)
        sent = capture(tr)
        o = await tr.place_order(a.symbol, side, type, qty, price)
        slow = sent[0]  # then, for an acknowledging venue, its state query
        assert o.status in ("new", "filled")
        p, q = mantissas(tmpl, price, qty)
        fast = tmpl.rest.fill(p, q, o.client_id, ts)
        assert fast == slow
        check_rest_signature(venue, fast, secret, tr.signer)

    a.run(body)


@pytest.mark.parametrize(
    ("venue", "type"), [("binance", "market"), ("binance-usdm", "limit"), ("binance-usdm", "market")]
)
def test_binance_ws_api_bytes_are_the_slow_paths_byte_for_byte(venue: str, type: Any) -> None:
    clock = Frozen()
    a, secret = signed_account(venue, clock)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = order_terms(a, sim, tr, type, "buy")
        tmpl = tr.template(a.symbol, "buy", type, tif="IOC")
        clock.at = TS
        order = tr.prepare(a.symbol, "buy", type, qty, price, tif="IOC")
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw42")
        p, q = mantissas(tmpl, price, qty)
        fast = tmpl.ws.fill(p, q, order.client_id, TS, "tw42")
        assert fast == slow
        params = orjson.loads(fast)["params"]
        sig = params.pop("signature")
        text = "&".join(f"{k}={params[k]}" for k in sorted(params))
        assert sig == hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()

    a.run(body)


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_market_order_socket_bytes_are_the_slow_paths_byte_for_byte(venue: str) -> None:
    clock = Frozen()
    a, _ = signed_account(venue, clock)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, qty = order_terms(a, sim, tr, "market", "buy")
        tmpl = tr.template(a.symbol, "buy", "market")
        order = tr.prepare(a.symbol, "buy", "market", qty)
        clock.at = TS
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw5")
        assert tmpl.ws.fill(0, mantissas(tmpl, None, qty)[1], order.client_id, TS, "tw5") == slow

    a.run(body)


# Clarofinlore: REST only, its X-Nonce drawn per order (its bytes test is below).
CLARO_CASES = [("clarofinlore", "limit", "buy"), ("clarofinlore", "market", "buy")]
# Coinbase: REST only, a JWT per order written in Rust (its bytes tests: test_template_coinbase.py).
COINBASE_CASES = [("coinbase", "limit", "buy"), ("coinbase", "market", "buy")]
SIM_CASES = [
    (v, t, s, tr)
    for v, t, s in REST_CASES + CLARO_CASES + COINBASE_CASES
    for tr in ("rest", "ws")
    if v not in ("htx", "clarofinlore", "coinbase") or tr == "rest"
]


@pytest.mark.parametrize(("venue", "type", "side", "transport"), SIM_CASES)
def test_the_simulator_accepts_and_fills_signed_template_orders(
    venue: str, type: Any, side: Any, transport: str
) -> None:
    a, _ = signed_account(venue, Frozen())

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert (tr.orders_ws is not None) == (transport == "ws")
        price, qty = order_terms(a, sim, tr, type, side)
        log = sim.endpoint(venue, 0).exchanges
        before = [e[1] for e in log].count(a.place_op)
        o = await tr.template(a.symbol, side, type).send(price, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert o.qty == qty and o.type == type
        if type == "limit":
            assert theirs.open and o.status == "new" and o.price == price
        else:
            assert o.status == "filled" and o.filled == qty and not theirs.open
        # Over the socket when the session has one (no new REST place), else over REST.
        assert [e[1] for e in log].count(a.place_op) == before + (transport == "rest")

    a.run(body, transport=transport)


@pytest.mark.parametrize(("venue", "type", "side"), REST_CASES + CLARO_CASES + COINBASE_CASES)
def test_signed_templates_refuse_off_tick_off_lot_and_write_nothing(venue: str, type: Any, side: Any) -> None:
    a, _ = signed_account(venue, Frozen())

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(a.symbol, side, type)
        price, qty = order_terms(a, sim, tr, type, side)
        r = tr.rules[a.symbol]
        lot = (r.market_lot_size or r.lot_size) if type == "market" else r.lot_size
        log = sim.endpoint(venue, 0).exchanges
        before = list(log)
        cases: list[tuple[Any, Any, str]] = [(price, qty + lot / 2, "lot_size")]
        if price is not None:
            cases.append((price + r.tick_size / 2, qty, "tick_size"))
        else:
            bid, _ = a.touch(sim)
            cases.append((bid, qty, "price"))  # a market order takes no price
        for pp, qq, rule in cases:
            with pytest.raises(InvalidOrder) as e:
                await tmpl.send(pp, qq)
            assert getattr(e.value, "rule", None) == rule
        # Rust's own refusal: off the lot by one unit at the scale, when the lot is more than one.
        p, q = mantissas(tmpl, price, qty)
        if lot.scaleb(tmpl.qty_scale) > 1:
            with pytest.raises(InvalidOrder):
                await tmpl.send(None if price is None else p, q + 1)
        assert list(log) == before and a.orders(sim) == []

    a.run(body)


# Kraken: add_order on the WebSocket v2 socket (the token in the message, an integer req_id) ------------


def test_kraken_add_order_bytes_are_the_slow_paths_byte_for_byte() -> None:
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        for post_only, tif in ((False, "GTC"), (True, "GTC"), (False, "IOC")):
            price, qty = below_bid(a, sim, tr, 10, a.symbol)
            tmpl = tr.template(a.symbol, "sell", tif=tif, post_only=post_only)
            assert tmpl.rest is None and tmpl.ws is not None
            order = tr.prepare(a.symbol, "sell", "limit", qty, price, tif=tif, post_only=post_only)
            slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw77")
            p, q = mantissas(tmpl, price, qty)
            fast = tmpl.ws.fill(p, q, order.client_id, TS, "tw77")
            assert fast == slow
            msg = orjson.loads(fast)
            assert msg["req_id"] == 77 and msg["params"]["token"] == tr.grammar.token
        # A market order: no limit_price, no time_in_force.
        _, qty = order_terms(a, sim, tr, "market", "buy")
        tmpl = tr.template(a.symbol, "buy", "market")
        assert tmpl.rest is None and tmpl.ws is not None and not tmpl.ws.priced
        order = tr.prepare(a.symbol, "buy", "market", qty)
        slow = tr.grammar.ws_request(tr.grammar.new_order(order), tr.signer, "tw78")
        assert tmpl.ws.fill(0, mantissas(tmpl, None, qty)[1], order.client_id, TS, "tw78") == slow
        params = orjson.loads(slow)["params"]
        assert params["order_type"] == "market" and "limit_price" not in params

    a.run(body, transport="ws")


def test_kraken_the_simulator_fills_a_market_template_order_over_the_socket() -> None:
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        _, qty = order_terms(a, sim, tr, "market", "buy")
        log = sim.endpoint("kraken", 0).exchanges
        before = [e[1] for e in log].count(a.place_op)
        o = await tr.template(a.symbol, "buy", "market").send(None, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert o.type == "market" and o.status == "filled" and o.filled == qty and not theirs.open
        assert theirs.type == "MARKET" and theirs.filled == theirs.qty  # the simulator's own units
        assert [e[1] for e in log].count(a.place_op) == before  # over the socket

    a.run(body, transport="ws")


def test_kraken_with_its_socket_down_a_market_template_places_a_market_order() -> None:
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(a.symbol, "buy", "market")
        assert tr.orders_ws is not None
        await tr.orders_ws.close()  # the socket down: place_order's REST path
        _, qty = order_terms(a, sim, tr, "market", "buy")
        sent = capture(tr)
        o = await tmpl.send(None, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert o.status == "filled" and o.filled == qty and theirs.type == "MARKET" and not theirs.open
        [add] = [b for b in sent if b.startswith(b"POST /0/private/AddOrder ")]
        form = urllib.parse.parse_qs(add.split(b"\r\n\r\n", 1)[1].decode())
        assert form["ordertype"] == ["market"] and "price" not in form

    a.run(body, transport="auto")


def test_kraken_the_simulator_accepts_template_orders_and_a_new_token_rebuilds() -> None:
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        log = sim.endpoint("kraken", 0).exchanges
        before = [e[1] for e in log].count(a.place_op)
        tmpl = tr.template(a.symbol, "buy")
        o = await tmpl.send(price, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.open and o.status == "new" and o.price == price and o.qty == qty
        assert [e[1] for e in log].count(a.place_op) == before  # over the socket
        # The socket's token changes (a new log-in): the template carries the new one.
        old = tr.grammar.token
        tr.grammar.token = "another-token"
        p, q = mantissas(tmpl, price, qty)
        assert b'"token":"another-token"' in tmpl.ws.fill(p, q, "c", TS, "tw1")
        tr.grammar.token = old
        # Off the tick: refused, nothing written.
        with pytest.raises(InvalidOrder) as e:
            await tmpl.send(price + tr.rules[a.symbol].tick_size / 2, qty)
        assert getattr(e.value, "rule", None) == "tick_size" and len(a.orders(sim)) == 1

    a.run(body, transport="ws")


def test_kraken_without_its_socket_has_no_template() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        with pytest.raises(NotSupported):
            tr.template(KRAKEN.symbol, "buy")

    KRAKEN.run(body)


# Tradefence: POST /v1/orders with the OAuth bearer token (nothing signed) ------------------------------


@pytest.mark.parametrize(("type", "side"), [("limit", "buy"), ("market", "buy")])
def test_tradefence_bytes_are_the_slow_paths_and_the_simulator_fills_them(type: Any, side: Any) -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = order_terms(a, sim, tr, type, side)
        tmpl = tr.template(a.symbol, side, type)
        assert tmpl.ws is None and tmpl.rest is not None
        sent = capture(tr)
        o = await tr.place_order(a.symbol, side, type, qty, price)
        p, q = mantissas(tmpl, price, qty)
        assert tmpl.rest.fill(p, q, o.client_id, TS) == sent[0]
        assert head(sent[0])["Authorization"] == f"Bearer {tr.signer._tokens.access_token}"
        log = sim.endpoint(a.venue, 0).exchanges
        before = [e[1] for e in log].count(a.place_op)
        o = await tmpl.send(price, qty)
        [theirs] = a.orders(sim, o.client_id)
        assert [e[1] for e in log].count(a.place_op) == before + 1
        if type == "limit":
            assert theirs.open and o.status == "new" and o.price == price
        else:
            assert o.status == "filled" and o.filled == qty
        # Off the lot: refused, nothing written.
        with pytest.raises(InvalidOrder) as e:
            await tmpl.send(price, qty + tr.rules[a.symbol].lot_size / 2)
        assert getattr(e.value, "rule", None) == "lot_size"
        assert [e[1] for e in log].count(a.place_op) == before + 1

    a.run(body)


def test_tradefence_a_new_access_token_rebuilds_the_template() -> None:
    a = TRADEFENCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy")
        p, q = mantissas(tmpl, price, qty)
        old = tr.signer._tokens.access_token
        await tr.signer.refresh()
        new = tr.signer._tokens.access_token
        assert new != old
        assert f"Bearer {new}".encode() in tmpl.rest.fill(p, q, "c", TS)
        o = await tmpl.send(price, qty)
        assert o.status == "new" and a.orders(sim, o.client_id)[0].open

    a.run(body)


# Clarofinlore: POST /v1/orders with the access token, X-Nonce fresh per order (drawn in Rust) ---------


CLARO_PARTS = ("timestamp", "nonce", "method", "path", "query", "body")


def claro_mac(secret: str, h: dict[str, str], body: bytes, parts: tuple[str, ...], sep: str) -> str:
    """Clarofinlore's signature recomputed with Python's ``hmac`` from the request's own headers."""
    values = {"timestamp": h["X-Timestamp"], "nonce": h["X-Nonce"], "method": "POST", "path": "/v1/orders"}
    text = sep.join(body.decode() if p == "body" else values.get(p, "") for p in parts)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("type", ["limit", "market"])
@pytest.mark.parametrize("composition", ["default", "nonce-signed"])
def test_clarofinlore_bytes_are_the_slow_paths_byte_for_byte(type: Any, composition: str) -> None:
    """The same order, client id, timestamp and nonce: the slow path's request byte for byte. With the
    nonce in the signed text (a composition the simulator does not use: it refuses that order, after
    the bytes were captured) as well as the default one (the simulator takes it)."""
    clock = Frozen()
    a, secret = signed_account("clarofinlore", clock)
    parts, sep = (CLARO_PARTS, "\n") if composition != "default" else (clarofinlore.DEFAULT_PARTS, "")

    async def body(sim: Simulator, tr: TradingSession) -> None:
        if composition != "default":  # logged in: the session's requests signed this way from now on
            tr.signer = tr.wire.signer = clarofinlore.Signer(
                a.key, secret, parts=parts, separator=sep, clock=clock
            )
        price, qty = order_terms(a, sim, tr, type, "buy")
        tmpl = tr.template(a.symbol, "buy", type)
        assert tmpl.ws is None and tmpl.rest is not None
        clock.at = ts = int(time.time() * 1000)
        sent = capture(tr)
        if composition == "default":
            o = await tr.place_order(a.symbol, "buy", type, qty, price)
            assert o.status == ("new" if type == "limit" else "filled")
        else:
            with pytest.raises(AuthError):
                await tr.place_order(a.symbol, "buy", type, qty, price)
        slow = sent[0]
        h, cid = head(slow), orjson.loads(_body_of(slow))["client_order_id"]
        p, q = mantissas(tmpl, price, qty)
        fast = tmpl.rest.fill(p, q, cid, ts, nonce=h["X-Nonce"])
        assert fast == slow
        assert h["Authorization"] == f"Bearer {tr.auth.token}" and h["X-Timestamp"] == str(ts)
        assert int(h["Content-Length"]) == len(_body_of(fast))
        assert h["X-Signature"] == claro_mac(secret, h, _body_of(fast), parts, sep)
        # Without a nonce given, one of its own: 32 lower-case hex characters, signed.
        mine = head(tmpl.rest.fill(p, q, cid, ts))
        assert re.fullmatch("[0-9a-f]{32}", mine["X-Nonce"]) and mine["X-Nonce"] != h["X-Nonce"]
        assert mine["X-Signature"] == claro_mac(secret, mine, _body_of(fast), parts, sep)

    a.run(body)


def _body_of(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


def claro_orders(sent: list[bytes]) -> list[bytes]:
    """The order requests among those written (not the token's log-in or refresh)."""
    return [b for b in sent if b.startswith(b"POST /v1/orders ")]


def test_clarofinlore_every_send_carries_a_fresh_nonce() -> None:
    """Two sends, two nonces (the simulator refuses a nonce its key has used: both orders exist)."""
    a = CLARO

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy")
        sent = capture(tr)
        first = await tmpl.send(price, qty)
        second = await tmpl.send(price, qty)
        nonces = [head(b)["X-Nonce"] for b in claro_orders(sent)]
        assert len(nonces) == 2 and nonces[0] != nonces[1]
        assert all(re.fullmatch("[0-9a-f]{32}", n) for n in nonces)
        assert sim.venue(a.venue).auth.nonces[a.key] >= set(nonces)
        assert [o.status for o in (first, second)] == ["new", "new"]
        assert {o.client_id for o in a.orders(sim)} == {first.client_id, second.client_id}

    a.run(body)


def test_clarofinlore_a_renewed_access_token_rebuilds_the_template() -> None:
    a = CLARO

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert isinstance(tr, clarofinlore.Session)
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy")
        p, q = mantissas(tmpl, price, qty)
        old = tr.auth.token
        assert f"Bearer {old}".encode() in tmpl.rest.fill(p, q, "c", TS)
        tr.auth._renew_at = 0.0  # due: the template starts the renewal and sends with the old token
        sent = capture(tr)
        o = await tmpl.send(price, qty)
        assert o.status == "new" and [head(b)["Authorization"] for b in claro_orders(sent)] == [
            f"Bearer {old}"
        ]
        renewal = tr.auth._renewing
        assert renewal is not None
        await renewal
        assert tr.auth.refreshes == 1 and tr.auth.logins == 1
        new = tr.auth.token
        assert new != old
        assert f"Bearer {new}".encode() in tmpl.rest.fill(p, q, "c", TS)
        o = await tmpl.send(price, qty)
        assert o.status == "new" and a.orders(sim, o.client_id)[0].open
        assert head(claro_orders(sent)[-1])["Authorization"] == f"Bearer {new}"
        assert len(a.orders(sim)) == 2

    a.run(body)


def test_clarofinlore_a_token_the_venue_forgot_is_replaced_and_the_order_sent_once_more() -> None:
    """The venue restarts and forgets every token: the template's order is refused for its token, the
    session logs in again and the template, rebuilt with the new token, sends it once more — one order
    at the venue, with the same client id."""
    a = CLARO

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert isinstance(tr, clarofinlore.Session)
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy")
        venue_auth = sim.venue(a.venue).auth  # type: ignore[attr-defined]
        old, logins = tr.auth.token, tr.auth.logins
        venue_auth.jwt_key = b"restarted"
        venue_auth.refresh_tokens.clear()
        sent = capture(tr)
        o = await tmpl.send(price, qty)
        [theirs] = a.orders(sim)
        assert o.status == "new" and theirs.client_id == o.client_id and o.order_id == str(theirs.id)
        assert tr.auth.logins == logins + 1 and tr.auth.token != old and tr.wire.relogins == 1
        assert [head(b)["Authorization"] for b in claro_orders(sent)] == [
            f"Bearer {old}",
            f"Bearer {tr.auth.token}",
        ]
        assert len({head(b)["X-Nonce"] for b in claro_orders(sent)}) == 2  # signed anew
        assert [e["code"] for e in venue_auth.security_log if e["api_key"] == a.key][-2:] == [4015, 4016]

    a.run(body)


def test_clarofinlore_after_a_key_rotation_the_template_sends_with_the_new_key_and_its_token() -> None:
    a = CLARO

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert isinstance(tr, clarofinlore.Session)
        sim.venue(a.venue).add_key("claro-key-2", "claro-secret-2")
        sim.fund(a.venue, "claro-key-2", a.funds)
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        tmpl = tr.template(a.symbol, "buy")
        first = await tmpl.send(price, qty)
        old = tr.auth.token
        await tr.rotate(clarofinlore.Signer("claro-key-2", "claro-secret-2"))
        sent = capture(tr)
        second = await tmpl.send(price, qty)
        [req] = claro_orders(sent)
        assert (
            head(req)["X-API-Key"] == "claro-key-2"
            and head(req)["Authorization"] == f"Bearer {tr.auth.token}"
        )
        assert tr.auth.token != old and (first.status, second.status) == ("new", "new")
        assert [o.account for o in a.orders(sim)] == [a.key, "claro-key-2"]

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
