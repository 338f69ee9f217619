"""A market each venue closes, checked against the simulator's own state (``Simulator.set_status``:
the venue's instrument list in its words, its order entry refusing new orders with its code) and its
own order list — for Binance USDⓈ-M, OKX, Bybit, HTX, Coinbase and Kraken:

- closed before the session starts: its rules say so, and ``place_order`` is refused here with
  ``MarketClosed``, nothing sent, the simulator's order list unchanged; once the venue reopens it, an
  order the session refused goes after a read of the list, once;
- closed after the session started (its rules still say trading): the order is sent, the venue
  refuses it in its own words, the caller gets ``MarketClosed``, the tracker has it rejected, the
  simulator no order, and the session reads the instrument list again, after which its rules say
  the market is closed.

The REST order path (each session's default transport); the venues' order sockets and batches are
the simulator's own tests (``tests/sim/test_sim_status.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from session_cases import SimAccount
from test_session_bybit import BYBIT
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from test_session_usdm import USDM
from tickwire.errors import MarketClosed
from tickwire.sim import Simulator
from tickwire.trading import rules_recheck
from tickwire.trading.session import TradingSession


@dataclass(frozen=True)
class Closing:
    """How one venue closes a market: the status set, the venue's word for it in the session's rules
    once read, and the venue's code refusing a new order then."""

    acct: SimAccount
    status: str  # Simulator.set_status's
    word: str  # InstrumentRules.status read from the venue's list
    code: str  # the venue's refusal, as the error carries it (str(code))


CLOSINGS = [
    Closing(USDM, "closed", "SETTLING", "-4140"),
    Closing(OKX, "closed", "suspend", "51022"),
    Closing(BYBIT, "closed", "Closed", "170157"),
    Closing(HTX, "cancel_only", "suspend", "order-disabled"),
    Closing(HTX, "closed", "offline", "base-symbol-trade-disabled"),
    Closing(COINBASE, "cancel_only", "cancel_only", "UNTRADABLE_PRODUCT"),  # the flag, status "online"
    Closing(COINBASE, "closed", "trading_disabled", "UNTRADABLE_PRODUCT"),  # the flag, status "online"
    Closing(KRAKEN, "cancel_only", "cancel_only", "EService:Market in cancel_only mode"),
]
# The venues whose simulator listed no status before (set_status was a ValueError there). Binance
# USDⓈ-M's and OKX's lists showed it already, and the session refused on it (OKX's case is in
# test_rules_recheck).
BEFORE_START = [c for c in CLOSINGS if c.acct.venue not in ("binance-usdm", "okx")]


def _id(c: Closing) -> str:
    return f"{c.acct.venue}-{c.status}"


@pytest.fixture(autouse=True)
def quick_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_recheck, "RECHECK_S", 0.3)


def place_requests(sim: Simulator, a: SimAccount) -> Callable[[], int]:
    """How many order-placing REST requests the simulated venue has answered from now."""
    ep = sim.endpoint(a.venue, 0)
    start = sum(op == a.place_op for _, op, _, _ in ep.exchanges)
    return lambda: sum(op == a.place_op for _, op, _, _ in ep.exchanges) - start


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def far_bid(a: SimAccount, sim: Simulator, tr: TradingSession) -> tuple[Decimal, Decimal]:
    """A buy's price 20 ticks under the best bid and the venue's smallest size there."""
    bid, _ = a.touch(sim)
    price = bid - 20 * tr.rules[a.symbol].tick_size
    return a.size(tr, price), price


@pytest.mark.parametrize("c", CLOSINGS, ids=_id)
def test_a_market_closed_under_the_session_is_refused_by_the_venue_typed_and_the_list_read_again(
    c: Closing,
) -> None:
    a = c.acct

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.rules[a.symbol].trading
        qty, price = far_bid(a, sim, tr)
        sent = place_requests(sim, a)
        sim.set_status(a.venue, a.symbol, c.status)
        reads = tr.rules_recheck.reads
        with pytest.raises(MarketClosed) as refused:
            await tr.place_order(a.symbol, "buy", "limit", qty, price)
        err = refused.value
        assert (err.venue, str(err.code)) == (a.venue, c.code), str(err)  # type: ignore[attr-defined]
        assert sent() == 1  # it went: the session's rules said trading
        assert a.orders(sim) == []  # the venue placed nothing
        [rejected] = list(tr.tracker)
        assert rejected.status == "rejected"
        # The refusal had the session read the instrument list again: its rules say closed now.
        await until(lambda: not tr.rules[a.symbol].trading, "the list read again")
        assert tr.rules_recheck.reads > reads
        assert tr.rules[a.symbol].status == c.word
        with pytest.raises(MarketClosed):
            await tr.place_order(a.symbol, "buy", "limit", qty, price)
        assert sent() == 1 and a.orders(sim) == []  # refused here: nothing more sent

    a.run(body)


@pytest.mark.parametrize("c", BEFORE_START, ids=_id)
def test_a_market_closed_before_the_start_is_refused_unsent_and_taken_once_it_reopens(c: Closing) -> None:
    a = c.acct

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert not tr.rules[a.symbol].trading and tr.rules[a.symbol].status == c.word
        qty, price = far_bid(a, sim, tr)
        sent = place_requests(sim, a)
        with pytest.raises(MarketClosed) as here:
            await tr.place_order(a.symbol, "buy", "limit", qty, price)
        assert getattr(here.value, "code", None) is None  # this session's refusal, not the venue's
        assert sent() == 0 and a.orders(sim) == [] and list(tr.tracker) == []
        sim.set_status(a.venue, a.symbol, "open")
        # The refusal read the list again (still closed then); refused orders keep reading it, at
        # most every RECHECK_S, until the venue's word changes.
        end = time.monotonic() + 5
        while True:
            try:
                placed = await tr.place_order(a.symbol, "buy", "limit", qty, price)
                break
            except MarketClosed:
                assert time.monotonic() < end, "the session never read the reopened market"
                await asyncio.sleep(0.05)
        assert tr.rules[a.symbol].trading
        assert sent() == 1  # placed once
        [theirs] = a.orders(sim)
        assert theirs.client_id == placed.client_id and theirs.open and placed.status == "new"

    a.run(body, before=lambda sim: sim.set_status(a.venue, a.symbol, c.status))
