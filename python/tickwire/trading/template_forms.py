"""How an order template's forms are built: the slow path's own request rendered with sentinel
values (``template_render``), cut into literal bytes and slots (``_layout``), handed to Rust as a
:class:`tickwire._core.OrderTemplate` and proven at build (``proven``: a probe order filled by the
template is byte for byte what the slow path renders, else ``NotSupported``). Per venue, ``recipes``
says which forms it has (REST, order socket), what its scheme signs and where the signature sits.
Sending through the built forms is ``template.py``'s."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from typing import Any

import orjson

from tickwire import _core
from tickwire.errors import NotSupported
from tickwire.trading.numbers import EXACT, from_mantissa, strip_zeros
from tickwire.trading.orders import Order
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.template_render import FormsPort, StampAt, render_rest, render_ws


@dataclass(frozen=True)
class Target:
    """What a template's forms are built for: the session's slow path, whether the order is a market
    order, its request's method and path, and the template's scales."""

    session: FormsPort
    market: bool
    method: str
    path: str
    price_scale: int
    qty_scale: int


def _scale(d: Decimal | None) -> int:
    if not d:
        return 0
    exp = strip_zeros(d).as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


def scales(rules: InstrumentRules, market: bool) -> tuple[int, int]:
    """The price and quantity decimals that every tick, lot and bound of ``rules`` fits in (a
    market order's own lot and bounds too, where the venue has them: Binance, OKX)."""
    ps = max(_scale(rules.tick_size), _scale(rules.min_price), _scale(rules.max_price))
    qs = max(_scale(rules.lot_size), _scale(rules.min_qty), _scale(rules.max_qty))
    if market:
        qs = max(
            qs, _scale(rules.market_lot_size), _scale(rules.market_min_qty), _scale(rules.market_max_qty)
        )
    return ps, qs


def _mantissa(d: Decimal | None, scale: int, rounding: str) -> int:
    """``d`` at ``scale`` decimals as an int (0 for no rule), rounded towards the inside of a bound."""
    if not d:
        return 0
    return int(d.scaleb(scale, EXACT).to_integral_value(rounding))


def rule_ints(rules: InstrumentRules, ps: int, qs: int, market: bool) -> dict[str, Any]:
    """``rules`` as the integers a Rust template checks a fill against, at scales ``ps``/``qs``."""
    lot = (rules.market_lot_size or rules.lot_size) if market else rules.lot_size
    min_qty = max(rules.market_min_qty or Decimal(0), rules.min_qty) if market else rules.min_qty
    max_qty = (rules.market_max_qty or rules.max_qty) if market else rules.max_qty
    out = dict(
        price_scale=ps,
        qty_scale=qs,
        tick=_mantissa(rules.tick_size, ps, ROUND_CEILING),
        lot=_mantissa(lot, qs, ROUND_CEILING),
        min_price=_mantissa(rules.min_price, ps, ROUND_CEILING),
        max_price=_mantissa(rules.max_price, ps, ROUND_FLOOR),
        min_qty=_mantissa(min_qty, qs, ROUND_CEILING),
        max_qty=_mantissa(max_qty, qs, ROUND_FLOOR),
        # A market order's notional needs a reference price the template does not have: as in
        # place_order without one, the venue checks it.
        min_notional=0 if market else _mantissa(rules.min_notional, ps + qs, ROUND_CEILING),
        max_notional=0 if market else _mantissa(rules.max_notional, ps + qs, ROUND_FLOOR),
    )
    # Rust reads a bound of 0 as "none" and holds bounds in u64 (notional: u128). A maximum the rules
    # hold that is 0 at the template's scales (max_qty=0) admits no order, nor does a minimum past
    # what Rust holds: both bounds are then set so that none is met (min > max, as a lone min of
    # ``top`` would still admit ``top`` itself), so Rust refuses every fill and the rules' own error
    # explains it. A maximum past what Rust holds bounds nothing a fill can carry: ``top``.
    for lo, hi, rule, top in (
        ("min_price", "max_price", rules.max_price or None, U64),
        ("min_qty", "max_qty", max_qty, U64),
        ("min_notional", "max_notional", None if market else rules.max_notional or None, U128),
    ):
        if (rule is not None and out[hi] == 0) or out[lo] > top:
            out[lo], out[hi] = top, top - 1
        elif out[hi] > top:
            out[hi] = top
    # A step past u64 (a tick of 10**8 at 12 decimals) has no multiple a fill can carry but 0.
    for step, lo, hi in (("tick", "min_price", "max_price"), ("lot", "min_qty", "max_qty")):
        if out[step] > U64:
            out[step], out[lo], out[hi] = 0, U64, U64 - 1
    return out


U64, U128 = 2**64 - 1, 2**128 - 1


# Values no real order carries, rendered by the slow path and then cut out of its bytes as slots.
_SENTINELS: dict[str, str] = {
    "price": "97531.8642097531",
    "qty": "86420.9753186421",
    "client_id": "zqxCIDzqx",
    "timestamp": "9876543210123",
    "request_id": "tw5550123777",  # the order socket's form (tw<n>): Kraken writes n as its req_id
    "nonce": "deadbeefcafef00d5eed0ddba11c0de5",  # 32 hex characters as a real one (Clarofinlore)
}


_PROBE = (123_456_789, 987_654_321, "tw0probe0", 1_700_000_000_123, "tw0")
# The probe's nonce: fixed so that the template's bytes can equal the slow path's (``fill(nonce=)``).
_PROBE_NONCE = "0123456789abcdef0f1e2d3c4b5a6978"
# A JWT's (Coinbase's): 64 hex characters as a real one.
_PROBE_JWT_NONCE = _PROBE_NONCE + "fedcba98765432100f1e2d3c4b5a6978"


def _iso(ms: int, millis: bool) -> str:
    """``ms`` as OKX's ``OK-ACCESS-TIMESTAMP`` (``millis``) or HTX's form-encoded ``Timestamp``."""
    t = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{t}.{ms % 1000:03d}Z" if millis else t.replace(":", "%3A")


def _head(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def _body(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[1]


def _header(data: bytes, name: bytes) -> bytes:
    m = re.search(b"\r\n" + name + b": ([^\r]*)\r\n", _head(data) + b"\r\n")
    if m is None:
        raise NotSupported(f"no {name.decode()} header in the request")
    return m.group(1)


def _query(data: bytes, sig_param: bytes) -> bytes:
    """The request line's query up to the signature parameter (what the venue signs)."""
    target = data.split(b" ", 2)[1]
    return target.split(b"?", 1)[1].split(b"&" + sig_param + b"=", 1)[0]


# The text each venue's scheme MACs, read from the request the slow path rendered.
def _binance_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return _query(data, b"signature") + _body(data)


def _binance_ws_signed(signer: Any, path: str, data: bytes) -> bytes:
    params = orjson.loads(data)["params"]
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature").encode()


def _okx_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return _header(data, b"OK-ACCESS-TIMESTAMP") + b"POST" + path.encode() + _body(data)


def _bybit_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    ts, window = _header(data, b"X-BAPI-TIMESTAMP"), _header(data, b"X-BAPI-RECV-WINDOW")
    key: str = signer.api_key
    return ts + key.encode() + window + _body(data)


def _htx_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    return b"\n".join((b"POST", signer.host.lower().encode(), path.encode(), _query(data, b"Signature")))


def _claro_rest_signed(signer: Any, path: str, data: bytes) -> bytes:
    """The signer's composition (``parts``, ``separator``) of the request as sent."""
    target = data.split(b" ", 2)[1]
    values = {
        "method": b"POST", "path": path.encode(), "query": target.partition(b"?")[2], "body": _body(data),
        "timestamp": _header(data, b"X-Timestamp"), "nonce": _header(data, b"X-Nonce"),
    }  # fmt: skip
    sep: str = signer.separator
    return sep.encode().join(values[p] for p in signer.parts)


@dataclass(frozen=True)
class Form:
    """One transport's request: how the slow path renders it and, when it is signed, the text the
    venue MACs, the signature's form and where it sits in the request (group 1)."""

    render: Callable[[FormsPort, Any, Order, str], bytes]
    signed: Callable[[Any, str, bytes], bytes] | None = None
    sig: str = "hex"
    sig_at: bytes = b""
    # A nonce drawn per request by the signer (a ``"nonce"`` slot, filled in Rust).
    nonce: bool = False
    # The request carries a JWT (at ``sig_at``) the signer makes per request (Coinbase's): a ``"jwt"``
    # slot written and signed in Rust from the signer's key; its nonce is inside the token.
    jwt: bool = False


_SOCKET = Form(render_ws)


def _kraken_token(s: FormsPort) -> object:
    return getattr(s.grammar, "token", None)


def _bearer(s: FormsPort) -> object:
    """Tradefence's current access token, as its signer gives it to the slow path: ``AuthError``
    without a valid one, a refresh started when it is old (the signer's own rules)."""
    signer: Any = s.signer
    return signer.sign_request("POST", "/v1/orders").headers["Authorization"]


def _claro_token(s: FormsPort) -> object:
    """Clarofinlore's access token: its renewal (or log-in, without one) started in the background
    when due, as the slow path's ``ensure`` would before a request."""
    wire: Any = s.wire
    return wire.tokens.current(wire.http)


Baked = Callable[[FormsPort], object]


@cache
def recipes() -> dict[type, tuple[Form | None, Form | None, bool, Baked | None]]:
    """Per grammar: its REST form, its socket form, whether its limit orders use the hand-written
    Binance spot layouts (``rust/order/binance.rs``), and what its bytes carry besides the key that
    can change under a running session (the template is rebuilt when it does; a falsy value, as
    Kraken's token while its socket is down, is not a change)."""
    from tickwire.venues import okx
    from tickwire.venues.binance.orders import Orders as BinanceSpot
    from tickwire.venues.binance.usdm import UsdmOrders
    from tickwire.venues.bybit.orders import Orders as BybitOrders
    from tickwire.venues.clarofinlore.orders import Orders as ClarofinloreOrders
    from tickwire.venues.coinbase.orders import Orders as CoinbaseOrders
    from tickwire.venues.htx.orders import Orders as HtxOrders
    from tickwire.venues.kraken.ws import SocketOrders as KrakenOrders
    from tickwire.venues.tradefence.orders import Orders as TradefenceOrders

    binance_rest = Form(render_rest, _binance_rest_signed, "hex", rb"[?&]signature=([0-9a-f]{64})[& ]")
    binance_ws = Form(render_ws, _binance_ws_signed, "hex", rb'"signature":"([0-9a-f]{64})"')
    return {
        BinanceSpot: (binance_rest, binance_ws, True, None),
        UsdmOrders: (binance_rest, binance_ws, False, None),
        okx.Orders: (
            Form(render_rest, _okx_rest_signed, "base64", rb"\r\nOK-ACCESS-SIGN: ([A-Za-z0-9+/=]+)\r\n"),
            _SOCKET,
            False,
            None,
        ),
        BybitOrders: (
            Form(render_rest, _bybit_rest_signed, "hex", rb"\r\nX-BAPI-SIGN: ([0-9a-f]{64})\r\n"),
            _SOCKET,
            False,
            None,
        ),
        HtxOrders: (
            Form(render_rest, _htx_rest_signed, "base64_form", rb"&Signature=([A-Za-z0-9%]+) HTTP/1\.1\r\n"),
            None,
            False,
            None,
        ),
        KrakenOrders: (None, _SOCKET, False, _kraken_token),
        # Nothing signed: the bearer token is a header like any other.
        TradefenceOrders: (Form(render_rest), None, False, _bearer),
        ClarofinloreOrders: (
            Form(render_rest, _claro_rest_signed, "hex", rb"\r\nX-Signature: ([0-9a-f]{64})\r\n", nonce=True),
            None,
            False,
            _claro_token,
        ),
        CoinbaseOrders: (
            Form(
                render_rest, sig_at=rb"\r\nAuthorization: Bearer ([A-Za-z0-9_.-]+)\r\n", nonce=True, jwt=True
            ),
            None,
            False,
            None,
        ),
    }


def _cut(data: bytes, marks: dict[bytes, str], spans: list[tuple[int, int, str]]) -> list[bytes | str]:
    """``data`` as literal bytes and slots: every occurrence of a mark, and the given ``(start, end,
    slot)`` spans (``start == end``: a zero-width marker such as ``"body"``)."""
    found = list(spans)
    for m, slot in marks.items():
        at = data.find(m)
        while at >= 0:
            found.append((at, at + len(m), slot))
            at = data.find(m, at + len(m))
    found.sort()
    parts: list[bytes | str] = []
    pos = 0
    for start, end, slot in found:
        if start < pos:
            raise NotSupported("the request cannot be laid out as a template (overlapping slots)")
        if start > pos:
            parts.append(data[pos:start])
        parts.append(slot)
        pos = end
    if pos < len(data):
        parts.append(data[pos:])
    return parts


def _layout(
    t: Target, form: Form, sample: Order, ttl: int
) -> tuple[list[bytes | str], list[bytes | str] | None]:
    """The request (and the signed text) of ``form`` cut into literal bytes and slots: the slow path's
    own bytes for ``sample`` with sentinel values."""
    s, market = t.session, t.market
    v = _SENTINELS
    order = replace(
        sample, price=None if market else Decimal(v["price"]), qty=Decimal(v["qty"]), client_id=v["client_id"]
    )
    ts = int(v["timestamp"])
    data = form.render(s, StampAt(s.signer, ts, v["nonce"] if form.nonce else None), order, v["request_id"])
    marks = {v[k].encode(): k for k in ("price", "qty", "client_id", "request_id", "timestamp")}
    if form.nonce and not form.jwt:  # a JWT's nonce is inside the token's base64
        marks[v["nonce"].encode()] = "nonce"
    if v["request_id"].encode() not in data:  # an integer request id (Kraken's req_id)
        marks[v["request_id"].removeprefix("tw").encode()] = "request_num"
    marks[_iso(ts, True).encode()] = "iso_ms"
    marks[_iso(ts, False).encode()] = "iso_s_form"
    if ttl:
        marks[str(ts + ttl).encode()] = "expiry"
    # Each sentinel at most once (else a literal could hold one); the order's own values as the type has.
    need = {"qty": 1, "client_id": 1, "price": 0 if market else 1, "nonce": 1}
    for m, k in marks.items():
        n = data.count(m)
        if n > 1 or n != need.get(k, n):
            raise NotSupported(f"{s.venue}: its request cannot be laid out as a template ({k} x{n})")
    spans: list[tuple[int, int, str]] = []
    if form.render is render_rest:
        at = data.index(b"\r\n\r\n") + 4
        spans.append((at, at, "body"))
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", data[:at])
        if length is not None:
            spans.append((length.start(1), length.end(1), "body_len"))
    if form.signed is not None or form.jwt:
        sig = re.search(form.sig_at, data)
        if sig is None:
            raise NotSupported(f"{s.venue}: no signature where the template expects it")
        spans.append((sig.start(1), sig.end(1), "jwt" if form.jwt else "signature"))
    if form.signed is None:
        return _cut(data, marks, spans), None
    return _cut(data, marks, spans), _cut(form.signed(s.signer, t.path, data), marks, [])


def proven(t: Target, ints: dict[str, Any], form: Form, sample: Order) -> _core.OrderTemplate:
    """The template of ``form``, proven at build: a probe order filled by it is byte for byte what the
    slow path renders for the same order, client id, timestamp and request id (else
    ``NotSupported``: place_order still works)."""
    s = t.session
    ttl = int(getattr(s.grammar, "request_ttl_ms", 0) or 0)  # OKX's expTime
    parts, signed = _layout(t, form, sample, ttl)

    def make(**rules: Any) -> _core.OrderTemplate:
        if form.jwt:  # the token's uri: the request's method, the signer's host, the path
            signer: Any = s.signer
            m, host = t.method, signer.host
            return _core.OrderTemplate.jwt(signer, parts, method=m, host=host, path=t.path, **rules)
        if signed is None:
            return _core.OrderTemplate.unsigned(parts, expiry_ms=ttl, **rules)
        return _core.OrderTemplate.signed(s.signer, parts, signed, sig=form.sig, expiry_ms=ttl, **rules)

    tmpl = make(**ints)
    ps, qs = t.price_scale, t.qty_scale
    p, q, cid, ts, rid = _PROBE
    probe = make(price_scale=ps, qty_scale=qs, tick=1, lot=1)
    order = replace(
        sample, price=None if t.market else from_mantissa(p, ps), qty=from_mantissa(q, qs),
        client_id=cid,
    )  # fmt: skip
    nonce = (_PROBE_JWT_NONCE if form.jwt else _PROBE_NONCE) if form.nonce else None
    if probe.fill(p, q, cid, ts, rid, nonce=nonce) != form.render(
        s, StampAt(s.signer, ts, nonce), order, rid
    ):
        raise NotSupported(f"{s.venue}: its template does not reproduce the slow path's request")
    return tmpl
