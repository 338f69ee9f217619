"""OKX v5 spot (``tdMode`` ``cash``) order entry for ``tickwire.trade``: the JSON body or query of each
``/api/v5/trade/…`` call and readers of the venue's answers (orders, fills, balances, instruments,
``code``/``sCode`` errors); on the logged-in ``/ws/v5/private`` socket the ``orders`` channel (the
private stream) and the ``order``/``cancel-order``/``amend-order`` ops (WebSocket order entry), which
name the instrument by its integer ``instIdCode``: OKX delisted ``instId`` from them in March 2026
(its API changelog, "Delist instId request parameter in WS order operation channels": "any instId
value provided will be ignored"); REST still takes ``instId``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson

from tickwire.auth import now_ms
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_okx_instrument, okx_rule_changes
from tickwire.trading.venue import Balance, Call
from tickwire.venues.okx import limits as rate

__all__ = ["Orders"]


# ``orders-pending`` gives at most 100 orders an answer (its ``limit``, 100 by default).
PENDING_PAGE = 100
# ``GET /api/v5/trade/fills``: 100 a page at most, newest first, older ones ``after`` a ``billId``.
FILLS_PAGE = 100
# ``batch-orders``: "Place orders in batches. Maximum 20 orders can be placed per request."
BATCH_PLACE_MAX = 20
FILLS_PATH = "/api/v5/trade/fills"
# ``fills`` reaches back 3 days ("Get transaction details (last 3 days)"), ``fills-history`` 3 months:
# a search from further back than ``fills`` reaches (an hour to spare for the clocks) asks the history.
FILLS_HISTORY_PATH = "/api/v5/trade/fills-history"
FILLS_REACH_MS = 3 * 86_400_000 - 3_600_000


# okx.com/docs-v5 "Get order details" state: canceled, live, partially_filled, filled, mmp_canceled.
_STATUS: dict[str, Status] = {
    "live": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "mmp_canceled": "canceled",
}
# ordType as the venue reports it: the order's type and time in force.
_ORD_TYPE: dict[str, tuple[OrderType, Tif]] = {
    "market": ("market", "IOC"),
    "limit": ("limit", "GTC"),
    "post_only": ("limit", "GTC"),
    "ioc": ("limit", "IOC"),
    "fok": ("limit", "FOK"),
    "optimal_limit_ioc": ("market", "IOC"),
}
# "Cancel multiple orders": at most 20 orders per request.
BATCH_CANCEL_MAX = 20
# WebSocket ops of the REST calls the grammar builds (the same JSON arguments and answers).
_WS_OPS = {
    ("POST", "/api/v5/trade/order"): "order",
    ("POST", "/api/v5/trade/cancel-order"): "cancel-order",
    ("POST", "/api/v5/trade/amend-order"): "amend-order",
}
_ORDERS_CHANNEL = {"channel": "orders", "instType": "SPOT"}
# Ops that take ``expTime`` (OKX "Transaction timeouts": a place or amend the server has not processed
# by then is discarded, not executed late) — on the order socket as the op's field, over REST as a
# request header, batches included.
_EXPIRING_OPS = frozenset({"order", "amend-order"})
_EXPIRING_PATHS = frozenset(
    {
        "/api/v5/trade/order",
        "/api/v5/trade/batch-orders",
        "/api/v5/trade/amend-order",
        "/api/v5/trade/amend-batch-orders",
    }
)


def _s_msg(entry: dict[str, Any], default: str) -> str:
    """A failed entry's ``sMsg`` (else ``default``) with its ``subCode`` where OKX gives one: since
    2026-03-10 places and amends refine ``sCode`` by it (``51008`` with ``1000`` to ``1003``: which
    margin or borrowing rule refused the funds; ``""`` when none). The class stays ``sCode``'s."""
    text = str(entry.get("sMsg") or default)
    sub = entry.get("subCode")
    return f"{text} (subCode {sub})" if isinstance(sub, str | int) and str(sub) not in ("", "0") else text


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "") else None


def _dec(x: Any) -> Decimal | None:
    return Decimal(x) if x not in (None, "") else None


def _json(obj: object) -> str:
    return orjson.dumps(obj).decode()


class Orders:
    """OKX v5 spot order entry over REST (``tdMode`` ``cash``): ``/api/v5/trade/order`` and friends,
    JSON bodies signed as sent. Post-only limit orders are ``ordType`` ``post_only``, IOC/FOK limits
    ``ioc``/``fok``; a market buy is sized in the base currency (``tgtCcy`` ``base_ccy``; OKX's default
    for buys is the quote currency). The client id is ``clOrdId`` (OKX refuses a duplicate).

    Place and cancel answer with an acknowledgement only (``ordId``, ``sCode``): the session then asks
    for the order's state. OKX answers errors with HTTP 200 and ``code`` != "0", the per-order cause in
    ``data[].sCode``/``sMsg``. Spot has no cancel-all by symbol: ``cancel_all`` gives None and the
    session cancels the open orders with ``cancel-batch-orders``, 20 per request."""

    venue = "okx"
    # Dead-man switch: one account-wide countdown, whole seconds, 10 to 120 (0 disarms).
    dead_man_range = (10.0, 120.0)

    def __init__(self) -> None:
        # instId -> instIdCode, from the instruments the session loads at its start (``read_rules``):
        # the name the order socket's ops take.
        self.inst_codes: dict[str, int] = {}

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> list[Call]:
        """``POST /api/v5/trade/cancel-all-after``: every open order of the account is cancelled
        ``timeOut`` seconds after the last call; "0" disarms (``symbols`` unused: account-wide)."""
        return [
            Call("POST", "/api/v5/trade/cancel-all-after", body=_json({"timeOut": str(round(timeout_s))}))
        ]

    # Rate limits (``tickwire.limits``): per instrument and operation, as OKX counts them.
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)

    def new_order(self, order: Order) -> Call:
        body: dict[str, str] = {
            "instId": order.symbol,
            "tdMode": "cash",
            "side": order.side,
            "ordType": "market",
            "sz": format_decimal(order.qty),
            "clOrdId": order.client_id,
        }
        if order.type == "limit":
            assert order.price is not None
            body["ordType"] = (
                "post_only" if order.post_only else {"IOC": "ioc", "FOK": "fok"}.get(order.tif, "limit")
            )
            body["px"] = format_decimal(order.price)
        else:
            body["tgtCcy"] = "base_ccy"  # sz is the base quantity, for buys too
        return Call("POST", "/api/v5/trade/order", body=_json(body))

    def new_orders(self, orders: Sequence[Order]) -> list[tuple[Call, list[Order]]]:
        """``POST /api/v5/trade/batch-orders``: the orders' ``new_order`` bodies, ``BATCH_PLACE_MAX``
        a request; each entry of the answer is one order's acknowledgement or its own ``sCode``."""
        out = []
        for i in range(0, len(orders), BATCH_PLACE_MAX):
            chunk = list(orders[i : i + BATCH_PLACE_MAX])
            args = [orjson.loads(self.new_order(o).body) for o in chunk]
            out.append((Call("POST", "/api/v5/trade/batch-orders", body=_json(args)), chunk))
        return out

    @staticmethod
    def _ids(symbol: str, client_id: str | None, order_id: str | None) -> dict[str, str]:
        p = {"instId": symbol}
        if order_id is not None:
            p["ordId"] = order_id
        else:
            p["clOrdId"] = client_id or ""
        return p

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        return Call("POST", "/api/v5/trade/cancel-order", body=_json(self._ids(symbol, client_id, order_id)))

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``amend-order``: ``newSz`` is the new total size (filled part included), ``newPx`` the new
        price; OKX answers with an acknowledgement (``sCode``), the order keeps its ids."""
        body = self._ids(order.symbol, order.client_id or None, order.order_id)
        if qty is not None:
            body["newSz"] = format_decimal(qty)
        if price is not None:
            body["newPx"] = format_decimal(price)
        return Call("POST", "/api/v5/trade/amend-order", body=_json(body))

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        return Call("GET", "/api/v5/trade/order", self._ids(symbol, client_id, order_id))

    def open_orders(self, symbol: str | None) -> Call:
        p = {"instType": "SPOT"}
        if symbol:
            p["instId"] = symbol
        return Call("GET", "/api/v5/trade/orders-pending", p)

    @staticmethod
    def next_page(call: Call, body: Any) -> Call | None:
        """A full page (the ``limit`` asked, 100 by default) may have more after it: the entries
        older than its last (``after``: "records earlier than the requested" ``ordId`` for orders,
        ``billId`` for fills; newest first)."""
        key = "billId" if call.path in (FILLS_PATH, FILLS_HISTORY_PATH) else "ordId"
        if (
            len(body) < int(call.params.get("limit", PENDING_PAGE))
            or not isinstance(body[-1], dict)
            or not body[-1].get(key)
        ):
            return None
        return call.with_param("after", str(body[-1][key]))

    def cancel_all(self, symbol: str) -> Call | None:
        return None  # no cancel-all for spot over REST: cancel_orders() on the open orders

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        args = [self._ids(symbol, o.client_id or None, o.order_id) for o in orders]
        return [
            Call("POST", "/api/v5/trade/cancel-batch-orders", body=_json(args[i : i + BATCH_CANCEL_MAX]))
            for i in range(0, len(args), BATCH_CANCEL_MAX)
        ]

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"instType": "SPOT", "instId": symbol}
        if since_ms is not None:
            p["begin"] = str(since_ms)
        p["limit"] = str(FILLS_PAGE)
        old = since_ms is not None and since_ms < now_ms() - FILLS_REACH_MS
        return Call("GET", FILLS_HISTORY_PATH if old else FILLS_PATH, p)

    def order_fills(self, symbol: str, order_id: str) -> Call:
        """One order's executions of the last 3 days (``ordId``), newest first, a page at a time."""
        p = {"instType": "SPOT", "instId": symbol, "ordId": order_id, "limit": str(FILLS_PAGE)}
        return Call("GET", FILLS_PATH, p)

    def order_fills_older(self, symbol: str, order_id: str) -> Call:
        """The same from ``fills-history`` (the last 3 months): asked when the last 3 days do not hold
        all the order filled (a resting order that traded days ago, its word missed)."""
        return replace(self.order_fills(symbol, order_id), path=FILLS_HISTORY_PATH)

    def balances(self) -> Call:
        return Call("GET", "/api/v5/account/balance")

    def instruments(self) -> Call:
        return Call("GET", "/api/v5/public/instruments", {"instType": "SPOT"}, signed=False)

    def read_order(self, body: Any) -> list[OrderEvent]:
        """An order (``GET order``, ``orders-pending``) as its state; an acknowledgement (place, cancel)
        as an ``ack`` event stating no status. A ``data`` list is read by its first entry."""
        o = body[0] if isinstance(body, list) else body
        cid, oid = str(o.get("clOrdId") or ""), str(o.get("ordId") or "") or None
        if "state" not in o:
            s_code = str(o.get("sCode", "0"))
            if s_code != "0":
                raise error_for(self.venue, s_code, _s_msg(o, ""), client_id=cid or None)
            return [OrderEvent(source="ack", client_id=cid, order_id=oid, ts_ns=_ms_ns(o.get("ts")))]
        filled = _dec(o.get("accFillSz")) or Decimal(0)
        kind, tif = _ORD_TYPE.get(str(o.get("ordType")), ("limit", "GTC"))
        fee = _dec(o.get("fee"))
        return [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(str(o["state"]), "new"),
                filled_cum=filled,
                avg_price=_dec(o.get("avgPx")) if filled > 0 else None,
                fee_cum=-fee if fee is not None else None,  # OKX states a charged fee as negative
                fee_asset=o.get("feeCcy") or None,
                ts_ns=_ms_ns(o.get("uTime") or o.get("cTime")),
                venue=self.venue,
                symbol=str(o["instId"]),
                side="buy" if o["side"] == "buy" else "sell",
                type=kind,
                tif=tif,
                price=_dec(o.get("px")) if kind == "limit" else None,
                qty=Decimal(o["sz"]),
            )
        ]

    def read_fills(self, body: Any) -> list[Fill]:
        out = []
        for t in body:
            side: Side = "buy" if t["side"] == "buy" else "sell"
            fee = _dec(t.get("fee")) or Decimal(0)
            out.append(
                Fill(
                    venue=self.venue,
                    symbol=str(t["instId"]),
                    client_id=str(t.get("clOrdId") or ""),
                    order_id=str(t["ordId"]),
                    trade_id=str(t["tradeId"]),
                    side=side,
                    price=Decimal(t["fillPx"]),
                    qty=Decimal(t["fillSz"]),
                    fee=-fee,  # negative: charged, positive: rebate
                    fee_asset=t.get("feeCcy") or None,
                    liquidity="maker" if t.get("execType") == "M" else "taker",
                    ts_ns=_ms_ns(t.get("fillTime") or t.get("ts")),
                )
            )
        return out

    def read_balances(self, body: Any) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for acct in body:
            for d in acct.get("details", ()):
                free = _dec(d.get("availBal")) or Decimal(0)
                out[d["ccy"]] = Balance(d["ccy"], free, _dec(d.get("frozenBal")) or Decimal(0))
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        for i in body:
            code = i.get("instIdCode")
            if isinstance(code, int) and not isinstance(code, bool):
                self.inst_codes[str(i["instId"])] = code
        return {str(i["instId"]): from_okx_instrument(i) for i in body}

    def rule_changes(self, body: Any) -> list[int]:
        """When the changes the instrument list announces (``upcChg``) take effect: the session reads
        the list again shortly after the earliest (``RulesRecheck.at``)."""
        return [t for i in body for t in okx_rule_changes(i)]

    def read_answer(self, status: int, body: bytes) -> Any:
        """``data`` of a success; of a batch's partial success (``code`` "2") too, each entry with its
        own ``sCode`` (``read_order`` raises a failed one's error). Otherwise the error of the first
        failed entry's ``sCode``/``sMsg``, else of ``code``/``msg``."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict):
            raise error_for(self.venue, None, body[:200].decode(errors="replace"), http_status=status)
        return self._data(status, msg)

    def _data(self, status: int, msg: dict[str, Any]) -> Any:
        code, text, data = str(msg.get("code", "")), str(msg.get("msg", "")), msg.get("data")
        if status < 400 and (code == "0" or (code == "2" and isinstance(data, list))):
            return data if data is not None else []
        entries = data if isinstance(data, list) else ()  # a batch's; else the code is the error's
        failed = [d for d in entries if isinstance(d, dict) and str(d.get("sCode", "0")) != "0"]
        if failed:
            code, text = str(failed[0]["sCode"]), _s_msg(failed[0], text)
        e = error_for(self.venue, code or None, text, http_status=status)
        if failed and isinstance(data, list):
            # A batch refused whole (code "1") may be refused for a different cause per entry (funds,
            # rate): each entry's own error is read from these (``trading.batch``).
            e.__dict__["_entries"] = data  # private: not a field the bus carries
        raise e

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)

    def closing_notice(self, msg: Any) -> bool:
        """OKX's word that it will close the connection for a service upgrade: ``{"event":"notice",
        "code":"64008","msg":"The connection will soon be closed for a service upgrade. Please
        reconnect."}``, 60 s ahead since 2025-06-02 (changelog 2025-05-27). The order socket and the
        private stream connect anew at once instead of being cut with requests and events on their
        way."""
        return isinstance(msg, dict) and msg.get("event") == "notice"

    # The private socket: one ``login`` per connection, then the ``orders`` channel or order ops.

    stream_label = "private"
    ws_label = "private"

    # OKX cuts a connection that pushed nothing for 30 s; a client idle for N < 30 s sends the text
    # ``ping`` and the venue answers ``pong`` (venues.md §2, Connect): the sockets' heartbeat
    # (``trading.kept_socket.Keepalive``; a WebSocket ping frame is not documented to count).
    def socket_ping(self) -> bytes:
        return b"ping"

    def is_socket_pong(self, payload: bytes) -> bool:
        return payload == b"pong"

    def login(self, signer: Any) -> bytes | None:
        return orjson.dumps(signer.ws_auth_message())

    def login_ack(self, msg: Any) -> bool:
        """True for ``{"event":"login","code":"0"}``; a refused login (``event`` "error" before any
        other request, or a login ``code`` != "0") raises its typed error."""
        if not isinstance(msg, dict) or msg.get("event") not in ("login", "error"):
            return False
        if msg["event"] == "login" and str(msg.get("code", "0")) == "0":
            return True
        raise error_for(self.venue, str(msg.get("code") or "") or None, str(msg.get("msg", "")))

    def stream_subscribe(self, signer: Any) -> bytes:
        return orjson.dumps({"op": "subscribe", "args": [_ORDERS_CHANNEL]})

    def stream_ack(self, msg: Any) -> bool:
        return (
            isinstance(msg, dict)
            and msg.get("event") == "subscribe"
            and (msg.get("arg") or {}).get("channel") == "orders"
        )

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """An ``orders`` channel push: each order's state, cumulative fill (``accFillSz``, ``avgPx``)
        and, for a trade, the fill (``tradeId``, ``fillPx``/``fillSz``, ``fillFee`` charged negative)."""
        if not isinstance(msg, dict) or (msg.get("arg") or {}).get("channel") != "orders":
            return []
        out = []
        for o in msg.get("data") or ():
            ev = self.read_order(o)[0]
            fill_sz = _dec(o.get("fillSz")) or Decimal(0)
            fill = None
            if o.get("tradeId") and fill_sz > 0:
                fee = _dec(o.get("fillFee")) or Decimal(0)
                fill = Fill(
                    venue=self.venue,
                    symbol=str(o["instId"]),
                    client_id=ev.client_id,
                    order_id=ev.order_id or "",
                    trade_id=str(o["tradeId"]),
                    side=ev.side or "buy",
                    price=Decimal(o["fillPx"]),
                    qty=fill_sz,
                    fee=-fee,  # OKX states a charged fee as negative
                    fee_asset=o.get("fillFeeCcy") or None,
                    liquidity="maker" if o.get("execType") == "M" else "taker",
                    ts_ns=_ms_ns(o.get("fillTime") or o.get("uTime")),
                )
            out.append(replace(ev, source="stream", fill=fill))
        return out

    # ``expTime`` of places and amends, over the order socket and REST, ms from signing (0: none). The
    # default session ``timeout`` (5 s); a lost one is not called absent before it has passed
    # (``request_window_ms``): a shorter ``timeout`` or a cut socket ends the wait for the answer
    # earlier, while the venue may still execute the place.
    request_ttl_ms = 5000

    def request_window_ms(self, signer: Any) -> float | None:
        """How long after it was signed the venue may still execute a place or amend: its ``expTime``
        (None without one), which every place and amend carries, REST and socket alike. One the venue
        has not processed by then is discarded: reconciliation waits that long before calling a lost
        one absent."""
        return float(self.request_ttl_ms) if self.request_ttl_ms else None

    def rest_headers(self, call: Call, signer: Any) -> dict[str, str]:
        """The ``expTime`` header of a REST place or amend (batches too), on the signer's clock as
        the socket's field is (and as order templates stamp it); none on other calls."""
        # By method too: ``GET /api/v5/trade/order`` (an order's state) shares the place's path.
        if call.method != "POST" or call.path not in _EXPIRING_PATHS or not self.request_ttl_ms:
            return {}
        clock = getattr(signer, "clock", now_ms)
        return {"expTime": str(clock() + self.request_ttl_ms)}

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        """The op of a place, cancel or amend (the REST call's JSON body as its one argument, its
        ``instId`` named by ``instIdCode``); None for everything else (queries, batches), which goes
        over REST. An instrument whose code the instruments did not list keeps its ``instId`` (what
        OKX took before 2026), so the venue's own answer says what it wants."""
        op = _WS_OPS.get((call.method, call.path))
        if op is None or not call.body:
            return None
        arg = orjson.loads(call.body)
        code = self.inst_codes.get(arg.get("instId", ""))
        if code is not None:  # in instId's place, so the op reads as OKX's documents write it
            arg = {
                ("instIdCode" if k == "instId" else k): (code if k == "instId" else v) for k, v in arg.items()
            }
        req: dict[str, Any] = {"id": request_id, "op": op, "args": [arg]}
        if op in _EXPIRING_OPS and self.request_ttl_ms:
            # Not executed if it reaches the engine later than the session would wait for its answer;
            # on the signer's clock (the venue's when measured), as order templates stamp it.
            clock = getattr(signer, "clock", now_ms)
            req["expTime"] = str(clock() + self.request_ttl_ms)
        return orjson.dumps(req)

    def ws_answer_id(self, msg: Any) -> str | None:
        rid = msg.get("id") if isinstance(msg, dict) else None
        return rid if isinstance(rid, str) and rid else None

    def read_ws_answer(self, msg: Any) -> Any:
        """``data`` as ``read_answer`` gives it: ``code`` "0" (or a batch's "2") with each order's
        ``sCode``; otherwise the failed order's ``sCode``/``sMsg``, else ``code``/``msg``."""
        return self._data(200, msg)
