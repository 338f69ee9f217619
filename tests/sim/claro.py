"""A test-side Clarofinlore REST client: signs with its own HMAC-SHA256 over method + path + query +
body (seed-venues.md), fetches a token and sends it as a Bearer."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import ssl
import time
from typing import Any

import orjson
from simclient import http

_nonce = itertools.count(1)


def signed(
    secret: str, key: str, method: str, path: str, query: str = "", body: bytes = b""
) -> dict[str, str]:
    sig = hmac.new(secret.encode(), (method + path + query).encode() + body, hashlib.sha256).hexdigest()
    ts = str(int(time.time() * 1000))
    return {"X-API-Key": key, "X-Timestamp": ts, "X-Nonce": f"c{next(_nonce)}", "X-Signature": sig}


class Claro:
    def __init__(self, base: str, key: str, secret: str, tls: ssl.SSLContext | None = None) -> None:
        self.base, self.key, self.secret, self.tls = base, key, secret, tls
        self.token = ""

    @classmethod
    async def funded(cls, sim: Any, secret: str, usdt: str, key: str = "ck") -> Claro:
        """A logged-in client of a new key on the simulator's Clarofinlore, funded with ``usdt``."""
        sim.venue("clarofinlore").add_key(key, secret)
        sim.fund("clarofinlore", key, {"USDT": usdt})
        claro = cls(sim.urls()["clarofinlore"][0]["rest"], key, secret)
        await claro.login()
        return claro

    async def login(self) -> str:
        status, body = await self.call("POST", "/v1/auth/token", {"key": self.key})
        assert status == 200, body
        self.token = str(body["access_token"])
        return self.token

    async def call(self, method: str, path: str, obj: Any = None, query: str = "") -> tuple[int, Any]:
        raw = orjson.dumps(obj) if obj is not None else b""
        h = signed(self.secret, self.key, method, path, query, raw)
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        url = self.base + path + ("?" + query if query else "")
        status, _, out = await http(method, url, raw, h, tls=self.tls)
        return status, orjson.loads(out)
