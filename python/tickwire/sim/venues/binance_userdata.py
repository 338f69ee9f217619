"""Binance user data streams by listenKey (spot ``/api/v3/userDataStream``; USDⓈ-M ``/fapi/v1/listenKey``).

``POST`` (``X-MBX-APIKEY`` only, no signature) returns ``{"listenKey"}``: the key's active one if it
has one (its validity extended), else a new one; ``PUT ?listenKey=`` keeps it alive for another
``listen_key_ttl`` (60 min), ``DELETE`` closes it. Connecting to ``/ws/<listenKey>`` (or naming it in
``/stream?streams=``) delivers the account's ``executionReport`` events, the same ones the WS API's
``userDataStream.subscribe`` sends (futures: ``ORDER_TRADE_UPDATE``). A key not kept alive
expires: its streams get ``{"e":"listenKeyExpired"}`` and no further events.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import orjson

from tickwire.sim.engine import Fill, Order
from tickwire.sim.http import Request, Response, json_response

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.binance import BinanceSpot


def _err(code: int, msg: str, status: int = 400) -> Response:
    return json_response({"code": code, "msg": msg}, status)


class ListenKeys:
    def __init__(self, venue: BinanceSpot) -> None:
        self.venue = venue
        self.path = "/fapi/v1/listenKey" if venue.futures else venue.rest_prefix + "/userDataStream"
        self.keys: dict[str, tuple[str, float]] = {}  # listenKey -> (API key, expiry, monotonic)
        venue.engine.listeners.append(self.on_order)

    def route(self, ep: VenueServer, req: Request) -> Response | None:
        if req.path != self.path or req.method not in ("POST", "PUT", "DELETE"):
            return None
        api_key = req.headers.get("x-mbx-apikey")
        if not api_key:
            return _err(-2014, "API-key format invalid.", 401)
        if api_key not in self.venue.keys:
            return _err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        expiry = time.monotonic() + self.venue.interval("listen_key_ttl")
        if req.method == "POST":
            lk = next((k for k, (a, _) in self.keys.items() if a == api_key), None)
            lk = lk or secrets.token_urlsafe(48).replace("-", "a").replace("_", "b")[:64]
            self.keys[lk] = (api_key, expiry)
            return json_response({"listenKey": lk})
        params = {**req.query, **req.form()}
        lk = params.get("listenKey", "")
        if self.keys.get(lk, ("", 0.0))[0] != api_key:
            return _err(-1125, "This listenKey does not exist.")
        if req.method == "PUT":
            self.keys[lk] = (api_key, expiry)
        else:
            del self.keys[lk]
            for e in self.venue.endpoints:
                for c in list(e.topics.get(lk, ())):
                    c.close()
        return json_response({})

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        for lk, (api_key, _) in self.keys.items():
            if api_key != o.account:
                continue
            for ep in self.venue.endpoints:
                subs = ep.topics.get(lk)
                if subs:
                    v, now = self.venue, ep.now_ms()
                    if v.futures:
                        report = v.futures_orders.trade_update(o, exec_type, fill, now)
                    else:
                        report = v.wsapi.execution_report(o, exec_type, fill, now)
                    self.venue.send_stream(subs, lk, orjson.dumps(report))

    def expire(self, ep: VenueServer, now: float) -> None:
        for lk, (_, until) in list(self.keys.items()):
            if now < until:
                continue
            del self.keys[lk]
            event = {"e": "listenKeyExpired", "E": ep.now_ms(), "listenKey": lk}
            for e in self.venue.endpoints:
                subs = e.topics.get(lk)
                if subs:
                    self.venue.send_stream(subs, lk, orjson.dumps(event))
