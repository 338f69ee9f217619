"""Binance SBE market-data frames (venues.md §1.5, schema spot_stream id 1 version 0, little endian).

Encoders for the four stream templates, and ``SbeStreams``, which publishes book steps with them.
Decimals are a mantissa with a shared exponent per message:
the instrument's tick/lot decimals, so mantissa = ticks x (tick as an integer at that exponent).
Timestamps are microseconds.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tickwire.sim.market import BID, Instrument, Step, Trade

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

SCHEMA_ID = 1
VERSION = 0
HEADER = struct.Struct("<HHHH")
GROUP16 = struct.Struct("<HH")
GROUP32 = struct.Struct("<HI")
LEVEL = struct.Struct("<qq")
TRADE = struct.Struct("<qqqB")
ROOT_TRADES = struct.Struct("<qqbb")  # eventTime, transactTime, priceExponent, qtyExponent
ROOT_BBO = struct.Struct("<qqbbqqqq")
ROOT_SNAPSHOT = struct.Struct("<qqbb")
ROOT_DIFF = struct.Struct("<qqqbb")

TRADES_ID, BBO_ID, SNAPSHOT_ID, DIFF_ID = 10000, 10001, 10002, 10003


class SbeScale:
    """Per instrument: exponents and integer multipliers from ticks/lots to mantissas."""

    __slots__ = ("pexp", "pmul", "qexp", "qmul", "symbol")

    def __init__(self, inst: Instrument) -> None:
        self.pexp = -inst.price_decimals
        self.qexp = -inst.qty_decimals
        self.pmul = int(inst.tick.scaleb(inst.price_decimals))
        self.qmul = int(inst.lot.scaleb(inst.qty_decimals))
        sym = inst.symbol.encode()
        self.symbol = bytes((len(sym),)) + sym


def _levels(scale: SbeScale, levels: Iterable[tuple[int, int]]) -> bytes:
    lv = list(levels)
    pm, qm = scale.pmul, scale.qmul
    return GROUP16.pack(LEVEL.size, len(lv)) + b"".join(LEVEL.pack(p * pm, q * qm) for p, q in lv)


def depth_diff(
    scale: SbeScale,
    t_us: int,
    first: int,
    last: int,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
) -> bytes:
    return b"".join(
        (
            HEADER.pack(ROOT_DIFF.size, DIFF_ID, SCHEMA_ID, VERSION),
            ROOT_DIFF.pack(t_us, first, last, scale.pexp, scale.qexp),
            _levels(scale, bids),
            _levels(scale, asks),
            scale.symbol,
        )
    )


def depth_snapshot(
    scale: SbeScale, t_us: int, update_id: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
) -> bytes:
    return b"".join(
        (
            HEADER.pack(ROOT_SNAPSHOT.size, SNAPSHOT_ID, SCHEMA_ID, VERSION),
            ROOT_SNAPSHOT.pack(t_us, update_id, scale.pexp, scale.qexp),
            _levels(scale, bids),
            _levels(scale, asks),
            scale.symbol,
        )
    )


def best_bid_ask(scale: SbeScale, t_us: int, update_id: int, bbo: tuple[int, int, int, int]) -> bytes:
    pm, qm = scale.pmul, scale.qmul
    return b"".join(
        (
            HEADER.pack(ROOT_BBO.size, BBO_ID, SCHEMA_ID, VERSION),
            ROOT_BBO.pack(
                t_us, update_id, scale.pexp, scale.qexp, bbo[0] * pm, bbo[1] * qm, bbo[2] * pm, bbo[3] * qm
            ),
            scale.symbol,
        )
    )


def trades(scale: SbeScale, t_us: int, items: list[Trade]) -> bytes:
    pm, qm = scale.pmul, scale.qmul
    return b"".join(
        (
            HEADER.pack(ROOT_TRADES.size, TRADES_ID, SCHEMA_ID, VERSION),
            ROOT_TRADES.pack(t_us, t_us, scale.pexp, scale.qexp),
            GROUP32.pack(TRADE.size, len(items)),
            b"".join(TRADE.pack(t.id, t.price * pm, t.qty * qm, int(t.buyer_maker)) for t in items),
            scale.symbol,
        )
    )


class SbeStreams:
    """Publishes each book step on the SBE streams (``sbe:`` topics) of every server."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.scales = {sym: SbeScale(inst) for sym, inst in ctx.instruments.items()}
        self.last_bbo: dict[str, tuple[int, int, int, int]] = {}

    def publish_step(self, symbol: str, step: Step) -> None:
        lower, scale, subscribers = symbol.lower(), self.scales[symbol], self.ctx.subscribers
        book = self.ctx.books[symbol]
        targets = subscribers(f"sbe:{lower}@depth")
        if targets:
            bids = [(p, q) for s, p, q in step.changes if s == BID]
            asks = [(p, q) for s, p, q in step.changes if s != BID]
            frame: bytes | None = None
            for ep, subs in targets:
                if ep.book_faults and ep.take_book_fault(symbol) == "gap":
                    continue
                t_us = ep.now_ms() * 1000
                frame = frame or depth_diff(scale, t_us, step.first_id, step.last_id, bids, asks)
                for c in subs:
                    c.send_binary(frame)
        for ep, subs in subscribers(f"sbe:{lower}@depth20"):
            top = book.bids.top(20), book.asks.top(20)
            frame = depth_snapshot(scale, ep.now_ms() * 1000, step.last_id, *top)
            for c in subs:
                c.send_binary(frame)
        if step.trades:
            for ep, subs in subscribers(f"sbe:{lower}@trade"):
                frame = trades(scale, ep.now_ms() * 1000, step.trades)
                for c in subs:
                    c.send_binary(frame)
        targets = subscribers(f"sbe:{lower}@bestBidAsk")
        bb, ba = book.bids.best(), book.asks.best()
        if targets and bb is not None and ba is not None:
            bbo = (bb, book.bids.levels[bb], ba, book.asks.levels[ba])
            if bbo != self.last_bbo.get(symbol):
                self.last_bbo[symbol] = bbo
                for ep, subs in targets:
                    frame = best_bid_ask(scale, ep.now_ms() * 1000, step.last_id, bbo)
                    for c in subs:
                        c.send_binary(frame)
