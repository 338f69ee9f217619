"""Publishing from a synchronous callback (a book update, a trade) without a task per message.

nats-py's ``publish`` is a coroutine that, while connected and under its pending limit, never
suspends: it appends the command to the client's pending buffer and kicks the client's flusher task.
Driving it one step here costs a function call instead of a task (and an event-loop turn) per
message. If it does suspend (a full flush queue, a forced flush), the command is already in the
pending buffer; the rest of the coroutine is handed to a task so the flush still happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


def publish_now(nc: Any, subject: str, payload: bytes, headers: dict[str, str] | None = None) -> None:
    coro: Coroutine[Any, Any, None] = nc.publish(subject, payload, headers=headers)
    try:
        waiting = coro.send(None)
    except StopIteration:
        return
    asyncio.get_running_loop().create_task(_finish(coro, waiting))


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """What a Task would have done with the rest: wait for what the coroutine yielded (a Future,
    or None for a bare yield), resume it, until it returns. The coroutine reads each result itself."""
    while True:
        if waiting is None:
            await asyncio.sleep(0)
        else:
            with contextlib.suppress(Exception):
                await waiting
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
