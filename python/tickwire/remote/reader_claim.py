"""One live reader per durable consumer, claimed atomically in the gateway's key-value bucket.

Two readers of one durable split its events between them, each missing the other's share of fills.
Whether a durable is read shows only as the pulls its reader keeps outstanding, and two clients
started in the same instant both saw none: both read. The claim is made first, with a key create
that only one of them can win; the other finds the claim and is refused once the claim's reader
pulls. A claim left by a client that died (no pulls, older than ``STARTING_S``) is taken over by
compare-and-set, so two takers of one stale claim cannot both win either; a client restarted right
after its predecessor died waits out the rest of ``STARTING_S`` rather than being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

# A claim younger than this whose reader does not pull yet may be one still starting.
STARTING_S = 5.0
# How often, and at least how many times, another reader's pulls are looked for before a claim
# is taken over: a live reader has a pull outstanding nearly all the time.
LOOK_EVERY_S = 0.125
LOOKS = 3


class ReaderClaim:
    def __init__(self, kv: Any, durable: str) -> None:
        self.kv = kv
        self.durable = durable
        self.key = "reader." + durable  # durable names are letters, digits, '-' and '_' already
        self.value = f"{int(time.time() * 1000)} {secrets.token_hex(8)}".encode()
        self.rev: int | None = None

    async def take(self, read: Callable[[], Awaitable[bool]]) -> None:
        """Claims the durable, or raises ``ValueError`` when another live client reads it.
        ``read()``: whether the durable has a reader's pulls outstanding now."""
        while True:
            try:
                self.rev = await self.kv.create(self.key, self.value)
                return
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self.kv.get(self.key)
            except (KeyNotFoundError, KeyDeletedError):
                continue  # released meanwhile: claim it anew
            until = _since_ms(entry.value) / 1000 + STARTING_S
            looks = 0
            while looks < LOOKS or time.time() < until:
                if await read():
                    raise ValueError(
                        f"consumer {self.durable} is being read by another live client (two clients of "
                        "one strategy?): give each its own durable= to read every event in each"
                    )
                looks += 1
                await asyncio.sleep(LOOK_EVERY_S)
            try:
                self.rev = await self.kv.update(self.key, self.value, last=entry.revision)
                return
            except KeyWrongLastSequenceError:
                raise ValueError(f"consumer {self.durable} was just claimed by another client") from None

    async def held(self) -> bool:
        """Whether the claim is still this reader's (one slower to start than ``STARTING_S`` may
        have been taken over before its first pull)."""
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return False
        return bool(entry.value == self.value)

    async def release(self) -> None:
        if self.rev is not None:
            with contextlib.suppress(Exception):  # taken over, or the store away: left as is
                await self.kv.delete(self.key, last=self.rev)
            self.rev = None


def _since_ms(value: bytes | None) -> float:
    try:
        return float((value or b"").split()[0])
    except (IndexError, ValueError):
        return 0.0
