"""An order rendered by the session's own slow path, with its write caught: the bytes an order
template is cut from (``template_forms._layout``) and checked against at build (``proven``). The
REST path runs up to its write (``Wire._rest`` with the HTTP client's send caught, the signer
stamped with a fixed time and nonce, the access token held as it is); the socket form is the
grammar's own. Nothing here writes to the venue."""

from __future__ import annotations

from typing import Any, Protocol

from tickwire.errors import AuthError, NotSupported
from tickwire.trading.orders import Order


class FormsPort(Protocol):
    """What building a template's forms needs of the session: its slow path (grammar, signer, wire)
    to render the order's request with, and its venue's name for errors."""

    venue: str
    grammar: Any
    signer: Any
    wire: Any


class StampAt:
    """The signer as the slow path sees it, every clock reading and timestamp ``ts`` (and every
    nonce ``nonce`` when given: Clarofinlore's signer draws one per request)."""

    def __init__(self, signer: Any, ts: int, nonce: str | None = None) -> None:
        self._signer, self._ts, self._nonce = signer, ts, nonce

    def __getattr__(self, name: str) -> Any:
        return getattr(self._signer, name)

    def clock(self) -> int:
        return self._ts

    def sign_request(self, *args: Any, timestamp: int | None = None, **kw: Any) -> Any:
        if self._nonce is not None:
            kw["nonce"] = self._nonce
        return self._signer.sign_request(*args, timestamp=self._ts, **kw)

    def ws_signed_params(self, params: Any, *, timestamp: int | None = None) -> Any:
        return self._signer.ws_signed_params(params, timestamp=self._ts)

    def ws_header(self, *, timestamp: int | None = None) -> Any:
        return self._signer.ws_header(timestamp=self._ts)


class _Rendered(Exception):
    """The bytes the slow path hands its transport, caught there: nothing is written."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class _CaptureHttp:
    """The session's HTTP client whose write is caught (``request`` builds the bytes as it does)."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    def request(self, *args: Any, **kw: Any) -> Any:
        return type(self._http).request(self, *args, **kw)

    async def send_raw(self, method: str, path: str, data: bytes, **kw: Any) -> Any:
        raise _Rendered(data)


class _HeldTokens:
    """The session's access token as it is now (Clarofinlore's): rendering never logs in or renews;
    a renewed token rebuilds the template (``_baked_of``)."""

    def __init__(self, tokens: Any) -> None:
        self._tokens = tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokens, name)

    async def ensure(self, http: Any) -> None:
        return None


class _CaptureWire:
    """The session's wire as its REST path sees it: the capturing HTTP client, a stamped signer, the
    token held."""

    def __init__(self, wire: Any, signer: Any) -> None:
        self._wire, self.signer, self.http = wire, signer, _CaptureHttp(wire.http)
        self.tokens = None if wire.tokens is None else _HeldTokens(wire.tokens)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wire, name)


def render_rest(s: FormsPort, signer: Any, order: Order, rid: str) -> bytes:
    """The whole HTTP/1.1 request ``place_order`` writes for ``order`` (``Wire._rest`` run up to the
    write, which is caught)."""
    wire: Any = s.wire
    if wire.tokens is not None and not wire.tokens.token:  # its log-in started by ``_baked_of``
        raise AuthError(f"{s.venue}: the session is not logged in yet; its templates carry its token")
    call = s.grammar.new_order(order)
    coro = type(wire)._rest(_CaptureWire(wire, signer), call)
    try:
        coro.send(None)
    except _Rendered as r:
        data: bytes = r.data
        # The order's own request, not another the REST path wrote first (a log-in).
        method, target = data.split(b" ", 2)[:2]
        if method == call.method.encode() and target.split(b"?")[0].endswith(call.path.encode()):
            return data
        raise NotSupported(f"{s.venue}: its REST path wrote another request first; no template") from None
    finally:
        coro.close()
    raise NotSupported(f"{s.venue}: its REST request is not written in one step; no template")


def render_ws(s: FormsPort, signer: Any, order: Order, rid: str) -> bytes:
    grammar: Any = s.grammar
    data: bytes | None = grammar.ws_request(grammar.new_order(order), signer, rid)
    if data is None:
        # Kraken's FOK: REST only (its socket's add_order does not document it).
        raise NotSupported(
            f"{s.venue}: its order socket has no form of this order ({order.type} {order.tif}); "
            "place_order sends it over REST"
        )
    return data
