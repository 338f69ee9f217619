"""The order socket's bookkeeping of requests awaiting their answer (``trading/stream.py``): a write
the transport refuses or raises on leaves nothing counted as awaiting, so a rotation's drain of the
old socket (``Channels.reopen``) does not wait out its time-out for an answer nobody can get; one that
raises is a ``TransportError`` saying the request may have gone out (its order is then reconciled). An
answer that does not come within the socket's time-out is a ``RequestTimeoutError``, its request no
longer awaited; one that comes is read at once, the time-out's timer gone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tickwire.errors import RequestTimeoutError, TransportError
from tickwire.trading.stream import OrderSocket
from tickwire.venues import binance


class _Transport:
    def __init__(self, fail: BaseException | None) -> None:
        self.fail, self.sent = fail, 0

    def send(self, kind: Any, data: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent += 1


def _socket(transport: _Transport | None) -> OrderSocket:
    sock = OrderSocket(binance.Orders(), binance.Signer("k", "s"), "ws://127.0.0.1:9/ws-api")
    sock.transport = transport  # type: ignore[assignment]
    return sock


@pytest.mark.parametrize("case", ["sent", "down", "raises"])
def test_a_write_is_awaited_only_when_it_went_out(case: str) -> None:
    async def go() -> None:
        t = None if case == "down" else _Transport(ConnectionResetError("gone") if case == "raises" else None)
        sock = _socket(t)
        if case == "raises":
            with pytest.raises(TransportError, match="may have gone out") as got:
                sock.write(b"{}", sock.next_id())
            assert isinstance(got.value.__cause__, ConnectionResetError)
        else:
            got = sock.write(b"{}", sock.next_id())
            assert (got is not None) == (case == "sent")
        assert sock.awaiting == (1 if case == "sent" else 0)
        assert t is None or t.sent == (case == "sent")

    asyncio.run(go())


@pytest.mark.parametrize("answered", [True, False])
def test_an_answer_is_awaited_within_the_time_out(answered: bool) -> None:
    async def go() -> None:
        sock = _socket(_Transport(None))
        sock.timeout = 0.05
        rid = sock.next_id()
        fut = sock.write(b"{}", rid)
        assert fut is not None
        loop = asyncio.get_running_loop()
        if answered:
            loop.call_soon(sock.on_message, {"id": rid, "status": 200, "result": {"orderId": 1}})
            assert await sock.answer(fut, rid) == {"orderId": 1}
            timers = getattr(loop, "_scheduled", None)  # the stdlib loop's: no time-out left armed
            assert not timers or all(t.cancelled() for t in timers)
        else:
            with pytest.raises(RequestTimeoutError, match=r"no answer on the order socket in 0\.05 s"):
                await sock.answer(fut, rid)
            assert sock.awaiting == 0
            sock.on_message({"id": rid, "status": 200, "result": {}})  # a late answer: nobody waits

    asyncio.run(go())


def test_trading_sockets_reconnect_within_the_connection_rate_the_market_lines_share() -> None:
    """OKX counts connection requests per IP, 3 a second. A market-data line, the private stream and
    the order socket on one host all reconnect after each of two drops: together they never reach
    the venue more than 3 times in any second (before, the trading sockets took no slot of the
    limit the market lines keep, and six attempts arrived within a few milliseconds). Counted as the
    venue counts them: when each upgrade request arrived (the simulator's own stamp)."""
    import tickwire
    from test_session_okx import OKX
    from tickwire.sim import Simulator

    async def go() -> None:
        async with Simulator(["okx"], seed=31, rate=0, depth=20) as sim:
            OKX.register(sim.venue("okx"))
            sim.fund("okx", OKX.key, OKX.funds)
            ep = sim.endpoint("okx", 0)
            urls = sim.urls()["okx"]
            async with (
                tickwire.connect("okx", ["BTC-USDT"], endpoints=urls) as md,
                tickwire.trade("okx", credentials=OKX.signer, endpoints=urls, transport="ws") as tr,
            ):
                arrivals: list[float] = []
                opened = ep.conn_opened

                def on_opened(conn: Any) -> None:
                    arrivals.append(conn.opened_at)
                    opened(conn)

                ep.conn_opened = on_opened  # type: ignore[method-assign]

                def up() -> bool:
                    ws = tr.orders_ws
                    return md.lines[0].connected and tr.stream_up() and ws is not None and ws.connected

                for n in (3, 6):
                    ep.drop()
                    for _ in range(200):
                        await asyncio.sleep(0.05)
                        if len(arrivals) >= n and up():
                            break
                assert len(arrivals) >= 6, arrivals
                for i in range(len(arrivals) - 3):
                    assert arrivals[i + 3] - arrivals[i] >= 1.0 - 1e-6, arrivals

    asyncio.run(asyncio.wait_for(go(), 60))
