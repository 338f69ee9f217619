"""The kill switch on a venue with positions (Binance USDⓈ-M) when an order it did not list at first
trades after it read the positions: another script on the key rests a buy while the kill runs (its
order taken by the venue after the kill's first listing), and the market fills it in part once the
kill has read the positions it closed. The kill's second listing finds that order and cancels it
(``Kill.confirm``); what it filled is a position at the venue all the same. Checked against the
simulator's own positions and order list: the account ends flat, or the report says it is not."""

from __future__ import annotations

import asyncio
from typing import Any

from kill_cases import ACCOUNTS, open_at_venue, run, trade
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

VENUE, KEY, SYMBOL = "binance-usdm", "kill-usdm", "BTCUSDT"
LISTING, POSITIONS = "GET /fapi/v1/openOrders", "GET /fapi/v2/positionRisk"


async def fill_in_part(sim: Simulator, client_id: str) -> Any:
    """The simulator's market (paused) stepped until the engine's order of ``client_id`` has traded
    in part; that order."""
    v = sim.venue(VENUE)
    [order] = [o for o in v.engine.orders.values() if o.client_id == client_id]
    for i in range(200_000):
        if order.filled > 0:
            break
        v.book_step(SYMBOL)
        if i % 500 == 0:
            await asyncio.sleep(0)
    assert order.filled > 0 and order.open, "the market traded with the resting buy, in part"
    return order


def test_an_order_taken_during_the_kill_that_fills_after_the_positions_were_read_leaves_no_position() -> None:
    """The account is flat with nothing open when the kill is thrown. While the kill's listing of the
    open orders is on its way back, another session on the key rests a large buy at the best bid; once
    the kill has read the positions it closed (flat), the market fills that buy in part. The kill's
    second listing finds the buy and cancels the rest of it. The simulator must then hold no open order
    and no position — or the report must say it is not flat. Before, the position the late buy made
    was never closed, and the report, its positions read before that fill, said ``complete``."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        urls = sim.urls()[VENUE]
        async with trade(
            VENUE, credentials=ACCOUNTS[VENUE][1], endpoints=urls, strategy="other", private_stream=False
        ) as other:
            late: list[str] = []

            async def another_script_rests_a_buy() -> None:  # the kill's first listing taken
                r = other.rules[SYMBOL]
                price = sim.book(VENUE, SYMBOL).bids[0][0]
                buy = await other.place_order(SYMBOL, "buy", "limit", r.min_qty * 2000, price)
                late.append(buy.client_id)
                ep.hold_answer(POSITIONS, first_read_done)

            async def first_read_done() -> None:  # the closer's first read: the next is its last
                ep.hold_answer(POSITIONS, filled_after_the_last_read)

            async def filled_after_the_last_read() -> None:
                await fill_in_part(sim, late[0])

            ep.hold_answer(LISTING, another_script_rests_a_buy)
            report = await tr.kill("flatten")
            [buy] = [o for o in engine.orders.values() if o.client_id == late[0]]
            assert buy.filled > 0, "the late buy traded after the kill's last read of the positions"
            assert open_at_venue(sim, VENUE) == [], "the late buy cancelled"
            lots = engine.position(KEY, SYMBOL)
            assert lots == 0 or (not report.complete and report.positions), (
                f"the simulator holds {lots} lots of {SYMBOL} after a kill reporting "
                f"complete={report.complete}, positions={report.positions}"
            )

    run(VENUE, body, private_stream=False, timeout=0.5)


def test_an_order_whose_cancel_was_answered_503_and_that_fills_after_the_positions_were_read_closed() -> None:
    """The session rests a large buy at the best bid; the kill's cancel of it is answered 503 (not
    processed: the venue's blip), the kill reads the positions (flat) and the market then fills the
    buy in part. The kill's second listing shows the buy still open and cancels it once more
    (``kill_cancel_again``). The simulator must then hold no open order and no position — or the
    report must name the position (the 503 is in ``errors`` either way). Before, the position the
    buy made before its second cancel was never closed, and the report's positions, read before that
    fill, said flat."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.pause()
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        price, r = sim.book(VENUE, SYMBOL).bids[0][0], tr.rules[SYMBOL]
        buy = await tr.place_order(SYMBOL, "buy", "limit", r.min_qty * 2000, price)

        async def cancel_answered_503() -> None:  # the kill's first listing taken; its cancel is next
            ep.fail(1, status=503)
            ep.hold_answer(POSITIONS, first_read_done)

        async def first_read_done() -> None:  # the closer's first read: the next is its last
            ep.hold_answer(POSITIONS, filled_after_the_last_read)

        async def filled_after_the_last_read() -> None:
            await fill_in_part(sim, buy.client_id)

        ep.hold_answer(LISTING, cancel_answered_503)
        report = await tr.kill("flatten")
        assert 503 in [status for _, _, status, _ in ep.exchanges]
        [at_venue] = [o for o in engine.orders.values() if o.client_id == buy.client_id]
        assert at_venue.filled > 0, "the buy traded after the kill's last read of the positions"
        assert open_at_venue(sim, VENUE) == [], "the buy cancelled once more"
        lots = engine.position(KEY, SYMBOL)
        assert lots == 0 or report.positions, (
            f"the simulator holds {lots} lots of {SYMBOL} after a kill whose report names no position "
            f"(complete={report.complete}, errors={report.errors})"
        )

    run(VENUE, body, private_stream=False, timeout=0.5)
