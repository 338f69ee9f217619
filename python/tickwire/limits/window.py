"""One venue limit as the client counts it: a sliding window over slots, stricter than the venue.

Venues count fixed windows (Binance's minute, aligned to the clock) or rolling ones (OKX's 2 s). A token
bucket of capacity ``limit`` refilled at ``limit / window`` admits up to twice the limit inside one of
the venue's fixed windows (a full bucket emptied at its start, refilled during it), so it cannot promise
"never over the limit". A sliding window can: every interval of length ``window`` contains at most
``limit`` weight, which covers every fixed or rolling window the venue may use. Weight is kept per slot
(``window / SLOTS``); a slot counts in full until a whole window has passed since its last instant, which
only makes the count stricter. Memory and time per check are O(SLOTS), whatever the limit.

``Window(limit, window_s)``: ``wait(weight, cap, now)`` (seconds until ``weight`` fits under ``cap``;
0.0 now, ``inf`` never), ``take(weight, now)``, ``used(now)``, ``observe(used, now, until=None)`` (the
venue's reported usage, counted until ``until``, default a whole window), ``block(seconds, now)`` (a
429/418's Retry-After: nothing before then).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickwire import _core

SLOTS: int = _core.WINDOW_SLOTS
RING: int = _core.WINDOW_RING


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit a venue announces or documents: ``limit`` weight per ``window_s`` seconds, counted per
    ``per`` (``"ip"``: every key from this address; ``"account"``: the venue account, whichever of
    its keys — a rotated key carries what the old one counted; ``"key"``: the API key alone — a
    rotated key starts on its own count, as Kraken's REST call counter does)."""

    name: str
    limit: int
    window_s: float
    per: str = "ip"
    # Error codes the venue answers when this limit is hit (Binance -1003: weight; -1015: orders).
    codes: frozenset[str] = field(default_factory=frozenset)
    # The venue's windows start on multiples of the window on its clock (Binance's minute): usage it
    # reports then expires at the next boundary (plus a margin for clock error), not a window later.
    aligned: bool = False
    # What a request's cost names to charge this limit (``"WEIGHT"`` charges ``WEIGHT_1M`` and any
    # other weight window the venue announces); the limit's own name when empty.
    counts: str = ""
    # One window per key (OKX counts per instrument, Kraken per pair): a cost ``"<counts>:<key>"``
    # charges the window of ``key``, made on its first use with this limit's numbers.
    keyed: bool = False
    # Weight kept for cancels at the least, over the budget's share (a Kraken cancel weighs up to 8).
    reserve: int = 0

    @property
    def charged_by(self) -> str:
        return self.counts or self.name


# In Rust (``rust/limits/window.rs``) so an order template's budget check runs inside its one call;
# ``tests/limits/window_reference.py`` is the longhand it is held to.
Window = _core.Window
