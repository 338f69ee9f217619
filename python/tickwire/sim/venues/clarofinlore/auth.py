"""Clarofinlore REST authentication (seed-venues.md).

Documented: every request is signed with HMAC-SHA256 over method + endpoint path + query + body and
carries a nonce and a timestamp; ``POST /v1/auth/token`` (signed the same way) returns a 15-minute JWT
and a refresh token; the JWT goes in ``Authorization: Bearer``. Defaults where the document is
silent: headers ``X-API-Key``, ``X-Timestamp`` (ms), ``X-Nonce``, ``X-Signature`` (lowercase hex), no
separators and the query without its ``?``; a timestamp more than ``timestamp_window`` from the venue
clock or a nonce already used by the key is refused; ``POST /v1/auth/refresh`` takes
``{"refresh_token"}`` and retires it. Auth failures are HTTP 401 with ``{"code", "message"}``.
Requests over ``rate_limit`` per second per key (profile, default 10,000: the documented burst) get
HTTP 429 with ``Retry-After`` in whole seconds (RFC 9110 delay-seconds).

Every refused authentication is recorded (``GET /v1/security/logs`` lists the caller's key's entries,
the document's source for "more than three failed logins per minute" alerts). A WebSocket upgrade may
carry the access token (``Authorization: Bearer``; profile ``ws_auth: "required"`` makes it
mandatory); at most ``max_sockets`` (10, documented) sockets per key are open at once, the next
upgrade is refused with HTTP 429.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.auth import hmac_hex, same
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

AUTH_CODES = {
    "key": (4011, "invalid api key"),
    "signature": (4012, "invalid signature"),
    "timestamp": (4013, "timestamp outside the allowed window"),
    "nonce": (4014, "nonce already used"),
    "token": (4015, "invalid or expired access token"),
    "refresh": (4016, "invalid refresh token"),
}
# Security-log entries kept (oldest dropped first): bounded memory under a brute-force test.
LOG_KEEP = 10_000


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# The authenticated API behind the auth checks: (server, request, API key) -> answer, None if no route.
Route = Callable[["VenueServer", Request, str], "Response | None"]


class ClarofinloreAuth:
    def __init__(self, ctx: VenueContext, route: Route) -> None:
        self.ctx = ctx
        self.route = route
        self.secrets: dict[str, str] = {}
        self.nonces: dict[str, set[str]] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> api key
        self.jwt_key = secrets.token_bytes(32)
        self.limiters: dict[tuple[int, str], WeightLimiter] = {}
        self.limit_refusals: Counter[tuple[str, str]] = Counter()  # (key, "rest") -> refused
        self.security_log: list[dict[str, Any]] = []

    def add_key(self, key: str, secret: str) -> None:
        self.secrets[key] = secret
        self.nonces[key] = set()

    def revoke_key(self, key: str) -> None:
        """The document's key rotation ends by revoking the old key: its signatures, access and
        refresh tokens stop working at once and its sockets are closed."""
        self.secrets.pop(key, None)
        for token, owner in list(self.refresh_tokens.items()):
            if owner == key:
                del self.refresh_tokens[token]
        for ep in self.ctx.servers:
            for c in list(ep.conns.values()):
                if c.state.get("key") == key:
                    c.close()

    def ip_allowed(self, peer: str) -> bool:
        """The IP whitelist (profile ``ip_whitelist``; absent: every address)."""
        allowed = self.ctx.profile.get("ip_whitelist")
        return allowed is None or peer.rpartition(":")[0] in allowed

    def _deny(self, what: str, ep: VenueServer | None = None, req: Request | None = None) -> Response:
        code, msg = AUTH_CODES[what]
        if ep is not None and req is not None:
            login = req.path.startswith("/v1/auth/")
            entry = {"ts": ep.now_ms(), "event": "login_failed" if login else "request_denied"}
            entry.update(code=code, reason=msg, api_key=req.headers.get("x-api-key", ""), ip=req.peer)
            entry.update(path=req.path)
            self.security_log.append(entry)
            del self.security_log[:-LOG_KEEP]
        return json_response({"code": code, "message": msg}, 401)

    def security_logs(self, key: str, since_ms: int) -> Response:
        entries = [e for e in self.security_log if e["api_key"] == key and e["ts"] >= since_ms]
        return json_response({"logs": entries})

    def check_signed(self, ep: VenueServer, req: Request) -> tuple[str | None, Response | None]:
        h = req.headers
        key = h.get("x-api-key", "")
        if key not in self.secrets:
            return None, self._deny("key", ep, req)
        ts, nonce = h.get("x-timestamp", ""), h.get("x-nonce", "")
        if not ts.isdigit() or abs(int(ts) - ep.now_ms()) > self.ctx.interval("timestamp_window") * 1000:
            return None, self._deny("timestamp", ep, req)
        payload = req.method + req.raw_path + req.raw_query + req.body.decode("utf-8", "replace")
        if not same(h.get("x-signature", ""), hmac_hex(self.secrets[key], payload)):
            return None, self._deny("signature", ep, req)
        if not nonce or nonce in self.nonces[key]:
            return None, self._deny("nonce", ep, req)
        self.nonces[key].add(nonce)
        return key, None

    def issue(self, ep: VenueServer, key: str) -> Response:
        now = ep.now_ms() // 1000
        ttl = int(self.ctx.interval("token_ttl")) or 1
        header = _b64url(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        claims = _b64url(
            orjson.dumps({"sub": key, "iat": now, "exp": now + ttl, "jti": secrets.token_hex(8)})
        )
        sig = _b64url(hmac.new(self.jwt_key, f"{header}.{claims}".encode(), hashlib.sha256).digest())
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = key
        body = {
            "access_token": f"{header}.{claims}.{sig}",
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
        }
        return json_response(body)

    def bearer(self, ep: VenueServer, auth: str) -> str | None:
        """The API key a valid, unexpired access token (an ``Authorization`` header value) was
        issued to, else None."""
        if not auth.startswith("Bearer "):
            return None
        try:
            header, claims, sig = auth[7:].split(".")
            want = _b64url(hmac.new(self.jwt_key, f"{header}.{claims}".encode(), hashlib.sha256).digest())
            if not same(sig, want):
                return None
            body: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if body.get("exp", 0) <= ep.now_ms() / 1000:
            return None
        sub = body.get("sub")
        return sub if isinstance(sub, str) and sub in self.secrets else None  # a revoked key's tokens die

    async def rest(self, ep: VenueServer, req: Request) -> Response:
        if not self.ip_allowed(req.peer):
            return json_response({"code": 4031, "message": "ip address not whitelisted"}, 403)
        # Rate limit per key and endpoint (tiered in production; a profile setting here). Over it:
        # 429 with Retry-After, as the document says clients must honour.
        who = (ep.index, req.headers.get("x-api-key", ""))
        lim = self.limiters.get(who)
        if lim is None:
            per_s = int(self.ctx.profile.get("rate_limit", 10_000))
            # No ban escalation documented: every excess request gets a 429.
            lim = self.limiters[who] = WeightLimiter(per_s, self.ctx.interval("rate_window"))
        verdict, retry = lim.charge(time.monotonic(), 1)
        if verdict != "ok":
            self.limit_refusals[(who[1], "rest")] += 1
            resp = json_response({"code": 429, "message": "rate limit exceeded"}, 429)
            resp.headers.append(("Retry-After", str(max(1, math.ceil(retry)))))
            return resp
        route = (req.method, req.path)
        if route == ("POST", "/v1/auth/refresh"):
            try:
                token = str((req.json() or {})["refresh_token"])
            except (KeyError, TypeError, orjson.JSONDecodeError):
                return self._deny("refresh", ep, req)
            key = self.refresh_tokens.pop(token, None)
            return self._deny("refresh", ep, req) if key is None else self.issue(ep, key)
        key, denied = self.check_signed(ep, req)
        if denied is not None:
            return denied
        assert key is not None
        if route == ("POST", "/v1/auth/token"):
            return self.issue(ep, key)
        if self.bearer(ep, req.headers.get("authorization", "")) != key:
            return self._deny("token", ep, req)
        if route == ("GET", "/v1/security/logs"):
            since = req.query.get("since", "0")
            return self.security_logs(key, int(since) if since.isdigit() else 0)
        routed = self.route(ep, req, key)
        if routed is not None:
            return routed
        return json_response({"code": 404, "message": f"no route {req.method} {req.path}"}, 404)
