from __future__ import annotations

import re

import pytest
from tickwire.errors import InvalidOrder
from tickwire.trading.client_ids import FORMATS, ClientIds, _base62

# Each venue's rule as its documentation states it, written out here independently of FORMATS.
DOCUMENTED = {
    "binance": r"^[a-zA-Z0-9-_]{1,36}$",  # newClientOrderId (Binance errors.md, -1100 message)
    "binance-usdm": r"^[a-zA-Z0-9-_]{1,36}$",  # newClientOrderId (USDⓈ-M New Order)
    "okx": r"^[A-Za-z0-9]{1,32}$",  # clOrdId: case-sensitive alphanumerics, 1-32
    "bybit": r"^[A-Za-z0-9_-]{1,36}$",  # orderLinkId: max 36, numbers, letters, - and _
    "kraken": r"^[\x21-\x7e]{1,18}$",  # cl_ord_id free text: up to 18 characters (the generated form)
    "coinbase": r"^[\x21-\x7e]{1,128}$",  # client_order_id: a string
    "htx": r"^[\x21-\x7e]{1,64}$",  # client-order-id: up to 64 characters
    "clarofinlore": r"^[A-Za-z0-9-]{1,36}$",  # seed-venues.md default
    "tradefence": r"^[A-Za-z0-9-]{1,36}$",  # seed-venues.md default
}


def test_every_required_venue_has_a_format() -> None:
    assert set(FORMATS) == set(DOCUMENTED)


@pytest.mark.parametrize("venue", sorted(DOCUMENTED))
def test_generated_ids_are_unique_and_in_the_venue_format(venue: str) -> None:
    ids = ClientIds(venue, "mm1")
    got = [ids.next() for _ in range(20_000)]
    assert len(set(got)) == len(got)
    doc = re.compile(DOCUMENTED[venue])
    for cid in got[:50] + got[-50:]:
        assert doc.match(cid), cid
        assert ids.check(cid) == cid
        assert ids.owns(cid)


@pytest.mark.parametrize("venue", sorted(DOCUMENTED))
def test_sessions_started_together_never_share_an_id(venue: str) -> None:
    a, b = ClientIds(venue, "mm1"), ClientIds(venue, "mm1")
    assert a.nonce != b.nonce
    assert not {a.next() for _ in range(1000)} & {b.next() for _ in range(1000)}


def test_counter_outgrowing_its_room_draws_a_new_nonce() -> None:
    ids = ClientIds("okx", "s")
    ids._limit = 3  # the room is 62**6 ids; shrink it to see the roll-over
    got = [ids.next() for _ in range(10)]
    assert len(set(got)) == 10 and len({g[1:11] for g in got}) == 4


@pytest.mark.parametrize("start", [0, 3843, 3844, 10_000])  # either side of the precomputed spellings
def test_an_id_given_back_is_the_next_one_again_and_no_other_is_taken_back(start: int) -> None:
    ids = ClientIds("binance", "mm1")
    for _ in range(start):
        ids.next()
    a, b = ids.next(), ids.next()
    ids.give_back(a)  # not the last: stays spent
    ids.give_back("mm1-" + ids.nonce + "zz")  # never returned by this object
    assert ids.next() != b
    ids.give_back(b)  # already spent by another: nothing
    c = ids.next()
    ids.give_back(c)
    assert ids.next() == c and len({a, b, c}) == 3
    ids.give_back(c)
    assert ids.next() == c  # given back once more, taken once more
    ids.give_back(c)
    ids.give_back(c)  # twice in a row: the count goes back once
    assert ids.next() == c and ids.next() != c


def test_an_id_given_back_after_a_reservation_stays_spent() -> None:
    """Ids a template's form spells come from a reservation: handing one back (or the id before the
    reservation) must not make :meth:`next` return an id the form also holds."""
    ids = ClientIds("binance", "mm1")
    a = ids.next()
    stem, first, end = ids.reserve(8)
    held = [stem + _base62(i) for i in range(first, end)]
    ids.give_back(held[-1])
    ids.give_back(a)
    assert ids.next() not in {*held, a}


def test_user_ids_are_checked_against_the_format() -> None:
    okx = ClientIds("okx")
    assert okx.check("abcDEF123") == "abcDEF123"
    for bad in ("has-dash", "x" * 33, "", "sp ace"):
        with pytest.raises(InvalidOrder) as e:
            okx.check(bad)
        assert e.value.rule == "client_id"  # type: ignore[attr-defined]
    binance = ClientIds("binance")
    assert binance.check("web_1-x") == "web_1-x"
    with pytest.raises(InvalidOrder):
        binance.check("a" * 37)
    kraken = ClientIds("kraken")
    assert kraken.check("6d1b345e-2821-40e2-ad83-4ecb18a06876")  # long UUID (the docs' example)
    assert kraken.check("da8e4ad59b78481c93e589746b0cf91f")  # short UUID
    assert kraken.check("arb-20240509-00010")  # free text, 18 characters
    with pytest.raises(InvalidOrder):
        kraken.check("arb-20240509-000101")  # 19: neither a UUID nor short enough


def test_prefix_must_fit_and_be_expressible() -> None:
    with pytest.raises(InvalidOrder, match="too long"):
        ClientIds("kraken", "verylongprefix")
    with pytest.raises(InvalidOrder, match="characters"):
        ClientIds("okx", "a-b")
    with pytest.raises(InvalidOrder, match="no client id format"):
        ClientIds("nowhere")
    other = ClientIds("bybit", "mm2")
    assert not ClientIds("bybit", "mm1").owns(other.next())
    assert not ClientIds("bybit").owns("anything")  # no prefix: owns nothing
