"""How long the closing paths — ``close``, the kill switch, a gateway's ``settle_s`` — wait for the
orders being settled: until each can have its verdict, not a fixed count of request time-outs.

An order whose answer was lost is called "not placed" only once the venue can no longer take its
request (its window, corrected by how far the venue's clock fell behind the offset the request was
stamped with) or, where the venue bounds nothing, once the session's ``lost_order_wait_s`` has passed
(``Reconciler.lost_order_window_s``). A wait of ``IN_FLIGHT_WAIT`` time-outs named such an order
unsettled while its verdict was still to come (a 0.5 s time-out against the 5 s wait), and waited
longer than needed with a long time-out."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

from tickwire.trading.reconcile import RECONCILE_ATTEMPTS, RECONCILE_PAUSE_S

# The least the closing paths wait for the orders being settled, in the session's request time-outs
# (a call may wait for the budget, then for its answer): what they waited before the bound.
IN_FLIGHT_WAIT = 2.0
# The most they wait by default (s). Every other term is a setting of the session's own; this one
# stops a venue-clock reading gone wrong (a reading far behind adds as much to a window) or a window
# set to the venue's maximum (Bybit's ``recv_window``: a day) from holding a close that long — a
# close runs on the way out of a process, under a supervisor's grace period. An order its verdict
# would come after it is named in ``unsettled``, never called settled; an explicit ``settle_s``
# lifts it. 120 s holds Binance's longest ``recvWindow`` (60 s) with 5 s time-outs and the queries.
SETTLE_CAP_S = 120.0


class BoundPort(Protocol):
    """The session's settings the bound is made of."""

    timeout: float
    lost_order_wait_s: float

    def request_window_s(self) -> float | None: ...


class Verdicts(Protocol):
    """What the bound reads of the reconciler (``Reconciler``)."""

    unwaited: set[str]

    def settling(self) -> set[str]: ...

    def losses(self) -> Mapping[str, tuple[float, float]]: ...

    async def lost_order_window_s(self, offset_ms: float, since: float) -> tuple[float, bool]: ...


def query_budget_s(timeout: float) -> float:
    """The reconciliation's queries of one order: ``RECONCILE_ATTEMPTS`` rounds, each a request
    time-out and the pause between them."""
    return RECONCILE_ATTEMPTS * (timeout + RECONCILE_PAUSE_S)


def request_bound_s(port: BoundPort) -> float:
    """The longest from its send until one request sent now has its verdict: its time-out, the wait
    for a lost one (the venue's request window as ``request_window_s`` states it now, else the
    session's ``lost_order_wait_s``), then the reconciliation's queries. No venue-clock correction:
    one is measured only against a loss's stamp (``settle_bound_s``)."""
    window = port.request_window_s()
    wait = port.lost_order_wait_s if window is None else window
    return port.timeout + wait + query_budget_s(port.timeout)


async def settle_bound_s(port: BoundPort, verdicts: Verdicts, client_ids: set[str] | None = None) -> float:
    """How long from now until every order of ``client_ids`` (None: every one ``settling``) can have
    its verdict: for one whose answer was lost, what is left of its own wait — from its loss stamp,
    the venue's window with the venue-clock correction, else ``lost_order_wait_s`` (none for an
    ``unwaited`` one where the venue bounds nothing) — plus the queries; for one still in flight (or
    a cancel, amend or look still running), ``request_bound_s``. At least ``IN_FLIGHT_WAIT``
    time-outs; at most ``SETTLE_CAP_S`` unless that floor is longer."""
    floor = IN_FLIGHT_WAIT * port.timeout
    settling = verdicts.settling()
    ids = settling if client_ids is None else client_ids
    losses = verdicts.losses()
    queries = query_budget_s(port.timeout)
    # Orders sharing one loss stamp (a batch's answer) are resolved one after another: the last of
    # them has a round of queries per order still settling on that stamp after the wait.
    shared = Counter(stamp for cid, stamp in losses.items() if cid in settling)
    longest, fresh = 0.0, False
    for cid in ids:
        lost = losses.get(cid)
        if lost is None:
            fresh = fresh or cid in settling
            continue
        lost_at, offset_ms = lost
        window, bounded = await verdicts.lost_order_window_s(offset_ms, lost_at)
        if not bounded and cid in verdicts.unwaited:
            window = 0.0
        # Its queries may still be running once the wait is over (the last look, or the first
        # round of an order lost long before).
        rounds = max(1, shared[lost])
        longest = max(longest, max(0.0, lost_at + window - time.monotonic()) + rounds * queries)
    if fresh:
        longest = max(longest, request_bound_s(port))
    return max(floor, min(SETTLE_CAP_S, longest))
