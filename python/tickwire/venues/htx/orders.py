"""HTX spot order entry for ``tickwire.trade``: the REST v1 calls (``/v1/order/…``, ``/v1/account/…``,
``/v1/common/symbols``), readers of HTX's ``{"status": "ok", "data": …}`` / ``{"status": "error",
"err-code", "err-msg"}`` answers, and the ``/ws/v2`` ``orders#*`` private stream.

Shapes from the official SDKs' models (HuobiRDCenter huobi_Golang ``pkg/model/order``, huobi_Python):
``batch-orders`` entries (``order-id``, ``client-order-id``, ``err-code``), ``batchcancel``
(``success``, ``failed[].order-state``), the order detail's ``field-*`` and ``openOrders``'
``filled-*`` amounts, ``matchresults``' ``trade-id``, the ``orders#`` push (``execAmt`` from the
Python SDK's model)."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError, VenueError
from tickwire.streams import Endpoint
from tickwire.trading.codes import error_for, invalid_order
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_htx_symbol
from tickwire.trading.venue import Balance, Call
from tickwire.venues.htx import limits as rate

__all__ = ["BATCH_CANCEL_MAX", "Orders"]

# huobiapi.github.io docs spot v1 "order state": created (a stop order not yet triggered), submitted,
# partial-filled, filled, partial-canceled, canceling, canceled. A cancel under way is still open.
_STATUS: dict[str, Status] = {
    "created": "new",
    "pre-submitted": "new",
    "submitted": "new",
    "canceling": "new",
    "partial-filled": "partially_filled",
    "filled": "filled",
    "partial-canceled": "canceled",
    "canceled": "canceled",
}
# The order ``type`` after its side: what it is and its time in force (limit-maker: post-only GTC).
_KIND: dict[str, tuple[OrderType, Tif]] = {
    "limit": ("limit", "GTC"),
    "limit-maker": ("limit", "GTC"),
    "ioc": ("limit", "IOC"),
    "limit-fok": ("limit", "FOK"),
    "market": ("market", "IOC"),
}
# "Cancel Orders by IDs" (batchcancel): at most 50 ids per request (official SDKs check 1..50).
BATCH_CANCEL_MAX = 50
_ORDERS_TOPIC = "orders#*"  # every symbol's order events on one subscription


def _dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def _ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "", 0) else None


def _json(obj: object) -> str:
    return orjson.dumps(obj).decode()


def _side_kind(type_: str) -> tuple[Side, OrderType, Tif]:
    side, _, kind = type_.partition("-")
    order_type, tif = _KIND.get(kind, ("limit", "GTC"))  # stop-limit and the like: limits
    return ("buy" if side == "buy" else "sell"), order_type, tif


# ``openOrders`` answers at most this many (its ``size``).
OPEN_PAGE = 500


class Orders:
    """HTX spot order entry over REST v1 (signature version 2), JSON bodies unsigned as HTX specifies.

    Every order call names the spot ``account-id``: ``setup`` gives the ``GET /v1/account/accounts``
    call the session sends once at start and ``read_setup`` keeps the account whose ``type`` is
    ``spot`` (``account_id=`` skips the look-up). ``setup`` also signs for the endpoint's own hosts:
    HTX signs the host in the pre-sign text, so a signature made for api.huobi.pro fails on
    api-aws.huobi.pro.

    Types: ``buy-limit``/``sell-limit`` (GTC), ``-limit-maker`` (post-only), ``-ioc``, ``-limit-fok``,
    ``sell-market``. **A market buy is refused** (:class:`InvalidOrder`, rule ``type``): HTX sizes a
    ``buy-market`` in the quote currency (the cash to spend), tickwire sizes every order in the base
    asset, and no exact conversion exists before the fills; send a limit IOC at the highest price
    you accept instead. A market sell is sized in the base asset, as HTX defines it.

    Orders go out as a batch of one (``POST /v1/order/batch-orders``): its answer names the
    ``client-order-id`` with the ``order-id`` (``/v1/order/orders/place`` answers the bare order id,
    which a grammar cannot tie to the order it placed). The session then asks for the state. A cancel
    by client id is ``POST /v1/order/orders/batchcancel`` (``client-order-ids``; its answer lists the
    ids cancelled — ``submitCancelClientOrder`` answers a bare status code), by order id
    ``submitcancel``. HTX's ``batchCancelOpenOrders`` answers counts only, so ``cancel_all`` gives None
    and the session cancels the listed open orders, 50 per ``batchcancel``. HTX has no amend for
    spot orders. HTX no longer checks that a ``client-order-id`` is unique (2021-05-26 change log):
    exactly once rests on never resending."""

    venue = "htx"
    # Rate limits (``tickwire.limits``): as the venue counts them (see ``limits``).
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)
    read_usage = staticmethod(rate.read_usage)
    stream_label = "v2"

    def __init__(self, account_id: str | None = None) -> None:
        self.account_id = account_id
        self.ws_host: str | None = None  # the /ws/v2 socket's host, signed by the stream's auth

    # session set-up ---------------------------------------------------------------------------------

    def setup(self, endpoint: Endpoint, signer: Any) -> list[Call]:
        """Binds the signer to ``endpoint``'s hosts; the account look-up still to send, if any."""
        if endpoint.rest and hasattr(signer, "host"):
            signer.host = urlsplit(endpoint.rest).netloc
        ws = endpoint.ws.get(self.stream_label)
        self.ws_host = urlsplit(ws).netloc if ws else None
        return [] if self.account_id else [Call("GET", "/v1/account/accounts")]

    def read_setup(self, call: Call, body: Any) -> None:
        """Keeps the spot account's id from ``GET /v1/account/accounts``."""
        spot = [a for a in body or () if isinstance(a, dict) and a.get("type") == "spot"]
        working = [a for a in spot if a.get("state", "working") == "working"] or spot
        if not working:
            raise VenueError(
                f"{self.venue}: this key has no spot account ({len(body or ())} accounts listed)"
            )
        self.account_id = str(working[0]["id"])

    def _account(self) -> str:
        if self.account_id is None:
            raise VenueError(f"{self.venue}: the spot account id is not known yet (session not started)")
        return self.account_id

    # calls ------------------------------------------------------------------------------------------

    def new_order(self, order: Order) -> Call:
        if order.type == "market":
            if order.side == "buy":
                raise invalid_order(
                    f"{self.venue}: a market buy is sized in the quote currency on HTX (the amount to "
                    "spend), not in the base asset; place a limit IOC at the highest price you accept",
                    rule="type",
                )
            kind = "market"
        elif order.post_only:
            if order.tif != "GTC":
                raise invalid_order(f"{self.venue}: a post-only (limit-maker) order is GTC", rule="tif")
            kind = "limit-maker"
        else:
            kind = {"IOC": "ioc", "FOK": "limit-fok"}.get(order.tif, "limit")
        body: dict[str, str] = {
            "account-id": self._account(),
            "symbol": order.symbol,
            "type": f"{order.side}-{kind}",
            "amount": format_decimal(order.qty),
        }
        if order.type == "limit":
            assert order.price is not None
            body["price"] = format_decimal(order.price)
        body["source"] = "spot-api"
        body["client-order-id"] = order.client_id
        return Call("POST", "/v1/order/batch-orders", body=_json([body]))

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        if client_id:
            return Call("POST", "/v1/order/orders/batchcancel", body=_json({"client-order-ids": [client_id]}))
        return Call("POST", f"/v1/order/orders/{order_id}/submitcancel")

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        if order_id:
            return Call("GET", f"/v1/order/orders/{order_id}")
        return Call("GET", "/v1/order/orders/getClientOrder", {"clientOrderId": client_id or ""})

    def open_orders(self, symbol: str | None) -> Call:
        p = {"account-id": self._account()}
        if symbol:
            p["symbol"] = symbol
        p["size"] = str(OPEN_PAGE)  # the largest page HTX gives
        return Call("GET", "/v1/order/openOrders", p)

    @staticmethod
    def next_page(call: Call, body: Any) -> Call | None:
        """A full page may not be all: HTX pages further by ``from``/``direct``, which tickwire does
        not follow (not confirmed from a source here) — so a full page is an error after the page,
        which the caller keeps (the kill switch cancels it and reports the listing cut short). One
        order's match results come in one answer (the order's every execution).

        The account's match results (``fills``) come newest first, ``size`` (500 at most) an answer:
        after a full page, those up to its oldest one's time (``end-time``, inclusive: the rows of that
        millisecond come again and are counted once by trade id), within the same ``start-time``. A
        full page all of one millisecond names the same page again, which the caller refuses
        (``VenueError``) rather than stop short."""
        if call.path == "/v1/order/matchresults":
            if not isinstance(body, list) or not body or len(body) < int(call.params.get("size", "100")):
                return None
            return call.with_param("end-time", str(min(int(t["created-at"]) for t in body)))
        if call.path != "/v1/order/openOrders" or len(body) < OPEN_PAGE:
            return None
        raise VenueError(f"htx: {OPEN_PAGE} open orders listed, the most one answer holds; more are not read")

    def cancel_all(self, symbol: str) -> Call | None:
        return None  # batchCancelOpenOrders answers counts, not orders: cancel_orders() on the open ones

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        """``batchcancel`` by client id, 50 a request; an order without one (placed elsewhere) by its
        id alone. Each answer entry is then a client id, so ``read_order`` knows what it names."""
        cids = [o.client_id for o in orders if o.client_id]
        calls = [
            Call("POST", "/v1/order/orders/batchcancel", body=_json({"client-order-ids": chunk}))
            for chunk in (cids[i : i + BATCH_CANCEL_MAX] for i in range(0, len(cids), BATCH_CANCEL_MAX))
        ]
        calls += [self.cancel(symbol, None, o.order_id) for o in orders if not o.client_id and o.order_id]
        return calls

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        p = {"symbol": symbol}
        if since_ms is not None:
            # ms; HTX's window is 48 hours at most. The official SDKs still send the older start-date
            # (a day); start-time is from HTX's docs and was not checked against a live answer here.
            p["start-time"] = str(since_ms)
        p["size"] = "500"
        return Call("GET", "/v1/order/matchresults", p)

    def order_fills(self, symbol: str, order_id: str) -> Call:
        """One order's executions (``GET /v1/order/orders/{order-id}/matchresults``): not bound to
        the 48 hours the account's match results reach back."""
        return Call("GET", f"/v1/order/orders/{order_id}/matchresults")

    def balances(self) -> Call:
        return Call("GET", f"/v1/account/accounts/{self._account()}/balance")

    def instruments(self) -> Call:
        return Call("GET", "/v1/common/symbols", signed=False)

    # answers ----------------------------------------------------------------------------------------

    def read_order(self, body: Any) -> list[OrderEvent]:
        """An order (``GET /v1/order/orders/{id}``, ``getClientOrder``, ``openOrders``) as its state;
        an acknowledgement as an ``ack`` event stating no status: an entry of ``batch-orders`` (both
        ids) or of ``batchcancel`` (the client id), the order id ``submitcancel`` answers. A failed
        entry raises its ``err-code``. A list is read by its first entry."""
        if isinstance(body, list):
            if not body:
                raise OrderNotFound(f"{self.venue}: no such order")
            body = body[0]
        if isinstance(body, str | int):
            return [OrderEvent(source="ack", client_id="", order_id=str(body))]
        o = body
        cid = str(o.get("client-order-id") or "")
        if "state" not in o:
            if o.get("err-code"):
                raise error_for(
                    self.venue, str(o["err-code"]), str(o.get("err-msg", "")), client_id=cid or None
                )
            oid = o.get("order-id")
            return [
                OrderEvent(source="ack", client_id=cid, order_id=str(oid) if oid not in (None, "") else None)
            ]
        # openOrders spells them filled-*, the order detail field-* (sic).
        filled = _dec(o.get("field-amount", o.get("filled-amount"))) or Decimal(0)
        cash = _dec(o.get("field-cash-amount", o.get("filled-cash-amount"))) or Decimal(0)
        about = self._about(o.get("type"), o["symbol"], o.get("price"), o["amount"])
        if about["qty"] is None:
            about["qty"] = filled  # a market buy's amount is quote currency: its base quantity is the fills
        return [
            OrderEvent(
                source="rest",
                client_id=cid,
                order_id=str(o["id"]),
                status=_STATUS.get(str(o["state"]), "new"),
                filled_cum=filled,
                avg_price=cash / filled if filled > 0 else None,
                fee_cum=_dec(o.get("field-fees", o.get("filled-fees"))),
                ts_ns=_ms_ns(o.get("finished-at") or o.get("canceled-at") or o.get("created-at")),
                **about,
            )
        ]

    def _about(self, type_: Any, symbol: Any, price: Any, amount: Any) -> dict[str, Any]:
        """What an order answer or push says of the order itself; ``qty`` None for a market buy (HTX
        states its amount in the quote currency)."""
        side, kind, tif = _side_kind(str(type_ or ""))
        return {
            "venue": self.venue,
            "symbol": str(symbol),
            "side": side,
            "type": kind,
            "tif": tif,
            "price": _dec(price) if kind == "limit" else None,
            "qty": None if kind == "market" and side == "buy" else _dec(amount),
        }

    def read_fills(self, body: Any) -> list[Fill]:
        """``GET /v1/order/matchresults`` rows. ``trade-id`` is the id the ``orders#`` stream reports as
        ``tradeId`` (``match-id`` is shared by both sides of a match); fees are charged positive in
        ``fee-currency``."""
        out = []
        for t in body:
            side, _, _ = _side_kind(str(t.get("type", "")))
            trade_id = t.get("trade-id", t.get("match-id"))
            out.append(
                Fill(
                    venue=self.venue,
                    symbol=str(t["symbol"]),
                    client_id="",
                    order_id=str(t["order-id"]),
                    trade_id=str(trade_id),
                    side=side,
                    price=Decimal(str(t["price"])),
                    qty=Decimal(str(t["filled-amount"])),
                    fee=_dec(t.get("filled-fees")) or Decimal(0),
                    fee_asset=str(t["fee-currency"]).upper() if t.get("fee-currency") else None,
                    liquidity="maker" if t.get("role") == "maker" else "taker",
                    ts_ns=_ms_ns(t.get("created-at")),
                )
            )
        return out

    def read_balances(self, body: Any) -> dict[str, Balance]:
        """``list`` rows of type ``trade`` (free) and ``frozen`` (locked); currencies upper-cased."""
        free: dict[str, Decimal] = {}
        locked: dict[str, Decimal] = {}
        for row in body.get("list", ()):
            into = {"trade": free, "frozen": locked}.get(str(row.get("type")))
            if into is not None:
                asset = str(row["currency"]).upper()
                into[asset] = into.get(asset, Decimal(0)) + Decimal(str(row["balance"]))
        return {a: Balance(a, free.get(a, Decimal(0)), locked.get(a, Decimal(0))) for a in free | locked}

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {str(s["symbol"]): from_htx_symbol(s) for s in body}

    def read_answer(self, status: int, body: bytes) -> Any:
        """``data`` of ``status`` "ok" (a ``batchcancel`` result as a list: one entry per client id
        cancelled, then each failed entry with its ``err-code``); otherwise the error of
        ``err-code``/``err-msg``. A batch whose every entry failed (a batch of one, above all) raises
        its first entry's error, as a refused request."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or "status" not in msg:
            raise error_for(self.venue, None, excerpt(body), http_status=status)
        if status >= 400 or msg["status"] != "ok":
            raise error_for(
                self.venue,
                str(msg.get("err-code") or "") or None,
                str(msg.get("err-msg", "")),
                http_status=status,
            )
        data = msg.get("data")
        if isinstance(data, dict) and "success" in data and "failed" in data:
            data = [{"client-order-id": c} for c in data["success"]] + list(data["failed"])
        if isinstance(data, list) and data and all(isinstance(d, dict) and d.get("err-code") for d in data):
            self.read_order(data[0])  # raises the entry's error
        return data

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)

    # the private stream: /ws/v2, auth (signature version 2.1), then orders#* -------------------------

    def login(self, signer: Any) -> bytes | None:
        return orjson.dumps(signer.ws_auth_message(host=self.ws_host))

    @staticmethod
    def binary_frame_text(payload: bytes) -> bytes:
        """A binary ``/ws/v2`` frame's JSON: gzip-compressed (venues.md §6.3: "the SDK handles both
        text and gzip-binary frames on v2"); text frames are read as they come."""
        return gzip.decompress(payload)

    def login_ack(self, msg: Any) -> bool:
        """True for the ``auth`` answer with ``code`` 200; another code raises its typed error."""
        if not isinstance(msg, dict) or msg.get("action") != "req" or msg.get("ch") != "auth":
            return False
        if msg.get("code") == 200:
            return True
        raise error_for(self.venue, str(msg.get("code", "")) or None, str(msg.get("message", "")))

    def stream_subscribe(self, signer: Any) -> bytes:
        return orjson.dumps({"action": "sub", "ch": _ORDERS_TOPIC})

    def stream_ack(self, msg: Any) -> bool:
        return (
            isinstance(msg, dict)
            and msg.get("action") == "sub"
            and msg.get("ch") == _ORDERS_TOPIC
            and msg.get("code") == 200
        )

    def pong(self, msg: Any) -> bytes | None:
        """The answer to the socket's ``{"action":"ping","data":{"ts":n}}``: ``{"action":"pong",...}``
        with the same ``ts`` (HTX cuts a socket that leaves its pings unanswered)."""
        if isinstance(msg, dict) and msg.get("action") == "ping":
            return orjson.dumps({"action": "pong", "data": {"ts": (msg.get("data") or {}).get("ts")}})
        return None

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """An ``orders#<symbol>`` push: ``creation``, ``trade`` (the fill: ``tradeId``,
        ``tradePrice``/``tradeVolume``, ``aggressor`` the taker) and ``cancellation`` events, each with
        the order's status and, where HTX gives it, its cumulative ``execAmt``."""
        if not isinstance(msg, dict) or msg.get("action") != "push":
            return []
        if not str(msg.get("ch", "")).startswith("orders#"):
            return []
        d = msg.get("data") or {}
        if d.get("eventType") not in ("creation", "trade", "cancellation"):
            return []  # trigger/deletion: stop orders, which tickwire does not place
        side, _, _ = _side_kind(str(d.get("type", "")))
        cid, oid = str(d.get("clientOrderId") or ""), str(d["orderId"])
        fill = None
        if d["eventType"] == "trade" and d.get("tradeId") is not None:
            fill = Fill(
                venue=self.venue,
                symbol=str(d["symbol"]),
                client_id=cid,
                order_id=oid,
                trade_id=str(d["tradeId"]),
                side=side,
                price=Decimal(str(d["tradePrice"])),
                qty=Decimal(str(d["tradeVolume"])),
                liquidity="taker" if d.get("aggressor") else "maker",
                ts_ns=_ms_ns(d.get("tradeTime")),
            )
        return [
            OrderEvent(
                source="stream",
                client_id=cid,
                order_id=oid,
                status=_STATUS.get(str(d.get("orderStatus")), None),
                filled_cum=_dec(d.get("execAmt")),
                fill=fill,
                ts_ns=_ms_ns(d.get("tradeTime") or d.get("lastActTime") or d.get("orderCreateTime")),
                **self._about(d.get("type"), d["symbol"], d.get("orderPrice"), d.get("orderSize")),
            )
        ]
