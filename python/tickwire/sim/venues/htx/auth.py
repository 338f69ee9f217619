"""HTX authentication (venues.md §6.1, §6.3): REST Signature V2 and the ``/ws/v2`` Signature V2.1 auth.

The signed host is the request's own ``Host`` header, as a client signs the host it connects to.
Timestamps are UTC ``YYYY-MM-DDThh:mm:ss`` and must be within ``signature_window`` of the venue clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from tickwire.sim.auth import hmac_b64, htx_presign, same
from tickwire.sim.http import Request, Response, json_response

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.ws import Conn

SIGNATURE_WINDOW_S = 300.0


def _fresh(ts: str, now_ms: int) -> bool:
    try:
        t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return abs(now_ms / 1000 - t) <= SIGNATURE_WINDOW_S


def check_rest(secrets: Mapping[str, str], ep: VenueServer, req: Request) -> Response | None:
    """None for a valid Signature V2 request, else the venue's refusal."""
    params = parse_qsl(req.raw_query, keep_blank_values=True)
    given = dict(params)

    def err(code: str, msg: str) -> Response:
        return json_response({"status": "error", "err-code": code, "err-msg": msg, "data": None})

    key = given.get("AccessKeyId", "")
    if key not in secrets:
        return err("api-signature-not-valid", "Signature not valid: Incorrect Access key [Access key错误]")
    if given.get("SignatureMethod") != "HmacSHA256" or given.get("SignatureVersion") != "2":
        return err("api-signature-not-valid", "Signature not valid: unsupported signature method or version")
    if not _fresh(given.get("Timestamp", ""), ep.now_ms()):
        return err("api-signature-not-valid", "Signature not valid: Timestamp expired")
    signed = [(k, v) for k, v in params if k != "Signature"]
    text = htx_presign(req.method, req.headers.get("host", ""), req.raw_path, signed)
    if not same(given.get("Signature", ""), hmac_b64(secrets[key], text)):
        return err("api-signature-not-valid", "Signature not valid: Verification failure [校验失败]")
    return None


def v2_auth_ok(secrets: Mapping[str, str], conn: Conn, p: dict[str, Any]) -> bool:
    """Whether a ``/ws/v2`` ``auth`` request's params carry a valid Signature V2.1."""
    key = str(p.get("accessKey", ""))
    if p.get("authType") != "api" or key not in secrets:
        return False
    if p.get("signatureMethod") != "HmacSHA256" or p.get("signatureVersion") != "2.1":
        return False
    ts = str(p.get("timestamp", ""))
    if not _fresh(ts, conn.endpoint.now_ms()):
        return False
    signed = [
        ("accessKey", key),
        ("signatureMethod", "HmacSHA256"),
        ("signatureVersion", "2.1"),
        ("timestamp", ts),
    ]
    text = htx_presign("GET", conn.headers.get("host", ""), "/ws/v2", signed)
    return same(str(p.get("signature", "")), hmac_b64(secrets[key], text))
