"""The lean HTTP/1.1 client: against the simulator's REST servers (real sockets on loopback) and,
for the edge cases a venue may produce, against tiny scripted servers written here from RFC 9112."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from http_scripted import Runner, Tiny, echo_path, response
from simbook import eventually
from tickwire.errors import RateLimitError, RequestTimeoutError, TransportError, VenueError
from tickwire.sim import Simulator
from tickwire.trading.unsent import was_unsent
from tickwire.transport.http import HttpClient

# Against the simulator -------------------------------------------------------------------------


def test_simulator_time_depth_keep_alive_and_audit_hook(run: Runner) -> None:
    async def go() -> None:
        seen: list[tuple[str, str, int, float]] = []
        async with Simulator(["binance"], rate=0) as sim:
            ep = sim.endpoint("binance")
            base = sim.urls()["binance"][0]["rest"]
            async with HttpClient(base, pool_size=2, on_exchange=lambda *a: seen.append(a)) as http:
                assert len(ep.http.conns) == 2  # pre-connected before any request
                before = time.time() * 1000
                server_ms = (await http.get("/api/v3/time")).raise_for_status().json()["serverTime"]
                assert before - 1 <= server_ms <= time.time() * 1000 + 1
                resp = await http.get("/api/v3/depth", query={"symbol": "BTCUSDT", "limit": 5})
                truth = sim.book("binance", "BTCUSDT", 5)
                depth = resp.raise_for_status().json()
                assert depth["lastUpdateId"] == truth.update_id
                assert [(Decimal(p), Decimal(q)) for p, q in depth["bids"]] == truth.bids
                assert [(Decimal(p), Decimal(q)) for p, q in depth["asks"]] == truth.asks
                for _ in range(20):
                    await http.get("/api/v3/ping")
                assert len(ep.http.conns) == 2  # reused, not reopened
            assert [(m, p, s) for m, p, s, _ in seen[:2]] == [
                ("GET", "/api/v3/time", 200),
                ("GET", "/api/v3/depth", 200),
            ]
            assert all(0 < e < 1 for *_, e in seen) and len(seen) == 22
            await asyncio.sleep(0.01)
            assert not ep.http.conns  # close() closed them

    run(go())


def test_simulator_errors_rate_limit_failure_and_timeout() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, profiles={"binance": {"weight_limit": 3}}) as sim:
            ep = sim.endpoint("binance")
            async with HttpClient(sim.urls()["binance"][0]["rest"], timeout=0.2) as http:
                statuses = [(await http.get("/api/v3/ping")).status for _ in range(4)]
                assert statuses[:3] == [200, 200, 200] and statuses[3] in (429, 418)
                resp = await http.get("/api/v3/ping", headers={"X-MBX-APIKEY": "my-secret-api-key"})
                with pytest.raises(RateLimitError) as ei:
                    resp.raise_for_status("binance")
                err: Any = ei.value
                assert err.retry_after == float(resp.headers["retry-after"]) >= 1
                assert err.status == resp.status and err.code == -1003 and err.venue == "binance"
                assert str(resp.status) in str(err) and "my-secret-api-key" not in str(err)
                sim.venue("binance").limiters.clear()  # a fresh weight window
                ep.fail(1, status=503)
                with pytest.raises(VenueError) as vi:
                    (await http.get("/api/v3/time")).raise_for_status("binance")
                assert not isinstance(vi.value, RateLimitError) and vi.value.status == 503
                ep.fail(1, timeout=True)
                conns_before = len(ep.http.conns)
                t0 = time.perf_counter()
                with pytest.raises(RequestTimeoutError):
                    await http.get("/api/v3/time")
                assert 0.15 < time.perf_counter() - t0 < 1.0
                await asyncio.sleep(0.01)
                assert len(ep.http.conns) == conns_before - 1  # the timed-out connection is gone
                assert (await http.get("/api/v3/time")).status == 200

    asyncio.run(go())


# Edge cases against scripted servers -----------------------------------------------------------


def test_request_bytes_on_the_wire() -> None:
    async def go() -> None:
        async with Tiny(echo_path) as t:
            async with HttpClient(t.url + "/base", headers={"X-Default": "d"}) as http:
                await http.get("/p", query="b=2&a=x%20y", headers={"X-Sig": "s"})
                await http.post("/o", body='{"q":1}')
                await http.post("/empty")
                await http.delete("/d", query={"id": "1 2", "n": 3})
                with pytest.raises(ValueError):
                    await http.get("/p", headers={"X-Evil": "a\r\nX-Injected: 1"})
        get, post, empty, delete = (r.decode() for r in t.requests)
        assert get.startswith("GET /base/p?b=2&a=x%20y HTTP/1.1\r\n")
        assert f"\r\nHost: 127.0.0.1:{t.port}\r\n" in get and "\r\nX-Default: d\r\n" in get
        assert "\r\nX-Sig: s\r\n" in get and "content-length" not in get.lower()
        assert post.startswith("POST /base/o HTTP/1.1\r\n") and post.endswith(
            'Content-Length: 7\r\n\r\n{"q":1}'
        )
        assert empty.endswith("Content-Length: 0\r\n\r\n")
        assert delete.startswith("DELETE /base/d?id=1+2&n=3 HTTP/1.1\r\n")
        assert "X-Injected" not in "".join(r.decode() for r in t.requests)

    asyncio.run(go())


def test_connection_close_and_idle_close_by_server(run: Runner) -> None:
    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        req = await t.read_request(r)
        assert req is not None
        if b"/close" in req:
            w.write(response(200, b"bye", "Connection: close"))
            # We leave the closing to the client; it must never send another request here.
            if await t.read_request(r) is not None:
                w.write(response(500, b"reused after Connection: close"))
            return
        w.write(response(200, b"ok"))
        await w.drain()
        await asyncio.sleep(0.02)  # then the server's idle time-out ends the keep-alive connection

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url, pool_size=1) as http:
            assert (await http.get("/close")).body == b"bye"
            assert (await http.get("/a")).body == b"ok"
            assert t.conns == 2  # the pre-connected one (closed after /close), then a fresh one
            assert t.closed_by_peer == 1
            # The pool noticed the server's close (20 ms after /a): even a POST (never resent) goes out
            # fine. Waited for, not slept for: a process stalled past both the server's 20 ms and a
            # fixed sleep resumes them in one turn of the loop, the POST written before the close is read.
            await eventually(lambda: http.idle_connections == 0, what="the server's close noticed")
            assert (await http.post("/b", body=b"x")).body == b"ok"
            assert t.conns == 3 and len(t.requests) == 3

    run(go())


def test_server_closing_as_request_arrives_retries_get_only(run: Runner) -> None:
    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        # Answers the first request of a connection; closes without answering on the second.
        if await t.read_request(r) is None:
            return
        w.write(response(200, b"first"))
        await t.read_request(r)

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url) as http:
            assert (await http.get("/1")).body == b"first"
            assert (await http.get("/2")).body == b"first"  # resent once on a fresh connection
            assert [q.split(b" ")[1] for q in t.requests] == [b"/1", b"/2", b"/2"]
            with pytest.raises(TransportError):
                await http.post("/order", body=b"x")  # might have been received: never resent
            assert [q.split(b" ")[1] for q in t.requests].count(b"/order") == 1

    run(go())


def test_get_not_retried_on_a_fresh_connection_and_connect_refused() -> None:
    async def hang_up(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await t.read_request(r)

    async def go() -> None:
        async with Tiny(hang_up) as t:
            async with HttpClient(t.url) as http:
                with pytest.raises(TransportError) as ei:
                    await http.get("/x")
                assert not isinstance(ei.value, RequestTimeoutError)
            assert len(t.requests) == 1
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, not listening: connections are refused
            http = HttpClient(f"http://127.0.0.1:{port}")
            with pytest.raises(TransportError) as ci:
                await http.connect()
            assert isinstance(ci.value, ConnectionError)
            # A request no connection took: not one byte of it went out (an order is withdrawn).
            with pytest.raises(TransportError) as pi:
                await http.post("/order", body=b"x")
            assert was_unsent(pi.value), repr(pi.value)
            await http.close()

    asyncio.run(go())


def test_timeout_discards_the_connection(run: Runner) -> None:
    async def script(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while (req := await t.read_request(r)) is not None:
            if b"/slow" in req:
                await asyncio.sleep(1.0 if b"/slow/" in req else 0.3)
            w.write(response(200, req.split(b" ")[1]))

    async def go() -> None:
        async with Tiny(script) as t, HttpClient(t.url, timeout=2.0) as http:
            assert (await http.get("/first")).body == b"/first"  # leaves a 2 s deadline armed
            t0 = time.perf_counter()
            with pytest.raises(RequestTimeoutError) as ei:
                await http.get("/slow", timeout=0.05)
            assert isinstance(ei.value, TimeoutError) and 0.04 < time.perf_counter() - t0 < 0.25
            # A late answer to /slow must never be taken for the next request's response.
            assert (await http.get("/fast")).body == b"/fast"
            await asyncio.sleep(0.3)
            assert (await http.get("/fast2")).body == b"/fast2"
            assert t.conns == 2 and t.closed_by_peer == 1  # we hung up the timed-out one
            # Concurrent requests, each with its own deadline.
            t0 = time.perf_counter()
            done: dict[str, float] = {}

            async def timed(path: str, timeout: float) -> None:
                with pytest.raises(RequestTimeoutError):
                    await http.get(path, timeout=timeout)
                done[path] = time.perf_counter() - t0

            # Deadlines far apart (and both well before the server answers at 1 s), so that a loop
            # held up for a while under load cannot pass one request's deadline for the other's.
            await asyncio.gather(timed("/slow/a", 0.5), timed("/slow/b", 0.05))
            assert 0.04 < done["/slow/b"] < 0.4 and 0.49 < done["/slow/a"] < 0.9, done

    run(go())


def test_pool_concurrency_and_tcp_nodelay(run: Runner) -> None:
    async def go() -> None:
        async with Tiny(echo_path) as t, HttpClient(t.url, pool_size=2) as http:
            assert t.conns == 2 and http.idle_connections == 2
            for c in http._idle:
                assert c.transport is not None
                sock = c.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            paths = [f"/{i}" for i in range(5)]
            resps = await asyncio.gather(*(http.get(p) for p in paths))
            assert [r.json()["line"] for r in resps] == [f"GET {p} HTTP/1.1" for p in paths]
            assert t.conns == 5 and http.idle_connections == 2  # the burst's extras were closed

    run(go())


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_verifies_by_default(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    async def go() -> None:
        async with Tiny(echo_path, tls=server_ctx) as t:
            untrusting = HttpClient(t.url)
            with pytest.raises(TransportError, match="certificate"):
                await untrusting.get("/x")
            await untrusting.close()
            trusting = ssl.create_default_context(cafile=str(cert))
            async with HttpClient(t.url, ssl_context=trusting) as http:
                assert (await http.get("/x")).json()["line"] == "GET /x HTTP/1.1"
                assert (await http.get("/y")).json()["conn"] == 1  # kept alive over TLS
            assert len(t.requests) == 2 and t.conns == 1  # the refused handshake never got served

    asyncio.run(go())


def test_close_fails_requests_in_flight_without_resending() -> None:
    async def silent(t: Tiny, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while (req := await t.read_request(r)) is not None:
            if b"/warm" in req:
                w.write(response(200, b"warm"))

    async def go() -> None:
        async with Tiny(silent) as t:
            http = HttpClient(t.url)
            assert (await http.get("/warm")).body == b"warm"
            task = asyncio.ensure_future(http.get("/pending"))
            await asyncio.sleep(0.02)
            await http.close()
            with pytest.raises(TransportError):
                await asyncio.wait_for(task, 1)
            await asyncio.sleep(0.02)
            assert len(t.requests) == 2 and t.closed_by_peer == 1 and t.conns == 1  # no reconnect
            with pytest.raises(TransportError):
                await http.get("/after")

    asyncio.run(go())
