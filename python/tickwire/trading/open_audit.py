"""The orders open here checked against the venue's own list of open orders on a timer, while the
private stream is up, or always where the session has none (``OpenAudit``; the session's
``open_audit_s``).

A venue may drop a word of its private stream on a connection that stays up (an overloaded push, a
path that loses frames): no reconnect follows, so no reconciliation. A lost partial fill shows in
the order's next word (``FillsCatchUp.after_listed``), but an order's *last* word — its final fill,
its cancel or expiry by the venue — is followed by none: the order stayed open here for the
session's life, counted by the risk limits, listed by ``open_orders()``, its fills unheard. So every
``every_s`` the venue's open orders are listed for each symbol with orders acknowledged open here,
and each such order the list does not name is asked about as after the stream's return (its state,
then its fills); one it names stated filled beyond the fills heard has its fills fetched. The
listing is read as ``open_orders()`` reads it (the venue's word applied to the tracker). Orders
pending, unknown or being settled by a call are left to what settles them."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol, Self

from tickwire.errors import TickwireError
from tickwire.loop import Periodic
from tickwire.trading.orders import Order
from tickwire.trading.tracker import OrderTracker

log = logging.getLogger("tickwire.trading")

__all__ = ["AUDIT_S", "MIN_AUDIT_S", "OpenAudit"]

# The session's default ``open_audit_s``: one listing a minute per symbol with orders open (Binance
# spot's openOrders weighs 6 of 6,000 a minute; Kraken's OpenOrders one point of its counter). How
# long an order the venue ended with its word lost stays open here, at most.
AUDIT_S = 60.0
# The shortest ``open_audit_s``: the listings would crowd the budget orders need.
MIN_AUDIT_S = 5.0

# The orders an audit asks about: acknowledged open (pending and unknown ones have their own paths).
_ACKED = frozenset({"new", "partially_filled"})


class AuditPort(Protocol):
    venue: str
    tracker: OrderTracker
    audit: Any

    # Also read: ``stream``, the session's private stream (None, or absent, where it has none).

    def stream_up(self) -> bool: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...


class Settler(Protocol):
    """What an audit hands its findings to (the session's ``Reconciler``)."""

    def owned(self, client_id: str) -> bool: ...

    async def unlisted(self, before: Sequence[str], listed: set[str]) -> int: ...


def audit_seconds(x: object) -> float | None:
    """``open_audit_s`` checked: None or 0 (never) → None; else a real number of seconds (no bool;
    float subclasses such as numpy's taken), finite and at least ``MIN_AUDIT_S``."""
    if x is None or (x == 0 and not isinstance(x, bool)):
        return None
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < MIN_AUDIT_S:
        raise ValueError(
            f"open_audit_s is seconds, finite and at least {MIN_AUDIT_S} (the venue's open orders are"
            f" listed at most that often), or None or 0 (never), not {x!r}"
        )
    return float(x)


class OpenAudit(Periodic):
    """``start()``: a round every ``every_s`` (None: never) until the session closes, in a task of
    the session's (``spawn``: its close cancels it)."""

    def __init__(
        self,
        port: AuditPort,
        settler: Settler,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        closing: Callable[[], bool],
        every_s: object,
    ) -> None:
        self.every_s = audit_seconds(every_s)  # type: ignore[assignment]  # None: never started
        self._port = port
        self._settler = settler
        self._spawn = spawn
        self._closing = closing
        self._started = False
        self.listings = 0  # the venue's open orders listed, one symbol each (observability, tests)
        self.asked = 0  # orders the listings did not name, asked about

    def start(self) -> Self:
        if self.every_s is not None and not self._started:
            self._started = True
            self._spawn(self._run())
        return self

    def stop(self) -> None:
        """No listing from now on, while the session stays open: its account is another gateway's
        now (this one stepped down), whose budget at the venue each listing would spend."""
        self._closing = lambda: True

    async def round(self) -> None:
        """Lists the venue's open orders of every symbol with orders acknowledged open here (none:
        nothing asked), and settles those it does not name. Skipped while the private stream is down
        (its return reconciles every open order); run where the session has none."""
        p, settler = self._port, self._settler
        if self._closing() or (getattr(p, "stream", None) is not None and not p.stream_up()):
            # A stream down: its return reconciles every open order. With none (Clarofinlore's
            # venue has no private channel; a session without one) the audit is what hears at all of
            # an order that ended resting — before, nothing did, unless the user asked.
            return
        by_symbol: dict[str, list[str]] = {}
        for o in p.tracker.open_orders():
            if o.status in _ACKED and not settler.owned(o.client_id):
                by_symbol.setdefault(o.symbol, []).append(o.client_id)
        for symbol, before in by_symbol.items():
            if self._closing():
                return
            try:
                listed = {o.client_id for o in await p.open_orders(symbol)}
            except TickwireError as e:
                log.warning("%s: open orders of %s not listed for the audit: %s", p.venue, symbol, e)
                p.audit.event("open_audit_failed", venue=p.venue, symbol=symbol, error=str(e))
                continue
            self.listings += 1
            asked = await settler.unlisted(before, listed)
            if asked:
                self.asked += asked
                log.warning("%s: %d open order(s) of %s not listed by the venue", p.venue, asked, symbol)
