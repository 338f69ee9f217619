"""Clarofinlore's documented TLS 1.3 with mutual authentication, against a CA the test makes: a
client with a certificate from that CA gets in (REST and stream); no certificate, a stranger CA's
certificate, or TLS 1.2 does not. Also the 10-sockets-per-key limit and the security log."""

from __future__ import annotations

import asyncio
import ssl
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from certs import Ca
from claro import Claro, signed
from picows import WSError, ws_connect
from simclient import Client, connect, http
from tickwire.sim import Simulator
from tickwire.sim.tls import server_context

SECRET = "claro-secret"


def client_ctx(
    ca: Ca, cert: tuple[str, str] | None, *, max_version: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca.certfile)
    if cert is not None:
        ctx.load_cert_chain(*cert)
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


async def ws_refused(url: str, ctx: ssl.SSLContext, refused: tuple[type[BaseException], ...]) -> bool:
    try:
        _, listener = await ws_connect(lambda: Client(None), url, ssl_context=ctx)
    except refused:
        return True
    # picows hands back no listener when the server cut the connection before the upgrade finished.
    return listener is None


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    ca, stranger = Ca(tmp_path, "claro-ca"), Ca(tmp_path, "stranger-ca")
    server = ca.issue("server", server=True)
    return {
        "ca": ca,
        "server": server_context(*server, client_ca=ca.certfile, tls13_only=True),
        "client": ca.issue("client", server=False),
        "stranger": stranger.issue("intruder", server=False),
    }


def test_mutual_tls_rest_and_stream(pki: dict[str, Any]) -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=5, tls={"clarofinlore": pki["server"]}) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            ep = sim.urls()["clarofinlore"][0]
            assert ep["rest"].startswith("https://") and ep["ws"]["stream"].startswith("wss://")
            good = client_ctx(pki["ca"], pki["client"])
            claro = Claro(ep["rest"], "ck", SECRET, good)
            bearer = {"Authorization": f"Bearer {await claro.login()}"}
            status, data = await claro.call("GET", "/v1/account")
            assert status == 200, data
            c = await connect(ep["ws"]["stream"], headers=bearer, tls=good)
            c.send({"op": "subscribe", "channels": ["orderbook.btc-usdt"]})
            msgs = [orjson.loads(zlib.decompress((await c.raw())[1])) for _ in range(2)]
            snap = msgs[1]
            truth = sim.book("clarofinlore", "btc-usdt")
            assert snap["type"] == "snapshot"
            assert [[p, q] for p, q in snap["bids"]] == [[f"{p:.2f}", f"{q:.5f}"] for p, q in truth.bids]
            c.close()

            # Refused: no client certificate, a certificate from another CA, TLS 1.2.
            refused = (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError, WSError, EOFError)
            for ctx in (
                client_ctx(pki["ca"], None),
                client_ctx(pki["ca"], pki["stranger"]),
                client_ctx(pki["ca"], pki["client"], max_version=ssl.TLSVersion.TLSv1_2),
            ):
                with pytest.raises(refused):
                    await http("GET", ep["rest"] + "/v1/account", tls=ctx, timeout=1.0)
                assert await ws_refused(ep["ws"]["stream"], ctx, refused)
            # And plain TCP is not HTTP here.
            with pytest.raises(refused):
                await http("GET", ep["rest"].replace("https", "http") + "/v1/account", timeout=1.0)
            assert not sim.errors

    asyncio.run(go())


def test_a_context_without_client_certificates_is_refused(pki: dict[str, Any], tmp_path: Path) -> None:
    server = pki["ca"].issue("server2", server=True)
    for ctx in (server_context(*server, tls13_only=True), server_context(*server, pki["ca"].certfile)):
        with pytest.raises(ValueError, match=r"mutual TLS 1\.3"):
            Simulator(["clarofinlore"], tls={"clarofinlore": ctx})


def test_ten_sockets_per_key_and_security_log() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=5, endpoints={"clarofinlore": 2}) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            eps = sim.urls()["clarofinlore"]
            claro = Claro(eps[0]["rest"], "ck", SECRET)
            bearer = {"Authorization": f"Bearer {await claro.login()}"}
            # Ten across both endpoints: the limit is per key, not per endpoint.
            socks = [await connect(eps[i % 2]["ws"]["stream"], headers=bearer) for i in range(10)]
            with pytest.raises(WSError, match="429"):
                await connect(eps[1]["ws"]["stream"], headers=bearer)
            socks.pop().close()
            await asyncio.sleep(0.05)
            socks.append(await connect(eps[0]["ws"]["stream"], headers=bearer))
            with pytest.raises(WSError, match="401"):
                await connect(eps[0]["ws"]["stream"], headers={"Authorization": "Bearer x.y.z"})
            for s in socks:
                s.close()

            # Four failed logins within a minute: all four in the key's security log.
            body = orjson.dumps({"key": "ck"})
            for _ in range(4):
                h = signed(SECRET, "ck", "POST", "/v1/auth/token", body=body)
                h["X-Signature"] = "0" * 64
                status, _, _ = await http("POST", eps[0]["rest"] + "/v1/auth/token", body, h)
                assert status == 401
            status, data = await claro.call("GET", "/v1/security/logs")
            logs = data["logs"]
            assert status == 200 and len(logs) == 4
            assert all(e["event"] == "login_failed" and e["code"] == 4012 for e in logs)
            assert max(e["ts"] for e in logs) - min(e["ts"] for e in logs) < 60_000

    asyncio.run(go())


def test_ws_auth_required_profile() -> None:
    async def go() -> None:
        async with Simulator(
            ["clarofinlore"], rate=0, depth=5, profiles={"clarofinlore": {"ws_auth": "required"}}
        ) as sim:
            with pytest.raises(WSError, match="401"):
                await connect(sim.urls()["clarofinlore"][0]["ws"]["stream"])

    asyncio.run(go())


def test_key_rotation_and_ip_whitelist() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=5) as sim:
            v: Any = sim.venue("clarofinlore")
            v.add_key("old", SECRET)
            v.add_key("new", SECRET)
            ep = sim.urls()["clarofinlore"][0]
            old, new = Claro(ep["rest"], "old", SECRET), Claro(ep["rest"], "new", SECRET)
            await old.login()
            await new.login()
            sock = await connect(ep["ws"]["stream"], headers={"Authorization": f"Bearer {old.token}"})
            # Both keys work side by side; revoking the old one ends its tokens and its sockets.
            assert (await old.call("GET", "/v1/account"))[0] == 200
            v.revoke_key("old")
            await asyncio.wait_for(sock.closed, 1.0)
            status, body = await old.call("GET", "/v1/account")
            assert (status, body["code"]) == (401, 4011)
            assert (await new.call("GET", "/v1/account"))[0] == 200

        profile = {"clarofinlore": {"ip_whitelist": ["10.1.2.3"]}}
        async with Simulator(["clarofinlore"], rate=0, depth=5, profiles=profile) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            ep = sim.urls()["clarofinlore"][0]
            status, body = await Claro(ep["rest"], "ck", SECRET).call("POST", "/v1/auth/token", {})
            assert (status, body["code"]) == (403, 4031)
            c = await connect(ep["ws"]["stream"])
            await asyncio.wait_for(c.closed, 1.0)
        profile = {"clarofinlore": {"ip_whitelist": ["127.0.0.1"]}}
        async with Simulator(["clarofinlore"], rate=0, depth=5, profiles=profile) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            await Claro(sim.urls()["clarofinlore"][0]["rest"], "ck", SECRET).login()

    asyncio.run(go())
