"""The venue's answer to a place, cancel or amend, applied: its events go to the tracker; an
acknowledgement that states no status (OKX, Bybit, Kraken) is followed by a status query and the fills
it reports, as reconciliation does — should that query fail with no private stream up, the order is
asked about again in the background (``Reconciler.ask_later``); a filled answer that lists no
executions (USDⓈ-M ``RESULT``) has them fetched from the trade history unless the private stream is
there to report them — each once. The order's state stands whatever happens to that fetch
(``Reconciler.settle_fills`` asks again later): a failed fills query never makes a placed order look
unplaced."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from tickwire.errors import DecodeError, TickwireError
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar

R = TypeVar("R")

log = logging.getLogger("tickwire.trading")


class AsksLater(Protocol):
    def ask_later(self, client_id: str) -> None: ...


class AnswerPort(Protocol):
    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker

    @property
    def reconciler(self) -> AsksLater: ...

    async def send(self, call: Call) -> Any: ...

    async def settle_fills(self, client_id: str) -> None: ...

    def stream_up(self) -> bool: ...


async def answered(port: AnswerPort, symbol: str, body: Any) -> Order | None:
    """The order the answer is about, as the tracker has it after applying it (None: not tracked)."""
    tracker = port.tracker
    events = read_events(port.grammar.read_order, body)
    got = None
    for ev in events:
        got = tracker.apply(ev) or got
    if not events:
        return got
    cid = _tracked_id(tracker, events[0])
    if any(ev.status is not None or ev.fill is not None for ev in events):
        filled = any((ev.filled_cum or 0) > 0 for ev in events)
        if cid and filled and not any(ev.fill for ev in events) and tracker.get(cid) is not None:
            if not port.stream_up():
                await port.settle_fills(cid)
        # Unchanged when the private stream told it first: still the order this answer is about.
        return got or (tracker.get(cid) if cid else None)
    ack = events[0]
    try:
        state = await port.send(port.grammar.status(symbol, ack.client_id or None, ack.order_id))
        stated = read_events(port.grammar.read_order, state)
    except TickwireError as e:
        log.warning("%s: state of acknowledged order %s unknown: %s", port.venue, ack.client_id, e)
        if cid and not port.stream_up():
            # Nothing else would tell what the venue did (canceled it, filled or expired an IOC):
            # asked again in the background. With the stream up, it tells (or its return reconciles).
            port.reconciler.ask_later(cid)
        return got
    for ev in stated:
        got = tracker.apply(ev) or got
    tracked = tracker.get(cid) if cid else None
    if tracked is not None:
        await port.settle_fills(cid)
        return tracker.get(cid)
    return got


def read_events(read: Callable[[Any], Sequence[OrderEvent]], body: Any) -> list[OrderEvent]:
    """``read(body)`` (a grammar's ``read_order`` or ``read_stream``), its events all read before any
    is applied. A message not of the venue's form (a key missing, a number that is none, a wrong
    type) is a :class:`DecodeError`, not the ``KeyError``/``InvalidOperation`` the grammar met."""
    return read_whole(lambda b: list(read(b)), body)


def read_whole(read: Callable[[Any], R], body: Any) -> R:
    """``read(body)``, whatever a grammar's reader makes of a venue message; one not of the venue's
    form is a :class:`DecodeError` (see :func:`read_events`)."""
    try:
        return read(body)
    except TickwireError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
        raise DecodeError(f"malformed venue message ({type(e).__name__}: {e})") from e


def _tracked_id(tracker: OrderTracker, ev: OrderEvent) -> str:
    """The client id the tracker holds the order ``ev`` is about under: a Binance spot cancel's
    answer names the cancel's own id as ``clientOrderId`` (the order's is ``origClientOrderId``),
    so the venue's order id decides when the stated client id is not tracked."""
    if (not ev.client_id or tracker.get(ev.client_id) is None) and ev.order_id:
        found = tracker.by_order_id(ev.order_id)
        if found is not None:
            return found.client_id
    return ev.client_id
