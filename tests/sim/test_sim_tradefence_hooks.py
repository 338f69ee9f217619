"""Tradefence webhooks and rate limit: events reach the URL the client registered (the test runs its
own receiver), signed with HMAC-SHA256 when a secret was given (checked here with hmac), retried when
the receiver fails, and only for the events asked for; requests over the limit get 429 with 2001."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import orjson
from simclient import http
from test_sim_tradefence_auth import REDIRECT, _token
from tickwire.sim import Simulator


class Receiver:
    """A webhook endpoint: records each POST, answers with the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.got: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
        self.hits = 0
        self.url = ""

    async def start(self) -> Receiver:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/webhooks/tradefence"
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        assert head[0].startswith("POST /webhooks/tradefence HTTP/1.1")
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in head[1:] if x)}
        body = await reader.readexactly(int(hdrs["content-length"]))
        self.hits += 1
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nOK".encode())
        await writer.drain()
        writer.close()
        if status == 200:
            await self.got.put((hdrs, body))

    async def event(self, timeout: float = 2.0) -> tuple[dict[str, str], Any]:
        hdrs, body = await asyncio.wait_for(self.got.get(), timeout)
        return hdrs, orjson.loads(body)


def test_webhooks_order_filled_position_closed_alert() -> None:
    async def go() -> None:
        timeouts = {"webhook_retry": 0.02, "webhook_timeout": 0.5}
        async with Simulator(["tradefence"], rate=0, depth=20, timeouts=timeouts) as sim:
            v: Any = sim.venue("tradefence")
            v.add_client("cid", "csecret", REDIRECT)
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}

            async def call(method: str, path: str, obj: Any = None) -> tuple[int, Any]:
                status, _, data = await http(method, base + path, orjson.dumps(obj) if obj else b"", auth)
                return status, orjson.loads(data)

            rx = await Receiver([500]).start()  # the first delivery fails and is retried
            only_alerts = await Receiver().start()
            s, hook = await call("POST", "/v1/webhooks", {"url": rx.url, "secret": "whsec"})
            assert s == 201 and hook["events"] == ["order.filled", "position.closed", "alert.triggered"]
            await call("POST", "/v1/webhooks", {"url": only_alerts.url, "events": ["alert.triggered"]})
            assert (await call("POST", "/v1/webhooks", {"url": "ftp://x"}))[0] == 400

            best = sim.book("tradefence", "AAPL", 1).asks[0]
            buy = {"symbol": "AAPL", "type": "MARKET", "side": "BUY", "quantity": str(best[1])}
            s, order = await call("POST", "/v1/orders", buy)
            assert order["status"] == "FILLED"
            hdrs, ev = await rx.event()
            assert rx.hits == 2, "one failed attempt, one retry"
            assert ev["type"] == "order.filled" and ev["data"]["id"] == order["id"]
            raw = orjson.dumps(ev)  # orjson round-trips the body byte for byte
            want = hmac.new(b"whsec", raw, hashlib.sha256).hexdigest()
            assert hdrs["x-tradefence-signature"] == want and hdrs["x-tradefence-event"] == "order.filled"

            batch = {
                "operations": [{"action": "UPDATE_POSITION", "data": {"symbol": "AAPL", "quantity": "0"}}]
            }
            await call("POST", "/v1/batch", batch)
            _, ev = await rx.event()  # the closing order filled ...
            assert ev["type"] == "order.filled" and ev["data"]["side"] == "SELL"
            _, ev = await rx.event()  # ... and closed the position
            assert ev["type"] == "position.closed"
            assert ev["data"] == {"symbol": "AAPL", "side": "LONG", "quantity": str(best[1]),
                                  "closed_by_order_id": ev["data"]["closed_by_order_id"]}  # fmt: skip

            # A price alert fires once, when the book reaches it.
            bid = sim.book("tradefence", "AAPL", 1).bids[0][0]
            s, al = await call("POST", "/v1/alerts", {"symbol": "AAPL", "condition": "price_below",
                                                       "price": str(bid + Decimal("0.50"))})  # fmt: skip
            assert s == 201
            sim.advance(1, "tradefence", "AAPL")
            for r in (rx, only_alerts):
                _, ev = await r.event()
                assert ev["type"] == "alert.triggered" and ev["data"]["alert_id"] == al["id"]
            sim.advance(5, "tradefence", "AAPL")
            await asyncio.sleep(0.05)
            assert only_alerts.got.empty() and only_alerts.hits == 1
            assert [d["attempts"] for d in v.hooks.deliveries][:1] == [2]

            # Unregistered: no more deliveries.
            s, _ = await call("DELETE", f"/v1/webhooks/{hook['id']}")
            await call("POST", "/v1/orders", {**buy, "quantity": "1"})
            await asyncio.sleep(0.05)
            assert rx.got.empty()
            assert not sim.errors

    asyncio.run(go())


def test_a_dead_receiver_is_retried_then_given_up() -> None:
    async def go() -> None:
        timeouts = {"webhook_retry": 0.01, "webhook_timeout": 0.2}
        profile = {"tradefence": {"webhook_retries": 2}}
        async with Simulator(["tradefence"], rate=0, timeouts=timeouts, profiles=profile) as sim:
            v: Any = sim.venue("tradefence")
            server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            server.close()
            await server.wait_closed()  # nothing listens there now: connections are refused
            v.hooks.register("cid", f"http://127.0.0.1:{port}/hook", ["alert.triggered"])
            v.hooks.emit("cid", "alert.triggered", {"x": 1})
            await asyncio.sleep(0.2)
            (d,) = v.hooks.deliveries
            assert d["attempts"] == 3 and d["status"] is None and d["error"] == "ConnectionRefusedError"

    asyncio.run(go())


def test_rate_limit_2001() -> None:
    async def go() -> None:
        profile = {"tradefence": {"rate_limit": 5}}
        async with Simulator(["tradefence"], rate=0, profiles=profile) as sim:
            sim.venue("tradefence").add_client("cid", "csecret", REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}
            got = [await http("GET", base + "/v1/account", headers=auth) for _ in range(7)]
            assert [s for s, _, _ in got].count(200) <= 5 and got[-1][0] == 429
            assert orjson.loads(got[-1][2])["code"] == 2001 and int(got[-1][1]["retry-after"]) >= 1

    asyncio.run(go())
