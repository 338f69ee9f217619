"""Binance signed REST requests (venues.md §1.1, §8): ``X-MBX-APIKEY``, the HMAC/RSA/Ed25519
``signature`` over the query and body, ``timestamp`` within ``recvWindow`` of the venue clock."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from tickwire.sim.auth import ApiKey, binance_rest_payload, verify_binance
from tickwire.sim.http import Request, Response, json_response

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer


def err(code: int, msg: str, status: int = 400) -> Response:
    return json_response({"code": code, "msg": msg}, status)


def check_signed(keys: Mapping[str, ApiKey], ep: VenueServer, req: Request) -> Response | None:
    """None for a valid signed request, else the venue's refusal."""
    api_key = req.headers.get("x-mbx-apikey")
    if not api_key:
        return err(-2014, "API-key format invalid.", 401)
    key = keys.get(api_key)
    if key is None:
        return err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    payload, sig = binance_rest_payload(req.raw_query, req.body)
    if sig is None:
        return err(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    if not verify_binance(key, payload, sig):
        return err(-1022, "Signature for this request is not valid.")
    params = dict(req.query)
    params.update(req.form())
    try:
        ts = int(params["timestamp"])
        recv = Decimal(params.get("recvWindow", "5000"))
    except (KeyError, ValueError, ArithmeticError):
        return err(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    if ts > 10**14:  # microseconds
        ts //= 1000
    if recv > 60000:
        return err(-1131, "recvWindow must be less than 60000")
    server = ep.now_ms()
    if not (ts < server + 1000 and server - ts <= recv):
        return err(-1021, "Timestamp for this request is outside of the recvWindow.")
    return None
