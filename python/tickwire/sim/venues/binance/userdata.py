"""Binance USDⓈ-M user data streams by listenKey (``/fapi/v1/listenKey``; spot's were retired on
2026-02-20, venues.md §9: the spot venue answers ``/api/v3/userDataStream`` with HTTP 410, -1020).

``POST`` (``X-MBX-APIKEY`` only, no signature) returns ``{"listenKey"}``: the key's active one if it
has one (its validity extended), else a new one; ``PUT ?listenKey=`` keeps it alive for another
``listen_key_ttl`` (60 min), ``DELETE`` closes it. The routed private path takes the key and the
events wanted as query parameters, ``/private/ws?listenKey=<key>&events=ORDER_TRADE_UPDATE/…``, and
delivers those events only (Binance's "Important WebSocket Change Notice", the URLs split on
2026-04-23; on production the path form ``/private/ws/<listenKey>`` opens and delivers nothing, and
so does a connection naming no events — unicorn-binance-websocket-api #445/#446, 2026-05-21). The
key's expiry (``listenKeyExpired``, which ends the stream) is one of those events: delivered only
where asked for. The notice names no exception for it, so the simulator takes the strict reading —
a client that would hear of an expiry must ask for it, else it learns of it only at its next
keep-alive. The unrouted ``/ws/<listenKey>`` (or the key in
``/stream?streams=``) delivers every event, as before the split. A key's streams carry the account's
``ORDER_TRADE_UPDATE`` events (and ``ACCOUNT_UPDATE`` after each fill). A key not kept alive
expires: its streams get ``{"e":"listenKeyExpired"}`` and no further events; ``expire_now`` does that
on demand. ``issued``, ``kept_alive`` and ``expired`` record what happened to keys, for tests.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.auth import ApiKey
from tickwire.sim.engine import Fill, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.venues.binance.auth import err
from tickwire.sim.venues.binance.framing import wrap
from tickwire.sim.venues.private import PrivateStreams

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext
    from tickwire.sim.ws import Conn


# An order event as the account's user data stream shows it, at a venue time in ms.
Report = Callable[[Order, str, Fill | None, int], dict[str, Any]]
# The account's balance and position after a fill, at a venue time in ms.
AccountReport = Callable[[Order, int], dict[str, Any]]


class ListenKeys:
    def __init__(
        self,
        ctx: VenueContext,
        keys: Mapping[str, ApiKey],
        path: str,
        report: Report,
        account_report: AccountReport | None = None,
    ) -> None:
        self.ctx = ctx
        self.api_keys = keys  # the venue's API keys: only their holders get a listenKey
        self.path = path
        self.report = report
        self.account_report = account_report
        self.keys: dict[str, tuple[str, float]] = {}  # listenKey -> (API key, expiry, monotonic)
        self.issued: list[str] = []  # every new key, in order
        self.kept_alive: list[str] = []  # the key of every successful PUT
        self.expired: list[str] = []
        self.streams = PrivateStreams(ctx.subscribers, ctx.private_faults)
        ctx.engine.listeners.append(self.on_order)

    def route(self, ep: VenueServer, req: Request) -> Response | None:
        if req.path != self.path or req.method not in ("POST", "PUT", "DELETE"):
            return None
        api_key = req.headers.get("x-mbx-apikey")
        if not api_key:
            return err(-2014, "API-key format invalid.", 401)
        if api_key not in self.api_keys:
            return err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        expiry = time.monotonic() + self.ctx.interval("listen_key_ttl")
        if req.method == "POST":
            lk = next((k for k, (a, _) in self.keys.items() if a == api_key), None)
            if lk is None:
                lk = secrets.token_urlsafe(48).replace("-", "a").replace("_", "b")[:64]
                self.issued.append(lk)
            self.keys[lk] = (api_key, expiry)
            return json_response({"listenKey": lk})
        params = {**req.query, **req.form()}
        lk = params.get("listenKey", "")
        if self.keys.get(lk, ("", 0.0))[0] != api_key:
            return err(-1125, "This listenKey does not exist.")
        if req.method == "PUT":
            self.keys[lk] = (api_key, expiry)
            self.kept_alive.append(lk)
        else:
            del self.keys[lk]
            for e in self.ctx.servers:
                for c in list(e.topics.get(lk, ())):
                    c.close()
        return json_response({})

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        for lk, (api_key, _) in self.keys.items():
            held = self.api_keys.get(api_key)
            if (held.owner if held is not None else api_key) == o.account:
                self._push(lk, lambda now: self.report(o, exec_type, fill, now))
                if fill is not None and self.account_report is not None:
                    self._push(lk, partial(self.account_report, o))

    def expire(self, ep: VenueServer, now: float) -> None:
        for lk, (_, until) in list(self.keys.items()):
            if now >= until:
                self._expire(lk, ep.now_ms())

    def expire_now(self, api_key: str) -> str:
        """Expires the active listenKey of ``api_key`` at once (as if nobody kept it alive); returns
        it."""
        lk = next(k for k, (a, _) in self.keys.items() if a == api_key)
        self._expire(lk, int(time.time() * 1000))
        return lk

    def _expire(self, lk: str, now_ms: int) -> None:
        del self.keys[lk]
        self.expired.append(lk)
        self._push(lk, {"e": "listenKeyExpired", "E": now_ms, "listenKey": lk})

    def _push(self, lk: str, event: dict[str, Any] | Callable[[int], dict[str, Any]]) -> None:
        """Send an event to the listenKey's streams: an order event is built at each connection's
        server clock; on a combined stream it is wrapped."""

        def frame(c: Conn) -> bytes | None:
            ev = event(c.endpoint.now_ms()) if callable(event) else event
            wanted = c.state.get("events")
            if wanted is not None and ev.get("e") not in wanted:
                return None
            data = orjson.dumps(ev)
            return wrap(lk, data) if c.combined else data

        self.streams.push(frame, topics=[lk])
