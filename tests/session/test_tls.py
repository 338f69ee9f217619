"""Clarofinlore over mutual TLS 1.3 (a CA the test makes), with an access token fetched by tickwire's
own signer and the 10-sockets-per-key rule kept by the session; and a WebSocket through an HTTP
CONNECT proxy on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import tickwire
from certs import Ca
from simbook import assert_books_match, eventually
from tickwire.sim import Simulator
from tickwire.sim.tls import server_context
from tickwire.transport.http import HttpClient
from tickwire.transport.ws import tls_context
from tickwire.venues import clarofinlore

SECRET = "claro-secret"


async def token(rest: str, ctx: Any) -> str:
    body = orjson.dumps({"key": "ck"}).decode()
    req = clarofinlore.Signer("ck", SECRET).sign_request("POST", "/v1/auth/token", body=body)
    async with HttpClient(rest, ssl_context=ctx) as http:
        r = await http.post("/v1/auth/token", body=req.body, headers=req.headers)
        return str(r.raise_for_status("clarofinlore").json()["access_token"])


def test_clarofinlore_mutual_tls_token_and_socket_budget(tmp_path: Path) -> None:
    ca = Ca(tmp_path, "claro-ca")
    server = server_context(*ca.issue("server", server=True), client_ca=ca.certfile, tls13_only=True)
    cert, key = ca.issue("client", server=False)

    async def go() -> None:
        async with Simulator(
            ["clarofinlore"], seed=5, rate=200, depth=20, tls={"clarofinlore": server}
        ) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            eps = sim.urls()["clarofinlore"]
            assert eps[0]["ws"]["stream"].startswith("wss://")
            ctx = tls_context(cafile=ca.certfile, client_cert=cert, client_key=key, tls13_only=True)
            tok = await token(eps[0]["rest"], ctx)
            opts = {"token": tok, "api_key": "ck"}
            async with tickwire.connect(
                "clarofinlore",
                ["btc-usdt"],
                endpoints=eps,
                ssl_context=ctx,
                venue_options=opts,
                redundancy=1,
                probe_interval=None,
            ) as md:
                await assert_books_match(md, sim, "clarofinlore", ["btc-usdt"])
                # Eleven more lines want sockets under the same key: the budget holds them at 10.
                extra = [
                    tickwire.connect(
                        "clarofinlore",
                        ["btc-usdt"],
                        endpoints=eps,
                        ssl_context=ctx,
                        venue_options=opts,
                        probe_interval=None,
                    )
                    for _ in range(11)
                ]
                for m in extra:
                    await m.start(wait=False)
                await eventually(
                    lambda: sum(ln.connected for m in extra for ln in m.lines) == 9, what="9 more"
                )
                await asyncio.sleep(0.3)
                assert sum(ln.connected for m in extra for ln in m.lines) == 9
                assert all(m.pool.failures[0] == 0 for m in extra)  # waited, never refused by the venue
                waiting = next(m for m in extra if not m.lines[0].connected)
                holder = next(m for m in extra if m.lines[0].connected)
                await holder.close()  # frees a slot: the waiting session takes it
                await eventually(lambda: waiting.lines[0].connected, what="slot passed on")
                extra.remove(holder)
                assert sum(ln.connected for m in extra for ln in m.lines) == 9
                for m in extra:
                    await m.close()
            # Without a client certificate the handshake fails: a typed, retried error, no crash.
            bare = tls_context(cafile=ca.certfile, tls13_only=True)
            md2 = tickwire.connect(
                "clarofinlore",
                ["btc-usdt"],
                endpoints=eps,
                ssl_context=bare,
                venue_options=opts,
                probe_interval=None,
                connect_timeout=0.3,
                ready_timeout=1.5,
            )
            with pytest.raises(tickwire.errors.RequestTimeoutError):
                await md2.start()
            assert md2.pool.failures[0] >= 1

    asyncio.run(go())


async def _connect_proxy(seen: list[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode()
    seen.append(line)
    seen.append(head.decode())
    method, target, _ = line.split(" ")
    assert method == "CONNECT"
    host, port = target.rsplit(":", 1)
    up_r, up_w = await asyncio.open_connection(host, int(port))
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            w.close()

    await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


def test_websocket_through_an_http_connect_proxy() -> None:
    async def go() -> None:
        seen: list[str] = []
        proxy = await asyncio.start_server(lambda r, w: _connect_proxy(seen, r, w), "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        async with Simulator(["okx"], seed=6, rate=200, depth=20) as sim:
            async with tickwire.connect(
                "okx",
                ["BTC-USDT"],
                endpoints=sim.urls()["okx"],
                proxy=f"http://127.0.0.1:{port}",
                probe_interval=None,
                clock_sync=None,
            ) as md:
                await assert_books_match(md, sim, "okx", ["BTC-USDT"])
        ws_port = sim.urls()["okx"][0]["ws"]["public"].split(":")[2].split("/")[0]
        assert seen and seen[0].startswith(f"CONNECT 127.0.0.1:{ws_port} ")
        proxy.close()

    asyncio.run(go())


def test_a_proxys_password_is_in_no_repr_health_log_or_audit_line(tmp_path: Path, caplog: Any) -> None:
    """A proxy URL with a password (``http://user:<password>@host``, which picows sends as
    ``Proxy-Authorization``): the session's line settings, its lines, its health, its log and its
    audit file show none of it."""
    import base64
    import logging

    from tickwire.audit import AuditLog

    password = "PROXY-pass-never-seen"
    audit = tmp_path / "audit.jsonl"
    told: list[str] = []

    async def go() -> None:
        seen: list[str] = []
        proxy = await asyncio.start_server(lambda r, w: _connect_proxy(seen, r, w), "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        async with Simulator(["okx"], seed=6, rate=200, depth=20) as sim:
            log = AuditLog(audit)
            async with tickwire.connect(
                "okx",
                ["BTC-USDT"],
                endpoints=sim.urls()["okx"],
                proxy=f"http://alice:{password}@127.0.0.1:{port}",
                probe_interval=None,
                clock_sync=None,
                audit=log,
            ) as md:
                await eventually(lambda: md.is_synced("BTC-USDT"), what="in sync through the proxy")
                told.extend([repr(md.line_settings), str(md.line_settings), repr(md.health())])
                told.extend(repr(ln.settings) for ln in md.lines)
            log.close()
        proxy.close()
        # The password went where it belongs: to the proxy, in its Proxy-Authorization.
        creds = base64.b64encode(f"alice:{password}".encode()).decode()
        assert any(creds in head for head in seen), seen

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    told += [caplog.text, audit.read_text()]
    for text in told:
        assert password not in text, text[max(0, text.index(password) - 200) : text.index(password) + 40]
