"""Bybit v5 spot order entry for ``tickwire.trade``: the JSON body or query of each ``/v5/order/…`` call
and readers of the venue's answers (orders, executions, wallet balance, instruments, ``retCode`` errors
on HTTP 200); the private stream (``/v5/private``: ``auth``, then the ``order.spot`` and
``execution.spot`` topics) and WebSocket order entry (``/v5/trade``: ``auth``, then ``order.create``,
``order.amend``, ``order.cancel`` with the REST bodies as their argument)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson

from tickwire.audit import excerpt
from tickwire.auth import now_ms
from tickwire.errors import AuthError, OrderNotFound, TickwireError
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_bybit_instrument
from tickwire.trading.venue import Balance, Call, Page
from tickwire.venues.bybit import limits as rate
from tickwire.venues.bybit.market import is_pong
from tickwire.venues.bybit.signer import DEFAULT_RECV_WINDOW

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
# WebSocket ops of the REST calls the grammar builds (docs/v5/websocket/trade/guideline.mdx): the REST
# body is the op's one argument, the answer's ``data`` is the REST ``result``.
_WS_OPS = {
    ("POST", "/v5/order/create"): "order.create",
    ("POST", "/v5/order/amend"): "order.amend",
    ("POST", "/v5/order/cancel"): "order.cancel",
}
# The categorised topics (docs/v5/websocket/private/order.mdx, execution.mdx): spot only. Their pushes
# name the topic they were subscribed as ("order.spot"); the all-in-one "order"/"execution" are read too.
_STREAM_TOPICS = ("order.spot", "execution.spot")
# ``/v5/execution/list``: 100 a page at most (docs: limit 1-100), the next by ``cursor``.
FILLS_PAGE = 100
FILLS_PATH = "/v5/execution/list"
# A time search answers 7 days at most ("Only startTime is passed, return range between startTime and
# startTime+7 days"; "If both are passed, the rule is endTime - startTime <= 7 days"): a search from
# an older time reads a week after the other.
FILLS_WEEK_MS = 7 * 86_400_000
# ``rejectReason`` of an order that was not refused.
_NO_REASON = ("", "EC_NoError")
# ``/v5/order/create-batch`` (docs/v5/order/batch-place.mdx): "A maximum of … 10 orders (spot) can be
# placed per request"; the answer's ``result.list`` and ``retExtInfo.list`` (each entry's ``code`` and
# ``msg``) are "completely consistent", entry for entry.
BATCH_PLACE_MAX = 10
BATCH_PLACE_PATH = "/v5/order/create-batch"

log = logging.getLogger("tickwire.trading")


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "") else None


def _entry(result: Any, ext: Any) -> Any:
    """A batch entry: its ``result`` half, with its ``retExtInfo`` half's refusal where it has one."""
    if not isinstance(result, dict) or not isinstance(ext, dict) or str(ext.get("code", "0")) == "0":
        return result
    return {**result, "retCode": ext.get("code"), "retMsg": ext.get("msg", "")}


def _fee(o: Any) -> tuple[Decimal | None, str | None]:
    """An order's cumulative fee and its coin. For spot ``cumFeeDetail`` ({coin: amount}) replaces the
    deprecated ``cumExecFee``/``feeCurrency``; a fee paid in several coins has no one total: None."""
    detail = o.get("cumFeeDetail")
    if isinstance(detail, dict) and detail:
        if len(detail) > 1:
            return None, None
        [(coin, amount)] = detail.items()
        return _dec(amount), str(coin)
    fee = _dec(o.get("cumExecFee"))
    return fee, (o.get("feeCurrency") or None) if fee else None


class Orders:
    """Bybit v5 spot order entry over REST (``category`` ``spot``): ``/v5/order/create`` and friends,
    JSON bodies signed as sent. Post-only limit orders are ``timeInForce`` ``PostOnly``; a market buy
    is sized in the base coin (``marketUnit`` ``baseCoin``; Bybit's default for spot market buys is
    the quote coin). The client id is ``orderLinkId`` (Bybit refuses a duplicate, 110072).

    Create, amend and cancel answer with ``orderId``/``orderLinkId`` only: the session then asks for the
    order's state with ``GET /v5/order/realtime``, which lists an unknown order as an empty list.
    Bybit answers errors with HTTP 200 and ``retCode`` != 0. ``cancel-all`` by symbol lists the
    cancelled orders' ids.

    No dead-man switch (``dead_man=`` is ``NotSupported``): Bybit's ``POST
    /v5/order/disconnected-cancel-all`` (DCP, ``product`` SPOT, ``timeWindow`` 3-300 s) is no countdown
    to refresh — it fires when the private WebSocket subscribed to ``dcp`` has been gone for the window
    — and the venue enables it per account through the account manager (institutional accounts).

    After ``auth`` (each connection, both sockets) the private stream is the ``order.spot`` and
    ``execution.spot`` topics, and create, amend and cancel go over the trade socket as ``order.*`` ops
    with the same JSON and the same answers; queries and cancel-all stay REST."""

    venue = "bybit"
    # Rate limits (``tickwire.limits``): per UID and endpoint, per IP; usage from X-Bapi-Limit-Status.
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)
    read_usage = staticmethod(rate.read_usage)
    read_ws_usage = staticmethod(rate.read_ws_usage)
    read_reset = staticmethod(rate.read_reset)
    read_ws_reset = staticmethod(rate.read_ws_reset)
    stream_label = "private"  # the endpoint's WebSocket URL of the private stream
    ws_label = "trade"  # and of order entry

    def request_window_ms(self, signer: Any) -> float:
        """How long after its ``X-BAPI-TIMESTAMP`` the venue may still take a signed request: its
        ``X-BAPI-RECV-WINDOW`` (the signer's, 5000 ms by default; REST and the trade socket's ops alike),
        "server_time - recv_window <= timestamp" (docs v5 "Integration Guidance"). Reconciliation waits
        that long before calling a lost order absent; before, it did so after its queries (~0.6 s), and
        a request the venue took a second later was an order "not placed" to its caller. Bybit checks
        the window as a request arrives: one held inside the venue past it is beyond any client's view."""
        return float(getattr(signer, "recv_window", None) or DEFAULT_RECV_WINDOW)

    def __init__(self) -> None:
        # Makes this session's reqIds its own: Bybit refuses a repeated reqId (20006) without saying
        # whether per connection or per key, and other scripts on the key count from 1 too.
        self._req_tag = secrets.token_hex(4)

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

    # An entry's two halves are read side by side, in the request's order: a refused entry's
    # ``result`` half need not name its client id.
    batch_answers_in_order = True

    def new_orders(self, orders: Sequence[Order]) -> list[tuple[Call, list[Order]]]:
        """``POST /v5/order/create-batch``: the orders' ``new_order`` bodies under ``request``,
        ``BATCH_PLACE_MAX`` a request. Bybit counts each order against the endpoint's own limit (not
        the single create's), and past it refuses the request's later entries only (10006)."""
        out = []
        for i in range(0, len(orders), BATCH_PLACE_MAX):
            chunk = list(orders[i : i + BATCH_PLACE_MAX])
            request = []
            for o in chunk:
                body = orjson.loads(self.new_order(o).body)
                del body["category"]
                request.append(body)
            out.append(
                (Call("POST", BATCH_PLACE_PATH, body=_json({"category": "spot", "request": request})), chunk)
            )
        return out

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

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``/v5/order/amend``: ``qty`` is the order's new total quantity (filled part included), ``price``
        its new price; each only when it changes. Bybit answers with the ids only (an acknowledgement:
        "please use the websocket to confirm the order status"), the order keeps its ids."""
        body = self._ids(order.symbol, order.client_id or None, order.order_id)
        body.update((k, format_decimal(v)) for k, v in (("qty", qty), ("price", price)) if v is not None)
        return Call("POST", "/v5/order/amend", body=_json(body))

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        return Call("GET", "/v5/order/realtime", self._ids(symbol, client_id, order_id))

    def open_orders(self, symbol: str | None) -> Call:
        p = {"category": "spot"}
        if symbol:
            p["symbol"] = symbol
        p["openOnly"] = "0"
        p["limit"] = "50"  # the most a page holds (20 by default)
        return Call("GET", "/v5/order/realtime", p)

    @staticmethod
    def next_page(call: Call, body: Any) -> Call | None:
        """The listing's next page: the same query with the ``cursor`` Bybit answered
        (``nextPageCursor``, empty on the last page). An empty page ends it, whatever cursor it names
        (Bybit has been seen answering one that does not move). A fills search by time, its week
        read, goes on with the next week until one reaches the present."""
        more = getattr(body, "more", None)
        if more and len(body):
            return call.with_param("cursor", more)
        end = call.params.get("endTime")
        if call.path != FILLS_PATH or end is None or int(end) >= now_ms():
            return None
        params = {k: v for k, v in call.params.items() if k != "cursor"}
        params["startTime"], params["endTime"] = str(int(end) + 1), str(int(end) + 1 + FILLS_WEEK_MS)
        return replace(call, params=params)

    def cancel_all(self, symbol: str) -> Call | None:
        return Call("POST", "/v5/order/cancel-all", body=_json({"category": "spot", "symbol": symbol}))

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"category": "spot", "symbol": symbol}
        if since_ms is not None:
            p["startTime"], p["endTime"] = str(since_ms), str(since_ms + FILLS_WEEK_MS)
        p["limit"] = str(FILLS_PAGE)
        return Call("GET", FILLS_PATH, p)

    def order_fills(self, symbol: str, order_id: str) -> Call:
        """One order's executions (``orderId``), newest first, a page at a time (``cursor``)."""
        p = {"category": "spot", "symbol": symbol, "orderId": order_id, "limit": str(FILLS_PAGE)}
        return Call("GET", FILLS_PATH, p)

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
        if str(o.get("retCode", "0")) != "0":  # a batch entry the venue refused (``read_answer``)
            cid = str(o.get("orderLinkId") or "") or None
            raise error_for(self.venue, o["retCode"], str(o.get("retMsg", "")), client_id=cid)
        cid, oid = str(o.get("orderLinkId") or ""), str(o.get("orderId") or "") or None
        if "orderStatus" not in o:
            return [OrderEvent(source="ack", client_id=cid, order_id=oid)]
        filled = _dec(o.get("cumExecQty")) or Decimal(0)
        kind: OrderType = "market" if o.get("orderType") == "Market" else "limit"
        fee, fee_asset = _fee(o)
        reason = str(o.get("rejectReason") or "")
        return [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(str(o["orderStatus"]), "new"),
                filled_cum=filled,
                avg_price=_dec(o.get("avgPrice")) if filled > 0 else None,
                fee_cum=fee,
                fee_asset=fee_asset,
                reason="" if reason in _NO_REASON else reason,
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
        """Executions as ``/v5/execution/list`` and the ``execution`` topic both show them."""
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
            raise rate.ip_refusal(status, body) or error_for(
                self.venue, None, excerpt(body), http_status=status
            )
        result = self._result(status, msg, "result")
        ext = msg.get("retExtInfo")
        entries = ext.get("list") if isinstance(ext, dict) else None
        if isinstance(entries, list) and isinstance(result, list) and len(entries) == len(result):
            # A batch's answer: each entry's outcome beside its order (code 0: placed). Entries of
            # another shape are left as they are, and the batch reconciles what it cannot read.
            return [_entry(r, x) for r, x in zip(result, entries, strict=True)]
        return result

    def _result(self, status: int, msg: dict[str, Any], field: str) -> Any:
        code, text = msg["retCode"], str(msg.get("retMsg", ""))
        if status >= 400 or str(code) != "0":
            raise error_for(self.venue, code, text, http_status=status)
        result = msg.get(field) or {}
        if not isinstance(result, dict) or "list" not in result:
            return result
        return Page(result["list"], result.get("nextPageCursor") or None)

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)

    # The sockets: ``auth`` first on each connection (both), then the private topics or the order ops.

    # Bybit cuts a private or trade socket after 10 minutes without "ping-pong" or data and recommends
    # this ping every 20 s (docs/v5/ws/connect; venues.md §3): the sockets' heartbeat
    # (``trading.kept_socket.Keepalive``). Its pongs (private: op "pong", trade: op "pong" without a
    # reqId, spot-shaped: op "ping" with ret_msg "pong") are neither pushes nor answers.
    socket_ping_s = 20.0
    # Every 20 s whatever the socket hears: Bybit counts what the client sends (a private stream busy
    # with pushes is never idle, and an idle-only ping let the venue cut it every 10 minutes).
    socket_ping_periodic = True

    def socket_ping(self) -> bytes:
        return orjson.dumps({"op": "ping"})

    def is_socket_pong(self, payload: bytes) -> bool:
        if b"pong" not in payload:  # every frame comes here: most are told by this alone
            return False
        try:
            return is_pong(orjson.loads(payload))
        except orjson.JSONDecodeError:
            return False

    def login(self, signer: Any) -> bytes | None:
        return orjson.dumps(signer.ws_auth_message())

    def login_ack(self, msg: Any) -> bool:
        """True for the ``auth`` op's acceptance: ``success`` true on ``/v5/private``, ``retCode`` 0 on
        ``/v5/trade`` (20001, already authenticated, too). A refusal raises the typed error."""
        if not isinstance(msg, dict) or msg.get("op") != "auth":
            return False
        if "retCode" in msg:
            code = msg["retCode"]
            if str(code) in ("0", "20001"):
                return True
            raise error_for(self.venue, code, str(msg.get("retMsg", "")))
        if msg.get("success") is True:
            return True
        # The private socket's refusal has no code (docs/v5/ws/connect shows only the success).
        raise AuthError(f"{self.venue}: auth refused: {msg.get('ret_msg', '')}")

    def stream_subscribe(self, signer: Any) -> bytes:
        return orjson.dumps({"op": "subscribe", "args": list(_STREAM_TOPICS)})

    def stream_ack(self, msg: Any) -> bool:
        if not isinstance(msg, dict) or msg.get("op") != "subscribe":
            return False
        if msg.get("success") is not True:
            log.warning("%s: private topics refused: %s", self.venue, msg.get("ret_msg", ""))
            return False
        return True

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """An ``order`` push as each order's state (``cumExecQty``, ``avgPrice``, ``orderStatus``, its
        qty and price); an ``execution`` push as one fill per ``Trade`` execution (``execId``, price,
        qty, fee charged positive). Other categories' entries are skipped."""
        topic = msg.get("topic") if isinstance(msg, dict) else None
        kind = topic.partition(".")[0] if isinstance(topic, str) else ""
        if kind not in ("order", "execution"):
            return []
        out: list[OrderEvent] = []
        for d in msg.get("data") or ():
            if d.get("category", "spot") != "spot":
                continue
            if kind == "order":
                out.append(replace(self.read_order(d)[0], source="stream"))
            elif d.get("execType", "Trade") == "Trade":  # spot has no funding, ADL or bust trades
                [f] = self.read_fills([d])
                out.append(
                    OrderEvent(
                        source="stream",
                        client_id=f.client_id,
                        order_id=f.order_id,
                        fill=f,
                        ts_ns=f.ts_ns,
                        venue=self.venue,
                        symbol=f.symbol,
                        side=f.side,
                    )
                )
        return out

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        """The op of a create, amend or cancel: ``reqId``, the ``header`` with ``X-BAPI-TIMESTAMP`` and
        ``X-BAPI-RECV-WINDOW``, the REST body as the one argument; None for everything else (queries,
        cancel-all), which goes over REST."""
        op = _WS_OPS.get((call.method, call.path))
        if op is None or not call.body:
            return None
        rid = f"{request_id}-{self._req_tag}"  # "tw<n>-<8 hex>": well inside Bybit's 36 characters
        msg = {"reqId": rid, "header": signer.ws_header(), "op": op, "args": [orjson.loads(call.body)]}
        return orjson.dumps(msg)

    def ws_answer_id(self, msg: Any) -> str | None:
        """The id the request was made with (``ws_request``'s ``request_id``): this session's tag
        taken off, so an answer matches whoever wrote its request under that id (an order template
        registers the id it filled in, not the tagged reqId)."""
        rid = msg.get("reqId") if isinstance(msg, dict) else None
        if not isinstance(rid, str) or not rid:
            return None
        return rid.removesuffix(f"-{self._req_tag}") or rid

    def read_ws_answer(self, msg: Any) -> Any:
        """``data`` (the REST ``result``: the ids) of ``retCode`` 0; otherwise its typed error."""
        return self._result(200, msg, "data")
