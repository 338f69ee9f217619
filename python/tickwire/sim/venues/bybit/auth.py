"""Bybit v5 signatures (venues.md §3.1, §3.4): the WebSocket ``auth`` op's ``[key, expires, sign]``
(HMAC of ``GET/realtime<expires>``) on ``/v5/private`` and ``/v5/trade``, and the REST
``X-BAPI-*`` headers (HMAC of timestamp + key + recv_window + query or body)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tickwire.sim.auth import hmac_hex, same
from tickwire.sim.http import Request, Response, json_response

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer


def ws_auth_key(secrets: Mapping[str, str], args: Any, now_ms: int) -> str | None:
    """The API key an ``auth`` op's args prove, else None."""
    if isinstance(args, list) and len(args) == 3 and str(args[0]) in secrets:
        key, expires, sig = str(args[0]), args[1], str(args[2])
        fresh = isinstance(expires, int) and expires > now_ms
        if fresh and same(sig, hmac_hex(secrets[key], f"GET/realtime{expires}")):
            return key
    return None


def check_rest(secrets: Mapping[str, str], ep: VenueServer, req: Request) -> Response | None:
    """None for a validly signed private REST request, else the venue's refusal."""
    h = req.headers
    key, ts, sig = h.get("x-bapi-api-key", ""), h.get("x-bapi-timestamp", ""), h.get("x-bapi-sign", "")
    recv = h.get("x-bapi-recv-window", "5000")

    def err(code: int, msg: str) -> Response:
        return json_response({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now})

    now = ep.now_ms()
    if key not in secrets:
        return err(10003, "API key is invalid.")
    if not ts.isdigit() or not recv.isdigit():
        return err(10002, "invalid request, please check your timestamp or recv_window param")
    # docs: server_time - recv_window <= timestamp < server_time + 1000
    if not (now - int(recv) <= int(ts) < now + 1000):
        return err(10002, "invalid request, please check your server timestamp or recv_window param")
    payload = req.raw_query if req.method == "GET" else req.body.decode("utf-8", "replace")
    if not same(sig, hmac_hex(secrets[key], ts + key + recv + payload)):
        return err(10004, "error sign! origin_string[" + ts + key + recv + payload + "]")
    return None
