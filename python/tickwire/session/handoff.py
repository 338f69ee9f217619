"""``connect_threaded(dispatch="queue")``: what the session thread hands a synchronous bot, bounded.

A book's event is its live view, so one entry per book is enough: a book already waiting is not
queued again (taken, its view shows the latest state). Other events (trades, BBOs, status) are
kept in arrival order up to ``maxlen`` entries in all; past that the oldest go, counted in
``dropped``. A bot that stops reading holds a bounded amount of memory, and reads the freshest
events when it comes back, instead of a backlog that grows for as long as it is away.
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import Any

QUEUE_MAX = 10_000  # ``connect_threaded``'s default, as ``md.events()``'s


class Handoff:
    def __init__(self, maxlen: int) -> None:
        if maxlen < 1:
            raise ValueError("queue_max must be at least 1")
        self.maxlen = maxlen
        self.dropped = 0  # events pushed out by newer ones while the reader was away
        self._items: collections.deque[tuple[str, Any]] = collections.deque()
        # The views waiting, by identity: the frame route hands each book's one view every time.
        self._books: set[int] = set()
        self._cv = threading.Condition()

    def put(self, kind: str, value: Any) -> None:
        """Called on the session thread for each event."""
        with self._cv:
            if kind == "book":
                if id(value) in self._books:
                    return
                self._books.add(id(value))
            if len(self._items) >= self.maxlen:
                self._take()
                self.dropped += 1
            self._items.append((kind, value))
            self._cv.notify()

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """The oldest event; ``queue.Empty`` when none comes within ``timeout`` seconds."""
        with self._cv:
            if not self._cv.wait_for(lambda: self._items, timeout):
                raise queue.Empty
            return self._take()

    def __len__(self) -> int:
        return len(self._items)

    def _take(self) -> tuple[str, Any]:
        kind, value = self._items.popleft()
        if kind == "book":
            self._books.discard(id(value))
        return kind, value
