"""Seeded order-book process: the simulator's ground truth.

Prices and sizes are integers (ticks and lots) so books compare exactly; venues format them as their
own strings. Given the same seed and instrument, the sequence of book states is identical whatever the
wall clock or the subscribers do: tests can replay a run and compare books.
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

BID = 0
ASK = 1


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument. ``symbol`` is the venue's own spelling (``BTCUSDT``, ``BTC-USDT``)."""

    symbol: str
    tick: Decimal
    lot: Decimal
    mid: Decimal
    depth: int = 60
    # Typical resting size near the touch, in lots (sizes are drawn around it).
    unit: int = 1
    # Order limits the matching engine enforces and the metadata endpoints publish: the smallest and
    # largest order size (0: one lot; no limit) and the smallest price x size in the quote asset.
    min_qty: Decimal = Decimal(0)
    max_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)

    @property
    def price_decimals(self) -> int:
        return max(0, -self.tick.as_tuple().exponent)  # type: ignore[operator]

    @property
    def qty_decimals(self) -> int:
        return max(0, -self.lot.as_tuple().exponent)  # type: ignore[operator]

    @property
    def min_lots(self) -> int:
        return max(1, math.ceil(self.min_qty / self.lot))

    @property
    def max_lots(self) -> int:
        """The largest order in lots; 0 when there is no limit."""
        return int(self.max_qty / self.lot)

    def price(self, ticks: int) -> Decimal:
        return self.tick * ticks

    def qty(self, lots: int) -> Decimal:
        return self.lot * lots


@dataclass(frozen=True, slots=True)
class Trade:
    id: int
    price: int
    qty: int
    # True when the buyer was the maker, i.e. the aggressor sold (Binance's "m").
    buyer_maker: bool


@dataclass(slots=True)
class Step:
    """One book event: level changes (side, price ticks, new lots; 0 = delete) with ids first..last."""

    first_id: int
    last_id: int
    changes: list[tuple[int, int, int]]
    trades: list[Trade] = field(default_factory=list)


class Side:
    """One side of a book: a sorted price list (best first via ``sign``) and a price -> lots map."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        # Keys are sign*price so both sides sort ascending with the best level first.
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, int] = {}

    def set(self, price: int, lots: int) -> None:
        key = self.sign * price
        if lots <= 0:
            if price in self.levels:
                del self.levels[price]
                del self.keys[bisect.bisect_left(self.keys, key)]
            return
        if price not in self.levels:
            bisect.insort(self.keys, key)
        self.levels[price] = lots

    def rank(self, price: int) -> int:
        """0 for the best level; where ``price`` is or would be inserted."""
        return bisect.bisect_left(self.keys, self.sign * price)

    def best(self) -> int | None:
        return self.sign * self.keys[0] if self.keys else None

    def price_at(self, i: int) -> int:
        return self.sign * self.keys[i]

    def top(self, n: int | None = None) -> list[tuple[int, int]]:
        keys = self.keys if n is None else self.keys[:n]
        s, lv = self.sign, self.levels
        return [(s * k, lv[s * k]) for k in keys]

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[int]:
        s = self.sign
        return (s * k for k in self.keys)


@dataclass(frozen=True)
class BookView:
    """A copy of a book at one update id, as exact decimals: what tests compare against."""

    symbol: str
    update_id: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


class BookProcess:
    """A deterministic random walk of an L2 book with most activity near the touch.

    Each ``step()`` is one of: size change at a level (most common, geometric in distance from the
    touch), new level, level removal, a trade eating part of the touch, or (rarely) a sweep through
    several levels that is then refilled. The book is kept between ``depth/2`` and ``2*depth`` levels
    per side, and never crosses.
    """

    def __init__(self, inst: Instrument, seed: int) -> None:
        self.inst = inst
        self.rng = random.Random((seed << 32) ^ zlib.crc32(inst.symbol.encode()))
        self.bids = Side(-1)
        self.asks = Side(1)
        self.update_id = 1000 + self.rng.randrange(1_000_000)
        self.trade_id = 100 + self.rng.randrange(1_000_000)
        self.steps = 0
        mid = int(inst.mid / inst.tick)
        half = 1 + self.rng.randrange(3)
        bid, ask = mid - half, mid + half
        for i in range(inst.depth):
            # Mostly contiguous ticks with an occasional hole, as in a liquid book.
            self.bids.set(bid, self._size(i))
            self.asks.set(ask, self._size(i))
            bid -= 1 + (self.rng.random() < 0.2)
            ask += 1 + (self.rng.random() < 0.2)

    def side(self, s: int) -> Side:
        return self.bids if s == BID else self.asks

    def _size(self, dist: int) -> int:
        # Sizes grow away from the touch, heavy-tailed like real books.
        return self.inst.unit * (1 + int(self.rng.paretovariate(1.5) * (20 + 4 * dist)))

    def _dist(self, n: int) -> int:
        # Geometric distance from the touch: most events hit the first few levels.
        d = 0
        while d < n - 1 and self.rng.random() > 0.35:
            d += 1
        return d

    def step(self) -> Step:
        rng = self.rng
        changes: list[tuple[int, int, int]] = []
        trades: list[Trade] = []
        s = BID if rng.random() < 0.5 else ASK
        side = self.side(s)
        r = rng.random()
        n = len(side)
        target = self.inst.depth
        if n < target // 2 or (r < 0.22 and n < 2 * target):
            self._insert(s, changes)
        elif r < 0.30 or n > 2 * target:
            self._remove(s, n > 2 * target, changes)
        elif r < 0.37:
            self._trade(s, 1, changes, trades)
        elif r < 0.375:
            self._trade(s, 2 + rng.randrange(min(6, n - 1)), changes, trades)
            for _ in range(2 + rng.randrange(4)):
                self._insert(s, changes)
        else:
            for _ in range(1 + (rng.random() < 0.3)):
                self._resize(s, changes)
        if rng.random() < 0.12:
            # Market makers re-quote the other side in the same event now and then.
            self._resize(1 - s, changes)
        if not changes:
            # A no-op draw still moves the book so every step carries at least one change.
            price = side.price_at(0)
            new = side.levels[price] + 1
            side.set(price, new)
            changes.append((s, price, new))
        first = self.update_id + 1
        self.update_id += len(changes)
        self.steps += 1
        return Step(first, self.update_id, changes, trades)

    def _resize(self, s: int, out: list[tuple[int, int, int]]) -> None:
        side, rng = self.side(s), self.rng
        if not side:
            return
        price = side.price_at(self._dist(len(side)))
        lots = side.levels[price]
        new = max(1, lots + rng.choice((-1, 1)) * (1 + rng.randrange(max(1, lots // 2 + 1))))
        if new != lots:
            side.set(price, new)
            out.append((s, price, new))

    def _insert(self, s: int, out: list[tuple[int, int, int]]) -> None:
        side, other = self.side(s), self.side(1 - s)
        best, opp = side.best(), other.best()
        sign = -1 if s == BID else 1  # away from the touch
        if best is None:
            best = (opp - sign) if opp is not None else int(self.inst.mid / self.inst.tick)
        if self.rng.random() < 0.15 and opp is not None and abs(opp - best) > 1:
            price = best - sign  # improve the touch inside the spread
        else:
            price = best + sign * (self._dist(2 * len(side) + 2) + self.rng.randrange(2))
        if price in side.levels:
            price = best + sign * (len(side) + 1)
            while price in side.levels:
                price += sign
        lots = self._size(self._dist(20))
        side.set(price, lots)
        out.append((s, price, lots))

    def _remove(self, s: int, far: bool, out: list[tuple[int, int, int]]) -> None:
        side = self.side(s)
        if len(side) <= 1:
            return
        i = len(side) - 1 if far else self._dist(len(side))
        price = side.price_at(i)
        side.set(price, 0)
        out.append((s, price, 0))

    def _trade(self, s: int, levels: int, out: list[tuple[int, int, int]], trades: list[Trade]) -> None:
        # An aggressor on the other side takes `levels` levels of side s (the last one partly).
        side = self.side(s)
        for k in range(levels):
            if len(side) <= 1:
                break
            price = side.price_at(0)
            lots = side.levels[price]
            take = lots if k < levels - 1 else 1 + self.rng.randrange(lots)
            self.trade_id += 1
            trades.append(Trade(self.trade_id, price, take, buyer_maker=(s == BID)))
            side.set(price, lots - take)
            out.append((s, price, lots - take))

    def view(self, depth: int | None = None) -> BookView:
        inst = self.inst
        return BookView(
            inst.symbol,
            self.update_id,
            [(inst.price(p), inst.qty(q)) for p, q in self.bids.top(depth)],
            [(inst.price(p), inst.qty(q)) for p, q in self.asks.top(depth)],
        )


class DepthView:
    """What subscribers to a depth-limited feed hold: the top ``depth`` levels as last published.

    ``diff()`` returns the changes that bring them to the book's current top levels. With
    ``delete_out_of_scope`` a level pushed below the depth is sent with size 0 (HTX MBP); without it the
    client is expected to truncate itself (Kraken).
    """

    __slots__ = ("book", "delete_out_of_scope", "depth", "held", "seq")

    def __init__(self, book: BookProcess, depth: int, delete_out_of_scope: bool) -> None:
        self.book = book
        self.depth = depth
        self.delete_out_of_scope = delete_out_of_scope
        self.held: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.seq = book.update_id
        self.reset()

    def reset(self) -> None:
        self.held = (dict(self.book.bids.top(self.depth)), dict(self.book.asks.top(self.depth)))
        self.seq = self.book.update_id

    def diff(self, step: Step) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        # Incremental: only the changed prices and the few ranks around the depth boundary that a
        # step of n changes can move (n insertions push out at most n levels, n deletions pull in
        # at most n), so the cost does not grow with the depth.
        out: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        n = len(step.changes)
        depth, drop = self.depth, self.delete_out_of_scope
        for s in (BID, ASK):
            changed = [p for side_, p, _ in step.changes if side_ == s]
            if not changed:
                continue
            side, held = self.book.side(s), self.held[s]
            levels = side.levels
            res: dict[int, int] = {}
            for p in changed:
                cur = levels.get(p)
                if cur is None:
                    if p in held:
                        del held[p]
                        res[p] = 0
                elif side.rank(p) < depth:
                    if held.get(p) != cur:
                        held[p] = res[p] = cur
                elif p in held:
                    del held[p]
                    if drop:
                        res[p] = 0
            count = len(side)
            for i in range(depth, min(count, depth + n + 1)):
                p = side.price_at(i)
                if p in held:
                    del held[p]
                    if drop:
                        res[p] = 0
            for i in range(max(0, depth - n - 1), min(depth, count)):
                p = side.price_at(i)
                if p not in held:
                    held[p] = res[p] = levels[p]
            sign = side.sign
            out[s].extend(sorted(res.items(), key=lambda pl: sign * pl[0]))
        return out


def default_instruments(
    names: list[tuple[str, str, str, str, int]], limits: dict[str, tuple[str, str, str]] | None = None
) -> list[Instrument]:
    """Instruments from (symbol, tick, lot, mid, unit), with ``limits`` per symbol: (min_qty,
    max_qty, min_notional) as the venue lists them."""
    out = []
    for s, tick, lot, mid, u in names:
        lo, hi, notional = (limits or {}).get(s, ("0", "0", "0"))
        out.append(
            Instrument(s, Decimal(tick), Decimal(lot), Decimal(mid), unit=u, min_qty=Decimal(lo),
                       max_qty=Decimal(hi), min_notional=Decimal(notional))
        )  # fmt: skip
    return out


class Fmt:
    """Integer ticks or lots -> the venue's decimal string, cached (books revisit the same prices).

    ``decimals`` is how many fraction digits the venue prints; ``strip`` drops trailing zeros and a
    bare point as OKX and HTX do (``"30261"``, ``"0.059"``).
    """

    __slots__ = ("cache", "decimals", "mult", "strip")

    def __init__(self, step: Decimal, decimals: int, strip: bool = False) -> None:
        exp = max(0, -step.as_tuple().exponent)  # type: ignore[operator]
        if decimals < exp:
            raise ValueError(f"step {step} needs at least {exp} decimals")
        mant = int(step.scaleb(exp))
        self.mult = mant * 10 ** (decimals - exp)
        self.decimals = decimals
        self.strip = strip
        self.cache: dict[int, str] = {}

    def __call__(self, n: int) -> str:
        s = self.cache.get(n)
        if s is None:
            s = self.fixed(n * self.mult)
            if len(self.cache) < 200_000:
                self.cache[n] = s
        return s

    def fixed(self, units: int) -> str:
        d = self.decimals
        if d == 0:
            return str(units)
        neg = units < 0
        digits = str(-units if neg else units).rjust(d + 1, "0")
        s = f"{digits[:-d]}.{digits[-d:]}"
        if self.strip:
            s = s.rstrip("0").rstrip(".")
        return "-" + s if neg else s
