"""``TradingSession.cancel_all``: every open order of a symbol, or of every symbol with open orders,
cancelled with the venue's own cancel-all where it has one, else listed and cancelled in the venue's
batches.

Apart from :mod:`tickwire.trading.session` because it is a loop over the venue's answers, not one
order's entry: an order gone before its cancel is skipped, and a batch entry the venue refused does not
stop the others (the first such refusal is raised once every batch was sent). It sees the session only
through :class:`CancelAllPort`; unlike the kill switch (:mod:`tickwire.trading.kill`) it goes on the
session's one request path, order socket included."""

from __future__ import annotations

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


async def cancel_all(port: CancelAllPort, symbol: str | None = None) -> list[Order]:
    """The orders the venue's answers were about, as the tracker has them once each is applied."""
    listed = [] if symbol else await port.open_orders()
    symbols = [symbol] if symbol else sorted({o.symbol for o in listed})
    out: list[Order] = []
    failed: TickwireError | None = None
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
                for item in body if isinstance(body, list) else [body]:
                    try:
                        got = await port.answered(s, item)
                    except OrderNotFound:
                        continue  # closed meanwhile (one entry of a batch answer)
                    except RateLimitError as e:
                        # Refused for rate inside a batch answered in part: the budget learns it
                        # (the next batch waits the block out) and this order goes in the next round.
                        if limited is None:
                            port.rate_refused(c, e)
                        limited = e
                        continue
                    except TickwireError as e:
                        failed = failed or e
                        continue
                    if got is not None:
                        out.append(got)
            if limited is None:
                break
        failed = failed or limited
    if failed is not None:
        raise failed
    return out
