"""What Binance spot and USDⓈ-M futures order entry share: order statuses, the single-order calls by
``orderId`` / ``origClientOrderId``, error answers (REST and WS API), ``exchangeInfo`` rules and the WS
API request framing (the same parameters as REST, signed in the request). ``orders.Orders`` (spot)
and ``usdm.UsdmOrders`` (futures) name their paths and WS API methods and read their own answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for
from tickwire.trading.orders import Fill, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_binance_exchange_info
from tickwire.trading.venue import Call

STATUS: dict[str, Status] = {
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
_TIFS: frozenset[str] = frozenset({"GTC", "IOC", "FOK"})


def expiry(reason: Any, status: str) -> str:
    """An expired order's reason: the venue's own (``expiryReason`` in answers, ``eR`` in
    executionReports, since 2026-03-26: ``UNFILLED_IOC_QUANTITY_EXPIRED``,
    ``EXECUTION_RULE_PRICE_RANGE_EXCEEDED``, ``EXCHANGE_CANCELED`` …, which tell a lost race from a
    price the venue's rule refused), else what the status says; "" for an order that did not expire."""
    if reason not in (None, "", "NONE"):
        return str(reason)
    if status == "EXPIRED":
        return "expired by the venue"
    return "expired in match (self-trade prevention)" if status == "EXPIRED_IN_MATCH" else ""


def ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms is not None else None


def side_of(text: str) -> Side:
    return "buy" if text == "BUY" else "sell"


def tif_of(text: Any) -> Tif | None:
    return text if text in _TIFS else None


def stream_terms(ev: Mapping[str, Any]) -> tuple[OrderType, Tif | None, Decimal | None]:
    """An order's type, time in force and limit price as a user-stream report states them (``o``,
    ``f``, ``p``, spot's ``executionReport`` and USDⓈ-M's ``ORDER_TRADE_UPDATE`` alike), as an order
    answer's are read (``order_event``): what an order adopted from its first report is tracked with
    (before stop 44 none was read, and a limit order adopted so was tracked as a market order with no
    price)."""
    market = ev.get("o") == "MARKET"
    price = None if market or ev.get("p") is None else Decimal(ev["p"])
    return ("market" if market else "limit"), tif_of(ev.get("f")), price


def make_fill(
    venue: str,
    symbol: str,
    cid: str,
    oid: str,
    trade_id: Any,
    side: Side,
    price: Any,
    qty: Any,
    fee: Any,
    fee_asset: Any,
    maker: bool,
    ts_ns: int | None,
) -> Fill:
    return Fill(
        venue=venue,
        symbol=symbol,
        client_id=cid,
        order_id=oid,
        trade_id=str(trade_id),
        side=side,
        price=Decimal(price),
        qty=Decimal(qty),
        fee=Decimal(fee or 0),
        fee_asset=fee_asset,
        liquidity="maker" if maker else "taker",
        ts_ns=ts_ns,
    )


# ``myTrades``/``userTrades``: trades a page, the most the venue gives (default 500).
FILLS_PAGE = 1000


class BinanceGrammar:
    """The calls and readers spot and USDⓈ-M futures share; a subclass names its paths."""

    venue: ClassVar[str]
    order_path: ClassVar[str]
    open_orders_path: ClassVar[str]
    info_path: ClassVar[str]
    trades_path: ClassVar[str]  # the account's trades (``myTrades``, ``userTrades``)
    # One order's trades paged from its oldest (``orderId`` + ``fromId``): spot's documented
    # combinations list the pair ("symbol + orderId + fromId"); USDⓈ-M's ``userTrades`` names none.
    order_fills_paged: ClassVar[bool] = False
    order_fills_oldest_first: ClassVar[bool] = True  # as every ``myTrades``/``userTrades`` answer
    # WS API methods of the REST calls the grammar builds (the same parameters and answers).
    ws_methods: ClassVar[Mapping[tuple[str, str], str]]

    def _one(self, method: str, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        p = {"symbol": symbol}
        if order_id is not None:
            p["orderId"] = order_id
        else:
            p["origClientOrderId"] = client_id or ""
        return Call(method, self.order_path, p)

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return self._one("DELETE", symbol, client_id, order_id)

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        return self._one("GET", symbol, client_id, order_id)

    def open_orders(self, symbol: str | None) -> Call:
        return Call("GET", self.open_orders_path, {"symbol": symbol} if symbol else {})

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"symbol": symbol}
        if since_ms is not None:
            p["startTime"] = str(since_ms)
        p["limit"] = str(FILLS_PAGE)
        return Call("GET", self.trades_path, p)

    def order_fills(self, symbol: str, order_id: str) -> Call:
        """One order's executions, oldest first: from its first (``orderId`` + ``fromId`` 0, then
        page after page) where the venue documents the pair (``order_fills_paged``), else its most
        recent page (``orderId`` alone: without ``fromId`` the venue lists the newest trades)."""
        p = {"symbol": symbol, "orderId": order_id}
        if self.order_fills_paged:
            p["fromId"] = "0"
        p["limit"] = str(FILLS_PAGE)
        return Call("GET", self.trades_path, p)

    def next_page(self, call: Call, body: Any) -> Call | None:
        """The trade search's next page: after a full page of trades from a start time or an id
        (listed oldest first), those from the page's last id on (``fromId``, which goes with
        ``symbol`` alone or with ``orderId``, never with a time range). One order's trades asked
        without ``fromId`` are one answer, its most recent; the other listings come whole."""
        if call.path != self.trades_path or ("orderId" in call.params and "fromId" not in call.params):
            return None
        if not isinstance(body, list) or not body or len(body) < int(call.params.get("limit", "500")):
            return None
        params = {k: v for k, v in call.params.items() if k not in ("startTime", "endTime")}
        params["fromId"] = str(max(int(t["id"]) for t in body) + 1)
        return replace(call, params=params)

    def instruments(self) -> Call:
        return Call("GET", self.info_path, {}, signed=False)

    def order_event(self, body: Mapping[str, Any], avg: Decimal | None, ts: int | None) -> OrderEvent:
        """An order answer's state (the fields spot and futures name alike)."""
        market = body.get("type") == "MARKET"
        return OrderEvent(
            source="rest",
            # A cancel's answer names the order's own client id as ``origClientOrderId`` and the
            # cancel's as ``clientOrderId``: the order's first, else an answer coming before the
            # order id is known (its place's answer still on the way) is an untracked order's.
            client_id=body.get("origClientOrderId") or body.get("clientOrderId") or "",
            order_id=str(body["orderId"]),
            status=STATUS.get(body["status"], "new"),
            filled_cum=Decimal(body["executedQty"]),
            avg_price=avg,
            reason=expiry(body.get("expiryReason"), body["status"]),
            ts_ns=ts,
            venue=self.venue,
            symbol=body["symbol"],
            side=side_of(body["side"]),
            type="market" if market else "limit",
            tif=tif_of(body.get("timeInForce")),
            price=None if market else Decimal(body["price"]),
            qty=Decimal(body["origQty"]),
        )

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {s["symbol"]: from_binance_exchange_info(s) for s in body.get("symbols", ())}

    def read_open_limit(self, body: Any) -> int | None:
        """The orders the account may have open on every symbol together: exchangeInfo's
        ``exchangeFilters`` EXCHANGE_MAX_NUM_ORDERS (``maxNumOrders``), where the venue sets one."""
        for f in body.get("exchangeFilters", ()) if isinstance(body, dict) else ():
            if f.get("filterType") == "EXCHANGE_MAX_NUM_ORDERS" and f.get("maxNumOrders"):
                return int(f["maxNumOrders"])
        return None

    def read_answer(self, status: int, body: bytes) -> Any:
        if status < 400:
            return orjson.loads(body)
        try:
            msg = orjson.loads(body)
            code, text = msg.get("code"), str(msg.get("msg", ""))
        except (orjson.JSONDecodeError, AttributeError):
            code, text = None, excerpt(body)
        raise error_for(self.venue, code, text, http_status=status)

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)

    # Sockets sign each request: no log-in step.

    def login(self, signer: Any) -> bytes | None:
        return None

    def login_ack(self, msg: Any) -> bool:
        return False

    # "A connection is valid for 24 h" (venues.md §1.3): the trading sockets renew theirs before.
    socket_lifetime_s = 86_400.0

    def closing_notice(self, msg: Any) -> bool:
        """The venue's word that it will close this connection soon: ``serverShutdown`` (venues.md
        §1.3: "On receipt, reconnect")."""
        ev = msg.get("event") if isinstance(msg, dict) else None
        return isinstance(ev, dict) and ev.get("e") == "serverShutdown"

    def session_revoked(self, msg: Any) -> TickwireError | None:
        """The venue's revocation of the connection's logged-on session — venues.md §1.3: "If the key
        becomes invalid, the session is revoked with `{"id":null,"status":401,"error":{"code":-2015,
        ...}}`" — as the error naming it (an ``AuthError``); None for any other message. An answer
        with no id answers no request: without this it was dropped, and the socket stayed "logged
        on" while each request on it was refused in turn."""
        if not isinstance(msg, dict) or msg.get("id") is not None or "id" not in msg:
            return None
        err = msg.get("error")
        if msg.get("status") != 401 or not isinstance(err, dict):
            return None
        text = str(err.get("msg", ""))
        e = error_for(self.venue, err.get("code"), text, http_status=401)
        e.args = (f"{self.venue}: the WS API session was revoked by the venue (the key became invalid): {e}",)
        return e

    # order socket: the WS API takes the same parameters as REST, signed in the request

    ws_label = "ws_api"

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        method = self.ws_methods.get((call.method, call.path))
        if method is None:
            return None
        params = signer.ws_signed_params(dict(call.params))
        return orjson.dumps({"id": request_id, "method": method, "params": params})

    def ws_answer_id(self, msg: Any) -> str | None:
        rid = msg.get("id") if isinstance(msg, dict) else None
        return rid if isinstance(rid, str) else None

    def read_ws_answer(self, msg: Any) -> Any:
        status = int(msg.get("status", 0))
        if status == 200:
            return msg.get("result")
        err = msg.get("error") or {}
        e = error_for(self.venue, err.get("code"), str(err.get("msg", "")), http_status=status)
        if status in (418, 429):
            # ``data.retryAfter`` is when the ban or the window ends, on the venue's clock, which
            # ``data.serverTime`` reads: the wait is their difference, whatever our clock says.
            data = err.get("data")
            until, now = (
                (data.get("retryAfter"), data.get("serverTime")) if isinstance(data, dict) else (0, 0)
            )
            if isinstance(until, int) and isinstance(now, int) and until > now:
                e.__dict__["retry_after"] = (until - now) / 1000
        raise e
