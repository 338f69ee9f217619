"""The open orders' audit (``trading/open_audit.py``, the session's ``open_audit_s``): every period,
while the private stream is up, the venue's open orders are listed and an order open here that the
list does not name is asked about — its last word (a final fill, a cancel by the venue) lost on a
connection that stayed up, which no reconnect would reconcile. Checked against the simulator's own
orders and fills; the simulator's WebSocket frames dropped (``stall()``) is the lost word."""

from __future__ import annotations

import asyncio
import importlib
import math
from decimal import Decimal

import pytest
import tickwire
from session_cases import SimAccount, settle
from test_fills_heard import as_the_venue_has_it, resting_buy, trade_into
from test_session_binance import BINANCE
from tickwire.sim import Simulator
from tickwire.trading import open_audit
from tickwire.trading.orders import Fill
from tickwire.trading.session import TradingSession

VENUES = pytest.mark.parametrize(
    ("module", "name", "below"),
    [
        ("test_session_binance", "BINANCE", 0),
        ("test_session_okx", "OKX", 0),
        ("test_session_bybit", "BYBIT", 0),
        ("test_session_kraken", "KRAKEN", 3),  # (at its bid the seeded market takes it at once)
    ],
    ids=["binance", "okx", "bybit", "kraken"],
)
PERIOD_S = 0.3


@pytest.fixture(autouse=True)
def _short_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Periods of a fraction of a second are allowed here (``MIN_AUDIT_S``)."""
    monkeypatch.setattr(open_audit, "MIN_AUDIT_S", 0.1)


def _account(module: str, name: str) -> SimAccount:
    a: SimAccount = getattr(importlib.import_module(module), name)
    return a


@VENUES
def test_an_order_filled_while_the_stream_lost_its_words_is_found_filled_with_every_fill_once(
    module: str, name: str, below: int
) -> None:
    """A resting buy fills to its end while the venue's private-stream words are lost on a connection
    that stays up, so no later word of it comes and nothing reconnects. Within a few periods the order
    is filled here as at the venue, every one of the simulator's fills reached ``on_fill`` once, and
    the audit asked about that one order. Before (``open_audit_s=None``, what the session did): the
    order stayed open here for good ("timed out waiting for the order ended here too")."""
    a = _account(module, name)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        o = await resting_buy(sim, a, tr, below, Decimal("0.5"))
        [theirs] = a.orders(sim, o.client_id)
        ep.stall()  # WebSocket frames only, lost: the connection stays up
        await trade_into(sim, a, theirs, 1_000_000)  # to its end
        assert not theirs.open and theirs.status == "FILLED"
        await asyncio.sleep(0.1)
        ep.unstall()
        await settle(lambda: not tr.tracker.get(o.client_id).is_open, "the order ended here too", 5)  # type: ignore[union-attr]
        await settle(lambda: len(fills) >= len(theirs.fills), "every one of the simulator's fills", 5)
        await asyncio.sleep(PERIOD_S * 2)  # another audit: nothing asked twice, nothing heard twice
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        mine = tr.tracker.get(o.client_id)
        assert mine is not None and mine.status == "filled"
        as_the_venue_has_it(sim, a, tr, o.client_id)
        assert tr.stream is not None and tr.stream.connects == 1  # no reconnect reconciled it
        assert tr.open_audit.asked == tr.health()["open_audit_asked"] == 1
        assert tr.risk.exposure(a.symbol)["open_orders"] == 0

    a.run(body, on_fill=fills.append, open_audit_s=PERIOD_S)


@VENUES
def test_an_order_the_venue_cancelled_while_the_stream_lost_its_word_is_found_canceled(
    module: str, name: str, below: int
) -> None:
    """The venue cancels a resting order (its engine, as an expiry or a venue-side cancel would) while
    the stream's words are lost: the order is canceled here within a few periods, with no fill.
    Before: open here for good."""
    a = _account(module, name)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        o = await resting_buy(sim, a, tr, below + 5, Decimal("0.5"))
        ep.stall()
        sim.venue(a.venue).engine.cancel(a.key, a.symbol, None, o.client_id)
        await asyncio.sleep(0.1)
        ep.unstall()
        await settle(lambda: not tr.tracker.get(o.client_id).is_open, "the order ended here too", 5)  # type: ignore[union-attr]
        mine = tr.tracker.get(o.client_id)
        assert mine is not None and mine.status == "canceled" and mine.filled == 0, mine
        assert [x.status for x in a.orders(sim, o.client_id)] == ["CANCELED"]
        assert tr.stream is not None and tr.stream.connects == 1

    a.run(body, open_audit_s=PERIOD_S)


def test_with_the_stream_up_an_audit_costs_one_listing_per_symbol_with_orders_open_and_asks_nothing() -> None:
    """A resting order whose words all arrive: each period lists the symbol's open orders once (one
    request at the venue) and asks about nothing; the order stays open. With no order open, nothing
    is listed."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        ep = sim.endpoint(a.venue, 0)
        bid, _ = a.touch(sim)
        o = await tr.place_order(
            a.symbol, "buy", "limit", Decimal("0.5"), bid - 5 * tr.rules[a.symbol].tick_size
        )
        await asyncio.sleep(0.05)
        asked, listings = len(ep.exchanges), tr.open_audit.listings
        await asyncio.sleep(PERIOD_S * 4 + 0.1)
        made = tr.open_audit.listings - listings
        assert made >= 3
        assert len(ep.exchanges) - asked == made  # one request each: the listing
        assert tr.open_audit.asked == 0
        assert tr.tracker.get(o.client_id).is_open  # type: ignore[union-attr]
        await tr.cancel_order(a.symbol, client_id=o.client_id)
        await asyncio.sleep(PERIOD_S)  # a round already under way may end
        listings = tr.open_audit.listings
        await asyncio.sleep(PERIOD_S * 3)
        assert tr.open_audit.listings == listings  # nothing open: nothing listed

    a.run(body, open_audit_s=PERIOD_S)


@pytest.mark.parametrize("never", [None, 0, 0.0])
def test_open_audit_none_or_0_arms_no_timer(never: float | None) -> None:
    tr = tickwire.trade("binance", credentials=BINANCE.signer, open_audit_s=never)
    assert tr.open_audit.every_s is None


def test_the_default_audit_is_every_minute() -> None:
    tr = tickwire.trade("binance", credentials=BINANCE.signer)
    assert tr.open_audit.every_s == open_audit.AUDIT_S == 60.0


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "60", True, 0.05])
def test_a_period_that_is_not_seconds_or_too_short_is_refused_before_the_start(bad: object) -> None:
    with pytest.raises(ValueError, match="open_audit_s"):
        tickwire.trade("binance", credentials=BINANCE.signer, open_audit_s=bad)


@pytest.mark.parametrize(
    ("module", "name"),
    [("test_session_clarofinlore", "CLARO"), ("test_session_tradefence", "TRADEFENCE")],
    ids=["clarofinlore", "tradefence"],
)
def test_with_no_private_channel_a_resting_orders_fills_are_heard_from_the_audit(
    module: str, name: str
) -> None:
    """Clarofinlore has no private channel, and Tradefence's (its webhooks) is not asked for here:
    nothing tells the session of a resting order. It fills to its end at the simulator: within a few
    periods the audit finds it filled here as there, every fill reaching ``on_fill`` once, with no
    call of the user's. Before stop 55: the audit ran only while a private stream was up, so never
    here — the order stayed open for good unless the user asked ("timed out waiting for the order
    ended here too")."""
    a = _account(module, name)
    fills: list[Fill] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is None
        sim.pause()
        bid, _ = a.touch(sim)
        price = bid - tr.rules[a.symbol].tick_size
        o = await tr.place_order(a.symbol, "buy", "limit", a.size(tr, price, 2), price)
        [theirs] = a.orders(sim, o.client_id)
        await trade_into(sim, a, theirs, 1_000_000)  # to its end
        assert not theirs.open
        await settle(lambda: not tr.tracker.get(o.client_id).is_open, "the order ended here too", 5)  # type: ignore[union-attr]
        await settle(lambda: len(fills) >= len(theirs.fills), "every one of the simulator's fills", 5)
        await asyncio.sleep(PERIOD_S * 2)  # another audit: nothing asked twice, nothing heard twice
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)
        as_the_venue_has_it(sim, a, tr, o.client_id)
        assert tr.open_audit.asked == 1

    a.run(body, on_fill=fills.append, open_audit_s=PERIOD_S)
