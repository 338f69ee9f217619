"""A connect that swallows its task's cancel, as Python 3.11's ``asyncio.wait_for`` (under
``open_ws``) does when the connection completes as the task is cancelled: the sockets' close paths
must end all the same (the trading sockets', the market-data lines')."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


def swallowing(
    real: Callable[..., Awaitable[Any]], connecting: asyncio.Event
) -> Callable[..., Awaitable[Any]]:
    """``real`` (an ``open_ws``) that sets ``connecting`` once called and, cancelled, still returns the
    connection it completes."""

    async def connect(*args: Any, **kw: Any) -> Any:
        inner = asyncio.ensure_future(real(*args, **kw))
        connecting.set()
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            return await inner

    return connect
