"""Kraken signer: the published API-Sign vector and equality with Python's hmac/hashlib/base64."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import SigningKeyError
from tickwire.venues import kraken

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
