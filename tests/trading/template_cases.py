"""What the order-template tests share: the simulator accounts signing on a clock that can be
frozen, the requests a session writes captured, orders' terms, signatures recomputed with Python's
``hmac`` from each venue's documented scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import test_session_clarofinlore as claro_case
import test_session_htx as htx_case
import test_session_okx as okx_case
import test_session_usdm as usdm_case
from session_cases import SimAccount
from test_session_bybit import BYBIT
from test_session_clarofinlore import CLARO
from test_session_htx import HTX
from test_session_okx import OKX
from test_session_usdm import USDM
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
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


KEY2, SECRET2 = "tmpl-key-2", "tmpl-secret-2"


def two_key_account() -> SimAccount:
    """``account()`` whose venue also knows a second key of the same account (``KEY2``): a rotation's."""

    def both(v: Any) -> None:
        v.add_key(ApiKey(KEY, secret=SECRET.encode()))
        v.add_key(ApiKey(KEY2, secret=SECRET2.encode(), account=KEY))

    return replace(account(), register=both)


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


# Accounts signing on a frozen clock, and orders' terms, per venue ------------------------------------


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


async def not_placed_then_replayed(a: SimAccount, sim: Simulator, tr: TradingSession) -> Any:
    """A place answered 503 (not processed) that the session, finding no trace of it, calls not
    placed; then the same signed request handed to the venue, as one still queued there would reach
    its engine. The venue's answer to it."""
    from tickwire.transport.http import HttpClient

    ep = sim.endpoint(a.venue, 0)
    http, written = tr.wire.http, []
    assert http is not None
    request = http.request

    async def kept(method: str, path: str, **kw: Any) -> Any:
        if f"{method} {path}" == a.place_op:
            written.append(kw)
        return await request(method, path, **kw)

    http.request = kept  # type: ignore[method-assign]
    ep.fail(1)
    with pytest.raises(TransportError, match="was not placed"):
        await a.rest_below(sim, tr, 10)
    [kw] = written
    async with HttpClient(ep.rest_base) as venue:
        return await venue.request(
            "POST", "/api/v3/order", query=kw["query"], body=kw["body"], headers=kw["headers"]
        )
