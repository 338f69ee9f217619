"""Binance spot order entry for ``tickwire.trade``: the REST calls (and their WS API forms) of each
operation, the private stream (WS API ``userDataStream.subscribe.signature``), and readers of the
venue's answers — orders, fills, balances, ``exchangeInfo`` filters, error codes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, Side, Status
from tickwire.trading.rules import InstrumentRules, from_binance_exchange_info
from tickwire.trading.venue import Balance, Call
from tickwire.venues.binance import limits as rate

if TYPE_CHECKING:
    pass


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


_STREAM_ID = "tickwire-user-data"
# WS API methods of the REST calls the grammar builds (the same parameters and answers).
_WS_METHODS = {
    ("POST", "/api/v3/order"): "order.place",
    ("DELETE", "/api/v3/order"): "order.cancel",
    ("GET", "/api/v3/order"): "order.status",
    ("GET", "/api/v3/openOrders"): "openOrders.status",
    ("DELETE", "/api/v3/openOrders"): "openOrders.cancelAll",
    ("GET", "/api/v3/account"): "account.status",
    ("GET", "/api/v3/myTrades"): "myTrades",
}


def _fill(
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
        venue="binance",
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


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms is not None else None


class Orders:
    """Binance spot order entry over REST (``/api/v3/order`` and friends): request parameters as the
    venue documents them and readers of its answers. Post-only limit orders are ``LIMIT_MAKER``; an
    order's client id is ``newClientOrderId`` (unique among the account's *open* orders only, so a
    lost answer is reconciled by query, never resent)."""

    venue = "binance"
    # Rate limits (``tickwire.limits``): declared, weighed, corrected from headers and exchangeInfo.
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)
    read_usage = staticmethod(rate.read_usage)
    read_limits = staticmethod(rate.read_limits)

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
            # An order's answer lists only what it took: its own executions as the taker.
            fill = _fill(
                body["symbol"],
                cid,
                oid,
                f["tradeId"],
                side,
                f["price"],
                f["qty"],
                f.get("commission"),
                f.get("commissionAsset"),
                False,
                ts,
            )
            events.append(OrderEvent(source="rest", client_id=cid, order_id=oid, status=None, fill=fill))
        return events

    def read_fills(self, body: Any) -> list[Fill]:
        return [
            _fill(
                t["symbol"],
                "",
                str(t["orderId"]),
                t["id"],
                "buy" if t["isBuyer"] else "sell",
                t["price"],
                t["qty"],
                t.get("commission"),
                t.get("commissionAsset"),
                bool(t.get("isMaker")),
                _ms_ns(t.get("time")),
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

    # Both sockets sign each request: no log-in step.

    def login(self, signer: Any) -> bytes | None:
        return None

    def login_ack(self, msg: Any) -> bool:
        return False

    # order socket: the WS API takes the same parameters as REST, signed in the request

    ws_label = "ws_api"

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        method = _WS_METHODS.get((call.method, call.path))
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
        raise error_for(self.venue, err.get("code"), str(err.get("msg", "")), http_status=status)

    # private stream: the WS API user data stream (spot listenKeys were retired on 2026-02-20)

    stream_label = "ws_api"

    def stream_subscribe(self, signer: Any) -> bytes:
        params = signer.ws_signed_params({})
        return orjson.dumps(
            {"id": _STREAM_ID, "method": "userDataStream.subscribe.signature", "params": params}
        )

    def stream_ack(self, msg: Any) -> bool:
        return isinstance(msg, dict) and msg.get("id") == _STREAM_ID and msg.get("status") == 200

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        ev = msg.get("event") if isinstance(msg, dict) else None
        if not isinstance(ev, dict) or ev.get("e") != "executionReport":
            return []
        status = _STATUS.get(ev["X"], "new")
        # A cancel report names the cancel request in "c" and the order's own client id in "C".
        cid = ev.get("C") or ev["c"] if ev["X"] == "CANCELED" else ev["c"]
        oid = str(ev["i"])
        side: Side = "buy" if ev["S"] == "BUY" else "sell"
        filled = Decimal(ev["z"])
        quote = Decimal(ev.get("Z") or 0)
        ts = _ms_ns(ev.get("E"))
        fill = None
        if ev.get("x") == "TRADE":
            fill = _fill(
                ev["s"],
                cid,
                oid,
                ev["t"],
                side,
                ev["L"],
                ev["l"],
                ev.get("n"),
                ev.get("N"),
                bool(ev.get("m")),
                _ms_ns(ev.get("T")),
            )
        return [
            OrderEvent(
                source="stream",
                client_id=cid,
                order_id=oid,
                status=status,
                filled_cum=filled,
                avg_price=quote / filled if filled > 0 and quote > 0 else None,
                fill=fill,
                reason="" if ev.get("r") in (None, "NONE") else str(ev["r"]),
                ts_ns=ts,
                venue=self.venue,
                symbol=ev["s"],
                side=side,
                qty=Decimal(ev["q"]),
            )
        ]

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
