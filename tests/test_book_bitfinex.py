"""Bitfinex book channel through BookFeed, against a naive Decimal book and checksum written here from
venues.md §7 (top 25 interleaved, asks negative, signed CRC32), plus the published vector (§8)."""

from __future__ import annotations

import zlib
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire import BookFeed

SUB = '{"event":"subscribed","channel":"book","chanId":%d,"symbol":"tBTCUSD","prec":"P0","len":"25"}'


def js(d: Decimal) -> str:
    """A number as JavaScript prints it (no exponent, no trailing zeros)."""
    t = format(d.normalize(), "f")
    return t


def checksum(bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]) -> int:
    b = sorted(bids.items(), reverse=True)[:25]
    a = sorted(asks.items())[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(b):
            parts += [js(b[i][0]), js(b[i][1])]
        if i < len(a):
            parts += [js(a[i][0]), js(-a[i][1])]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def test_published_vector() -> None:
    feed = BookFeed("bitfinex")
    assert feed.on_frame(SUB % 17)[0] == "control"
    assert feed.on_frame("[17,[[6000,1,1],[5900,3,2],[6100,2,-3],[6200,1,-4]]]")[1] == (
        ("tBTCUSD", "applied"),
    )
    assert feed.on_frame('[17,"cs",1756193398]')[1] == (("tBTCUSD", "applied"),)
    book = feed.book("tBTCUSD")
    assert book.stats()["checksum_ok"] == 1
    assert (book.best_bid(), book.best_ask()) == ((6000.0, 1.0), (6100.0, 3.0))
    assert (
        checksum(
            {Decimal(6000): Decimal(1), Decimal(5900): Decimal(2)},
            {Decimal(6100): Decimal(3), Decimal(6200): Decimal(4)},
        )
        == 1756193398
    )


# One op: (ask, tick, amount or None to delete). Bids sit on ticks 0..19 below 6000, asks above, so
# every level is inside the checksummed top 25 and the book never crosses.
ops = st.lists(
    st.tuples(st.booleans(), st.integers(0, 19), st.one_of(st.none(), st.integers(1, 10**9))),
    min_size=2,
    max_size=60,
)


def stream(seq: list[tuple[bool, int, int | None]]) -> list[tuple[str, str]]:
    """(update frame, checksum frame after it) for every op that changes the naive book."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    out = []
    for ask, tick, amount in seq:
        side = asks if ask else bids
        px = Decimal(6000) + (Decimal(tick + 1) if ask else -Decimal(tick)) / 10
        if amount is None:
            if px not in side:
                continue
            del side[px]
            frame = f"[17,[{js(px)},0,{-1 if ask else 1}]]"
        else:
            qty = Decimal(amount).scaleb(-8)
            if side.get(px) == qty:
                continue
            side[px] = qty
            frame = f"[17,[{js(px)},1,{js(-qty if ask else qty)}]]"
        out.append((frame, f'[17,"cs",{checksum(bids, asks)}]'))
    return out


def synced_feed() -> BookFeed:
    feed = BookFeed("bitfinex")
    feed.on_frame(SUB % 17)
    feed.on_frame("[17,[]]")
    return feed


@settings(max_examples=60, deadline=None)
@given(ops)
def test_random_streams_verify_every_checksum(seq: list[tuple[bool, int, int | None]]) -> None:
    feed = synced_feed()
    for frame, cs in stream(seq):
        assert feed.on_frame(frame)[1] == (("tBTCUSD", "applied"),)
        assert feed.on_frame(cs)[1] == (("tBTCUSD", "applied"),)
    assert feed.book("tBTCUSD").stats()["checksum_fail"] == 0
    assert feed.needs() == ()


@settings(max_examples=60, deadline=None)
@given(ops, st.integers(0, 10**6))
def test_dropping_one_update_fails_the_next_checksum(seq: list[tuple[bool, int, int | None]], k: int) -> None:
    msgs = stream(seq)
    if not msgs:
        return
    drop = k % len(msgs)
    feed = synced_feed()
    for i, (frame, cs) in enumerate(msgs):
        if i != drop:
            feed.on_frame(frame)
        _, updates, _ = feed.on_frame(cs)
        if i == drop:
            assert updates == (("tBTCUSD", "checksum_mismatch"),)
            break
    book = feed.book("tBTCUSD")
    assert not book.is_synced
    assert feed.needs() == (("tBTCUSD", "resubscribe"),)


@settings(max_examples=40, deadline=None)
@given(ops, st.integers(0, 10**6), st.integers(1, 10**9))
def test_corrupting_one_level_fails_the_next_checksum(
    seq: list[tuple[bool, int, int | None]], k: int, bad: int
) -> None:
    msgs = stream(seq)
    sets = [i for i, (f, _) in enumerate(msgs) if ",0," not in f]
    if not sets:
        return
    i = sets[k % len(sets)]
    frame = msgs[i][0]
    px, _, amount = frame.removeprefix("[17,[").removesuffix("]]").split(",")
    wrong = Decimal(bad).scaleb(-8) * (-1 if amount.startswith("-") else 1)
    if Decimal(amount) == wrong:
        return
    feed = synced_feed()
    for f, cs in msgs[:i]:
        feed.on_frame(f)
        feed.on_frame(cs)
    feed.on_frame(f"[17,[{px},1,{js(wrong)}]]")
    assert feed.on_frame(msgs[i][1])[1] == (("tBTCUSD", "checksum_mismatch"),)


def test_a_refused_book_frame_names_its_channels_book_which_is_left_as_it_was() -> None:
    """A book frame refused once its channel number is read (a mangled number, a zero amount) raises
    ``DecodeError`` naming that channel's book — what a replay or a caller invalidates, since nothing
    later shows the update lost when no checksum follows — and changes nothing. Before stop 46 it
    named no book (Bitfinex frames carry a channel number, not the symbol)."""
    import pytest
    from tickwire.errors import DecodeError

    feed = BookFeed("bitfinex")
    feed.on_frame(SUB % 17)
    feed.on_frame("[17,[[6000,1,1],[5900,3,2],[6100,2,-3],[6200,1,-4]]]")
    before = feed.book("tBTCUSD").top()
    for bad in ("[17,[9x6000,2,1]]", "[17,[6000,2,0]]", "[17,[[6000,1,1],[5900]]]"):
        with pytest.raises(DecodeError) as e:
            feed.on_frame(bad)
        assert tuple(getattr(e.value, "symbols", ())) == ("tBTCUSD",), bad
        assert feed.book("tBTCUSD").top() == before and feed.book("tBTCUSD").is_synced
    with pytest.raises(DecodeError) as e:
        feed.on_frame("[99,[6000,2,1]]")  # no such channel: no book to name
    assert not getattr(e.value, "symbols", ())
