"""A trading session's halt: new orders and amends refused after the kill switch (``halted``), the
halt a restarted session takes over, and ``resume()`` — refused while a kill runs — with the refusals
they bring; a kill refused once the session's close is past waiting for the kills running. The kill
itself is ``TradingSession.kill`` (``trading/kill.py``)."""

from __future__ import annotations

from typing import Any

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import TradingHalted, TransportError
from tickwire.trading.wire import unsent


class Halting:
    """Mixed into ``TradingSession``: the state it reads is the session's."""

    venue: str
    # The reason new orders are refused, None while trading.
    halted: str | None
    # How many kills are running (``TradingSession.kill``).
    killing: int
    # close() is past waiting for the kills running.
    kills_closed: bool
    # close() has begun.
    closing: bool
    quotes: list[Any]
    audit: AuditLog | NullAudit

    def ensure_killable(self, reason: str | None = None) -> None:
        """Raises ``TransportError`` (unsent) once :meth:`close` is past waiting for running kills:
        a kill then would find the wire closing. Audited ``kill_refused``: a kill that never ran is
        one of the kill switch's steps a reader of the audit file must see (before, no line told)."""
        if self.kills_closed:
            why = f"{self.venue}: kill refused: the session has closed; nothing cancelled"
            self.audit.event("kill_refused", venue=self.venue, reason=reason, error=why)
            raise unsent(TransportError(why))

    def halt(self, reason: str) -> None:
        """Refuses new orders and amends from now on as after :meth:`kill`, cancelling nothing: a
        kill taken before this session started (a gateway restarted after one) still in force."""
        self.halted = reason or "kill switch"
        for q in list(self.quotes):
            q.stop()
        self.audit.event("halt", venue=self.venue, reason=self.halted)

    def resume(self) -> None:
        """Accepts new orders again after :meth:`kill` — once it has returned: while a kill runs this
        raises :class:`TradingHalted` and the session stays halted."""
        self.ensure_resumable()
        if self.halted is not None:
            self.audit.event("resume", venue=self.venue, reason=self.halted)
        self.halted = None

    def ensure_resumable(self) -> None:
        """Raises :class:`TradingHalted` while a kill runs (``resume()`` would let orders through behind
        its listing of the open orders)."""
        if self.killing:
            raise self._halted_refusal(
                "resume", f"resume() refused: a kill is running ({self.halted}); resume after it returns"
            )

    def refuse_if_halted(self, what: str, **order: Any) -> None:
        """Raises :class:`TradingHalted` after :meth:`kill`, ``TransportError`` (unsent) once the
        session's close has begun; either refusal of ``what`` is audited (``halted_refusal``,
        ``closing_refusal``) with ``order``'s terms where the caller gives them (``symbol``, ``side``,
        ``qty``, ``price``): the order is never tracked or sent, so this line is all the audit file
        says of it (before, a refusal while closing left no line, and a halt's named no order)."""
        if self.closing:
            self.audit.event("closing_refusal", venue=self.venue, operation=what, **order)
            raise unsent(TransportError(f"{self.venue}: {what} refused: the session is closing"))
        if self.halted is not None:
            raise self._halted_refusal(
                what, f"{what} refused: trading halted ({self.halted}); resume() first", **order
            )

    def _halted_refusal(self, what: str, message: str, **order: Any) -> TradingHalted:
        """The :class:`TradingHalted` refusing ``what`` (its ``reason`` the halt's), audited."""
        e = TradingHalted(f"{self.venue}: {message}")
        e.reason = self.halted or ""
        self.audit.event("halted_refusal", venue=self.venue, operation=what, reason=e.reason, **order)
        return e
