"""Bybit v5 spot order entry for ``tickwire.trade``: the JSON body or query of each ``/v5/order/…`` call
and readers of the venue's answers (orders, executions, wallet balance, instruments, ``retCode`` errors
on HTTP 200)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_bybit_instrument
from tickwire.trading.venue import Balance, Call

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
