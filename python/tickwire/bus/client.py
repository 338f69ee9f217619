"""The NATS client every gateway and remote client uses: nats-py on the session's loop (README
"Scaling out" has the measurement behind the choice), with tickwire's settings applied once here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.client import Client


async def connect(servers: str | Sequence[str], *, name: str = "tickwire", **options: Any) -> Client:
    """A connection to ``servers`` (one URL or a cluster's), reconnecting without end to whichever
    node answers (a node that dies is a pause, not a failure)."""
    urls = [servers] if isinstance(servers, str) else list(servers)
    opts: dict[str, Any] = {
        "servers": urls,
        "name": name,
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.1,
        "connect_timeout": 2,
        # Publishers here publish from callbacks: a full pending buffer means a consumer-side outage,
        # not a reason to block the feed.
        "pending_size": 16 * 1024 * 1024,
    }
    opts.update(options)
    return await nats.connect(**opts)
