"""``TradingSession.cancel_all``: every open order of a symbol, or of every symbol with open orders,
cancelled with the venue's own cancel-all where it has one, else listed and cancelled in the venue's
batches.

Apart from :mod:`tickwire.trading.session` because it is a loop over the venue's answers, not one
order's entry: an order gone before its cancel is skipped, and a batch entry the venue refused — or a
symbol's whole cancel (a halted market's, a rate block) — does not stop the others (the first such
refusal is raised once every batch was sent). It sees the session only
through :class:`CancelAllPort`; unlike the kill switch (:mod:`tickwire.trading.kill`) it goes on the
session's one request path, order socket included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from tickwire.errors import (
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.limits import Lane
from tickwire.trading.orders import Order
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import was_unsent


class CancelAllPort(Protocol):
    """What cancel-all needs of a trading session."""

    grammar: OrderGrammar
    tracker: OrderTracker

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def answered(self, symbol: str, body: Any) -> Order | None: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order: ...

    def rate_refused(self, call: Call, e: RateLimitError) -> None: ...


# Rounds of a symbol's batches when the venue refused entries of one for rate (the budget blocked,
# what is still open listed and cancelled again).
RATE_ROUNDS = 4


class BatchPort(Protocol):
    async def answered(self, symbol: str, body: Any) -> Order | None: ...

    def rate_refused(self, call: Call, e: RateLimitError) -> None: ...


async def answer_batch(
    port: BatchPort,
    symbol: str,
    call: Call,
    body: Any,
    failed: Callable[[TickwireError], object],
    out: list[Order] | None = None,
) -> RateLimitError | None:
    """Each entry of a cancel answer (one order, or a batch's list) applied: the orders into
    ``out``, one already closed skipped, a refused one to ``failed``. An entry refused for rate — a
    batch the venue answered in part (OKX's code "2" with 50011 entries) — tells the budget once
    (the next batch waits the block out) and is returned: its order is still open, for another round
    (``cancel_all`` here, the kill switch's ``Kill.cancel``)."""
    limited: RateLimitError | None = None
    for item in body if isinstance(body, list) else [body]:
        try:
            got = await port.answered(symbol, item)
        except OrderNotFound:
            continue  # closed meanwhile
        except RateLimitError as e:
            if limited is None:
                port.rate_refused(call, e)
            limited = e
            continue
        except TickwireError as e:
            failed(e)
            continue
        if got is not None and out is not None:
            out.append(got)
    return limited


async def cancel_all(port: CancelAllPort, symbol: str | None = None) -> list[Order]:
    """The orders the venue's answers were about, as the tracker has them once each is applied."""
    listed = [] if symbol else await port.open_orders()
    # Every symbol: those the venue lists and those with orders open here (one the venue lists
    # nothing on may hold an order that ended unheard, asked about by ``_left_open``).
    here = {o.symbol for o in port.tracker.open_orders()}
    symbols = [symbol] if symbol else sorted({o.symbol for o in listed} | here)
    out: list[Order] = []
    sent = False  # a cancel went to the venue (the session's ``cancel_all`` told when its caller gives up)
    failed: list[TickwireError] = []  # the first is raised once every batch was sent
    for s in symbols:
        limited: RateLimitError | None = None
        lost: TickwireError | None = None  # a cancel's answer that never came
        for rnd in range(RATE_ROUNDS):
            call = port.grammar.cancel_all(s)
            if call is not None:
                calls = [call]
            else:  # no cancel-all on this venue: cancel what is open, in the venue's batches
                first = rnd == 0 and listed
                mine = [o for o in listed if o.symbol == s] if first else await port.open_orders(s)
                calls = port.grammar.cancel_orders(s, mine)
            limited = None
            for c in calls:
                went = True  # this cancel was written (not refused here before a byte went out)
                try:
                    body = await port.send(c, lane="cancel")
                except OrderNotFound:
                    continue  # nothing open there any more
                except (TransportError, UnknownOutcome) as e:
                    if was_unsent(e):
                        went = False
                        if sent:  # this one was not written, but an earlier symbol's cancel went
                            e.__dict__.pop("unsent", None)
                        raise
                    lost = e  # the answer, not necessarily the cancel: the orders' states say
                    continue
                except (OrderRejected, RateLimitError) as e:
                    # This symbol's refusal (a halted market's cancel — ``MarketClosed`` —, a rate
                    # block the budget would not wait out: unsent) stops none of the other symbols'
                    # cancels: the first is raised once all went.
                    went = not was_unsent(e)
                    failed.append(e)
                    continue
                except asyncio.CancelledError as e:
                    went = not was_unsent(e)
                    if sent:  # cut short in this one's budget wait, but an earlier one went out
                        e.__dict__.pop("unsent", None)
                    raise
                finally:
                    sent = sent or went
                limited = await answer_batch(port, s, c, body, failed.append, out) or limited
            if limited is None:
                break
        if limited is not None:
            failed.append(limited)
        else:
            await _left_open(port, s, lost, failed, out)
    if failed:
        if sent:  # refused unsent itself (the budget's block), but another cancel went
            failed[0].__dict__.pop("unsent", None)
        raise failed[0]
    return out


async def _left_open(
    port: CancelAllPort,
    symbol: str,
    lost: TickwireError | None,
    failed: list[TickwireError],
    out: list[Order],
) -> None:
    """Orders of ``symbol`` still open here once its cancels were answered are asked about, never
    cancelled again blindly: the venue ended them unheard (no private stream up) — a cancel whose
    answer was lost (``lost``), or one filled before the cancel-all came (the venue answered
    "nothing open", or its listing left it out). Ended, each joins ``out``; after a lost answer, one
    still open (or whose state did not come) makes ``lost`` the call's failure.
    Without this they stayed open here for the session's life, their fills never counted, and a
    cancel-all called again found nothing to cancel and returned as if done."""
    reported = {o.client_id for o in out}
    unsettled = False
    for o in port.tracker.open_orders():
        if o.symbol != symbol or o.status in ("pending", "unknown"):
            continue  # its own call or reconciliation settles it
        try:
            now = await port.order_status(symbol, client_id=o.client_id or None, order_id=o.order_id)
        except TickwireError:
            now = port.tracker.get(o.client_id) or o
        if now.is_open:
            unsettled = True
        elif now.client_id not in reported:
            out.append(now)
    if unsettled and lost is not None:
        failed.append(lost)
