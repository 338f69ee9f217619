"""The resyncer reads the session's ``resync_timeout`` at each attempt, so a value set after the session
was made (``md.resync_timeout = ...``) governs the next resync, as the remote client's snapshots do."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tickwire import BookFeed
from tickwire.session.resync import Resyncer


class Owner:
    """A session as the resyncer sees it; its book never syncs, so every attempt times out."""

    def __init__(self) -> None:
        self.resync_timeout = 5.0
        self.closing = False
        self.sent: list[bytes] = []

    def count(self, counter: str) -> None:
        pass

    def status(self, kind: str, **kw: Any) -> None:
        pass

    def record(self, kind: str, **kw: Any) -> None:
        pass

    def send_first(self, msgs: Sequence[bytes]) -> None:
        self.sent += msgs


class Adapter:
    venue = "htx"
    resync = "request"

    def snapshot_request(self, key: str) -> bytes:
        return b'{"req":"market.' + key.encode() + b'.depth.step0"}'


def test_a_timeout_set_after_the_session_was_made_governs_the_next_attempts() -> None:
    async def go() -> int:
        owner = Owner()
        feed = BookFeed("htx")
        r = Resyncer(owner, Adapter(), feed, feed.on_snapshot)  # type: ignore[arg-type]
        owner.resync_timeout = 0.05  # after construction, as md.resync_timeout = ... would
        r.request("btcusdt", "test")
        await asyncio.sleep(0.8)
        owner.closing = True
        for t in list(r.tasks.values()):
            t.cancel()
        return len(owner.sent)

    # 0.05 s per attempt plus the growing pauses (0.05, 0.1, 0.2 ...): the third request goes at
    # ~0.25 s; with the 5 s the resyncer was made under, only the first in 0.8 s.
    assert asyncio.run(go()) >= 3
