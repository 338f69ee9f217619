"""The seeded book process: deterministic, never crossed, realistic (activity near the touch, every kind
of event), and the depth-limited views consistent with a naive reference."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.sim.market import ASK, BID, BookProcess, DepthView, Fmt, Instrument

INST = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.00001"), Decimal("60000"), depth=40, unit=10)


def test_same_seed_same_books_different_seed_different_books() -> None:
    a, b, c = BookProcess(INST, 7), BookProcess(INST, 7), BookProcess(INST, 8)
    for _ in range(3000):
        sa, sb = a.step(), b.step()
        assert (sa.first_id, sa.last_id, sa.changes, sa.trades) == (
            sb.first_id,
            sb.last_id,
            sb.changes,
            sb.trades,
        )
        c.step()
    assert a.view() == b.view()
    assert a.view() != c.view()


def test_ids_chain_and_book_never_crosses() -> None:
    book = BookProcess(INST, 3)
    prev = book.update_id
    for _ in range(20_000):
        s = book.step()
        assert s.first_id == prev + 1 and s.last_id == prev + len(s.changes)
        prev = s.last_id
        bb, ba = book.bids.best(), book.asks.best()
        assert bb is not None and ba is not None and bb < ba
        assert INST.depth // 2 - 2 <= len(book.bids) <= 2 * INST.depth + 8


def test_dynamics_look_like_a_market() -> None:
    book = BookProcess(INST, 5)
    kinds: Counter[str] = Counter()
    dist: list[int] = []
    sweeps = 0
    for _ in range(20_000):
        before = {BID: dict(book.bids.levels), ASK: dict(book.asks.levels)}
        touch = {BID: book.bids.best(), ASK: book.asks.best()}
        s = book.step()
        sweeps += len(s.trades) >= 2
        for side, price, lots in s.changes:
            kinds["delete" if lots == 0 else "update" if price in before[side] else "insert"] += 1
            t = touch[side]
            assert t is not None
            dist.append(abs(price - t))
        kinds["trade"] += len(s.trades)
    assert all(kinds[k] > 500 for k in ("insert", "update", "delete", "trade")), kinds
    assert sweeps > 10
    dist.sort()
    assert dist[len(dist) // 2] <= 3, "most activity is near the touch"
    assert dist[-1] > 20, "but the whole book moves"


def naive(levels: dict[int, int], depth: int, bid: bool) -> dict[int, int]:
    return dict(sorted(levels.items(), key=lambda x: -x[0] if bid else x[0])[:depth])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    depth=st.sampled_from([1, 2, 5, 10, 25, 400]),
    delete=st.booleans(),
    levels=st.sampled_from([4, 12, 40]),
)
def test_depth_view_diffs_rebuild_the_top_levels(seed: int, depth: int, delete: bool, levels: int) -> None:
    inst = Instrument("X", Decimal("0.01"), Decimal("1"), Decimal("100"), depth=levels, unit=3)
    book = BookProcess(inst, seed)
    view = DepthView(book, depth, delete)
    held = {BID: naive(book.bids.levels, depth, True), ASK: naive(book.asks.levels, depth, False)}
    for _ in range(400):
        s = book.step()
        bids, asks = view.diff(s)
        for side, changes in ((BID, bids), (ASK, asks)):
            for price, lots in changes:
                if lots == 0:
                    held[side].pop(price, None)
                else:
                    held[side][price] = lots
            if not delete:  # the client truncates (Kraken)
                held[side] = naive(held[side], depth, side == BID)
            assert held[side] == naive((book.bids if side == BID else book.asks).levels, depth, side == BID)


@given(n=st.integers(-(10**12), 10**12), exp=st.integers(0, 8), extra=st.integers(0, 4), strip=st.booleans())
def test_fmt_matches_decimal(n: int, exp: int, extra: int, strip: bool) -> None:
    step = Decimal(1).scaleb(-exp)
    s = Fmt(step, exp + extra, strip)(n)
    want = f"{(step * n):.{exp + extra}f}"
    if strip and "." in want:
        want = want.rstrip("0").rstrip(".")
    assert s == want
    assert Decimal(s) == step * n
