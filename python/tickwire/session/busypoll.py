"""Busy polling: keep the event loop spinning so the next frame finds hot caches.

An idle loop sleeps in epoll between frames; the first frame after the wake-up then runs with cold
caches (and a core that may have slowed down), which on the 2-core VM of the README figures costs
~4 µs of the ~6 µs tickwire adds over bare picows. A task that yields continuously makes the loop poll
with a zero timeout instead: the frame is picked up by a running core. It costs a whole core at 100%
— the usual trade in low-latency trading, for a loop that owns a dedicated core.

One spinner per event loop, shared (reference-counted) by the sessions that ask for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator


class _Spinner:
    __slots__ = ("refs", "task")

    def __init__(self, task: asyncio.Task[None]) -> None:
        self.task = task
        self.refs = 1


_SPINNERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Spinner] = weakref.WeakKeyDictionary()


async def _spin() -> None:
    while True:
        await asyncio.sleep(0)


def acquire() -> None:
    """Starts (or keeps) the running loop's spinner."""
    loop = asyncio.get_running_loop()
    spinner = _SPINNERS.get(loop)
    if spinner is None:
        _SPINNERS[loop] = _Spinner(loop.create_task(_spin(), name="tickwire-busy-poll"))
    else:
        spinner.refs += 1


def release() -> None:
    """Drops one reference; the spinner stops with the last."""
    loop = asyncio.get_running_loop()
    spinner = _SPINNERS.get(loop)
    if spinner is None:
        return
    spinner.refs -= 1
    if spinner.refs == 0:
        spinner.task.cancel()
        del _SPINNERS[loop]


def spinning(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    loop = loop or asyncio.get_running_loop()
    return loop in _SPINNERS


@contextlib.asynccontextmanager
async def busy_poll() -> AsyncIterator[None]:
    """``async with busy_poll():`` spin the running loop for the duration."""
    acquire()
    try:
        yield
    finally:
        release()
