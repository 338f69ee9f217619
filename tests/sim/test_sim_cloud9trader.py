"""Cloud9Trader upgrade authentication (seed-venues.md): the right headers open the socket, every
mutation and every replay gets HTTP 401. The test signs with its own hmac call."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from picows import WSHandshakeError
from simclient import connect, settle
from tickwire.sim import Simulator

SECRET = base64.b64encode(b"cloud9-test-secret-bytes").decode()


def headers(
    key: str = "k1", secret: str = SECRET, path: str = "/", nonce: int | None = None
) -> dict[str, str]:
    n = str(nonce if nonce is not None else int(time.time() * 1000))
    sig = hmac.new(base64.b64decode(secret), (path + n).encode(), hashlib.sha256).hexdigest()
    return {"x-c9t-key": key, "x-c9t-nonce": n, "x-c9t-signature": sig}


async def status_of(url: str, hdrs: dict[str, str]) -> int:
    try:
        c = await connect(url, headers=hdrs)
    except WSHandshakeError as e:
        assert e.response is not None
        return int(e.response.status)
    c.close()
    return 101


def test_upgrade_auth_accepts_valid_and_rejects_mutations() -> None:
    async def go() -> None:
        async with Simulator(["cloud9trader"], rate=0) as sim:
            sim.venue("cloud9trader").add_key("k1", SECRET)  # type: ignore[attr-defined]
            url = sim.urls()["cloud9trader"][0]["ws"]["socket"]
            now = int(time.time() * 1000)
            assert await status_of(url, headers(nonce=now)) == 101
            assert await status_of(url, headers(nonce=now)) == 401, "replayed nonce"
            assert await status_of(url, headers(nonce=now - 1)) == 401, "nonce going backwards"
            assert await status_of(url, headers(nonce=now + 60_000)) == 401, "nonce far from the clock"
            other = base64.b64encode(b"another-secret").decode()
            assert await status_of(url, headers(secret=other, nonce=now + 1)) == 401
            assert await status_of(url, headers(key="nobody", nonce=now + 2)) == 401
            assert await status_of(url, headers(path="/x", nonce=now + 3)) == 401
            good = headers(nonce=now + 4)
            for name in good:
                partial = {k: v for k, v in good.items() if k != name}
                assert await status_of(url, partial) == 401, name
            flipped = dict(good, **{"x-c9t-signature": good["x-c9t-signature"][::-1]})
            assert await status_of(url, flipped) == 401
            assert await status_of(url, good) == 101

    asyncio.run(go())


def test_book_channel_snapshot_then_chained_updates() -> None:
    async def go() -> None:
        async with Simulator(["cloud9trader"], rate=0, depth=10) as sim:
            sim.venue("cloud9trader").add_key("k1", SECRET)  # type: ignore[attr-defined]
            c = await connect(sim.urls()["cloud9trader"][0]["ws"]["socket"], headers=headers())
            c.send({"op": "subscribe", "channels": ["book.EURUSD", "trades.EURUSD"]})
            assert await c.recv() == {"type": "subscribed", "channel": "book.EURUSD"}
            snap = await c.recv()
            assert snap["type"] == "snapshot" and len(snap["bids"]) >= 5
            assert await c.recv() == {"type": "subscribed", "channel": "trades.EURUSD"}
            sim.advance(50, "cloud9trader", "EURUSD")
            await settle()
            seq = snap["seq"]
            books: dict[str, dict[str, str]] = {"bids": dict(snap["bids"]), "asks": dict(snap["asks"])}
            for m in c.drain():
                if m["channel"] != "book.EURUSD":
                    continue
                assert m["prev_seq"] == seq
                seq = m["seq"]
                for side in ("bids", "asks"):
                    for p, q in m[side]:
                        if float(q) == 0:
                            books[side].pop(p, None)
                        else:
                            books[side][p] = q
            truth = sim.book("cloud9trader", "EURUSD")
            assert sorted((float(p), float(q)) for p, q in books["bids"].items()) == sorted(
                (float(p), float(q)) for p, q in truth.bids
            )

    asyncio.run(go())


@pytest.mark.parametrize("bad", [b"nope", b'{"op":"fly","channels":[]}'])
def test_bad_requests_get_an_error(bad: bytes) -> None:
    async def go() -> Any:
        async with Simulator(["cloud9trader"], rate=0) as sim:
            sim.venue("cloud9trader").add_key("k1", SECRET)  # type: ignore[attr-defined]
            c = await connect(sim.urls()["cloud9trader"][0]["ws"]["socket"], headers=headers())
            c.send(bad)
            assert (await c.recv())["type"] == "error"

    asyncio.run(go())
