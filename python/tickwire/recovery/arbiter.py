"""Arbitration of redundant lines: N connections carry the same streams, one book feed applies them.

Every book frame is placed by the venue's own sequence numbers before it reaches the feed: a frame
the book already has (the other line was first) is dropped; a frame that continues the book is
applied; a frame that arrives *ahead* of the book (this line lost a message) is held for a short
while, because the other line normally delivers the missing message within microseconds — then the
held frame is applied after it, and the book never goes out of sync. Only when no line fills the
hole within ``hold_s`` is the frame released to the feed, which reports the gap and the session
resyncs that one book.

The current position of a book is the feed's own ``last_update_id``: the arbiter keeps no second
copy of the sequence state that could drift from the book.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Verdicts of ``admit``.
PASS = 0
DROP = 1
HELD = 2

SeqFn = Callable[[memoryview], "tuple[str, int, int] | None"]


class Arbiter:
    def __init__(
        self,
        position: Callable[[str], int | None],
        sequence: SeqFn,
        *,
        hold_s: float = 0.05,
        max_held: int = 1024,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._position = position
        self._sequence = sequence
        self.hold_ns = int(hold_s * 1e9)
        self.max_held = max_held
        self._clock = clock
        # key -> [(first, last, deadline_ns, payload)], kept sorted by first
        self._held: dict[str, list[tuple[int, int, int, bytes]]] = {}
        self.held_total = 0
        self.duplicates = 0
        self.filled = 0
        self.released = 0
        self.passed = 0

    def admit(self, payload: memoryview) -> int:
        seq = self._sequence(payload)
        if seq is None:
            return PASS
        key, first, last = seq
        cur = self._position(key)
        if cur is None or last < first - 1:
            # Not in sync yet (the feed does the initial alignment) or a venue sequence reset.
            self.passed += 1
            return PASS
        if last <= cur:
            self.duplicates += 1
            return DROP
        if first <= cur + 1:
            self.passed += 1
            return PASS
        held = self._held.setdefault(key, [])
        if any(h[0] == first and h[1] == last for h in held):
            self.duplicates += 1
            return DROP
        if self.held_total >= self.max_held:
            self.passed += 1
            return PASS
        held.append((first, last, self._clock() + self.hold_ns, bytes(payload)))
        held.sort(key=lambda h: h[0])
        self.held_total += 1
        return HELD

    @property
    def pending(self) -> bool:
        return self.held_total > 0

    def ready(self, key: str | None = None) -> list[bytes]:
        """Held frames that now continue their book (after the gap was filled), in order, plus
        those past their deadline (released to the feed, which declares the gap)."""
        out: list[bytes] = []
        now = self._clock()
        for k in [key] if key is not None else list(self._held):
            held = self._held.get(k)
            if not held:
                continue
            cur = self._position(k)
            keep: list[tuple[int, int, int, bytes]] = []
            for first, last, deadline, payload in held:
                if cur is not None and last <= cur:
                    self.duplicates += 1
                elif cur is not None and first <= cur + 1:
                    out.append(payload)
                    self.filled += 1
                    cur = last
                elif now >= deadline:
                    out.append(payload)
                    self.released += 1
                    cur = last
                else:
                    keep.append((first, last, deadline, payload))
            self.held_total -= len(held) - len(keep)
            if keep:
                self._held[k] = keep
            else:
                del self._held[k]
        return out

    def clear(self, key: str | None = None) -> None:
        if key is None:
            self._held.clear()
            self.held_total = 0
        elif key in self._held:
            self.held_total -= len(self._held.pop(key))

    def stats(self) -> dict[str, Any]:
        return {
            "duplicates": self.duplicates,
            "filled_from_other_line": self.filled,
            "released_as_gap": self.released,
            "held": self.held_total,
            "passed": self.passed,
        }
