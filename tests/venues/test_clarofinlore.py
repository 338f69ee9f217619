"""Clarofinlore signer against the seed-venues.md default composition and configurable variants,
computed with Python's hmac."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import SigningKeyError
from tickwire.venues import clarofinlore

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)


def _hex(secret: str, msg: str) -> str:
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    secret=utf8_text.filter(bool),
    method=st.sampled_from(["GET", "post"]),
    path=utf8_text,
    query=utf8_text,
    body=utf8_text,
)
def test_default_composition_equals_python(
    secret: str, method: str, path: str, query: str, body: str
) -> None:
    s = clarofinlore.Signer("k", secret)
    want = _hex(secret, method.upper() + path + query.removeprefix("?") + body)
    assert s.signature(method, path, query, body) == want
    assert s.signature(method, path, "?" + query.removeprefix("?"), body) == want


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(["method", "path", "query", "body", "timestamp", "nonce"]),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    sep=st.sampled_from(["", "\n", "|"]),
    ts=st.integers(min_value=0, max_value=2**45),
)
def test_configurable_composition(parts: list[str], sep: str, ts: int) -> None:
    s = clarofinlore.Signer("k", "secret", parts=parts, separator=sep)
    values = {
        "method": "POST",
        "path": "/v1/orders",
        "query": "a=1",
        "body": "{}",
        "timestamp": str(ts),
        "nonce": "n1",
    }
    assert s.parts == tuple(parts)
    want = _hex("secret", sep.join(values[p] for p in parts))
    assert s.signature("post", "/v1/orders", "a=1", "{}", timestamp=ts, nonce="n1") == want


def test_sign_request_headers() -> None:
    s = clarofinlore.Signer(
        "key", "secret", parts=("timestamp", "nonce", "method", "path", "query", "body"), clock=lambda: 1234
    )
    req = s.sign_request("GET", "/v1/account", {"x": "y"}, nonce="abc")
    assert req.headers == {
        "X-API-Key": "key",
        "X-Timestamp": "1234",
        "X-Nonce": "abc",
        "X-Signature": _hex("secret", "1234abcGET/v1/accountx=y"),
    }
    auto = clarofinlore.Signer("key", "secret").sign_request("GET", "/v1/account")
    assert len(auto.headers["X-Nonce"]) == 32
    assert auto.headers["X-Signature"] == _hex("secret", "GET/v1/account")


def test_bad_composition() -> None:
    with pytest.raises(SigningKeyError, match='unknown signature part "host"'):
        clarofinlore.Signer("k", "s", parts=["method", "host"])
    with pytest.raises(SigningKeyError, match="at least one part"):
        clarofinlore.Signer("k", "s", parts=[])
    s = clarofinlore.Signer("k", "s", parts=["timestamp", "method"])
    with pytest.raises(SigningKeyError, match="includes the timestamp"):
        s.signature("GET", "/")
