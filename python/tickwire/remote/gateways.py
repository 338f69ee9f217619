"""The gateways serving a remote client's venue as the client sees them: which are live, and what each
reports of its own copy of the books (in sync or not; how far each book's latest message reached).

Apart from :mod:`tickwire.remote.market` because it is bookkeeping of what gateways say, with no part
in the frame route: the client asks it whether a book may count as synced and which books to resync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tickwire._core import BookFeed
from tickwire.remote.liveness import GatewayWatch

_NO_ID = -(2**63)  # a bus message's venue id when the venue numbers no updates


def live_gateways(watch: GatewayWatch | None, venue: str, gateway: str) -> list[str]:
    """The live gateways serving ``venue``; ``gateway`` is the one followed, or ``"*"`` for all."""
    if watch is None:
        return []
    return [
        n
        for n, st in watch.gateways.items()
        if st.alive and venue in (st.body.get("markets") or {}) and gateway in ("*", n)
    ]


class UpstreamBooks:
    """Each gateway's reports of its own books, from its heartbeats and status messages."""

    def __init__(self) -> None:
        # Per gateway, its books' states as it last reported them ((seq, {key: synced}), heartbeats and
        # status messages): a gateway whose venue connection dropped reports its books unsynced until
        # a message on the new connection proved them continuous, and so are the copies here.
        self._states: dict[str, tuple[int, dict[str, bool]]] = {}
        # Per book, the venue id the last heartbeat announced while the book was behind it.
        self._behind: dict[str, int | None] = {}

    def report(self, name: str, states: object) -> None:
        """A gateway's report of its books' states, kept unless an older one arrives after it."""
        if not isinstance(states, dict):
            return
        seq, books = states.get("seq"), states.get("books")
        if not isinstance(seq, int) or not isinstance(books, dict):
            return
        had = self._states.get(name)
        if had is None or seq > had[0]:
            self._states[name] = (seq, {str(k): bool(v) for k, v in books.items()})

    def synced(self, key: str, live: Iterable[str]) -> bool:
        """Whether a gateway among ``live`` reports its own copy of the book in sync."""
        # A book no live gateway reported on yet counts as synced (its snapshot came from one).
        told = [self._states[n][1].get(key) for n in live if n in self._states]
        return not told or any(t is not False for t in told)

    def behind(self, ids: Mapping[str, Any], feed: BookFeed, keys: Iterable[str]) -> list[str]:
        """The books of ``keys`` behind what two heartbeats in a row announced (``ids``: one beat's
        venue id of each book's latest message). NATS delivers at most once: a book that lost the last
        message of a quiet spell has no later one to show the gap."""
        late = []
        for key in keys:
            announced = ids.get(key)
            if not isinstance(announced, int) or announced == _NO_ID:
                continue
            try:
                book = feed.book(key)
            except KeyError:
                continue
            mine = book.last_update_id
            behind = book.is_synced and mine is not None and mine < announced
            if behind and self._behind.get(key) == announced:
                late.append(key)
            self._behind[key] = announced if behind else None
        return late
