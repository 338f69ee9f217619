"""Binance spot and USDⓈ-M futures: request signing and market data.

``Signer``: HMAC keys sign with the ``secret``; Ed25519 and RSA keys with ``private_key_pem`` (the type
is read from the PEM). ``rest_signature`` and ``ws_signature`` are direct calls into the Rust core.

Market-data adapters, registered for ``tickwire.connect``: ``Adapter`` (``"binance"``, spot JSON
combined streams), ``UsdmAdapter`` (``"binance-usdm"``) and ``SbeAdapter`` (``"binance-sbe"``, spot
SBE binary streams) — production hosts, stream names per channel, subscribe messages, REST depth
snapshot paths, server-time paths and the ``serverShutdown`` notice. (A/B lines are arbitrated in
Rust on the sequence numbers the decoder reads.)

``Orders``: spot order entry over REST for ``tickwire.trade`` — parameters of each call and readers of
the venue's answers (orders, fills, balances, ``exchangeInfo`` filters, error codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, http_method, now_ms
from tickwire.clock import ServerTime
from tickwire.errors import CredentialsError, OrderNotFound, TickwireError
from tickwire.session import adapter as session_adapter
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, Side, Status
from tickwire.trading.rules import InstrumentRules, from_binance_exchange_info
from tickwire.trading.venue import Balance, Call
from tickwire.venues import register

if TYPE_CHECKING:
    from tickwire.transport.http import HttpClient

__all__ = ["API_KEY_HEADER", "Adapter", "Orders", "SbeAdapter", "Signer", "UsdmAdapter"]

API_KEY_HEADER = "X-MBX-APIKEY"


class Signer(_core.BinanceSigner):
    """Signs Binance REST and WebSocket API requests.

    >>> s = Signer("my-key", "my-secret")                       # HMAC
    >>> s = Signer("my-key", private_key_pem=pem)                # Ed25519 or RSA
    >>> s.rest_signature("symbol=BTCUSDT&side=BUY&timestamp=1")  # hex (HMAC) / %-encoded base64
    >>> req = s.sign_request("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY"})
    >>> req.headers, req.query   # {'X-MBX-APIKEY': ...}, 'symbol=BTCUSDT&side=BUY&timestamp=…&signature=…'
    """

    _clock: Clock
    recv_window: int | None

    def __new__(
        cls,
        api_key: str,
        secret: str | None = None,
        *,
        private_key_pem: str | None = None,
        recv_window: int | None = None,
        clock: Clock | None = None,
    ) -> Signer:
        self = super().__new__(cls, api_key, secret, private_key_pem=private_key_pem)
        self._clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @classmethod
    def from_env(cls, prefix: str = "BINANCE", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` plus ``{prefix}_API_SECRET`` (HMAC) or
        ``{prefix}_PRIVATE_KEY_PEM`` / ``{prefix}_PRIVATE_KEY_PATH`` (Ed25519/RSA)."""
        c = Credentials.from_env(prefix)
        if c.private_key_pem is not None:
            return cls(c.api_key, private_key_pem=c.private_key_pem, **kwargs)
        if c.secret is None:
            p = c.prefix
            raise CredentialsError(
                f"environment variable {p}_API_SECRET "
                f"(or {p}_PRIVATE_KEY_PEM / {p}_PRIVATE_KEY_PATH) is not set"
            )
        return cls(c.api_key, c.secret, **kwargs)

    def headers(self) -> dict[str, str]:
        """The API-key header every authenticated request carries."""
        return {API_KEY_HEADER: self.api_key}

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """Adds ``timestamp`` (and ``recvWindow`` if configured) to the query, signs query + body, and
        appends ``signature``. ``params`` keep their order (REST does not sort)."""
        http_method(method)
        q = encode_params(params)
        ts = self._clock() if timestamp is None else timestamp
        extra = f"recvWindow={self.recv_window}&timestamp={ts}" if self.recv_window else f"timestamp={ts}"
        q = f"{q}&{extra}" if q else extra
        sig = self.rest_signature(q + body)
        return SignedRequest(self.headers(), f"{q}&signature={sig}", body)

    def ws_signed_params(
        self, params: Mapping[str, object], *, timestamp: int | None = None
    ) -> dict[str, object]:
        """``params`` plus ``apiKey``, ``timestamp`` and ``signature``, ready for a WebSocket API request."""
        p: dict[str, object] = dict(params)
        p.setdefault("apiKey", self.api_key)
        p["timestamp"] = self._clock() if timestamp is None else timestamp
        if self.recv_window:
            p.setdefault("recvWindow", self.recv_window)
        p.pop("signature", None)
        p["signature"] = self.ws_signature(p)
        return p


# Market data ---------------------------------------------------------------------------------------

_STREAM = {"book": "@depth@100ms", "trades": "@trade", "bbo": "@bookTicker"}


class Adapter(session_adapter.Adapter):
    """Binance spot combined streams: ``@depth@100ms`` diffs synced from REST ``/api/v3/depth`` by the
    official algorithm, ``@trade``, ``@bookTicker``. The venue pings every 20 s; picows answers with
    the same payload. ``serverShutdown`` makes the session reconnect at once."""

    venue = "binance"
    ws_label = "stream"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream.binance.com:9443",
            "ws": {"stream": "wss://stream.binance.com:9443/stream"},
            "rest": "https://api.binance.com",
        },
        {
            "name": "stream.binance.com:443",
            "ws": {"stream": "wss://stream.binance.com:443/stream"},
            "rest": "https://api.binance.com",
        },
        {
            "name": "data-stream.binance.vision",
            "ws": {"stream": "wss://data-stream.binance.vision/stream"},
            "rest": "https://data-api.binance.vision",
        },
    ]
    supported = ("book", "trades", "bbo")
    ping_interval = 30.0
    connect_limit = (300, 300.0)
    batch = 200  # streams per SUBSCRIBE: well under the 5 messages/s and 1024 streams rules
    depth_path = "/api/v3/depth"
    server_time: ClassVar[ServerTime | None] = ServerTime("/api/v3/time", lambda j: float(j["serverTime"]))

    def stream(self, s: streams.Sub) -> str:
        suffix = _STREAM[s.channel]
        if s.channel == "book":
            suffix = "@depth" + self.options.get("depth_speed", "@100ms")
        return s.symbol.lower() + suffix

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        params = [self.stream(s) for s in subs]
        return (
            [orjson.dumps({"method": op.upper(), "params": params, "id": self.next_id()})] if params else []
        )

    async def fetch_snapshot(self, http: HttpClient, symbol: str) -> bytes:
        limit = self.options.get("snapshot_limit", 1000)
        r = await http.get(self.depth_path, query={"symbol": symbol, "limit": limit})
        return r.raise_for_status(self.venue).body

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        ev = msg.get("event")
        if isinstance(ev, dict) and ev.get("e") == "serverShutdown":
            return streams.Control("shutdown", "serverShutdown")
        err = msg.get("error")
        if isinstance(err, dict):
            return streams.Control("error", str(err.get("msg", "")), str(err.get("code", "")))
        if "result" in msg and "id" in msg:
            return streams.Control("ack")
        return None


class UsdmAdapter(Adapter):
    """USDⓈ-M futures: the routed ``/public`` path carries depth, bookTicker and trades; diffs chain
    by ``pu`` (previous ``u``); snapshots from ``/fapi/v1/depth``. Server ping every 3 minutes."""

    venue = "binance-usdm"
    ws_label = "public"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "fstream.binance.com",
            "ws": {"public": "wss://fstream.binance.com/public/stream"},
            "rest": "https://fapi.binance.com",
        },
    ]
    depth_path = "/fapi/v1/depth"
    server_time = ServerTime("/fapi/v1/time", lambda j: float(j["serverTime"]))
    ping_interval = 120.0


_SBE_STREAM = {"book": "@depth", "trades": "@trade", "bbo": "@bestBidAsk"}


class SbeAdapter(Adapter):
    """Binance spot SBE market data (``stream-sbe.binance.com``): the same streams as binary SBE
    frames (schema 1:0), synced with REST snapshots by the same algorithm. The upgrade carries an
    Ed25519 API key in ``X-MBX-APIKEY`` (no signature); pass ``api_key`` in the venue options or a
    ``binance.Signer`` as credentials (or set ``BINANCE_API_KEY``)."""

    venue = "binance-sbe"
    ws_label = "sbe_stream"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream-sbe.binance.com:9443",
            "ws": {"sbe_stream": "wss://stream-sbe.binance.com:9443/stream"},
            "rest": "https://api.binance.com",
        },
    ]
    # An SBE session syncs no clock (a "binance" session on the same REST host reads the same one).
    server_time = None

    def stream(self, s: streams.Sub) -> str:
        return s.symbol.lower() + _SBE_STREAM[s.channel]

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        key = self.options.get("api_key")
        if key is None and self.options.get("signer") is not None:
            key = self.options["signer"].api_key
        if key is None:
            key = Credentials.from_env("BINANCE").api_key
        return {API_KEY_HEADER: str(key)}


register(Adapter, UsdmAdapter, SbeAdapter)


# Order entry ---------------------------------------------------------------------------------------

_STATUS: dict[str, Status] = {
    "NEW": "new",
    "PENDING_NEW": "new",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "PENDING_CANCEL": "new",
    "REJECTED": "rejected",
    "EXPIRED": "expired",
    "EXPIRED_IN_MATCH": "expired",
}


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms is not None else None


class Orders:
    """Binance spot order entry over REST (``/api/v3/order`` and friends): request parameters as the
    venue documents them and readers of its answers. Post-only limit orders are ``LIMIT_MAKER``; an
    order's client id is ``newClientOrderId`` (unique among the account's *open* orders only, so a
    lost answer is reconciled by query, never resent)."""

    venue = "binance"

    def new_order(self, order: Order) -> Call:
        p = {
            "symbol": order.symbol,
            "side": order.side.upper(),
            "type": "MARKET",
            "quantity": format_decimal(order.qty),
            "newClientOrderId": order.client_id,
            "newOrderRespType": "FULL",
        }
        if order.type == "limit":
            assert order.price is not None
            p["type"] = "LIMIT_MAKER" if order.post_only else "LIMIT"
            if not order.post_only:
                p["timeInForce"] = order.tif
            p["price"] = format_decimal(order.price)
        return Call("POST", "/api/v3/order", p)

    def _one(self, method: str, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        p = {"symbol": symbol}
        if order_id is not None:
            p["orderId"] = order_id
        else:
            p["origClientOrderId"] = client_id or ""
        return Call(method, "/api/v3/order", p)

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return self._one("DELETE", symbol, client_id, order_id)

    def status(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return self._one("GET", symbol, client_id, order_id)

    def open_orders(self, symbol: str | None) -> Call:
        return Call("GET", "/api/v3/openOrders", {"symbol": symbol} if symbol else {})

    def cancel_all(self, symbol: str) -> Call | None:
        return Call("DELETE", "/api/v3/openOrders", {"symbol": symbol})

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]  # no spot batch cancel

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"symbol": symbol}
        if since_ms is not None:
            p["startTime"] = str(since_ms)
        return Call("GET", "/api/v3/myTrades", p)

    def balances(self) -> Call:
        return Call("GET", "/api/v3/account", {"omitZeroBalances": "true"})

    def instruments(self) -> Call:
        return Call("GET", "/api/v3/exchangeInfo", {}, signed=False)

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state, then one event per execution the answer lists (``FULL`` responses)."""
        executed = Decimal(body["executedQty"])
        quote = Decimal(body.get("cummulativeQuoteQty") or 0)
        ts = _ms_ns(body.get("transactTime") or body.get("updateTime") or body.get("time"))
        side: Side = "buy" if body["side"] == "BUY" else "sell"
        cid = body.get("clientOrderId") or body.get("origClientOrderId") or ""
        oid = str(body["orderId"])
        events = [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(body["status"], "new"),
                filled_cum=executed,
                avg_price=quote / executed if executed > 0 and quote > 0 else None,
                reason="" if body["status"] != "EXPIRED" else "expired by the venue",
                ts_ns=ts,
                venue=self.venue,
                symbol=body["symbol"],
                side=side,
                type="market" if body.get("type") == "MARKET" else "limit",
                tif=body.get("timeInForce") if body.get("timeInForce") in ("GTC", "IOC", "FOK") else None,
                price=Decimal(body["price"]) if body.get("type") != "MARKET" else None,
                qty=Decimal(body["origQty"]),
            )
        ]
        for f in body.get("fills") or ():
            fill = Fill(
                venue=self.venue,
                symbol=body["symbol"],
                client_id=cid,
                order_id=oid,
                trade_id=str(f["tradeId"]),
                side=side,
                price=Decimal(f["price"]),
                qty=Decimal(f["qty"]),
                fee=Decimal(f.get("commission") or 0),
                fee_asset=f.get("commissionAsset"),
                liquidity="taker",
                ts_ns=ts,
            )
            events.append(OrderEvent(source="rest", client_id=cid, order_id=oid, status=None, fill=fill))
        return events

    def read_fills(self, body: Any) -> list[Fill]:
        return [
            Fill(
                venue=self.venue,
                symbol=t["symbol"],
                client_id="",
                order_id=str(t["orderId"]),
                trade_id=str(t["id"]),
                side="buy" if t["isBuyer"] else "sell",
                price=Decimal(t["price"]),
                qty=Decimal(t["qty"]),
                fee=Decimal(t.get("commission") or 0),
                fee_asset=t.get("commissionAsset"),
                liquidity="maker" if t.get("isMaker") else "taker",
                ts_ns=_ms_ns(t.get("time")),
            )
            for t in body
        ]

    def read_balances(self, body: Any) -> dict[str, Balance]:
        return {
            b["asset"]: Balance(b["asset"], Decimal(b["free"]), Decimal(b["locked"]))
            for b in body.get("balances", ())
        }

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {s["symbol"]: from_binance_exchange_info(s) for s in body.get("symbols", ())}

    def read_answer(self, status: int, body: bytes) -> Any:
        if status < 400:
            return orjson.loads(body)
        try:
            msg = orjson.loads(body)
            code, text = msg.get("code"), str(msg.get("msg", ""))
        except (orjson.JSONDecodeError, AttributeError):
            code, text = None, body[:200].decode(errors="replace")
        raise error_for(self.venue, code, text, http_status=status)

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
