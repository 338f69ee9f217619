"""Latency histograms and the audit log of a live session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import tickwire
from simbook import eventually
from tickwire.audit import AuditLog
from tickwire.sim import Simulator
from tickwire.streams import Endpoint


def test_latency_stages_are_recorded_per_frame() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=3, rate=400, depth=20) as sim:
            async with tickwire.connect(
                "binance",
                ["BTCUSDT"],
                endpoints=sim.urls()["binance"],
                probe_interval=None,
                on_book=lambda b: None,
            ) as md:
                await asyncio.sleep(0.4)
                lat = md.latency()
                frames = md.lines[0].frames
        assert set(lat) >= {"decode_apply", "callback", "total"}
        n = lat["total"]["count"]
        # every text frame is recorded (pings/pongs are not data frames)
        assert 0.8 * frames <= n <= frames
        for stage in ("decode_apply", "callback"):
            s = lat[stage]
            assert s["count"] == n
            assert 0 < s["p50"] <= s["p99"] <= s["max"]
        assert lat["total"]["p50"] >= lat["decode_apply"]["p50"]

    asyncio.run(go())


def test_audit_log_records_the_session_and_never_the_secrets(tmp_path: Path) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.super-secret-token-value.sig"
    path = tmp_path / "audit.jsonl"

    async def go() -> None:
        async with Simulator(["binance", "clarofinlore"], seed=3, rate=200, depth=20) as sim:
            audit = AuditLog(path)
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=sim.urls()["binance"], probe_interval=None, audit=audit
            ) as md:
                sim.endpoint("binance").drop()
                await eventually(lambda: md.lines[0].connects == 2, what="reconnected")
                await eventually(lambda: md.is_synced(), what="in sync")
            # A refused upgrade (the simulator does not know this token) is audited without the token.
            md2 = tickwire.connect(
                "clarofinlore",
                ["btc-usdt"],
                endpoints=sim.urls()["clarofinlore"],
                venue_options={"token": token},
                probe_interval=None,
                audit=audit,
            )
            await md2.start(wait=False)
            await eventually(lambda: md2.pool.failures[0] >= 2, what="refused twice")
            await md2.close()
            audit.close()

    asyncio.run(go())
    raw = path.read_bytes()
    events = [orjson.loads(line) for line in raw.splitlines()]
    kinds = [e["kind"] for e in events]
    for k in ("connect", "subscribe", "rest", "disconnect", "close"):
        assert k in kinds, k
    assert kinds.count("connect") == 2  # Binance, then its reconnect; Clarofinlore was refused
    assert all(isinstance(e["ts_ns"], int) for e in events)
    assert [e["ts_ns"] for e in events] == sorted(e["ts_ns"] for e in events)
    rest = [e for e in events if e["kind"] == "rest"]
    assert any(e["path"] == "/api/v3/depth" and e["status"] == 200 for e in rest)
    refused = [e for e in events if e["kind"] == "connect_failed" and e["venue"] == "clarofinlore"]
    assert refused and "401" in refused[0]["error"]
    assert b"super-secret-token-value" not in raw


def test_the_audit_log_keeps_no_password_or_token_of_the_socket_url(tmp_path: Path, caplog: Any) -> None:
    """A socket URL with a password in its user part (``ws://alice:<password>@host/…``, which the
    connection accepts) and a token in its query: the session's ``connect`` record in the audit file,
    its log and its health name the endpoint without either."""
    import logging

    password, token = "PASS-never-seen-XYZ", "TOKEN-never-seen-XYZ"
    path = tmp_path / "audit.jsonl"
    seen: list[str] = []

    async def go() -> None:
        async with Simulator(["binance"], seed=3, rate=200, depth=20) as sim:
            [ep] = sim.urls()["binance"]
            ws = ep["ws"]["stream"].replace("ws://", f"ws://alice:{password}@") + f"?token={token}"
            with AuditLog(path) as audit:
                async with tickwire.connect(
                    "binance", ["BTCUSDT"], endpoints=[{"ws": ws, "rest": ep["rest"]}], probe_interval=None,
                    audit=audit,
                ) as md:  # fmt: skip
                    await eventually(lambda: md.is_synced(), what="in sync")
                    seen.append(repr(md.health()))

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    raw = path.read_text()
    assert '"kind":"connect"' in raw and "127.0.0.1" in raw
    seen += [raw, caplog.text]
    for secret in (password, token):
        for text in seen:
            assert secret not in text, text[max(0, text.index(secret) - 200) : text.index(secret) + 40]


def test_an_endpoints_repr_keeps_no_password_or_token_of_its_urls() -> None:
    """The endpoints a session was given (``md.pool.endpoints``; a trading session keeps one too),
    printed: a password in a URL's user part and a token in its query are masked as in the audit file;
    the host, path and the other parameters stay."""
    password, token = "PASS-never-seen-XYZ", "TOKEN-never-seen-XYZ"
    seen: list[str] = []

    async def go() -> None:
        async with Simulator(["binance"], seed=3, rate=200, depth=20) as sim:
            [ep] = sim.urls()["binance"]
            ws = ep["ws"]["stream"].replace("ws://", f"ws://alice:{password}@") + f"?token={token}&x=1"
            rest = ep["rest"].replace("http://", f"http://bob:{password}@")
            async with tickwire.connect(
                "binance", ["BTCUSDT"], endpoints=[{"ws": ws, "rest": ep["rest"]}], probe_interval=None
            ) as md:
                await eventually(lambda: md.is_synced(), what="in sync")
                seen.extend([repr(md.pool.endpoints), str(md.pool.endpoints[0])])
            seen.append(repr(Endpoint.of({"ws": ws, "rest": rest, "name": "e"})))

    asyncio.run(go())
    for text in seen:
        assert password not in text and token not in text, text
        assert "127.0.0.1" in text and "x=1" in text, text
