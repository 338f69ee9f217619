"""The simulated Binance against venues.md §1: the official book-sync rules applied by an independent
client to the stream and REST snapshot must rebuild the simulator's ground-truth book exactly."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import time
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from simclient import connect, get_json, http, settle
from tickwire.sim import ApiKey, Simulator

# venues.md §8
VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
VECTOR_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
VECTOR_SIG = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class OfficialBook:
    """The "How to manage a local order book correctly" procedure (spot, §1.4), or the futures one
    (§1.6) with ``futures=True``. Raises on any rule violation."""

    def __init__(self, futures: bool = False) -> None:
        self.futures = futures
        self.buffer: list[dict[str, Any]] = []
        self.book_id: int | None = None
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.prev_u: int | None = None
        self.applied = 0

    def on_event(self, ev: dict[str, Any]) -> None:
        if self.book_id is None:
            self.buffer.append(ev)
        else:
            self._apply(ev)

    def on_snapshot(self, snap: dict[str, Any]) -> None:
        assert self.buffer, "step 1: events are buffered before the snapshot"
        if not self.futures:
            assert snap["lastUpdateId"] >= self.buffer[0]["U"], "step 2: snapshot older than first event"
        self.book_id = snap["lastUpdateId"]
        self.bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
        events, self.buffer = self.buffer, []
        events = [e for e in events if e["u"] > self.book_id]  # step 3 (futures: drop u < lastUpdateId)
        if events:
            first = events[0]
            assert first["U"] <= self.book_id + 1 <= first["u"] + 1, "first event must straddle the snapshot"
        for e in events:
            self._apply(e)

    def _apply(self, ev: dict[str, Any]) -> None:
        assert self.book_id is not None
        if ev["u"] < self.book_id:
            return
        if self.futures and self.prev_u is not None:
            assert ev["pu"] == self.prev_u, "futures: pu must equal the previous u"
        elif not self.futures:
            assert ev["U"] <= self.book_id + 1, "spot: U > book id + 1 means events were missed"
        for side, levels in ((self.bids, ev["b"]), (self.asks, ev["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        self.book_id = ev["u"]
        self.prev_u = ev["u"]
        self.applied += 1

    def top(self, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return (
            sorted(self.bids.items(), key=lambda x: -x[0])[:n],
            sorted(self.asks.items())[:n],
        )


async def _sync(venue: str, futures: bool) -> None:
    async with Simulator([venue], seed=11, rate=0, depth=30) as sim:
        ep = sim.urls()[venue][0]
        sym = "BTCUSDT"
        prefix = "/fapi/v1" if futures else "/api/v3"
        c = await connect(ep["ws"]["stream"] + "?streams=btcusdt@depth@100ms")
        local = OfficialBook(futures)
        sim.advance(40, venue, sym)
        await settle()
        for m in c.drain():
            assert m["stream"] == "btcusdt@depth@100ms"
            local.on_event(m["data"])
        snap = await get_json(ep["rest"] + f"{prefix}/depth?symbol={sym}&limit=1000")
        sim.advance(300, venue, sym)  # events racing the snapshot
        local.on_snapshot(snap)
        await settle()
        for m in c.drain():
            local.on_event(m["data"])
        truth = sim.book(venue, sym)
        assert local.book_id == truth.update_id
        assert local.top(10_000) == (truth.bids, truth.asks)
        assert local.applied >= 300
        c.close()


def test_spot_official_sync_rebuilds_ground_truth() -> None:
    run(_sync("binance", futures=False))


def test_usdm_pu_sync_rebuilds_ground_truth() -> None:
    run(_sync("binance-usdm", futures=True))


def test_spot_stream_chains_u_and_formats_like_binance() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=3, rate=0, depth=20) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
            sim.advance(200, "binance", "BTCUSDT")
            await settle()
            evs = c.drain()
            assert len(evs) == 200
            for a, b in itertools.pairwise(evs):
                assert b["U"] == a["u"] + 1  # "Normally, U of the next event is equal to u + 1"
            kinds = {"insert": 0, "delete": 0}
            for e in evs:
                assert e["e"] == "depthUpdate" and e["s"] == "BTCUSDT" and e["U"] <= e["u"]
                for p, q in e["b"] + e["a"]:
                    assert len(p.split(".")[1]) == 8 and len(q.split(".")[1]) == 8  # spot prints 8 dp
                    kinds["delete" if Decimal(q) == 0 else "insert"] += 1
            assert kinds["delete"] > 0 and kinds["insert"] > 0

    run(go())


def test_live_subscribe_book_ticker_and_trades() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=20) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["stream"])
            c.send({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@trade"], "id": 1})
            assert await c.recv() == {"result": None, "id": 1}
            c.send({"method": "LIST_SUBSCRIPTIONS", "id": "x"})
            assert await c.recv() == {"result": ["btcusdt@bookTicker", "btcusdt@trade"], "id": "x"}
            sim.advance(400, "binance", "BTCUSDT")
            await settle()
            msgs = c.drain()
            tickers = [m["data"] for m in msgs if m["stream"] == "btcusdt@bookTicker"]
            trades = [m["data"] for m in msgs if m["stream"] == "btcusdt@trade"]
            assert tickers and trades
            truth = sim.book("binance", "BTCUSDT", 1)
            last = tickers[-1]
            assert (Decimal(last["b"]), Decimal(last["B"])) == truth.bids[0]
            assert (Decimal(last["a"]), Decimal(last["A"])) == truth.asks[0]
            assert all(t["e"] == "trade" and t["M"] is True for t in trades)
            c.send({"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 2})
            assert await c.recv() == {"result": None, "id": 2}

    run(go())


def test_ping_timeout_cuts_silent_client_not_a_ponging_one() -> None:
    async def go() -> None:
        timeouts = {"ping_interval": 0.05, "pong_timeout": 0.15}
        async with Simulator(["binance"], rate=0, timeouts=timeouts) as sim:
            url = sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth"
            silent = await connect(url, pong=None)
            wrong = await connect(url, pong=lambda p: b"not-" + p)  # unsolicited pongs do not count
            polite = await connect(url)
            await asyncio.wait_for(silent.closed, 1.0)
            await asyncio.wait_for(wrong.closed, 1.0)
            assert silent.pings, "the server pinged before cutting"
            assert not polite.closed.done()
            assert len(polite.pings) >= 2
            polite.close()

    run(go())


def test_too_many_incoming_messages_cut_the_connection() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"])
            for i in range(7):
                c.send({"method": "LIST_SUBSCRIPTIONS", "id": i})
            await asyncio.wait_for(c.closed, 1.0)

    run(go())


def test_rest_depth_limits_and_time() -> None:
    async def go() -> None:
        async with Simulator(["binance", "binance-usdm"], rate=0, depth=30) as sim:
            spot = sim.urls()["binance"][0]["rest"]
            snap = await get_json(spot + "/api/v3/depth?symbol=BTCUSDT&limit=5")
            assert len(snap["bids"]) == 5 and snap["lastUpdateId"] == sim.book("binance", "BTCUSDT").update_id
            status, _, body = await http("GET", spot + "/api/v3/depth?symbol=NOPE")
            assert status == 400 and b"-1121" in body
            fut = sim.urls()["binance-usdm"][0]["rest"]
            status, _, _ = await http("GET", fut + "/fapi/v1/depth?symbol=BTCUSDT&limit=7")
            assert status == 400  # futures accepts only 5/10/20/50/100/500/1000
            t = (await get_json(spot + "/api/v3/time"))["serverTime"]
            assert abs(t - time.time() * 1000) < 2000

    run(go())


def _skew_to(sim: Simulator, ms: int) -> None:
    ep = sim.endpoint("binance")
    ep.skew(ms - int(time.time() * 1000))


def test_hmac_vector_request_accepted_and_every_mutation_rejected() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            sim.venue("binance").add_key(ApiKey("vector-key", secret=VECTOR_SECRET.encode()))
            _skew_to(sim, 1499827319559 + 100)  # the vector's timestamp is "now" for the venue
            base = sim.urls()["binance"][0]["rest"] + "/api/v3/order/test"
            hdr = {"X-MBX-APIKEY": "vector-key", "Content-Type": "application/x-www-form-urlencoded"}

            async def post(query: str, body: str, headers: dict[str, str] = hdr) -> tuple[int, bytes]:
                status, _, data = await http(
                    "POST", base + ("?" + query if query else ""), body.encode(), headers
                )
                return status, data

            # Signature in the body, in the query, and split across query+body (payload = query + body).
            assert (await post("", f"{VECTOR_PAYLOAD}&signature={VECTOR_SIG}"))[0] == 200
            assert (await post(f"{VECTOR_PAYLOAD}&signature={VECTOR_SIG}", ""))[0] == 200
            assert (await post("", f"{VECTOR_PAYLOAD}&signature={VECTOR_SIG.upper()}"))[0] == 200
            # Mutations: every parameter value, the order of two parameters, one signature nibble.
            pairs = VECTOR_PAYLOAD.split("&")
            for i, kv in enumerate(pairs):
                k, v = kv.split("=")
                mutated = "&".join([*pairs[:i], f"{k}={v}1", *pairs[i + 1 :]])
                status, data = await post("", f"{mutated}&signature={VECTOR_SIG}")
                assert status == 400 and b"-1022" in data, k
            swapped = "&".join([pairs[1], pairs[0], *pairs[2:]])
            assert b"-1022" in (await post("", f"{swapped}&signature={VECTOR_SIG}"))[1]
            bad = VECTOR_SIG[:-1] + ("0" if VECTOR_SIG[-1] != "0" else "1")
            assert b"-1022" in (await post("", f"{VECTOR_PAYLOAD}&signature={bad}"))[1]
            status, data = await post(
                "", f"{VECTOR_PAYLOAD}&signature={VECTOR_SIG}", {"X-MBX-APIKEY": "other"}
            )
            assert status == 401 and b"-2015" in data
            assert (await post("", VECTOR_PAYLOAD))[0] == 400  # no signature
            # Outside recvWindow: the venue clock moves 6 s past the vector's timestamp.
            _skew_to(sim, 1499827319559 + 6000)
            assert b"-1021" in (await post("", f"{VECTOR_PAYLOAD}&signature={VECTOR_SIG}"))[1]

    run(go())


def test_ed25519_signed_request() -> None:
    async def go() -> None:
        priv = ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_SEED)
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0) as sim:
            sim.venue("binance").add_key(ApiKey("ed-key", public_key=pem))
            url = sim.urls()["binance"][0]["rest"] + "/api/v3/account"
            query = f"timestamp={int(time.time() * 1000)}&recvWindow=5000"
            sig = quote(base64.b64encode(priv.sign(query.encode("ascii"))).decode(), safe="")
            status, _, body = await http(
                "GET", f"{url}?{query}&signature={sig}", headers={"X-MBX-APIKEY": "ed-key"}
            )
            assert status == 200, body
            other = quote(base64.b64encode(priv.sign(b"x" + query.encode())).decode(), safe="")
            status, _, body = await http(
                "GET", f"{url}?{query}&signature={other}", headers={"X-MBX-APIKEY": "ed-key"}
            )
            assert status == 400 and b"-1022" in body
            # The HMAC of the same payload is not a valid Ed25519 signature.
            h = hmac.new(b"k", query.encode(), hashlib.sha256).hexdigest()
            status, _, _ = await http(
                "GET", f"{url}?{query}&signature={h}", headers={"X-MBX-APIKEY": "ed-key"}
            )
            assert status == 400

    run(go())


@pytest.mark.parametrize("path", ["/nope", "/api"])
def test_unknown_ws_path_is_refused(path: str) -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            with pytest.raises(Exception, match="404"):
                await connect(sim.urls()["binance"][0]["ws"]["ws"].replace("/ws", path))

    run(go())


def test_partial_depth_streams_are_periodic_top_n() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=5, rate=0, depth=30, timeouts={"partial_depth": 0.05}) as sim:
            c = await connect(
                sim.urls()["binance"][0]["ws"]["stream"] + "?streams=ethusdt@depth5/ethusdt@depth20@100ms"
            )
            first = [await c.recv() for _ in range(2)]
            assert {m["stream"] for m in first} == {"ethusdt@depth5", "ethusdt@depth20@100ms"}
            sim.advance(50, "binance", "ETHUSDT")
            m = await c.until(
                lambda m: (
                    m["stream"] == "ethusdt@depth5"
                    and m["data"]["lastUpdateId"] != first[0]["data"]["lastUpdateId"]
                ),
                1.0,
            )
            truth = sim.book("binance", "ETHUSDT", 5)
            assert m["data"]["lastUpdateId"] == truth.update_id
            assert [(Decimal(p), Decimal(q)) for p, q in m["data"]["bids"]] == truth.bids

    run(go())


def test_rsa_signed_request() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    async def go() -> None:
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0) as sim:
            sim.venue("binance").add_key(ApiKey("rsa-key", public_key=pem))
            url = sim.urls()["binance"][0]["rest"] + "/api/v3/order/test"
            body = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&timestamp={int(time.time() * 1000)}"
            raw = priv.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())
            sig = quote(base64.b64encode(raw).decode(), safe="")
            key = {"X-MBX-APIKEY": "rsa-key"}
            status, _, resp = await http("POST", url, f"{body}&signature={sig}".encode(), key)
            assert status == 200, resp
            status, _, resp = await http("POST", url, f"{body}0&signature={sig}".encode(), key)
            assert status == 400 and b"-1022" in resp

    run(go())


def test_request_weight_429_then_418_with_retry_after() -> None:
    async def go() -> None:
        profiles = {"binance": {"weight_limit": 12}}
        timeouts = {"weight_window": 0.6, "ban": 0.3}
        async with Simulator(["binance"], rate=0, profiles=profiles, timeouts=timeouts) as sim:
            url = sim.urls()["binance"][0]["rest"] + "/api/v3/depth?symbol=BTCUSDT&limit=10"
            # Start at a window boundary of the venue's clock (wall time: its weight windows are aligned
            # to it, as Binance's to its minutes); the monotonic clock's boundaries fall anywhere in
            # them, and four requests straddling one see the count start over.
            await asyncio.sleep(0.6 - time.time() % 0.6)
            got = []
            # A 0.6 s window is announced (and counted in the header) as Binance names 1 s.
            for _ in range(4):  # weight 5 each: 5, 10, 15 > 12, then still sending
                status, hdrs, _ = await http("GET", url)
                got.append((status, hdrs.get("x-mbx-used-weight-1s"), "retry-after" in hdrs))
            assert got == [(200, "5", False), (200, "10", False), (429, "15", True), (418, "15", True)]
            await asyncio.sleep(0.7)  # the ban and the window are over
            assert (await http("GET", url))[0] == 200

    run(go())
