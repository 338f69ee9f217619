"""Binance WebSocket API (venues.md §1.3) on ``/ws-api/v3``: request/response framing, the WS signing
rule (all params but ``signature`` sorted by name, ``k=v`` joined with ``&``, no percent-encoding,
``apiKey`` signed), ``session.logon`` (Ed25519 keys only), ``session.status``/``session.logout``,
``ping``, ``time``, and ``order.test``/``order.place``/``order.cancel``/``order.status``/
``order.amend.keepPriority``, ``openOrders.status``/``openOrders.cancelAll``, ``account.status``,
``allOrders``, ``myTrades`` on the matching engine (each the same code and JSON as its REST call).
``userDataStream.subscribe`` on a logged-on session, or ``userDataStream.subscribe.signature`` (any key
type, signed like a request) streams ``executionReport`` events (fields after the public
user-data-stream reference; venues.md does not list them). The retired listenKey methods
(``userDataStream.start/ping/stop``, venues.md §9) are unknown methods: -1020.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.auth import ApiKey, verify_binance
from tickwire.sim.engine import Fill, Order
from tickwire.sim.http import Request, Response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import BID
from tickwire.sim.venues.binance.trade import expiry_reason, interval
from tickwire.sim.venues.private import PrivateStreams
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

# WS API order methods and the REST call each one is (the same engine, the same JSON).
ORDER_METHODS = {
    "order.test": ("POST", "/api/v3/order/test"),
    "order.place": ("POST", "/api/v3/order"),
    "order.cancel": ("DELETE", "/api/v3/order"),
    "order.status": ("GET", "/api/v3/order"),
    "order.amend.keepPriority": ("PUT", "/api/v3/order/amend/keepPriority"),
    "openOrders.status": ("GET", "/api/v3/openOrders"),
    "openOrders.cancelAll": ("DELETE", "/api/v3/openOrders"),
    "account.status": ("GET", "/api/v3/account"),
    "allOrders": ("GET", "/api/v3/allOrders"),
    "myTrades": ("GET", "/api/v3/myTrades"),
}

# The USDⓈ-M WS API's (``/ws-fapi/v1``, venues.md 1.6) on the futures REST calls.
FUTURES_METHODS = {
    "order.place": ("POST", "/fapi/v1/order"),
    "order.modify": ("PUT", "/fapi/v1/order"),
    "order.cancel": ("DELETE", "/fapi/v1/order"),
    "order.status": ("GET", "/fapi/v1/order"),
}

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1}
]


def ws_payload(params: dict[str, Any]) -> bytes:
    """The WS API signature payload: every parameter but ``signature``, sorted, no percent-encoding."""
    items = sorted((k, v) for k, v in params.items() if k != "signature")
    return "&".join(f"{k}={_text(v)}" for k, v in items).encode()


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# The REST order entry the WS API order methods share: (server, request, account, params).
OrderHandler = Callable[["VenueServer", Request, str, dict[str, str]], Response]


class WsApi:
    def __init__(
        self,
        ctx: VenueContext,
        keys: Mapping[str, ApiKey],
        limiter: Callable[[VenueServer], WeightLimiter],
        orders: OrderHandler,
        methods: Mapping[str, tuple[str, str]] = ORDER_METHODS,
    ) -> None:
        self.ctx = ctx
        self.keys = keys
        self.limiter = limiter  # the server's request-weight budget, shared with REST
        self.orders = orders
        self.methods = methods
        self.streams = PrivateStreams(
            ctx.subscribers, ctx.private_faults
        )  # per API key, sockets with a user data stream
        ctx.engine.listeners.append(self.on_order)
        self.revocations = 0  # sessions revoked (``revoke``): the revocation message sent on each

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """An ``executionReport`` (user data stream) for every order event, to the account's streams."""
        self.streams.push(
            lambda c: orjson.dumps(
                {
                    "subscriptionId": c.state["subscription_id"],
                    "event": self.execution_report(o, exec_type, fill, c.endpoint.now_ms()),
                }
            ),
            account=o.account,
        )

    def execution_report(self, o: Order, exec_type: str, fill: Fill | None, now: int) -> dict[str, Any]:
        v = self.ctx
        fp, fq = v.fmt[o.symbol]
        inst = v.instruments[o.symbol]
        return {
            "e": "executionReport",
            "E": now,
            "s": o.symbol,
            "c": o.client_id,
            "S": "BUY" if o.side == BID else "SELL",
            "o": "LIMIT_MAKER" if o.post_only else o.type,
            "f": o.tif or "GTC",
            "q": fq(o.qty),
            "p": fp(o.price or 0),
            "x": exec_type,
            "X": o.status,
            "r": "NONE",
            "eR": expiry_reason(o),
            "i": o.id,
            "l": fq(fill.qty if fill else 0),
            "z": fq(o.filled),
            "L": fp(fill.price if fill else 0),
            "n": "0",
            "N": None,
            "T": now,
            "t": fill.trade_id if fill else -1,
            "w": o.open,
            "m": bool(fill and fill.maker),
            "O": o.time_ms,
            "Z": f"{Decimal(o.quote) * inst.tick * inst.lot:.8f}",
        }

    def reply(
        self,
        conn: Conn,
        rid: Any,
        result: Any = None,
        status: int = 200,
        code: int = 0,
        msg: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {"id": rid, "status": status}
        if status == 200:
            body["result"] = result
        else:
            body["error"] = {"code": code, "msg": msg, **({"data": data} if data else {})}
        lim = self.limiter(conn.endpoint)
        unit, num, _ = interval(lim.window_s)  # the window it enforces, as Binance names it
        body["rateLimits"] = [
            {**RATE_LIMITS[0], "interval": unit, "intervalNum": num, "limit": lim.limit, "count": lim.used}
        ]
        conn.send_text(orjson.dumps(body))

    def on_message(self, conn: Conn, data: bytes) -> None:
        try:
            msg = orjson.loads(data)
            rid, method = msg.get("id"), str(msg["method"])
            params = msg.get("params") or {}
            if not isinstance(params, dict):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            self.reply(conn, None, status=400, code=-1000, msg="Invalid request")
            return
        # WS API requests spend the same per-IP request weight as REST.
        verdict, retry = self.limiter(conn.endpoint).charge(conn.endpoint.now_ms() / 1000, 1)
        if verdict != "ok":
            until = conn.endpoint.now_ms() + int(retry * 1000)
            text = (
                "Too much request weight used; please use WebSocket Streams for live updates to avoid bans."
            )
            if verdict == "ban":
                text = f"Way too much request weight used; IP banned until {until}."
            status = 429 if verdict == "warn" else 418
            info = {"serverTime": conn.endpoint.now_ms(), "retryAfter": until}
            self.reply(conn, rid, status=status, code=-1003, msg=text, data=info)
            return
        method = method.removeprefix("v3/")
        now = conn.endpoint.now_ms()
        if method == "ping":
            self.reply(conn, rid, {})
        elif method == "time":
            self.reply(conn, rid, {"serverTime": now})
        elif method == "session.logon":
            key, err = self._signed(conn, params, session_ok=False)
            if err is not None:
                self.reply(conn, rid, status=err[0], code=err[1], msg=err[2])
            elif key is None or key.kind != "ed25519":
                self.reply(conn, rid, status=400, code=-4056, msg="HMAC_SHA256 API key is not supported.")
            else:
                conn.state["session_key"] = key.key
                conn.state["session_account"] = key.owner
                conn.state["authorized_since"] = now
                self.reply(conn, rid, self._session(conn, now))
        elif method == "userDataStream.subscribe":
            # Needs a logged-on session; events follow as {"subscriptionId", "event": executionReport}.
            key = conn.state.get("session_account")
            if key is None:
                self.reply(
                    conn, rid, status=400, code=-2015, msg="Invalid API-key, IP, or permissions for action."
                )
            else:
                self._subscribe(conn, rid, key)
        elif method == "userDataStream.subscribe.signature":
            # Any key type, signed like a request (apiKey, timestamp, signature; recvWindow optional).
            signer, err = self._signed(conn, params, session_ok=False)
            if err is not None:
                self.reply(conn, rid, status=err[0], code=err[1], msg=err[2])
            else:
                assert signer is not None
                self._subscribe(conn, rid, signer.owner)
        elif method == "userDataStream.unsubscribe":
            self.streams.remove(conn)
            conn.state.pop("subscription_id", None)
            self.reply(conn, rid, {})
        elif method == "session.status":
            self.reply(conn, rid, self._session(conn, now))
        elif method == "session.logout":
            conn.state.pop("session_key", None)
            conn.state.pop("session_account", None)
            self.reply(conn, rid, self._session(conn, now))
        elif method in self.methods:
            key, err = self._signed(conn, params, session_ok=True)
            if err is not None:
                self.reply(conn, rid, status=err[0], code=err[1], msg=err[2])
                return
            assert key is not None
            self._order(conn, rid, method, key.owner, {k: _text(x) for k, x in params.items()})
        else:
            self.reply(conn, rid, status=400, code=-1020, msg=f"Unsupported operation: {method}")

    def revoke(self, key: str, servers: Sequence[VenueServer]) -> None:
        """venues.md §1.3: "If the key becomes invalid, the session is revoked with
        `{"id":null,"status":401,"error":{"code":-2015,...}}`" — sent on every connection logged on
        with ``key``, which is logged out (the connection stays open, as after ``session.logout``; its
        user data stream, subscribed on the session, stops)."""
        for ep in servers:
            for c in list(ep.conns.values()):
                if not c.state.get("wsapi") or c.state.get("session_key") != key:
                    continue
                c.state.pop("session_key", None)
                c.state.pop("session_account", None)
                if "subscription_id" in c.state:
                    self.streams.remove(c)
                    c.state.pop("subscription_id", None)
                self.revocations += 1
                error = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
                c.send_text(orjson.dumps({"id": None, "status": 401, "error": error}))

    def _subscribe(self, conn: Conn, rid: Any, key: str) -> None:
        sub_id = conn.state.setdefault("subscription_id", self.streams.count(key))
        self.streams.add(key, conn)
        self.reply(conn, rid, {"subscriptionId": sub_id})

    def _order(self, conn: Conn, rid: Any, method: str, account: str, params: dict[str, str]) -> None:
        """The order methods share the REST implementation (same engine, same JSON)."""
        verb, path = self.methods[method]
        req = Request(verb, path, "", {}, b"", raw_path=path)
        resp = self.orders(conn.endpoint, req, account, params)
        body = orjson.loads(resp.body)
        if resp.status == 200:
            self.reply(conn, rid, body)
            return
        data = None
        wait = dict(resp.headers).get("Retry-After")
        if resp.status in (418, 429) and wait is not None:
            # venues.md §1.3: a rate-limited answer includes ``retryAfter`` (when it may retry, on the
            # venue's clock) where REST sends the ``Retry-After`` header (the order count's -1015).
            now = conn.endpoint.now_ms()
            data = {"serverTime": now, "retryAfter": now + int(float(wait) * 1000)}
        self.reply(conn, rid, status=resp.status, code=body["code"], msg=body["msg"], data=data)

    def _session(self, conn: Conn, now: int) -> dict[str, Any]:
        key = conn.state.get("session_key")
        return {
            "apiKey": key,
            "authorizedSince": conn.state.get("authorized_since") if key else None,
            "connectedSince": conn.state["connected_since"],
            "returnRateLimits": True,
            "serverTime": now,
            "userDataStream": "subscription_id" in conn.state,
        }

    def _signed(
        self, conn: Conn, params: dict[str, Any], session_ok: bool
    ) -> tuple[ApiKey | None, tuple[int, int, str] | None]:
        keys = self.keys
        key: ApiKey | None
        if session_ok and "signature" not in params and conn.state.get("session_key") in keys:
            key = keys[conn.state["session_key"]]
        else:
            key = keys.get(str(params.get("apiKey", "")))
            if key is None:
                return None, (401, -2015, "Invalid API-key, IP, or permissions for action.")
            sig = params.get("signature")
            if not isinstance(sig, str):
                return None, (400, -1102, "Mandatory parameter 'signature' was not sent.")
            # RSA/Ed25519 signatures travel as plain base64 in JSON; verify_binance unquotes first,
            # which leaves base64 unchanged.
            if not verify_binance(key, ws_payload(params), sig):
                return None, (400, -1022, "Signature for this request is not valid.")
        try:
            ts = int(params["timestamp"])
            recv = Decimal(str(params.get("recvWindow", "5000")))
        except (KeyError, ValueError, InvalidOperation):
            return None, (400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        if ts > 10**14:
            ts //= 1000
        server = conn.endpoint.now_ms()
        if recv > 60000 or not (ts < server + 1000 and server - ts <= recv):
            return None, (400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return key, None
