"""What of an account's service outlives the gateway process serving it, in a JetStream key-value
bucket (``TW_GATEWAY``: file storage, ``min(3, cluster size)`` replicas, one value per key): the kill
switch's halt. A gateway restarted after a client threw the kill switch refuses new orders as the
killed one did, until a client calls ``resume()`` — a restart is not a resume."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError

from tickwire.gateway.events import STREAM_READY_S, cluster_size

BUCKET = "TW_GATEWAY"


async def bucket(nc: Any) -> Any:
    """The bucket, made on first use; retried while the cluster's JetStream is not ready yet."""
    js = nc.jetstream(timeout=2.0)
    end = time.monotonic() + STREAM_READY_S
    while True:
        try:
            try:
                return await js.key_value(BUCKET)
            except BucketNotFoundError:
                cfg = KeyValueConfig(
                    bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=min(3, cluster_size(nc))
                )
                return await js.create_key_value(cfg)
        except Exception:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


class Halt:
    """The account's kill-switch halt: its reason while trading is halted, nothing otherwise."""

    def __init__(self, kv: Any, venue: str, account: str) -> None:
        self.kv = kv
        self.key = "halt." + re.sub(r"[^A-Za-z0-9_-]", "_", f"{venue}.{account}")

    async def get(self) -> str | None:
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return entry.value.decode() if entry.value else None

    async def put(self, reason: str) -> None:
        await self.kv.put(self.key, reason.encode())

    async def clear(self) -> None:
        await self.kv.delete(self.key)
