"""Templates laid out from the slow path's own requests (``template_forms``) for every signed venue:
Binance spot market, USDⓈ-M, OKX, Bybit and HTX REST, the Binance WS API and the OKX/Bybit order
sockets byte for byte as ``place_order``'s, signatures recomputed with Python's ``hmac``; the
simulator accepts and fills them; off-tick / off-lot refused with nothing written."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
import test_session_okx as okx_case
from template_cases import (
    REST_CASES,
    SYMBOL,
    TS,
    Frozen,
    below_bid,
    capture,
    check_rest_signature,
    mantissas,
    order_terms,
    signed_account,
)
from test_session_bybit import BYBIT
from test_session_okx import OKX
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import bybit, okx


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
            # The same as Decimals exact at the scales: taken as mantissas, refused by Rust, explained
            # by the rules (which rule, the nearest valid quantities).
            dp = None if price is None else Decimal(p).scaleb(-tmpl.price_scale)
            with pytest.raises(InvalidOrder) as e:
                await tmpl.send(dp, Decimal(q + 1).scaleb(-tmpl.qty_scale))
            assert getattr(e.value, "rule", None) == "lot_size" and e.value.nearest  # type: ignore[attr-defined]
        assert list(log) == before and a.orders(sim) == []

    a.run(body)


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
