"""Kraken signer: the published API-Sign vector and equality with Python's hmac/hashlib/base64."""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import SigningKeyError
from tickwire.venues import kraken
from tickwire.venues.kraken import signer as kraken_signer

# docs.kraken.com "Spot REST Authentication" worked example (venues.md §8).
DOC_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
DOC_NONCE = 1616492376594
DOC_BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOC_SIGN = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="


def _ref(secret_b64: str, path: str, nonce: str, postdata: str) -> str:
    inner = hashlib.sha256((nonce + postdata).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), path.encode() + inner, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def test_published_vector() -> None:
    assert _ref(DOC_SECRET, "/0/private/AddOrder", str(DOC_NONCE), DOC_BODY) == DOC_SIGN
    s = kraken.Signer("key", DOC_SECRET)
    assert s.rest_signature("/0/private/AddOrder", DOC_NONCE, DOC_BODY) == DOC_SIGN
    assert s.rest_signature("/0/private/AddOrder", str(DOC_NONCE), DOC_BODY) == DOC_SIGN


def test_published_vector_through_sign_request() -> None:
    s = kraken.Signer("key", DOC_SECRET)
    params = {"ordertype": "limit", "pair": "XBTUSD", "price": 37500, "type": "buy", "volume": "1.25"}
    req = s.sign_request("POST", "/0/private/AddOrder", params, timestamp=DOC_NONCE)
    assert req.body == DOC_BODY
    assert req.headers == {
        "API-Key": "key",
        "API-Sign": DOC_SIGN,
        "Content-Type": "application/x-www-form-urlencoded",
    }


@settings(max_examples=200, deadline=None)
@given(
    raw=st.binary(min_size=1, max_size=128),
    path=st.text(alphabet="/abcdefghijklmnopqrstuvwxyz0", max_size=40),
    nonce=st.integers(min_value=0, max_value=2**63),
    postdata=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
)
def test_equals_python(raw: bytes, path: str, nonce: int, postdata: str) -> None:
    secret = base64.b64encode(raw).decode()
    assert kraken.Signer("k", secret).rest_signature(path, nonce, postdata) == _ref(
        secret, path, str(nonce), postdata
    )


def test_nonces_increase_within_one_millisecond() -> None:
    s = kraken.Signer("k", DOC_SECRET, clock=lambda: 5)
    assert [s.next_nonce() for _ in range(3)] == [5, 6, 7]


def test_bad_secret() -> None:
    with pytest.raises(SigningKeyError, match="not valid base64"):
        kraken.Signer("k", "this is not base64!")
    with pytest.raises(SigningKeyError) as e:
        kraken.Signer("k", DOC_SECRET[:-3] + "***")
    assert DOC_SECRET[:20] not in str(e.value)


class _SessionClock:
    """A session's own clock (as a venue clock is): ``now_ms`` is what its signer is given."""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.samples = [0.0] * 64  # what such a clock carries (a venue clock's readings)

    def now_ms(self) -> int:
        return self.ms


def test_a_sessions_clock_and_its_nonce_entry_go_with_the_session() -> None:
    """200 sessions, each re-created with a clock of its own, each signing then gone: the process's
    nonce map holds no entry for them. Before, every (key, clock) stayed, pinning its clock."""
    gc.collect()
    before = len(kraken_signer._KEY_NONCES)
    for i in range(200):
        s = kraken.Signer("k", DOC_SECRET, clock=_SessionClock(1_000 + i).now_ms)
        assert s.next_nonce() == 1_000 + i
        del s
    gc.collect()
    kept = len(kraken_signer._KEY_NONCES) - before
    assert kept == 0, f"{kept} entries kept for sessions that are gone"


def test_nonces_keep_growing_per_key_and_clock_across_sessions_while_the_clock_lives() -> None:
    """The map's reason to be: a second signer of the key on the same clock — alive beside the first,
    or after it was gone, given the clock's method afresh — continues above every nonce sent."""
    clock = _SessionClock(5)
    first = kraken.Signer("k2", DOC_SECRET, clock=clock.now_ms)
    assert [first.next_nonce() for _ in range(3)] == [5, 6, 7]
    beside = kraken.Signer("k2", DOC_SECRET, clock=clock.now_ms)
    assert [beside.next_nonce(), first.next_nonce()] == [8, 9]
    del first, beside
    gc.collect()
    later = kraken.Signer("k2", DOC_SECRET, clock=clock.now_ms)
    assert later.next_nonce() == 10
    # Another key on that clock, or that key on another clock, has a sequence of its own.
    assert kraken.Signer("k3", DOC_SECRET, clock=clock.now_ms).next_nonce() == 5
    assert kraken.Signer("k2", DOC_SECRET, clock=_SessionClock(5).now_ms).next_nonce() == 5
