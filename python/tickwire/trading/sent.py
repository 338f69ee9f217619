"""When an order was sent, on the venue's clock, and how long after it the venue may still act on a
lost request: where reconciliation starts an order's fills search, and when it may call an order
that never turned up absent."""

from __future__ import annotations

from typing import Any

from tickwire.clock import Stamp

# How much earlier than the send (on the venue's clock) the search for an order's fills starts.
FILLS_SINCE_MARGIN_MS = 1000
# Added to a venue's request window before a lost order is called absent, beyond the venue clock
# estimate's own error: what else may separate the two clocks' readings (a reading's granularity
# past its bound, the time between our clock's read and the signature).
WINDOW_MARGIN_MS = 250


def request_window_s(grammar: Any, signer: Any, venue_now_ms: float, error_ms: float = 0.0) -> float | None:
    """How long after a lost order request was last signed the venue may still act on it, where the
    venue bounds it (the grammar's ``request_window_ms``: Binance spot's ``recvWindow``, Bybit's
    ``recv_window``, OKX's ``expTime`` — over REST and its socket alike since 2026-12-07), plus how far
    the signer's clock runs ahead of the venue's (``venue_now_ms``), how far that estimate of the
    venue's clock may be off (``error_ms``: half a reading's round trip — a slow way there leaves it
    that much ahead, and the venue takes a timestamp up to a second ahead of its clock) and
    ``WINDOW_MARGIN_MS``; None where nothing bounds it (reconciliation then concludes after its
    queries)."""
    window = getattr(grammar, "request_window_ms", None)
    ms = None if window is None else window(signer)
    if ms is None:
        return None
    signer_clock = getattr(signer, "clock", None)
    ahead = signer_clock() - venue_now_ms if callable(signer_clock) else 0.0
    return (float(ms) + max(0.0, ahead) + error_ms + WINDOW_MARGIN_MS) / 1000


def fills_since_ms(sent: Stamp | None, venue_ms_at: Any) -> int | None:
    """The start of an order's fills search (Unix ms on the venue's clock, which stamps its trades)
    from when it was ``sent``: a second early for what the offset's measurement may miss (a venue
    clock behind ours left the fills out of a search started on our clock), and never later than
    the send by a step of our clock or an offset measured again since (``ClockSync.venue_ms_at``)."""
    return None if sent is None else int(venue_ms_at(sent)) - FILLS_SINCE_MARGIN_MS
