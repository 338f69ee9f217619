"""One live reader per durable consumer, claimed atomically in the gateway's key-value bucket.

Two readers of one durable split its events between them, each missing the other's share of fills.
Whether a durable is read shows as the pulls its reader keeps outstanding, and two clients started in
the same instant both saw none: both read. So the claim is made first, with a key create only one of
them can win, and its reader writes it again every ``RENEW_S`` by compare-and-set. Another client
finding the claim watches it: written again, or its reader pulling, it is refused; neither for
``STALE_S`` (by its own clock: the writers' clocks may disagree), the claim was left by a client
that died and is taken over by compare-and-set — two takers cannot both win, and a reader whose
claim was taken over finds out at its next write and stops. A client restarted right after its
predecessor died so waits ``STALE_S`` before it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

# How often a reader writes its claim again, and how long a claim neither written again nor pulled
# on is watched before it is taken for a dead client's.
RENEW_S = 1.0
STALE_S = 2.5 * RENEW_S
# How often the watcher looks for the claim's reader's pulls and writes.
LOOK_EVERY_S = 0.125


def refused(durable: str) -> ValueError:
    return ValueError(
        f"consumer {durable} is being read by another live client (two clients of one strategy?): "
        "give each its own durable= to read every event in each"
    )


class ReaderClaim:
    def __init__(self, kv: Any, durable: str) -> None:
        self.kv = kv
        self.durable = durable
        self.key = "reader." + durable  # durable names are letters, digits, '-' and '_' already
        self.token = secrets.token_hex(8)
        self.rev: int | None = None

    def _value(self) -> bytes:
        return f"{int(time.time() * 1000)} {self.token}".encode()  # the time for people reading it

    async def take(self, read: Callable[[], Awaitable[bool]]) -> None:
        """Claims the durable, or raises ``ValueError`` when another live client reads it.
        ``read()``: whether the durable has a reader's pulls outstanding now."""
        while True:
            try:
                self.rev = await self.kv.create(self.key, self._value())
                return
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self.kv.get(self.key)
            except (KeyNotFoundError, KeyDeletedError):
                continue  # released meanwhile: claim it anew
            if not await self._stale(entry.revision, read):
                continue  # released while watched
            try:
                self.rev = await self.kv.update(self.key, self._value(), last=entry.revision)
                return
            except KeyWrongLastSequenceError:
                raise refused(self.durable) from None  # written again at the last moment

    async def _stale(self, rev: int, read: Callable[[], Awaitable[bool]]) -> bool:
        """Watches the claim at revision ``rev`` for ``STALE_S``: ``ValueError`` if it is written again
        or its reader pulls, False if it is released, True if neither (a dead client's)."""
        end = time.monotonic() + STALE_S
        while True:
            # The last look right before the caller's compare-and-set: pulls begun before it are seen.
            if await read():
                raise refused(self.durable)
            try:
                entry = await self.kv.get(self.key)
            except (KeyNotFoundError, KeyDeletedError):
                return False
            if entry.revision != rev:
                raise refused(self.durable)
            if time.monotonic() >= end:
                return True
            await asyncio.sleep(LOOK_EVERY_S)

    async def renew(self) -> bool:
        """Writes the claim again; False when it was taken over (its reader must stop). Errors of
        the store (the link down) propagate: the claim is as it was, renewed at the next try."""
        try:
            self.rev = await self.kv.update(self.key, self._value(), last=self.rev)
        except KeyWrongLastSequenceError:
            # An earlier write may have been stored with its answer lost: still ours if it says so.
            try:
                entry = await self.kv.get(self.key)
            except (KeyNotFoundError, KeyDeletedError):
                entry = None
            if entry is None or not (entry.value or b"").endswith(self.token.encode()):
                self.rev = None
                return False
            self.rev = entry.revision
        return True

    async def release(self) -> None:
        if self.rev is not None:
            with contextlib.suppress(Exception):  # taken over, or the store away: left as is
                await self.kv.delete(self.key, last=self.rev)
            self.rev = None
