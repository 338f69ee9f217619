"""Tradefence's templates: ``POST /v1/orders`` with the OAuth bearer token, byte for byte as the slow
path's, filled by the simulator; a new access token rebuilds the template."""

from __future__ import annotations

from typing import Any

import pytest
from template_cases import TS, below_bid, capture, head, mantissas, order_terms
from test_session_tradefence import TRADEFENCE
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

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
