"""The WebSocket transport logs no secret that rides in an upgrade request (review of the
secret-handling rule): picows records the request it sends, path and headers, at its own debug level
(9, below DEBUG) — "any level" includes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from tickwire.errors import TickwireError
from tickwire.transport.ws import open_ws

TOKEN, LISTEN_KEY = "BEARER-token-never-seen", "LISTENkeyNEVERseen0123456789"


def test_the_upgrade_request_is_logged_at_no_level(caplog: pytest.LogCaptureFixture) -> None:
    """A server that takes the connection and never answers: the request went out (and picows logged
    it when its debug level is on), the connect times out."""

    async def go() -> None:
        async def hold(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                await r.read(65536)
                await asyncio.sleep(2)
            w.close()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with contextlib.suppress(TickwireError):
                await open_ws(
                    f"ws://127.0.0.1:{port}/private/ws/{LISTEN_KEY}",
                    lambda: __import__("picows").WSListener(),
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    handshake_timeout=0.3,
                )
        finally:
            server.close()

    with caplog.at_level(1):
        logging.getLogger().setLevel(1)
        asyncio.run(go())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text and LISTEN_KEY not in text, text[:600]
