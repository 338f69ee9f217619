"""The NATS client tickwire's Python side uses, with the settings benches/bench_nats_engine.py measured.

``connect(urls)`` is ``nats.connect`` (nats-py, on the running loop — uvloop under ``tickwire.run``)
with:

- every node of the cluster in the server list, reconnecting forever (``max_reconnect_attempts=-1``)
  with 0.2 s between attempts at one node (nats-py's default: 60 attempts, 2 s apart); subscriptions
  are sent again to the node it reconnects to;
- a ping every 5 s, at most 2 unanswered: a half-open connection (no RST) is dropped within ~15 s
  instead of nats-py's ~6 min (a killed node on a reachable host closes at once, pings or not);
- TCP_NODELAY on the socket, set again after every reconnect: asyncio and uvloop both set it on TCP
  connections already (checked by the tests), this keeps Nagle out whatever loop runs it;
- the first connect bounded by ``first_connect_timeout``: with reconnect-forever, nats-py's
  ``connect`` would otherwise go round a list of dead servers without end;
- connection errors logged on ``tickwire.bus`` (refused connections while a node is down at DEBUG).

Latency-neutral, left at nats-py's defaults: ``pending_size`` (the publish buffer; it only forces a
flush inside one loop iteration past 2 MiB, and bounds what is kept while reconnecting) and
``flush_timeout`` (that forced flush's limit). Do not ``await nc.flush()`` after each publish:
nats-py's flusher task writes every publish on the next loop iteration; a flush per message is a
round trip to the server (measured: 1.5 to 2.5 times the latency, tens of µs of CPU per message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nats.aio.client import Client

log = logging.getLogger("tickwire.bus")

SETTINGS: dict[str, Any] = {
    "allow_reconnect": True,
    "max_reconnect_attempts": -1,
    "reconnect_time_wait": 0.2,
    "connect_timeout": 2,
    "ping_interval": 5,
    "max_outstanding_pings": 2,
}


def servers(url_or_urls: str | Sequence[str]) -> list[str]:
    """The server list: one URL, several, or a comma-separated string of them."""
    given = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    urls = [u.strip() for item in given for u in item.split(",") if u.strip()]
    if not urls:
        raise ValueError("no NATS server URL given")
    return urls


def nodelay(nc: Client) -> bool:
    """Sets TCP_NODELAY on the client's TCP socket; False when there is none (not connected,
    websocket transport)."""
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    sock = writer.get_extra_info("socket") if writer is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return True


def shown_url(url: str) -> str:
    """``url`` fit for a log or a status line: a password in it replaced by ``***`` (a token
    alone in the user part too: NATS takes ``nats://<token>@host``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name, colon, _ = user.partition(":")
    user = f"{name}:***" if colon else "***"
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def _log_error(e: Exception) -> None:
    # A node that is down refuses every reconnect attempt (5 a second): not worth a warning each.
    if isinstance(e, OSError):
        log.debug("nats: %s", e)
    else:
        log.warning("nats: %r", e)


async def connect(
    url_or_urls: str | Sequence[str],
    name: str = "tickwire",
    *,
    first_connect_timeout: float = 10.0,
    **opts: Any,
) -> Client:
    """A connected nats-py client with tickwire's settings; ``opts`` (any ``nats.connect``
    keyword) override them. Raises ``ConnectionError`` when no server answers within
    ``first_connect_timeout`` seconds."""
    urls = servers(url_or_urls)
    nc = Client()
    user_reconnected: Callable[[], Awaitable[None]] | None = opts.pop("reconnected_cb", None)

    async def reconnected() -> None:
        nodelay(nc)
        if user_reconnected is not None:
            await user_reconnected()

    settings = {**SETTINGS, "error_cb": _log_error, **opts}
    try:
        await asyncio.wait_for(
            nc.connect(servers=urls, name=name, reconnected_cb=reconnected, **settings),
            first_connect_timeout,
        )
    except (TimeoutError, OSError) as e:
        with contextlib.suppress(Exception):
            await nc.close()
        shown = [shown_url(u) for u in urls]
        raise ConnectionError(f"no NATS server answered within {first_connect_timeout}s: {shown}") from e
    nodelay(nc)
    return nc


async def drain_or_close(nc: Client) -> None:
    """Drains ``nc`` (what was published flushed, subscriptions ended), or closes it where drain
    cannot run: while it reconnects nats-py's ``drain`` raises, and the connection, left open, went on
    reconnecting forever (``max_reconnect_attempts=-1``) after its owner closed."""
    try:
        await nc.drain()
    except Exception:
        with contextlib.suppress(Exception):
            await nc.close()
