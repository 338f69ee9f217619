"""Kraken's templates: ``add_order`` on the WebSocket v2 socket, byte for byte as the slow path's,
filled by the simulator; with the socket down a market template places a market order; a new
token rebuilds the template."""

from __future__ import annotations

import urllib.parse

import orjson
import pytest
from template_cases import TS, below_bid, capture, mantissas, order_terms
from test_session_kraken import KRAKEN
from tickwire.errors import InvalidOrder, NotSupported
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

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


def test_kraken_a_fok_template_is_refused_naming_the_way_that_sends_it() -> None:
    """Kraken's FOK goes over REST only (its socket's ``add_order`` does not document it) and its
    templates are the socket's: a FOK template is ``NotSupported`` saying ``place_order`` sends it
    (before: "its order socket has no form of a new order", as if no order could go), and
    ``place_order`` does, against the simulator's own order."""
    a = KRAKEN

    async def body(sim: Simulator, tr: TradingSession) -> None:
        with pytest.raises(NotSupported, match="place_order sends it over REST"):
            tr.template(a.symbol, "buy", tif="FOK")
        price, qty = below_bid(a, sim, tr, 10, a.symbol)
        o = await tr.place_order(a.symbol, "buy", "limit", qty, price, tif="FOK")
        [theirs] = a.orders(sim, o.client_id)
        assert (theirs.tif, theirs.status, o.status) == ("FOK", "EXPIRED", "expired")

    a.run(body, transport="ws")
