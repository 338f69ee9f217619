"""``cancel_all()`` over several symbols whose later cancel cannot be written (the wire refusing it
unsent — the order socket down, the session closing): the error it raises no longer says "nothing
was sent" (``was_unsent``) once an earlier symbol's cancel went, since that one may have ended
orders; raised before any went, it still does. Against a recording port: what was handed to the
wire is the truth."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from tickwire.errors import RateLimitError, TransportError
from tickwire.limits.budget import rate_limited
from tickwire.trading import cancel_all as cancel_all_mod
from tickwire.trading.orders import Order
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.unsent import unsent, was_unsent
from tickwire.trading.venue import Call


class _Grammar:
    def cancel_all(self, symbol: str) -> Call:
        return Call("DELETE", "/openOrders", {"symbol": symbol})


class _Port:
    """Cancels of ``refuse`` are refused unsent; the others are written (recorded) and answered
    with an empty list (nothing was open)."""

    def __init__(self, symbols: list[str], refuse: str) -> None:
        self.grammar: Any = _Grammar()
        self.tracker = OrderTracker()
        self.written: list[str] = []
        self.refuse = refuse
        self._listed = [
            Order(
                venue="binance",
                symbol=s,
                side="buy",
                type="limit",
                qty=Decimal(1),
                price=Decimal(1),
                client_id=f"c{i}",
                status="new",
            )
            for i, s in enumerate(symbols)
        ]

    async def send(self, call: Call, lane: str = "query") -> Any:
        sym = call.params["symbol"]
        if sym == self.refuse:
            raise unsent(TransportError(f"{sym}: the order socket is down"))
        self.written.append(sym)
        return []

    async def answered(self, symbol: str, body: Any) -> Order | None:
        return None

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._listed if symbol is None or o.symbol == symbol]

    async def order_status(self, symbol: str, *, client_id: str | None = None, order_id: Any = None) -> Order:
        raise AssertionError("nothing is open here to ask about")

    def rate_refused(self, call: Call, e: RateLimitError) -> None:
        raise AssertionError("no rate refusal here")


@pytest.mark.parametrize(
    ("refuse", "written", "marked"), [("BTCUSDT", [], True), ("ETHUSDT", ["BTCUSDT"], False)]
)
def test_an_unsent_cancel_after_another_symbol_s_went_is_not_marked_unsent(
    refuse: str, written: list[str], marked: bool
) -> None:
    port = _Port(["BTCUSDT", "ETHUSDT"], refuse)  # cancelled in this order (sorted)
    with pytest.raises(TransportError) as got:
        asyncio.run(cancel_all_mod.cancel_all(port))
    assert port.written == written and was_unsent(got.value) is marked


class _BudgetPort(_Port):
    """As ``_Port``, but the cancels of ``refuse`` are refused by the budget before a byte goes out,
    as the wire's ``cleared`` raises it (a block longer than the session will wait): a
    ``RateLimitError`` marked unsent; ``also`` refused unsent by the wire (``TransportError``)."""

    def __init__(self, symbols: list[str], refuse: str, also: str = "") -> None:
        super().__init__(symbols, refuse)
        self.also = also

    async def send(self, call: Call, lane: str = "query") -> Any:
        sym = call.params["symbol"]
        if sym == self.refuse:
            raise unsent(rate_limited("binance", ["orders"], 30.0))
        if sym == self.also:
            raise unsent(TransportError(f"{sym}: the order socket is down"))
        self.written.append(sym)
        return []


@pytest.mark.parametrize(
    ("symbols", "refuse", "written"),
    [
        (["BTCUSDT", "ETHUSDT"], "ETHUSDT", ["BTCUSDT"]),  # the budget refuses the later one
        (["BTCUSDT", "ETHUSDT"], "BTCUSDT", ["ETHUSDT"]),  # the earlier one; the later one goes
        (["BTCUSDT"], "BTCUSDT", []),  # nothing went: still "nothing was sent"
    ],
)
def test_a_cancel_the_budget_refused_unsent_is_raised_unsent_only_where_no_cancel_went(
    symbols: list[str], refuse: str, written: list[str]
) -> None:
    """The budget's refusal (``RateLimitError``, unsent) of one symbol's cancel is raised once every
    other symbol's went: it says "nothing was sent" only where no cancel was written. Before, it
    kept the mark whatever went before or after it — the commit's fix covered ``TransportError``
    and ``UnknownOutcome`` only."""
    port = _BudgetPort(symbols, refuse)
    with pytest.raises(RateLimitError) as got:
        asyncio.run(cancel_all_mod.cancel_all(port))
    assert port.written == written
    assert was_unsent(got.value) == (written == []), (port.written, vars(got.value))


def test_a_budget_refusal_is_no_cancel_sent_for_a_later_symbol_s_unsent_refusal() -> None:
    """The first symbol's cancel refused by the budget (unsent), the second's by the wire (unsent):
    nothing was written, and the error raised says so. Before, the first refusal counted as a cancel
    that went (``sent`` set in the ``finally`` whatever the send raised) and the mark was dropped."""
    port = _BudgetPort(["BTCUSDT", "ETHUSDT"], "BTCUSDT", also="ETHUSDT")
    with pytest.raises(TransportError) as got:
        asyncio.run(cancel_all_mod.cancel_all(port))
    assert port.written == [] and was_unsent(got.value), vars(got.value)
