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


def live_gateways(watch: GatewayWatch | None, venue: str, gateway: str, key: str | None = None) -> list[str]:
    """The live gateways serving ``venue`` (and the book ``key``, when given); ``gateway`` is the one
    followed, or ``"*"`` for all."""
    if watch is None:
        return []
    return [
        n
        for n, st in watch.gateways.items()
        if st.alive
        and venue in (st.body.get("markets") or {})
        and gateway in ("*", n)
        and (key is None or _serves(st.body["markets"], venue, key))
    ]


def _serves(markets: Any, venue: str, key: str) -> bool:
    """Whether a gateway's heartbeat has the book among its venue's: gateways on one venue may split
    its symbols between them. One that names no books is taken to serve them all."""
    market = markets.get(venue) if isinstance(markets, dict) else None
    states = market.get("states") if isinstance(market, dict) else None
    books = states.get("books") if isinstance(states, dict) else None
    return not isinstance(books, dict) or key in books


class UpstreamBooks:
    """Each gateway's reports of its own books, from its heartbeats and status messages."""

    def __init__(self) -> None:
        # Per gateway, its books' states as it last reported them ((seq, {key: synced}), heartbeats and
        # status messages): a gateway whose venue connection dropped reports its books unsynced until
        # a message on the new connection proved them continuous, and so are the copies here.
        self._states: dict[str, tuple[int, dict[str, bool]]] = {}
        # Per book, the venue id the last heartbeat announced while the book was behind it.
        self._behind: dict[str, int | None] = {}
        # Per gateway, the instance it last beat as and the venue ids its last beat announced.
        self._instances: dict[str, str] = {}
        self._ids: dict[str, Mapping[str, Any]] = {}

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
        # Gateways that do not have the book (they serve other symbols of the venue) say nothing of it.
        told = [t for n in live if n in self._states and (t := self._states[n][1].get(key)) is not None]
        return not told or any(told)

    def restarted(self, name: str, instance: str, keys: Iterable[str]) -> list[str]:
        """The books of ``keys`` that a gateway seen before under another instance linked by its own
        ``gseq`` (its last beat announced no venue id for them): the new instance numbers from 1 again,
        below the consumer's copy, which would take every message of it as stale and keep the old
        instance's book in sync. Books linked by the venue's ids carry on over a restart."""
        before, self._instances[name] = self._instances.get(name), instance
        if before is None or before == instance:
            return []
        ids = self._ids.pop(name, {})
        return [k for k in keys if not isinstance(ids.get(k), int) or ids.get(k) == _NO_ID]

    def behind(self, name: str, ids: Mapping[str, Any], feed: BookFeed, keys: Iterable[str]) -> list[str]:
        """The books of ``keys`` behind what two heartbeats in a row announced (``ids``: one beat's
        venue id of each book's latest message). NATS delivers at most once: a book that lost the last
        message of a quiet spell has no later one to show the gap."""
        self._ids[name] = ids
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
