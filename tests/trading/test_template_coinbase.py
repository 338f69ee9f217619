"""Coinbase Advanced Trade order templates (``POST /api/v3/brokerage/orders``, a fresh JWT per order
written and signed in Rust) against the slow path and the simulator: the same bytes as ``place_order``
for the same order, client id, time and JWT nonce, with an ES256 and an Ed25519 key; every token
checked on its own with ``cryptography`` (signature under the public key, the documented header and
claims); the simulator accepts and fills template orders, each with a fresh nonce. The shared template
cases (the simulator's fills, off the tick or the lot refused with nothing written) run Coinbase too
(``test_template.py``, ``signed_account("coinbase")``)."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import test_session_binance as binance_case
import test_session_coinbase as cb_case
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
from session_cases import SimAccount
from template_cases import Frozen, capture, head, mantissas, order_terms
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import coinbase

PATH = "/api/v3/brokerage/orders"
# (key name, private PEM, public PEM); the Ed25519 key is the Binance session tests' (a CDP key's form).
KEYS = {
    "ES256": (cb_case.NAME, cb_case.PRIVATE_PEM, cb_case.PUBLIC_PEM),
    "EdDSA": ("organizations/org-tw/apiKeys/ed-trade-key", binance_case._ED_PEM, binance_case._ED_PUB),
}


def account(alg: str, clock: Any = None) -> tuple[SimAccount, bytes]:
    """The simulator's Coinbase account trading with an ``alg`` key on ``clock``, and its public key."""
    name, pem, public = KEYS[alg]
    signer = coinbase.Signer(name, pem, clock=clock)

    def register(v: Any) -> None:
        v.add_key(name, public)
        signer.host = urlsplit(v.endpoints[0].rest_base).netloc  # the JWT's uri names the host used

    return replace(cb_case.COINBASE, key=name, signer=signer, register=register), public


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_jwt(data: bytes, public: bytes, alg: str, host: str, ts: int) -> str:
    """The request's bearer token checked with ``cryptography`` alone: its signature under the public
    key, the header and claims as Coinbase documents them for ``ts`` (ms). Returns its nonce."""
    token = head(data)["Authorization"].removeprefix("Bearer ")
    h64, c64, s64 = token.split(".")
    header, claims, sig = orjson.loads(_b64url(h64)), orjson.loads(_b64url(c64)), _b64url(s64)
    pk = serialization.load_pem_public_key(public)
    signed = f"{h64}.{c64}".encode()
    if alg == "ES256":
        assert isinstance(pk, ec.EllipticCurvePublicKey) and len(sig) == 64
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        pk.verify(utils.encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(pk, ed25519.Ed25519PublicKey)
        pk.verify(sig, signed)
    name = KEYS[alg][0]
    nonce = header["nonce"]
    assert re.fullmatch("[0-9a-f]{64}", nonce)
    assert header == {"alg": alg, "kid": name, "nonce": nonce, "typ": "JWT"}
    nbf = ts // 1000
    assert claims == {"sub": name, "iss": "cdp", "nbf": nbf, "exp": nbf + 120, "uri": f"POST {host}{PATH}"}
    return str(nonce)


def _body(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


def configuration(type: str, tif: str, post_only: bool, price: Decimal | None, qty: Decimal) -> Any:
    """``order_configuration`` as the Coinbase reference spells it (Create Order)."""
    if type == "market":
        return {"market_market_ioc": {"base_size": str(qty)}}
    limit: dict[str, Any] = {"base_size": str(qty), "limit_price": str(price)}
    if tif == "GTC":
        return {"limit_limit_gtc": {**limit, "post_only": post_only}}
    return {"sor_limit_ioc" if tif == "IOC" else "limit_limit_fok": limit}


CASES = [
    ("ES256", "limit", "GTC", False),
    ("ES256", "limit", "GTC", True),
    ("ES256", "limit", "IOC", False),
    ("ES256", "limit", "FOK", False),
    ("ES256", "market", "IOC", False),
    ("EdDSA", "limit", "GTC", False),
    ("EdDSA", "market", "IOC", False),
]


@pytest.mark.parametrize(("alg", "type", "tif", "post_only"), CASES)
def test_coinbase_bytes_are_the_slow_paths_byte_for_byte(
    alg: str, type: Any, tif: Any, post_only: bool
) -> None:
    """The same order, client id, time and JWT nonce: ``place_order``'s request byte for byte (ES256
    signs with RFC 6979 nonces and EdDSA is deterministic, so the signatures are equal too)."""
    clock = Frozen()
    a, public = account(alg, clock)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = order_terms(a, sim, tr, type, "buy")
        tmpl = tr.template(a.symbol, "buy", type, tif=tif, post_only=post_only)
        assert tmpl.ws is None and tmpl.rest is not None and tmpl.rest.priced == (type == "limit")
        clock.at = ts = int(time.time() * 1000)
        sent = capture(tr)
        o = await tr.place_order(a.symbol, "buy", type, qty, price, tif=tif, post_only=post_only)
        assert o.status in ("new", "filled", "canceled", "expired")
        slow = sent[0]  # then its state query
        host = tr.signer.host
        nonce = check_jwt(slow, public, alg, host, ts)
        p, q = mantissas(tmpl, price, qty)
        fast = tmpl.rest.fill(p, q, o.client_id, ts, nonce=nonce)
        assert fast == slow
        assert int(head(fast)["Content-Length"]) == len(_body(fast))
        assert orjson.loads(_body(fast)) == {
            "client_order_id": o.client_id,
            "product_id": a.symbol,
            "side": "BUY",
            "order_configuration": configuration(type, tif, post_only, price, qty),
        }
        # Without a nonce given, one of its own, the token still valid and the rest unchanged.
        mine = tmpl.rest.fill(p, q, o.client_id, ts)
        assert check_jwt(mine, public, alg, host, ts) != nonce
        assert mine.split(b"Authorization: ")[0] == fast.split(b"Authorization: ")[0]
        assert _body(mine) == _body(fast)

    a.run(body)


def _sent_tokens(sent: list[bytes], public: bytes, alg: str, host: str) -> list[str]:
    """The nonces of the order requests among ``sent``, each token checked (at its own ``nbf``)."""
    nonces = []
    for req in (b for b in sent if b.startswith(f"POST {PATH} ".encode())):
        token = head(req)["Authorization"].removeprefix("Bearer ")
        nbf = orjson.loads(_b64url(token.split(".")[1]))["nbf"]
        nonces.append(check_jwt(req, public, alg, host, nbf * 1000))
    return nonces


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_coinbase_the_simulator_fills_template_orders_each_with_a_fresh_jwt_nonce(alg: str) -> None:
    """Two limit orders rest and a market order fills, sent by templates in one Rust call each; every
    token is valid and its nonce new."""
    a, public = account(alg)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = order_terms(a, sim, tr, "limit", "buy")
        tmpl = tr.template(a.symbol, "buy")
        sent = capture(tr)
        first = await tmpl.send(price, qty)
        second = await tmpl.send(price, qty)
        _, mqty = order_terms(a, sim, tr, "market", "buy")
        market = await tr.template(a.symbol, "buy", "market").send(None, mqty)
        nonces = _sent_tokens(sent, public, alg, tr.signer.host)
        assert len(nonces) == 3 == len(set(nonces))
        assert [o.status for o in (first, second, market)] == ["new", "new", "filled"]
        assert market.filled == mqty and first.price == price
        theirs = {o.client_id: o.open for o in a.orders(sim)}
        assert theirs == {first.client_id: True, second.client_id: True, market.client_id: False}
        log = sim.endpoint(a.venue, 0).exchanges
        assert [e[1] for e in log].count(a.place_op) == 3

    a.run(body)


def test_coinbase_after_a_key_rotation_the_template_signs_with_the_new_key() -> None:
    """``tr.rotate`` to an Ed25519 key: the template's next token is the new key's (its kid, its
    signature), and the venue books the order on the new key."""
    a, _ = account("ES256")
    name, pem, public = KEYS["EdDSA"]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(a.venue).add_key(name, public)
        sim.fund(a.venue, name, a.funds)
        price, qty = order_terms(a, sim, tr, "limit", "buy")
        tmpl = tr.template(a.symbol, "buy")
        first = await tmpl.send(price, qty)
        # The simulator's second key is another account's: with the first order open, the rotation is
        # refused (the new key does not know it; ``test_rotation_faults.py``), so it is cancelled first.
        await tr.cancel_order(a.symbol, client_id=first.client_id)
        await tr.rotate(coinbase.Signer(name, pem, host=tr.signer.host))
        sent = capture(tr)
        second = await tmpl.send(price, qty)
        [nonce] = _sent_tokens(sent, public, "EdDSA", tr.signer.host)  # kid and signature: the new key's
        assert (first.status, second.status) == ("new", "new") and nonce
        assert [o.account for o in a.orders(sim)] == [a.key, name]

    a.run(body)
