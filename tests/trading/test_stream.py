"""The order socket's bookkeeping of requests awaiting their answer (``trading/stream.py``): a write
the transport refuses or raises on leaves nothing counted as awaiting, so a rotation's drain of the
old socket (``Channels.reopen``) does not wait out its time-out for an answer nobody can get; one that
raises is a ``TransportError`` saying the request may have gone out (its order is then reconciled)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tickwire.errors import TransportError
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
