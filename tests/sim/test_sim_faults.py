"""Every fault does what it says, through the Python API and the loopback control endpoint."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from decimal import Decimal
from typing import Any

import orjson
import pytest
from simclient import connect, get_json, http, settle
from tickwire.sim import Simulator


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def okx_reference(d: dict[str, Any], bids: dict[str, str], asks: dict[str, str]) -> int:
    for side, levels in ((bids, d["bids"]), (asks, d["asks"])):
        for p, q, *_ in levels:
            if q == "0":
                side.pop(p, None)
            else:
                side[p] = q
    b = sorted(bids.items(), key=lambda x: -Decimal(x[0]))[:25]
    a = sorted(asks.items(), key=lambda x: Decimal(x[0]))[:25]
    parts = []
    for i in range(25):
        if i < len(b):
            parts += b[i]
        if i < len(a):
            parts += a[i]
    v = zlib.crc32(":".join(parts).encode())
    return v - 2**32 if v & 0x80000000 else v


def test_drop_one_and_all() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            url = sim.urls()["binance"][0]["ws"]["ws"]
            a, b, c = [await connect(url) for _ in range(3)]
            ep = sim.endpoint("binance")
            victim = min(ep.conns)
            assert ep.drop(victim) == 1
            await asyncio.wait_for(a.closed, 1)
            assert not b.closed.done() and not c.closed.done()
            assert ep.drop() == 2
            await asyncio.wait_for(asyncio.gather(b.closed, c.closed), 1)

    run(go())


def test_stall_keeps_socket_open_without_data_then_resumes() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
            sim.advance(5)
            await settle()
            last_u = c.drain()[-1]["u"]
            sim.endpoint("binance").stall()
            sim.advance(20)
            await asyncio.sleep(0.1)
            assert c.q.empty() and not c.closed.done()
            sim.endpoint("binance").unstall()
            sim.advance(3)
            await settle()
            evs = c.drain()
            assert len(evs) == 3 and evs[0]["U"] > last_u + 1  # what was not sent is lost

    run(go())


def test_stall_for_a_duration_ends_by_itself() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, time_scale=0.01) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
            sim.endpoint("binance").stall(0.1)
            sim.advance(2)
            await asyncio.sleep(0.25)
            assert c.q.empty()
            sim.advance(2)
            await settle()
            assert len(c.drain()) == 2

    run(go())


def test_gap_on_one_symbol_only() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            c = await connect(
                sim.urls()["binance"][0]["ws"]["stream"] + "?streams=btcusdt@depth/ethusdt@depth"
            )
            sim.endpoint("binance").gap("BTCUSDT")
            sim.advance(10)
            await settle()
            by = {"BTCUSDT": [], "ETHUSDT": []}  # type: dict[str, list[dict[str, Any]]]
            for m in c.drain():
                by[m["data"]["s"]].append(m["data"])
            btc, eth = by["BTCUSDT"], by["ETHUSDT"]
            assert len(btc) == 9 and len(eth) == 10
            assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(eth))
            assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(btc))

    run(go())


def test_pending_book_faults_wait_for_a_message_to_hit() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            ep = sim.endpoint("binance")
            ep.gap("BTCUSDT")
            ep.gap("BTCUSDT")
            sim.advance(5)  # nobody subscribed: no book message, so nothing applied yet
            want = {"binance": [{"BTCUSDT": ["gap", "gap"]}]}
            assert sim.pending_faults() == want
            assert await get_json(sim.urls()["control"] + "/faults/pending") == want
            c = await connect(sim.urls()["binance"][0]["ws"]["stream"] + "?streams=btcusdt@depth")
            sim.advance(1)
            assert sim.pending_faults() == {"binance": [{"BTCUSDT": ["gap"]}]}
            sim.advance(2)
            assert sim.pending_faults() == {"binance": [{}]}
            await settle()
            assert len(c.drain()) == 1  # two of the three messages skipped

    run(go())


def test_gap_breaks_the_futures_pu_chain() -> None:
    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0) as sim:
            c = await connect(sim.urls()["binance-usdm"][0]["ws"]["ws"] + "/btcusdt@depth")
            sim.advance(3, symbol="BTCUSDT")
            sim.endpoint("binance-usdm").gap("BTCUSDT")
            sim.advance(3, symbol="BTCUSDT")
            await settle()
            evs = c.drain()
            assert len(evs) == 5
            breaks = [i for i in range(1, 5) if evs[i]["pu"] != evs[i - 1]["u"]]
            assert breaks == [3]

    run(go())


def kraken_reference(d: dict[str, Any], bids: dict[str, str], asks: dict[str, str]) -> int:
    for side, key in ((bids, "bids"), (asks, "asks")):
        for lv in d[key]:
            # BTC/USD precision (venues.md §4.2): price 1, qty 8 — the checksum uses these strings.
            price, qty = f"{Decimal(lv['price']):.1f}", f"{Decimal(lv['qty']):.8f}"
            if Decimal(qty) == 0:
                side.pop(price, None)
            else:
                side[price] = qty
    b = sorted(bids.items(), key=lambda x: -Decimal(x[0]))
    a = sorted(asks.items(), key=lambda x: Decimal(x[0]))
    for side, keep in ((bids, b[:10]), (asks, a[:10])):  # truncate to the subscribed depth
        for p in set(side) - {p for p, _ in keep}:
            del side[p]

    def enc(s: str) -> str:
        return s.replace(".", "").lstrip("0")

    text = "".join(enc(p) + enc(q) for p, q in a[:10]) + "".join(enc(p) + enc(q) for p, q in b[:10])
    return zlib.crc32(text.encode())


@pytest.mark.parametrize("venue", ["okx", "kraken"])
def test_corrupt_checksum_hits_exactly_one_message(venue: str) -> None:
    async def go() -> None:
        async with Simulator([venue], rate=0, depth=30) as sim:
            sym = "BTC-USDT" if venue == "okx" else "BTC/USD"
            if venue == "okx":
                c = await connect(sim.urls()["okx"][0]["ws"]["public"])
                c.send({"op": "subscribe", "args": [{"channel": "books", "instId": sym}]})
            else:
                c = await connect(sim.urls()["kraken"][0]["ws"]["v2"])
                await c.recv()
                c.send({"method": "subscribe", "params": {"channel": "book", "symbol": [sym], "depth": 10}})
            await c.recv()
            sim.advance(30, venue, sym)
            sim.endpoint(venue).corrupt_checksum(sym)
            sim.advance(30, venue, sym)
            await settle()
            ref = okx_reference if venue == "okx" else kraken_reference
            bids: dict[str, str] = {}
            asks: dict[str, str] = {}
            good = []
            while not c.q.empty():
                d = json.loads((await c.raw())[1], parse_float=Decimal, parse_int=Decimal)["data"][0]
                good.append(d["checksum"] == ref(d, bids, asks))
            assert len(good) > 10 and good.count(False) == 1 and good[0]

    run(go())


def test_corrupt_checksum_refused_where_there_is_none() -> None:
    sim = Simulator(["binance"], rate=0, control=False)
    with pytest.raises(ValueError, match="no book checksum"):
        sim.endpoint("binance").corrupt_checksum("BTCUSDT")


def test_malformed_frame() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"])
            assert sim.endpoint("binance").malformed() == 1
            _, raw = await c.raw()
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(raw)

    run(go())


def test_delay_fail_and_timeout() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            ep = sim.endpoint("binance")
            url = sim.urls()["binance"][0]["rest"] + "/api/v3/time"
            ep.delay(0.2)
            t0 = time.monotonic()
            await get_json(url)
            assert time.monotonic() - t0 >= 0.2
            ep.delay(0)
            ep.fail(2, status=503)
            assert [(await http("GET", url))[0] for _ in range(3)] == [503, 503, 200]
            ep.fail(1, timeout=True)
            with pytest.raises(asyncio.TimeoutError):
                await http("GET", url, timeout=0.2)
            assert (await http("GET", url))[0] == 200

    run(go())


def test_skew_moves_the_venue_clock() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            sim.endpoint("binance").skew(-30_000)
            t = (await get_json(sim.urls()["binance"][0]["rest"] + "/api/v3/time"))["serverTime"]
            assert abs(t - (time.time() * 1000 - 30_000)) < 1000
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
            sim.advance(1)
            assert abs((await c.recv())["E"] - (time.time() * 1000 - 30_000)) < 1000

    run(go())


def test_down_refuses_connections_then_comes_back() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            u = sim.urls()["binance"][0]
            c = await connect(u["ws"]["ws"])
            await sim.endpoint("binance").down(0.3)
            await asyncio.wait_for(c.closed, 1)
            with pytest.raises(OSError):
                await connect(u["ws"]["ws"])
            with pytest.raises(OSError):
                await http("GET", u["rest"] + "/api/v3/time")
            await asyncio.sleep(0.5)  # housekeeping brings it back on the same ports
            c2 = await connect(u["ws"]["ws"])
            assert (await get_json(u["rest"] + "/api/v3/time"))["serverTime"] > 0
            c2.close()

    run(go())


def test_server_shutdown_event() -> None:
    async def go() -> None:
        async with Simulator(["binance", "okx", "kraken"], rate=0) as sim:
            u = sim.urls()["binance"][0]["ws"]
            raw = await connect(u["ws"])
            combined = await connect(u["stream"] + "?streams=btcusdt@trade")
            wsapi = await connect(u["ws_api"])
            assert sim.endpoint("binance").server_shutdown() == 3
            # Each surface's form (binance-spot-api-docs): raw stream, combined stream, WS API.
            ev = await raw.recv()
            assert ev["e"] == "serverShutdown" and isinstance(ev["E"], int)
            ev = await combined.recv()
            assert ev["stream"] == "!serverShutdown" and ev["data"]["e"] == "serverShutdown"
            ev = await wsapi.recv()
            assert ev["event"]["e"] == "serverShutdown" and isinstance(ev["event"]["E"], int)
            # OKX's notice of a service upgrade (changelog 2025-05-27: ``event`` notice, 60 s ahead).
            okx = await connect(sim.urls()["okx"][0]["ws"]["public"])
            assert sim.endpoint("okx").server_shutdown() == 1
            ev = await okx.recv()
            assert (ev["event"], ev["code"]) == ("notice", "64008") and "service upgrade" in ev["msg"]
            await connect(sim.urls()["kraken"][0]["ws"]["v2"])
            with pytest.raises(ValueError):  # a venue that announces nothing
                sim.endpoint("kraken").server_shutdown()

    run(go())


def test_endpoints_share_books_but_fail_independently() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, endpoints={"binance": 2}) as sim:
            urls = sim.urls()["binance"]
            assert urls[0]["ws"]["ws"] != urls[1]["ws"]["ws"]
            a = await connect(urls[0]["ws"]["ws"] + "/btcusdt@depth")
            b = await connect(urls[1]["ws"]["ws"] + "/btcusdt@depth")
            sim.endpoint("binance", 0).stall()
            sim.advance(4)
            await settle()
            assert a.q.empty()
            evs = b.drain()
            assert len(evs) == 4 and evs[-1]["u"] == sim.book("binance", "BTCUSDT").update_id
            sim.endpoint("binance", 1).fail(1)
            assert (await http("GET", urls[1]["rest"] + "/api/v3/time"))[0] == 503
            assert (await http("GET", urls[0]["rest"] + "/api/v3/time"))[0] == 200

    run(go())


def test_control_endpoint() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            ctl = sim.urls()["control"]
            assert await get_json(ctl + "/urls") == sim.urls()
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth")
            body = {"venue": "binance", "endpoint": 0, "fault": "gap", "args": {"symbol": "BTCUSDT"}}
            status, _, _ = await http("POST", ctl + "/fault", orjson.dumps(body))
            assert status == 200
            status, _, _ = await http(
                "POST", ctl + "/advance", orjson.dumps({"steps": 3, "symbol": "BTCUSDT"})
            )
            assert status == 200
            await settle()
            assert len(c.drain()) == 2
            book = await get_json(ctl + "/book?venue=binance&symbol=BTCUSDT&depth=5")
            truth = sim.book("binance", "BTCUSDT", 5)
            assert book["update_id"] == truth.update_id
            assert book["bids"] == [[str(p), str(q)] for p, q in truth.bids]
            status, _, err = await http(
                "POST", ctl + "/fault", orjson.dumps({"venue": "binance", "fault": "melt"})
            )
            assert status == 400 and b"unknown fault" in err
            status, _, _ = await http(
                "POST",
                ctl + "/fault",
                orjson.dumps({"venue": "binance", "fault": "stall", "args": {"seconds": 5}}),
            )
            assert status == 200 and sim.endpoint("binance").stalled

    run(go())


def test_slow_consumer_is_cut() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10, max_buffered=256 * 1024) as sim:
            url = sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth"
            host, port = url.split("//")[1].split("/")[0].split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"GET /ws/btcusdt@depth HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
            reader._transport.pause_reading()  # type: ignore[attr-defined]  # a client that stops reading
            polite = await connect(url)
            ep = sim.endpoint("binance")
            for _ in range(20):
                sim.advance(2000, "binance", "BTCUSDT")
                await asyncio.sleep(0.03)
                if len(ep.conns) == 1:
                    break
            assert len(ep.conns) == 1, "the stalled reader was cut"
            assert not polite.closed.done()
            writer.close()

    run(go())


def test_control_registers_keys_for_a_separate_process() -> None:
    async def go() -> None:
        async with Simulator(["binance", "okx", "kraken"], rate=0) as sim:
            ctl = sim.urls()["control"]
            body = {"venue": "binance", "args": {"key": "k1", "secret": "s3cret"}}
            assert (await http("POST", ctl + "/keys", orjson.dumps(body)))[0] == 200
            assert sim.venue("binance").keys["k1"].secret == b"s3cret"  # type: ignore[attr-defined]
            body = {"venue": "okx", "args": {"key": "k2", "secret": "s", "passphrase": "p"}}
            assert (await http("POST", ctl + "/keys", orjson.dumps(body)))[0] == 200
            bad = {"venue": "binance", "args": {"key": "k3"}}
            status, _, err = await http("POST", ctl + "/keys", orjson.dumps(bad))
            assert status == 400 and b"exactly one" in err

    run(go())


def test_a_scrambled_private_stream_delivers_each_message_after_the_one_that_follows_it() -> None:
    """``scramble_private(reorder=True)`` as documented: before, the held message went out first,
    so nothing was ever delivered out of order and the shared reordering case tested none."""
    from tickwire.sim.venues.private import PrivateFaults

    class Conn:
        transport = object()

        def __init__(self) -> None:
            self.got: list[bytes] = []

        def send_text(self, data: bytes) -> None:
            self.got.append(data)

    faults, conn = PrivateFaults(), Conn()
    faults.reorder = True
    for m in (b"1", b"2", b"3", b"4"):
        faults.deliver(conn, m)  # type: ignore[arg-type]
    assert conn.got == [b"2", b"1", b"4", b"3"], conn.got


def test_a_private_message_held_to_reorder_still_goes_before_a_graceful_close() -> None:
    """Review: a message held back by the reorder fault (``reorder=True``, none followed it yet) was
    lost when the venue closed the connection gracefully (``drop(graceful=True)``) within
    ``hold_s``, though a graceful close writes everything sent before it (``Conn.close`` flushes):
    the fault reordered *and* lost messages. Here it goes out before the close frame."""
    from types import SimpleNamespace

    from tickwire.sim.venues.private import PrivateFaults
    from tickwire.sim.ws import Conn

    async def go() -> list[Any]:
        wrote: list[Any] = []
        faults = PrivateFaults()
        faults.reorder = True
        endpoint = SimpleNamespace(
            stalled=False, stall_holds=False, venue=SimpleNamespace(private_faults=faults)
        )
        conn = Conn(endpoint, "/ws", "", {})  # type: ignore[arg-type]
        conn.transport = SimpleNamespace(  # type: ignore[assignment]
            underlying_transport=SimpleNamespace(write=wrote.append),
            send_close=lambda code, reason: wrote.append("close"),
            disconnect=lambda graceful=True: None,
        )
        faults.deliver(conn, b"last")  # held: nothing follows it
        conn.close()
        return wrote

    wrote = asyncio.run(go())
    assert len(wrote) == 2 and b"last" in wrote[0] and wrote[1] == "close", wrote
