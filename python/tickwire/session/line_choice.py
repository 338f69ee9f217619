"""Which of a session's lines (or endpoints) a piece of work goes to, chosen from the lines' own
state only: the primary of redundant lines, the line a resync's messages go on, the REST endpoint
snapshots come from. Apart from :mod:`tickwire.session.market` so the choices can be read (and
changed) without the session's book-keeping around them."""

from __future__ import annotations

from collections.abc import Sequence

from tickwire.recovery.failover import EndpointPool
from tickwire.session.line import Line

# How long the primary A/B line may have heard nothing while another hears the venue (``primary``).
PRIMARY_QUIET_NS = 1_000_000_000


def primary(lines: Sequence[Line], current: Line | None, line: Line) -> Line:
    """The line that delivers what its copies on the other lines cannot be told from (BBOs, trades
    without an id), asked as ``line`` brings one: ``current`` (the last choice) while connected,
    until another hears the venue ``PRIMARY_QUIET_NS`` after it last did — a primary stalled, not cut
    yet, would hold them back until ``stale_after`` (30 s by default); else the first connected."""
    if current is None or not current.connected:
        return next((ln for ln in lines if ln.connected), line)
    if line.last_rx_ns - current.last_rx_ns > PRIMARY_QUIET_NS:
        return line
    return current


def freshest(lines: Sequence[Line]) -> Line | None:
    """The connected line that heard from the venue last (a resync's messages go where the book is
    served: of A/B lines, not one stalled and not cut yet, where they go unanswered)."""
    up = [ln for ln in lines if ln.connected]
    return max(up, key=lambda ln: ln.last_rx_ns) if up else None


def rest_endpoint(lines: Sequence[Line], pool: EndpointPool, turn: int) -> int:
    """The endpoint the first connected line uses (snapshots come from the same place as the stream
    they align with), else the best ranked; ``turn`` k > 0: the k-th other endpoint with a REST URL
    in ranking order, wrapping around (a resync whose snapshots keep failing)."""
    i = next((ln.endpoint for ln in lines if ln.connected and ln.endpoint is not None), None)
    i = pool.ranking()[0] if i is None else i
    if turn:
        eps = pool.endpoints
        order = [i, *(j for j in pool.ranking() if j != i and eps[j].rest)]
        i = order[turn % len(order)]
    return i
