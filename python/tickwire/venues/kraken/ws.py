"""Kraken WebSocket v2 on the authenticated socket (``ws-auth.kraken.com/v2``, venues.md §4.2): the
``executions`` channel as the private stream and ``add_order``/``cancel_order``/``amend_order`` as
WebSocket order entry. There is no log-in message: the token from REST ``GetWebSocketsToken`` rides in
every request and subscription (``params.token``), so the socket needs that REST call before it
connects — ``login_call``/``read_login_call``, which the session must run (see the report of issue 11:
the ``LoginGrammar`` protocol has no step that can make a REST call); a reconnect within the token's
life reuses it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from tickwire.errors import AuthError
from tickwire.trading.codes import error_for
from tickwire.trading.orders import Fill, OrderEvent, Side, Status, Tif
from tickwire.trading.venue import Call
from tickwire.venues.kraken.orders import Orders, P, _dec

__all__ = ["SocketOrders"]

log = logging.getLogger("tickwire.kraken")

# docs.kraken.com WebSocket v2 "executions": order_status.
_STATUS: dict[str, Status] = {
    "pending_new": "new",
    "new": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "expired": "expired",
}
_TIF: dict[str, Tif] = {"gtc": "GTC", "ioc": "IOC", "gtd": "GTC", "fok": "FOK"}
# A token is not given to a new connection this close to its ``expires`` (at most a fifth of it).
TOKEN_MARGIN_S = 60.0
_METHODS = {P + "AddOrder": "add_order", P + "CancelOrder": "cancel_order", P + "AmendOrder": "amend_order"}


def _token_refused(error: str) -> bool:
    """A refusal of the credentials themselves (what a new token may cure), not of what they may do
    (``EGeneral:Permission denied``)."""
    return "Permission" not in error


def _number(text: str) -> orjson.Fragment:
    """A decimal string as an exact JSON number (v2 takes quantities and prices as numbers)."""
    return orjson.Fragment(text.encode())


def _req_num(request_id: str) -> int:
    """v2's integer ``req_id`` for the order socket's request id ``tw<n>``: ``n``, so that one counter
    (the socket's, which order templates draw from too) numbers every request on it."""
    digits = request_id.removeprefix("tw")
    if not digits.isdigit():
        raise ValueError(f"kraken: request id {request_id!r} is not tw<n>")
    return int(digits)


def _rfc3339_ns(ts: Any) -> int | None:
    if not isinstance(ts, str) or not ts:
        return None
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    frac = ts.rsplit(".", 1)[1].rstrip("Z")[:9] if "." in ts else ""
    return int(t.replace(microsecond=0).timestamp()) * 1_000_000_000 + int(frac.ljust(9, "0") or 0)


class SocketOrders(Orders):
    """``Orders`` plus the authenticated WebSocket v2 socket, for ``transport="ws"``/``"auto"`` and
    the ``executions`` private stream."""

    stream_label = "v2_auth"
    ws_label = "v2_auth"

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None
        self._token_due = 0.0  # monotonic: a new connection may use the token until then
        self._token_key: str | None = None  # the API key it was fetched with
        self._req_ids = itertools.count(1)

    # the token -----------------------------------------------------------------------------------

    def login_call(self, signer: Any) -> Call | None:
        """``GetWebSocketsToken``: the token every request on the socket carries — or None when the
        one fetched last still serves a new connection. Kraken: "use it within 15 minutes; it does
        not expire once a connection that used it is maintained", so a reconnect within
        ``expires`` (less a margin) of the fetch, for the same key, needs no REST call: a socket
        cut while lookups fill the REST counter comes back at once. A set-up that failed after it
        (``forget_login``: the venue may have dropped it) and a new key fetch a new one."""
        key = getattr(signer, "api_key", None)
        if self.token and key == self._token_key and time.monotonic() < self._token_due:
            return None
        return Call("POST", P + "GetWebSocketsToken")

    def read_login_call(self, result: Any, signer: Any = None) -> None:
        """The token ``signer``'s request fetched: labelled with that signer's key (two fetches for
        two keys may be answered in either order during a key rotation)."""
        self.token = str(result["token"])
        life = float(result.get("expires") or 0)
        self._token_due = time.monotonic() + life - min(TOKEN_MARGIN_S, life / 5)
        self._token_key = getattr(signer, "api_key", None)

    def login_state(self) -> tuple[str | None, float, str | None]:
        """The token as fetched last, its due and its key: what ``restore_login`` puts back."""
        return self.token, self._token_due, self._token_key

    def restore_login(self, state: tuple[str | None, float, str | None]) -> None:
        """A key rotation undone: the sockets it kept send every request with this token, and one
        the new key's stream fetched meanwhile would have them send with a key given up."""
        self.token, self._token_due, self._token_key = state

    def forget_login(self) -> None:
        """The next connect fetches a new token."""
        self._token_due = 0.0

    @property
    def login_stale(self) -> bool:
        """The venue refused the token this grammar holds (until a new one is fetched)."""
        return self.token is not None and self._token_due == 0.0

    def login(self, signer: Any) -> bytes | None:
        return None  # no log-in message: the token is in each request

    def login_ack(self, msg: Any) -> bool:
        return False

    def _token(self) -> str:
        if not self.token:
            raise AuthError("kraken: no WebSocket token (REST GetWebSocketsToken) for the socket")
        return self.token

    # the executions channel ----------------------------------------------------------------------

    def stream_subscribe(self, signer: Any) -> bytes:
        """Open orders as a snapshot, then every execution; past trades are not replayed (the session
        reconciles what it tracks after each reconnect)."""
        params = {"channel": "executions", "token": self._token(), "snap_orders": True, "snap_trades": False}
        return orjson.dumps({"method": "subscribe", "params": params, "req_id": next(self._req_ids)})

    def stream_ack(self, msg: Any) -> bool:
        """True for the subscription's acceptance; its refusal raised as the typed error of its
        ``error`` (the set-up fails at once, the token not given to the next connection)."""
        if not isinstance(msg, dict) or msg.get("method") != "subscribe":
            return False
        if msg.get("success") is False:
            err = str(msg.get("error") or "")
            log.warning("kraken: executions subscription refused: %s", err)
            e = error_for(self.venue, err or None, err or "subscription refused")
            if isinstance(e, AuthError) and _token_refused(err):
                self.forget_login()
            raise e
        return (msg.get("result") or {}).get("channel") == "executions"

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """An ``executions`` snapshot or update: each report's order state (``order_status``,
        ``cum_qty``, ``avg_price``; an ``amended`` report's new ``order_qty``/``limit_price``) and, for
        ``exec_type`` trade, the fill under the pair's public ``trade_id``."""
        if not isinstance(msg, dict) or msg.get("channel") != "executions":
            return []
        return [self._execution(r) for r in msg.get("data") or () if isinstance(r, dict)]

    def _execution(self, r: Mapping[str, Any]) -> OrderEvent:
        cid, oid = str(r.get("cl_ord_id") or ""), str(r.get("order_id") or "") or None
        self._remember(cid, oid)
        side: Side = "buy" if r.get("side") == "buy" else "sell"
        symbol = str(r.get("symbol") or "") or None
        ts = _rfc3339_ns(r.get("timestamp"))
        fill = None
        last_qty = _dec(r.get("last_qty")) or Decimal(0)
        if r.get("exec_type") == "trade" and last_qty > 0:
            fees = [f for f in r.get("fees") or () if isinstance(f, dict)]
            fill = Fill(
                venue=self.venue,
                symbol=symbol or "",
                client_id=cid,
                order_id=oid,
                trade_id=str(r.get("trade_id") or r.get("exec_id")),
                side=side,
                price=Decimal(str(r["last_price"])),
                qty=last_qty,
                fee=sum((_dec(f.get("qty")) or Decimal(0) for f in fees), Decimal(0)),
                fee_asset=str(fees[0]["asset"]) if fees and fees[0].get("asset") else None,
                liquidity="maker" if r.get("liquidity_ind") == "m" else "taker",
                ts_ns=ts,
            )
        cum = _dec(r.get("cum_qty"))
        order_type = r.get("order_type")
        return OrderEvent(
            source="stream",
            client_id=cid,
            order_id=oid,
            status=_STATUS.get(str(r.get("order_status"))),
            filled_cum=cum,
            avg_price=_dec(r.get("avg_price")) if cum else None,
            fill=fill,
            reason=str(r.get("reason") or ""),
            ts_ns=ts,
            venue=self.venue,
            symbol=symbol,
            side=side,
            type=None if order_type is None else "market" if order_type == "market" else "limit",
            tif=_TIF.get(str(r.get("time_in_force", "")).lower()),
            price=_dec(r.get("limit_price")),
            qty=_dec(r.get("order_qty")),
        )

    # order entry ---------------------------------------------------------------------------------

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        """The v2 method of a place, cancel or amend (the REST call's parameters in v2's names, numbers
        exact); None for everything else, which goes over REST. ``req_id`` is an integer on v2: the
        socket matches the answer by it (``ws_answer_id``)."""
        method = _METHODS.get(call.path)
        if method is None or not self.token or call.params.get("timeinforce") == "FOK":
            return None  # FOK: REST's since 2026-05-12, not documented on v2's add_order
        p = call.params
        params: dict[str, Any] = {}
        if method == "add_order":
            params = {
                "order_type": p["ordertype"],
                "side": p["type"],
                "order_qty": _number(p["volume"]),
                "symbol": self.symbol(p["pair"]),
            }
            if "price" in p:
                params["limit_price"] = _number(p["price"])
                params["time_in_force"] = p.get("timeinforce", "GTC").lower()
            if p.get("oflags") == "post":
                params["post_only"] = True
            params["cl_ord_id"] = p["cl_ord_id"]
        elif method == "cancel_order":
            params = {"order_id": [p["txid"]]} if "txid" in p else {"cl_ord_id": [p["cl_ord_id"]]}
        else:
            params = {"order_id": p["txid"]} if "txid" in p else {"cl_ord_id": p["cl_ord_id"]}
            for rest, ws in (("order_qty", "order_qty"), ("limit_price", "limit_price")):
                if rest in p:
                    params[ws] = _number(p[rest])
        params["token"] = self.token
        return orjson.dumps({"method": method, "params": params, "req_id": _req_num(request_id)})

    def ws_answer_id(self, msg: Any) -> str | None:
        """The socket's request id (``tw<req_id>``, see ``_req_num``) of an answer."""
        rid = msg.get("req_id") if isinstance(msg, dict) else None
        return f"tw{rid}" if isinstance(rid, int) and not isinstance(rid, bool) else None

    def read_ws_answer(self, msg: Any) -> Any:
        """``result`` as the REST acknowledgement reads it (``txid``, ``cl_ord_id``); a refusal
        (``success`` false) as the typed error of its ``error`` string."""
        if not isinstance(msg, dict) or msg.get("success") is not True:
            err = str(msg.get("error") or "") if isinstance(msg, dict) else ""
            e = error_for(self.venue, err or None, err or "malformed answer")
            if isinstance(e, AuthError) and _token_refused(err):  # not given to the next connection
                self.forget_login()
            raise e
        r = msg.get("result") or {}
        return {**r, "txid": r.get("order_id"), "cl_ord_id": r.get("cl_ord_id"), "ack": msg.get("method")}
