"""A market-data session's options checked against its venue's adapter, and the parts they set up:
the endpoint pool, the book feed and how its lines connect.

Apart from :mod:`tickwire.session.market` so that its constructor reads as what a session keeps;
nothing here is used after the session is made.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tickwire._core import BookFeed
from tickwire.recovery.failover import EndpointPool
from tickwire.session.adapter import Adapter
from tickwire.session.ports import LineSettings
from tickwire.streams import CHANNELS, Channel, Endpoint


def checked_channels(adapter: Adapter, channels: Iterable[Channel]) -> tuple[Channel, ...]:
    chans = tuple(channels)
    for c in chans:
        if c not in CHANNELS or c not in adapter.supported:
            raise ValueError(f"{adapter.venue} channels are {', '.join(adapter.supported)}; not {c!r}")
    adapter.check_channels(chans)
    return chans


def endpoint_pool(adapter: Adapter, endpoints: Sequence[Endpoint | Mapping[str, Any]] | None) -> EndpointPool:
    """``endpoints`` in failover order, or the venue's production hosts."""
    specs = list(endpoints) if endpoints else list(adapter.production)
    return EndpointPool([Endpoint.of(e, i) for i, e in enumerate(specs)])


def check_redundancy(adapter: Adapter, redundancy: int) -> None:
    if redundancy < 1:
        raise ValueError("redundancy must be >= 1")
    if redundancy > 1 and not adapter.redundant_ok:
        raise ValueError(
            f"{adapter.venue} books carry no venue-wide sequence numbers on every connection, so redundant "
            "lines cannot be arbitrated; use redundancy=1"
        )


def book_feed(
    adapter: Adapter, feed_options: Mapping[str, Any] | None, redundancy: int, hold_s: float
) -> BookFeed:
    feed = BookFeed(adapter.feed_venue, **{**adapter.feed_options(), **dict(feed_options or {})})
    if redundancy > 1:
        # First arrival wins; a frame ahead of its book waits up to hold_s for the other line.
        feed.arbitrate(hold_s)
    elif adapter.connection_lifetime_s is not None:
        # The line will be renewed (``session.renewal``): trade copies told apart from its first
        # connection on, so that the successor's first trades are placed against what the old
        # connection delivered before (in id order where the venue numbers them one by one), not
        # taken for each symbol's first. (From the first renewal on, a line told them apart anyway.)
        feed.dedupe_trades()
    return feed


def line_settings(
    adapter: Adapter,
    connect_timeout: float,
    healthy_after: float,
    pings: tuple[float | None, float | None],
    ssl_context: ssl.SSLContext | None,
    proxy: str | None,
) -> LineSettings:
    """``pings``: the session's (ping interval, pong time-out), None for the venue's own."""
    ping_interval, pong_timeout = pings
    return LineSettings(
        connect_timeout=connect_timeout,
        healthy_after=healthy_after,
        ping_interval=ping_interval if ping_interval is not None else adapter.ping_interval,
        pong_timeout=pong_timeout if pong_timeout is not None else adapter.pong_timeout,
        ssl_context=ssl_context,
        proxy=proxy,
    )
