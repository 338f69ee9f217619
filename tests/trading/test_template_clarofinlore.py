"""Clarofinlore's templates: ``POST /v1/orders`` with the access token and an ``X-Nonce`` drawn fresh in
Rust per order, byte for byte as the slow path's for either signature composition; a renewed or
forgotten token and a rotated key handled with one order at the simulator."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

import orjson
import pytest
from template_cases import TS, Frozen, below_bid, capture, head, mantissas, order_terms, signed_account
from test_session_clarofinlore import CLARO
from tickwire.errors import AuthError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import clarofinlore

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
        # The simulator's second key is another account's: with the first order open, the rotation is
        # refused (the new key does not know it; ``test_rotation_faults.py``), so it is cancelled first.
        await tr.cancel_order(a.symbol, client_id=first.client_id)
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
