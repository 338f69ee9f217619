"""Bybit v5: request signing and market data.

``Signer``: hex HMAC-SHA256 of ``timestamp + api_key + recv_window + payload`` (REST headers,
WebSocket auth). ``Adapter`` (``"bybit"``, registered for ``tickwire.connect``): production URLs per
category, ``orderbook`` / ``publicTrade`` topics, the ``{"op":"ping"}`` keepalive, op responses, the
server-time path.

``Orders``: spot order entry over REST for ``tickwire.trade`` — the JSON body or query of each
``/v5/order/…`` call and readers of the venue's answers (orders, executions, wallet balance,
instruments, ``retCode`` errors on HTTP 200).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, http_method, now_ms
from tickwire.clock import ServerTime
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.session import adapter as session_adapter
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_bybit_instrument
from tickwire.trading.venue import Balance, Call
from tickwire.venues import register

__all__ = ["DEFAULT_RECV_WINDOW", "MAX_RECV_WINDOW", "Adapter", "Orders", "Signer"]

DEFAULT_RECV_WINDOW = 5000
# Bybit states no maximum. A window past a day is a unit slip or a typo, and would undo the replay
# protection the window exists for ("a smaller X-BAPI-RECV-WINDOW is more secure").
MAX_RECV_WINDOW = 86_400_000


def _checked_recv_window(ms: object) -> int:
    """``ms`` if it is a usable ``X-BAPI-RECV-WINDOW``: whole milliseconds, at least 1 (Bybit accepts a
    request while ``server_time - recv_window <= timestamp``), at most ``MAX_RECV_WINDOW``."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"recv_window must be an int (ms), not {type(ms).__name__}")
    if not 0 < ms <= MAX_RECV_WINDOW:
        raise ValueError(f"recv_window must be 1..{MAX_RECV_WINDOW} ms (Bybit's default is 5000), got {ms}")
    return ms


class Signer(_core.BybitSigner):
    """Signs Bybit REST requests and WebSocket auth.

    >>> s = Signer("key", "secret")
    >>> s.rest_signature(1658384314791, 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    >>> s.sign_request("GET", "/v5/order/realtime", {"category": "linear"}).headers   # X-BAPI-*
    >>> s.ws_auth_message()   # {"op": "auth", "args": [key, expires, signature]}
    """

    _clock: Clock
    _recv_window: int

    def __new__(
        cls, api_key: str, secret: str, *, recv_window: int = DEFAULT_RECV_WINDOW, clock: Clock | None = None
    ) -> Signer:
        self = super().__new__(cls, api_key, secret)
        self._clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @property
    def recv_window(self) -> int:
        """``X-BAPI-RECV-WINDOW`` in ms; setting it checks it like the constructor does."""
        return self._recv_window

    @recv_window.setter
    def recv_window(self, ms: int) -> None:
        self._recv_window = _checked_recv_window(ms)

    @classmethod
    def from_env(cls, prefix: str = "BYBIT", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET``."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-SIGN``, ``X-BAPI-RECV-WINDOW``. GET signs
        the query string, other methods the body."""
        http_method(method)
        q = encode_params(params)
        ts = self._clock() if timestamp is None else timestamp
        payload = q if method.upper() == "GET" else body
        headers = {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-SIGN": self.rest_signature(ts, self.recv_window, payload),
            "X-BAPI-RECV-WINDOW": str(self.recv_window),
        }
        return SignedRequest(headers, q, body)

    def ws_auth_message(self, *, expires: int | None = None, ttl_ms: int = 10_000) -> dict[str, object]:
        """The WebSocket ``auth`` op; ``expires`` is Unix ms (default: clock + ``ttl_ms``)."""
        e = self._clock() + ttl_ms if expires is None else expires
        return {"op": "auth", "args": [self.api_key, e, self.ws_auth_signature(e)]}


# Market data ---------------------------------------------------------------------------------------


class Adapter(session_adapter.Adapter):
    """Bybit v5 public streams (``category`` option: spot, linear, inverse): ``orderbook.<depth>.<s>``
    (every snapshot resets the book, ``u=1`` a restart; the book's depth is the ``depth`` option, 50)
    and ``publicTrade``. ``{"op":"ping"}`` every 20 s as Bybit recommends. Update ids are per topic and
    connection, so redundant lines cannot be arbitrated."""

    venue = "bybit"
    ws_label = "spot"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream.bybit.com",
            "ws": {c: f"wss://stream.bybit.com/v5/public/{c}" for c in ("spot", "linear", "inverse")},
            "rest": "https://api.bybit.com",
        },
    ]
    # No "bbo": Bybit's best bid/offer is the orderbook.1 book, which would share (and reset) the
    # symbol's deeper book in the feed.
    supported = ("book", "trades")
    ping_interval = 20.0
    ping_when_idle = False
    connect_limit = (500, 300.0)
    # timeNano is the finest field Bybit gives; its "time" is ms.
    server_time = ServerTime("/v5/market/time", lambda j: int(j["result"]["timeNano"]) / 1e6, 0.0)
    batch = 10  # spot takes at most 10 args per subscribe

    def ws_url(self, ep: streams.Endpoint, subs: Sequence[streams.Sub]) -> str:
        label = self.options.get("category", self.ws_label)
        return super().ws_url(
            streams.Endpoint({label: ep.ws[label]} if label in ep.ws else ep.ws, ep.rest, ep.name), subs
        )

    def topic(self, s: streams.Sub) -> str:
        if s.channel == "book":
            return f"orderbook.{self.options.get('depth', 50)}.{s.symbol}"
        return f"publicTrade.{s.symbol}"

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        args = [self.topic(s) for s in subs]
        return [orjson.dumps({"req_id": str(self.next_id()), "op": op, "args": args})] if args else []

    def ping(self) -> bytes | None:
        return orjson.dumps({"req_id": str(self.next_id()), "op": "ping"})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        op = msg.get("op")
        if op == "pong" or (op == "ping" and msg.get("ret_msg") == "pong"):
            return streams.Control("pong")
        if op in ("subscribe", "unsubscribe"):
            if msg.get("success") is False:
                return streams.Control("error", str(msg.get("ret_msg", "")))
            return streams.Control("ack")
        return None


register(Adapter)


# Order entry ---------------------------------------------------------------------------------------

_STATUS: dict[str, Status] = {
    "New": "new",
    "Created": "new",
    "Untriggered": "new",
    "PartiallyFilled": "partially_filled",
    "Filled": "filled",
    "Cancelled": "canceled",
    "PartiallyFilledCanceled": "canceled",
    "Deactivated": "canceled",
    "Triggered": "new",
    "Rejected": "rejected",
}
_TIF: dict[str, Tif] = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTC"}


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "") else None


class Orders:
    """Bybit v5 spot order entry over REST (``category`` ``spot``): ``/v5/order/create`` and friends,
    JSON bodies signed as sent. Post-only limit orders are ``timeInForce`` ``PostOnly``; a market buy
    is sized in the base coin (``marketUnit`` ``baseCoin``; Bybit's default for spot market buys is
    the quote coin). The client id is ``orderLinkId`` (Bybit refuses a duplicate, 110072).

    Create and cancel answer with ``orderId``/``orderLinkId`` only: the session then asks for the
    order's state with ``GET /v5/order/realtime``, which lists an unknown order as an empty list.
    Bybit answers errors with HTTP 200 and ``retCode`` != 0. ``cancel-all`` by symbol lists the
    cancelled orders' ids."""

    venue = "bybit"

    def new_order(self, order: Order) -> Call:
        body: dict[str, str] = {
            "category": "spot",
            "symbol": order.symbol,
            "side": "Buy" if order.side == "buy" else "Sell",
            "orderType": "Market",
            "qty": format_decimal(order.qty),
            "orderLinkId": order.client_id,
        }
        if order.type == "limit":
            assert order.price is not None
            body["orderType"] = "Limit"
            body["price"] = format_decimal(order.price)
            body["timeInForce"] = "PostOnly" if order.post_only else order.tif
        else:
            body["marketUnit"] = "baseCoin"  # qty is the base quantity, for buys too
        return Call("POST", "/v5/order/create", body=_json(body))

    @staticmethod
    def _ids(symbol: str, client_id: str | None, order_id: str | None) -> dict[str, str]:
        p = {"category": "spot", "symbol": symbol}
        if order_id is not None:
            p["orderId"] = order_id
        else:
            p["orderLinkId"] = client_id or ""
        return p

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return Call("POST", "/v5/order/cancel", body=_json(self._ids(symbol, client_id, order_id)))

    def status(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return Call("GET", "/v5/order/realtime", self._ids(symbol, client_id, order_id))

    def open_orders(self, symbol: str | None) -> Call:
        p = {"category": "spot"}
        if symbol:
            p["symbol"] = symbol
        p["openOnly"] = "0"
        return Call("GET", "/v5/order/realtime", p)

    def cancel_all(self, symbol: str) -> Call | None:
        return Call("POST", "/v5/order/cancel-all", body=_json({"category": "spot", "symbol": symbol}))

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"category": "spot", "symbol": symbol}
        if since_ms is not None:
            p["startTime"] = str(since_ms)
        p["limit"] = "100"
        return Call("GET", "/v5/execution/list", p)

    def balances(self) -> Call:
        return Call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})

    def instruments(self) -> Call:
        return Call("GET", "/v5/market/instruments-info", {"category": "spot"}, signed=False)

    def read_order(self, body: Any) -> list[OrderEvent]:
        """An order (``realtime``) as its state; an acknowledgement (create, cancel, an entry of
        cancel-all) as an ``ack`` event stating no status. A list is read by its first entry; an empty
        one (``realtime`` of an unknown order) is :class:`OrderNotFound`."""
        if isinstance(body, list):
            if not body:
                raise OrderNotFound(f"{self.venue}: no such order")
            body = body[0]
        o = body
        cid, oid = str(o.get("orderLinkId") or ""), str(o.get("orderId") or "") or None
        if "orderStatus" not in o:
            return [OrderEvent(source="ack", client_id=cid, order_id=oid)]
        filled = _dec(o.get("cumExecQty")) or Decimal(0)
        kind: OrderType = "market" if o.get("orderType") == "Market" else "limit"
        fee = _dec(o.get("cumExecFee"))
        return [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(str(o["orderStatus"]), "new"),
                filled_cum=filled,
                avg_price=_dec(o.get("avgPrice")) if filled > 0 else None,
                fee_cum=fee,
                ts_ns=_ms_ns(o.get("updatedTime") or o.get("createdTime")),
                venue=self.venue,
                symbol=str(o["symbol"]),
                side="buy" if o["side"] == "Buy" else "sell",
                type=kind,
                tif=_TIF.get(str(o.get("timeInForce")), "GTC"),
                price=_dec(o.get("price")) if kind == "limit" else None,
                qty=Decimal(str(o["qty"])),
            )
        ]

    def read_fills(self, body: Any) -> list[Fill]:
        out = []
        for t in body:
            side: Side = "buy" if t["side"] == "Buy" else "sell"
            out.append(
                Fill(
                    venue=self.venue,
                    symbol=str(t["symbol"]),
                    client_id=str(t.get("orderLinkId") or ""),
                    order_id=str(t["orderId"]),
                    trade_id=str(t["execId"]),
                    side=side,
                    price=Decimal(str(t["execPrice"])),
                    qty=Decimal(str(t["execQty"])),
                    fee=_dec(t.get("execFee")) or Decimal(0),  # positive: charged
                    fee_asset=t.get("feeCurrency") or None,
                    liquidity="maker" if t.get("isMaker") else "taker",
                    ts_ns=_ms_ns(t.get("execTime")),
                )
            )
        return out

    def read_balances(self, body: Any) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for acct in body:
            for c in acct.get("coin", ()):
                total = _dec(c.get("walletBalance")) or Decimal(0)
                locked = _dec(c.get("locked")) or Decimal(0)
                out[c["coin"]] = Balance(c["coin"], total - locked, locked)
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {str(i["symbol"]): from_bybit_instrument(i) for i in body}

    def read_answer(self, status: int, body: bytes) -> Any:
        """``result`` of a success (its ``list`` where it has one); otherwise the error of
        ``retCode``/``retMsg`` (Bybit answers them with HTTP 200)."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or "retCode" not in msg:
            raise error_for(self.venue, None, body[:200].decode(errors="replace"), http_status=status)
        code, text = msg["retCode"], str(msg.get("retMsg", ""))
        if status >= 400 or str(code) != "0":
            raise error_for(self.venue, code, text, http_status=status)
        result = msg.get("result") or {}
        return result["list"] if isinstance(result, dict) and "list" in result else result

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
