"""``TradingSession.health()``: what an unattended bot (or its monitor) checks — how many requests
went out, how many needed a remedy, what is still in doubt, and whether the sockets are up."""

from __future__ import annotations

from typing import Any


def session_health(session: Any) -> dict[str, Any]:
    """A snapshot (plain values, safe to log: no key or secret in it)."""
    wire, tracker = session.wire, session.tracker
    stream, socket = session.stream, session.orders_ws
    dead_man = getattr(session, "dead_man", None)
    audit = getattr(session, "open_audit", None)
    remedies = wire.remedies
    return {
        "venue": session.venue,
        "requests": wire.requests,
        "rate_resends": wire.rate_resends,
        # Session-token log-ins (Clarofinlore) and token refreshes a refusal asked for (Tradefence).
        "relogins": wire.relogins + remedies.relogins,
        "clock_resyncs": remedies.clock_resyncs,
        "clock_retries": remedies.clock_retries,
        "nonce_retries": remedies.nonce_retries,
        "clock_offset_ms": round(wire.clock.offset_ms, 3) if wire.clock.measured_at is not None else None,
        "rotations": getattr(session, "rotations", 0),
        "unknown_outcomes": len(tracker.unknown()),
        "open_orders": len(tracker.open_orders()),
        "orders_forgotten": tracker.forgotten,  # ended more than ``tracker.retain_s`` ago
        # None: the session has no such socket.
        "stream_connected": None if stream is None else stream.connected,
        "socket_connected": None if socket is None else socket.connected,
        # The venue revoked the socket's logged-on session (Binance's 401 -2015: the key became
        # invalid) and no log-in has succeeded since: its message, else None.
        "stream_revoked": _revoked(stream),
        "socket_revoked": _revoked(socket),
        # The venue's dead-man switch (None: not armed): refreshes failing in a row mean the venue may
        # be about to cancel every open order — a log line alone reaches no monitor.
        "dead_man_refreshes": None if dead_man is None else dead_man.refreshes,
        "dead_man_failures": None if dead_man is None else dead_man.failures,
        "dead_man_failing": None if dead_man is None else dead_man.failing,
        "dead_man_lapses": None if dead_man is None else dead_man.lapses,
        # Orders open here that the venue's periodic list did not name (``open_audit_s``), asked
        # about: each one an order's last word the private stream lost with its connection up.
        "open_audit_asked": None if audit is None else audit.asked,
    }


def _revoked(sock: Any) -> str | None:
    e = getattr(sock, "revoked", None)
    return None if e is None else str(e)
