"""``lost_order_wait_s``: how long a session waits, after a lost order's answer, before calling an order
the venue has no trace of "not placed" where the venue bounds no request's life — plumbed from
``tickwire.trade`` (and so ``trade_threaded`` and a gateway account's ``options``), 5 s unless set, and
used for the verdicts a caller acts on — a lost place's, a lost amend's
(``Reconciler.lost_order_window_s``). The waits themselves, against the
simulator: ``test_session_okx.py`` and ``test_session_tradefence.py`` (``…_takes_late_…``)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import tickwire
from tickwire.audit import NullAudit
from tickwire.trading.adopt import session_closed
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.tracker import OrderTracker
from tickwire.venues import okx

ENDPOINT = [{"rest": "http://127.0.0.1:9", "ws": "ws://127.0.0.1:9/ws"}]  # never connected


def _wait_of(**kw: Any) -> float:
    """The ``lost_order_wait_s`` of a session built with ``kw`` (never started)."""
    tr = tickwire.trade("okx", credentials=okx.Signer("k", "s", "p"), endpoints=ENDPOINT, **kw)
    session_closed(tr.client_ids)  # its client ids no other session's to tell apart from
    return float(tr.lost_order_wait_s)


def test_the_default_is_five_seconds_and_the_option_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the library's default, not the suite's (``conftest.short_lost_order_wait``)
    assert _wait_of() == 5.0
    assert _wait_of(lost_order_wait_s=1.5) == 1.5
    assert _wait_of(lost_order_wait_s=0) == 0.0  # the verdict right after the queries


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_a_wait_that_is_not_seconds_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="lost_order_wait_s"):
        _wait_of(lost_order_wait_s=bad)


class _Port:
    """A reconciler's port: the venue's request window ``window_s`` (None: it bounds nothing)."""

    venue = "stand-in"

    def __init__(self, window_s: float | None, wait_s: float) -> None:
        self.tracker, self.audit = OrderTracker(), NullAudit()
        self.window_s, self.lost_order_wait_s = window_s, wait_s

    async def lost_request_window_s(self, offset_ms: float, since: float) -> float | None:
        return self.window_s


def test_the_venues_bound_comes_first_and_the_sessions_wait_only_where_it_names_none() -> None:
    """Where the venue bounds the request its window is waited, whatever the session's wait (past it
    the venue cannot take the request: proof, which ``recheck`` acts on for an amend given up); the
    session's wait, no proof, only where it bounds nothing — for the verdicts a caller acts on (a
    lost place's, a lost amend's), never for ``recheck`` (``lost_request_window_s`` alone)."""

    async def go() -> None:
        bounded = Reconciler(_Port(1.25, 30.0))  # type: ignore[arg-type]
        assert await bounded.lost_order_window_s(0.0, 0.0) == (1.25, True)
        unbounded = Reconciler(_Port(None, 30.0))  # type: ignore[arg-type]
        assert await unbounded.lost_order_window_s(0.0, 0.0) == (30.0, False)

    asyncio.run(go())
