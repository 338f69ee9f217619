"""HTX authentication (venues.md §6.1, §6.3): REST Signature V2 and the ``/ws/v2`` Signature V2.1 auth.

The signed host is the request's own ``Host`` header, as a client signs the host it connects to.
Timestamps are UTC ``YYYY-MM-DDThh:mm:ss`` and must be within ``signature_window`` of the venue clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from tickwire.sim.auth import hmac_b64, htx_presign, same
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.htx_trade import HtxOrders

SIGNATURE_WINDOW_S = 300.0


def _fresh(ts: str, now_ms: int) -> bool:
    try:
        t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return abs(now_ms / 1000 - t) <= SIGNATURE_WINDOW_S


class HtxAuth:
    secrets: dict[str, str]
    trade: HtxOrders

    def add_key(self, access_key: str, secret: str) -> None:
        self.secrets[access_key] = secret

    def check_rest(self, ep: VenueServer, req: Request) -> Response | None:
        params = parse_qsl(req.raw_query, keep_blank_values=True)
        given = dict(params)

        def err(code: str, msg: str) -> Response:
            return json_response({"status": "error", "err-code": code, "err-msg": msg, "data": None})

        key = given.get("AccessKeyId", "")
        if key not in self.secrets:
            return err(
                "api-signature-not-valid", "Signature not valid: Incorrect Access key [Access key错误]"
            )
        if given.get("SignatureMethod") != "HmacSHA256" or given.get("SignatureVersion") != "2":
            return err(
                "api-signature-not-valid", "Signature not valid: unsupported signature method or version"
            )
        if not _fresh(given.get("Timestamp", ""), ep.now_ms()):
            return err("api-signature-not-valid", "Signature not valid: Timestamp expired")
        signed = [(k, v) for k, v in params if k != "Signature"]
        text = htx_presign(req.method, req.headers.get("host", ""), req.raw_path, signed)
        if not same(given.get("Signature", ""), hmac_b64(self.secrets[key], text)):
            return err("api-signature-not-valid", "Signature not valid: Verification failure [校验失败]")
        return None

    # WebSocket v2 ----------------------------------------------------------------------------------

    def on_v2(self, conn: Conn, data: bytes) -> None:
        try:
            msg = orjson.loads(data)
            action = msg["action"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            conn.send_text(orjson.dumps({"action": "req", "code": 2002, "message": "invalid request"}))
            return
        if action == "pong":
            ts = (msg.get("data") or {}).get("ts")
            if ts in conn.state["pings"]:
                conn.state["pings"].clear()
            return
        if action == "req" and msg.get("ch") == "auth":
            ok = self._v2_auth_ok(conn, msg.get("params") or {})
            conn.state["auth"] = ok
            if ok:
                conn.state["api_key"] = str((msg.get("params") or {})["accessKey"])
            reply: dict[str, Any] = {"action": "req", "code": 200 if ok else 2003, "ch": "auth", "data": {}}
            if not ok:
                reply["message"] = "auth.fail"
            conn.send_text(orjson.dumps(reply))
            return
        if not conn.state.get("auth"):
            conn.send_text(orjson.dumps({"action": action, "code": 2002, "message": "invalid.auth.state"}))
            return
        ch = str(msg.get("ch", ""))
        if action == "sub" and ch.startswith("orders#") and self.trade.subscribe(conn, ch):
            conn.send_text(orjson.dumps({"action": "sub", "code": 200, "ch": ch, "data": {}}))
            return
        # Of the private topics only orders#<symbol> is simulated.
        conn.send_text(orjson.dumps({"action": action, "code": 2001, "message": "invalid.ch"}))

    def _v2_auth_ok(self, conn: Conn, p: dict[str, Any]) -> bool:
        key = str(p.get("accessKey", ""))
        if p.get("authType") != "api" or key not in self.secrets:
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
        return same(str(p.get("signature", "")), hmac_b64(self.secrets[key], text))
