"""No NATS credential in a remote session's status report (review of the secret-handling rule)."""

from __future__ import annotations

import asyncio

import pytest
import tickwire.remote
from gateway_harness import nats_urls as nats_urls  # the nats-server fixture

pytestmark = pytest.mark.usefixtures("needs_nats_server")


def test_remote_market_health_does_not_show_the_nats_password(nats_urls: list[str]) -> None:
    """``health()`` is a snapshot meant for logs and monitors: the server it names must not carry the
    password (or token) of the NATS URL it connected with (``bus.client.shown_url`` exists for this)."""
    host = nats_urls[0].removeprefix("nats://")
    url = f"nats://alice:NATS-pass-never-seen@{host}"

    async def go() -> str:
        md = tickwire.remote.connect(url, "binance", ["BTCUSDT"], engine="nats-py")
        await md.start(wait=False)
        try:
            return repr(md.health())
        finally:
            await md.close()

    text = asyncio.run(go())
    assert "NATS-pass-never-seen" not in text, text
