"""``TradingSession.cancel_all``: every open order of a symbol, or of every symbol with open orders,
cancelled with the venue's own cancel-all where it has one, else listed and cancelled in the venue's
batches.

Apart from :mod:`tickwire.trading.session` because it is a loop over the venue's answers, not one
order's entry: an order gone before its cancel is skipped, and a batch entry the venue refused does not
stop the others (the first such refusal is raised once every batch was sent). It sees the session only
through :class:`CancelAllPort`; unlike the kill switch (:mod:`tickwire.trading.kill`) it goes on the
session's one request path, order socket included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from tickwire.errors import OrderNotFound, RateLimitError, TickwireError
from tickwire.limits import Lane
from tickwire.trading.orders import Order
from tickwire.trading.venue import Call, OrderGrammar


class CancelAllPort(Protocol):
    """What cancel-all needs of a trading session."""

    grammar: OrderGrammar

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def answered(self, symbol: str, body: Any) -> Order | None: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

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
    symbols = [symbol] if symbol else sorted({o.symbol for o in listed})
    out: list[Order] = []
    sent = False  # a cancel went to the venue (the session's ``cancel_all`` told when its caller gives up)
    failed: list[TickwireError] = []  # the first is raised once every batch was sent
    for s in symbols:
        limited: RateLimitError | None = None
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
                try:
                    body = await port.send(c, lane="cancel")
                except OrderNotFound:
                    continue  # nothing open there any more
                except asyncio.CancelledError as e:
                    if sent:  # cut short in this one's budget wait, but an earlier one went out
                        e.__dict__.pop("unsent", None)
                    raise
                finally:
                    sent = True
                limited = await answer_batch(port, s, c, body, failed.append, out) or limited
            if limited is None:
                break
        if limited is not None:
            failed.append(limited)
    if failed:
        raise failed[0]
    return out
