"""The gateways serving a remote client's venue as the client sees them: which are live, and what each
reports of its own copy of the books (in sync or not; how far each book's latest message reached).

Apart from :mod:`tickwire.remote.market` because it is bookkeeping of what gateways say, with no part
in the frame route: the client asks it whether a book may count as synced and which books to resync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
        # Per gateway and book, the venue id that gateway's last beat announced while the book was
        # behind it: each gateway's beats are compared with its own (another's, announcing an id the
        # book is not behind — a gateway that lost its copy — must not reset them).
        self._behind: dict[tuple[str, str], int | None] = {}
        # Per gateway, the instance it last beat as and the venue ids its last beat announced.
        self._instances: dict[str, str] = {}
        self._ids: dict[str, Mapping[str, Any]] = {}
        # Per book, per gateway: (the book's id, when it was first seen above that gateway's
        # announcement, seen so on a later beat too) — see ``ahead``.
        self._ahead: dict[str, dict[str, tuple[int, float, bool]]] = {}

    def report(self, name: str, states: object) -> None:
        """A gateway's report of its books' states, kept unless an older one of the same instance
        arrives after it (``restarted`` forgets the last instance's)."""
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

    def restarted(self, name: str, instance: str, keys: Iterable[str], venue_wide: bool) -> list[str]:
        """The books of ``keys`` to rebuild from a gateway seen before under another instance: its
        streams started over, and the consumer's copy, numbered by the old instance, would take the
        new one's messages as stale and keep the old book in sync. Those linked by the gateway's own
        ``gseq`` (its last beat announced no venue id for them), which starts at 1 again; and, where
        the venue's ids are not the same on every connection (``venue_wide`` False: no A/B lines, Bybit),
        every book: the new instance's connection may number them from its own start, and its first
        snapshot, an ordinary one (it has no id its consumers were left at to send a restart snapshot
        from), would be dropped as a lagging gateway's. Books of a venue numbering them the same on
        every connection carry on over a restart."""
        before, self._instances[name] = self._instances.get(name), instance
        if before is None or before == instance:
            return []
        # Its reports are ordered by its host's wall clock: a new instance on a host whose clock is
        # behind the old one's would have every report dropped as older until its clock passed it.
        self._states.pop(name, None)
        ids = self._ids.pop(name, {})
        if not venue_wide:
            return list(keys)
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
            if behind and self._behind.get((name, key)) == announced:
                late.append(key)
            self._behind[(name, key)] = announced if behind else None
        return late

    def ahead(
        self,
        name: str,
        ids: Mapping[str, Any],
        feed: BookFeed,
        keys: Iterable[str],
        serving: Callable[[str], Iterable[str]],
        now: float,
        interval: float,
    ) -> list[str]:
        """The books of ``keys`` ahead of every live gateway serving them (``serving(key)``), each
        seen so on two of its beats at least half an ``interval`` apart, the book's id unchanged in
        between: what a consumer that lost a restart snapshot (the venue numbered the book from 1
        again) looks like — every later delta is below its id, dropped as stale, and the book stays
        "synced" while the gateways' announced ids move on without it. ``now`` is a monotonic clock.

        One gateway's announcement alone may be below a book that is fine: the other gateway of an
        A/B pair delivered first, or the deltas, on their own connection, outran the beat; and beats
        handled back to back after the loop was held up are stale by then. A book whose id stayed
        above what every serving gateway announced on two beats an interval apart has been fed by
        none of them meanwhile: it is rebuilt (a false alarm costs one snapshot). Cleared for a book
        once it is returned."""
        out = []
        for key in keys:
            seen = self._ahead.setdefault(key, {})
            announced = ids.get(key)
            try:
                book = feed.book(key)
            except KeyError:
                continue
            mine = book.last_update_id
            if (
                not book.is_synced
                or mine is None
                or not isinstance(announced, int)
                or announced == _NO_ID
                or announced >= mine
            ):
                seen.pop(name, None)
                continue
            had = seen.get(name)
            if had is None or had[0] != mine:
                seen[name] = (mine, now, False)
                continue
            if not had[2] and now - had[1] >= interval / 2:
                seen[name] = (mine, had[1], True)
            gateways = list(serving(key))
            if gateways and all(_stayed_above(seen.get(g), mine) for g in gateways):
                out.append(key)
                del self._ahead[key]
        return out


def _stayed_above(seen: tuple[int, float, bool] | None, mine: int) -> bool:
    """Whether a gateway's beats saw the book at ``mine``, above what it announced, twice."""
    return seen is not None and seen[0] == mine and seen[2]
