"""A WS API connection refused for rate — the upgrade answered HTTP 429 (Binance spot charges each
connection 2 weight, venues.md §1.3, and refuses it past the address's limit) — is a refusal of the
address like a request's: nothing more goes to the address before the venue's window has passed.
Before, the connect failure was only logged and retried after the socket's back-off (50 ms, then
more): the reconnects, and every REST request of the sessions there, went on inside the window the
venue had just refused, and the simulator banned the address (418), as Binance does."""

from __future__ import annotations

import asyncio
import time

import tickwire
from weighed import spend, weighed_binance


def test_a_ws_api_connect_refused_for_rate_blocks_the_address() -> None:
    async def go() -> None:
        async with weighed_binance("ws-connect-429", limit=50, window_s=3.0, transport="ws") as (sim, ep, tr):
            venue = sim.venue("binance").limiter(ep)  # type: ignore[attr-defined]
            sock = tr.orders_ws
            assert sock is not None and sock.connected
            await asyncio.sleep(3.5)  # the start's weight out of the 3 s window
            await spend(ep, 50, "3s")  # another process on the address
            refused = venue.refused
            ep.drop()  # the venue cuts the order socket: it reconnects into the full window
            end = time.monotonic() + 5.0
            while venue.refused == refused and time.monotonic() < end:
                await asyncio.sleep(0.005)
            assert venue.refused > refused, "the reconnect was never refused"
            await asyncio.sleep(1.0)
            try:
                await tr.open_orders("BTCUSDT")
            except tickwire.errors.RateLimitError:
                pass
        assert venue.banned_until == 0.0, (
            f"the simulator banned the address: {venue.refused - refused} refusals after the "
            f"first connect refused for rate"
        )

    asyncio.run(go())


def test_an_upgrade_refused_for_rate_is_a_rate_limit_error_with_its_retry_after() -> None:
    """What ``open_ws`` raises for an upgrade answered 429 (or 418): a ``RateLimitError`` with the
    answer's code and ``Retry-After``, read as a REST answer's are — before, a ``TransportError``
    that no one could tell from a lost connection."""
    import picows
    from tickwire.errors import RateLimitError
    from tickwire.transport.ws import open_ws

    async def go() -> None:
        async def refuse(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await r.readuntil(b"\r\n\r\n")
            body = b'{"code":-1003,"msg":"Too much request weight used."}'
            w.write(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await w.drain()
            w.close()

        server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            try:
                await open_ws(f"ws://127.0.0.1:{port}/ws-api/v3", picows.WSListener, handshake_timeout=2.0)
            except RateLimitError as e:
                assert (e.status, e.code, e.retry_after) == (429, -1003, 7.0), e.__dict__
            else:
                raise AssertionError("connected")
        finally:
            server.close()

    asyncio.run(go())
