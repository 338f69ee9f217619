"""tickwire.bus.client against real nats-server nodes on loopback (tickwire.bus.server)."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

pytest.importorskip("nats")

import tickwire
from tickwire.bus import client, subjects
from tickwire.bus.server import cluster, free_port

pytestmark = pytest.mark.usefixtures("needs_nats_server")


def _nodelay_on(nc: Any) -> int:
    sock = nc._transport._io_writer.get_extra_info("socket")
    return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_servers_list() -> None:
    assert client.servers("nats://a:1") == ["nats://a:1"]
    assert client.servers("nats://a:1, nats://b:2") == ["nats://a:1", "nats://b:2"]
    assert client.servers(["nats://a:1", "nats://b:2"]) == ["nats://a:1", "nats://b:2"]
    with pytest.raises(ValueError):
        client.servers([])


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_round_trip_with_settings(loop: str) -> None:
    async def main(url: str) -> None:
        got: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_msg(msg: Any) -> None:
            got.put_nowait(msg.data)

        nc = await client.connect(url, name="test-client", ping_interval=7)
        try:
            assert nc.is_connected
            assert nc.options["max_reconnect_attempts"] == -1
            assert nc.options["reconnect_time_wait"] == 0.2
            assert nc.options["ping_interval"] == 7  # the caller's keyword wins
            assert nc.options["name"] == "test-client"
            assert _nodelay_on(nc) == 1
            subject = subjects.market("binance", "BTC.USDT", "book")
            await nc.subscribe(subject, cb=on_msg)
            await nc.flush()
            for i in range(3):
                await nc.publish(subject, b"m%d" % i)
            assert [await asyncio.wait_for(got.get(), 5) for _ in range(3)] == [b"m0", b"m1", b"m2"]
        finally:
            await nc.close()

    with cluster(1) as c:
        if loop == "uvloop":
            tickwire.run(main(c.urls[0]))
        else:
            asyncio.run(main(c.urls[0]))


def test_reconnects_to_the_other_node_when_its_node_is_killed() -> None:
    async def main(c: Any) -> float:
        got: asyncio.Queue[bytes] = asyncio.Queue()
        back = asyncio.Event()

        async def on_msg(msg: Any) -> None:
            got.put_nowait(msg.data)

        async def reconnected() -> None:
            back.set()

        subject = subjects.market("okx", "BTC-USDT", "trade")
        nc = await client.connect(c.urls, reconnected_cb=reconnected)
        try:
            await nc.subscribe(subject, cb=on_msg)
            await nc.flush()
            assert nc.connected_url is not None
            first = next(n for n in c.nodes if n.port == nc.connected_url.port)
            other = next(n for n in c.nodes if n is not first)
            t0 = time.monotonic()
            first.kill()
            await asyncio.wait_for(back.wait(), 10)
            took = time.monotonic() - t0
            assert nc.connected_url is not None and nc.connected_url.port == other.port
            assert _nodelay_on(nc) == 1
            # The subscription was sent again: a publisher on the surviving node reaches it.
            pub = await client.connect(other.url)
            try:
                for _ in range(50):  # until the re-sent SUB is in place
                    await pub.publish(subject, b"after")
                    await pub.flush()
                    try:
                        assert await asyncio.wait_for(got.get(), 0.1) == b"after"
                        break
                    except TimeoutError:
                        continue
                else:
                    pytest.fail("no message after the reconnect")
            finally:
                await pub.close()
            return took
        finally:
            await nc.close()

    with cluster(2) as c:
        took = tickwire.run(main(c))
    assert took < 5.0


def test_first_connect_is_bounded() -> None:
    async def main() -> None:
        with pytest.raises(ConnectionError, match="no NATS server answered"):
            await client.connect(f"nats://127.0.0.1:{free_port()}", first_connect_timeout=0.5)

    t0 = time.monotonic()
    tickwire.run(main())
    assert time.monotonic() - t0 < 3.0


def test_drain_or_close_closes_a_connection_that_is_reconnecting() -> None:
    """Its only node killed, the connection reconnects (forever, by the settings); ``drain`` raises
    then, and a connection left so went on reconnecting after its owner closed (the remote trading
    session and the gateway swallowed the error). ``drain_or_close`` closes it instead."""

    async def main(c: Any) -> tuple[bool, bool]:
        nc = await client.connect(c.urls)
        c.nodes[0].kill()
        for _ in range(200):
            if nc.is_reconnecting:
                break
            await asyncio.sleep(0.01)
        reconnecting = nc.is_reconnecting
        await client.drain_or_close(nc)
        return reconnecting, nc.is_closed

    with cluster(1) as c:
        reconnecting, closed = tickwire.run(main(c))
    assert reconnecting and closed
