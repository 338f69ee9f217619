"""How a Binance stream payload reaches a connection: as is on ``/ws``, wrapped as
``{"stream": <name>, "data": <payload>}`` on a combined ``/stream`` connection. Market and user data
streams frame alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickwire.sim.ws import Conn


def wrap(stream: str, data: bytes) -> bytes:
    return b'{"stream":"' + stream.encode() + b'","data":' + data + b"}"


def send_stream(subs: set[Conn], stream: str, data: bytes) -> None:
    wrapped: bytes | None = None
    for c in subs:
        if c.combined:
            if wrapped is None:
                wrapped = wrap(stream, data)
            c.send_text(wrapped)
        else:
            c.send_text(data)
