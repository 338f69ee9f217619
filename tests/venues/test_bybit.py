"""Bybit signer against the documented formula computed with Python's hmac (Bybit's doc examples
publish no secret, so they are not usable as vectors)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.venues import bybit

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


def _hex(secret: str, msg: str) -> str:
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    secret=utf8_text.filter(bool),
    # A key is visible ASCII (a Signer refuses anything else: it goes in a header as it is).
    key=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    ts=st.integers(min_value=0, max_value=2**45),
    rw=st.integers(min_value=0, max_value=60000),
    payload=utf8_text,
)
def test_rest_signature_equals_python(secret: str, key: str, ts: int, rw: int, payload: str) -> None:
    s = bybit.Signer(key, secret)
    want = _hex(secret, f"{ts}{key}{rw}{payload}")
    assert s.rest_signature(ts, rw, payload) == want
    assert s.rest_signature(str(ts), str(rw), payload) == want


@settings(max_examples=100, deadline=None)
@given(secret=utf8_text.filter(bool), expires=st.integers(min_value=0, max_value=2**45))
def test_ws_auth_signature_equals_python(secret: str, expires: int) -> None:
    assert bybit.Signer("k", secret).ws_auth_signature(expires) == _hex(secret, f"GET/realtime{expires}")


def test_sign_request_get_signs_query_post_signs_body() -> None:
    s = bybit.Signer("key", "secret", recv_window=8000, clock=lambda: 1658384314791)
    get = s.sign_request("GET", "/v5/order/realtime", {"category": "option", "symbol": "BTC-29JUL22-25000-C"})
    assert get.query == "category=option&symbol=BTC-29JUL22-25000-C"
    assert get.headers == {
        "X-BAPI-API-KEY": "key",
        "X-BAPI-TIMESTAMP": "1658384314791",
        "X-BAPI-SIGN": _hex("secret", "1658384314791key8000category=option&symbol=BTC-29JUL22-25000-C"),
        "X-BAPI-RECV-WINDOW": "8000",
    }
    post = s.sign_request("POST", "/v5/order/create", body='{"category": "option"}')
    assert post.headers["X-BAPI-SIGN"] == _hex("secret", '1658384314791key8000{"category": "option"}')


def test_ws_auth_message() -> None:
    s = bybit.Signer("key", "secret", clock=lambda: 1000)
    assert s.ws_auth_message(ttl_ms=5000) == {
        "op": "auth",
        "args": ["key", 6000, _hex("secret", "GET/realtime6000")],
    }


def test_bad_timestamps_are_typed_errors() -> None:
    import pytest

    s = bybit.Signer("k", "s")
    with pytest.raises(ValueError, match="timestamp must be a non-negative integer"):
        s.rest_signature(-1, 5000, "")
    with pytest.raises(TypeError, match="recv_window must be str or int"):
        s.rest_signature(1, 5000.0, "")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        s.ws_auth_signature(True)  # type: ignore[arg-type]


@pytest.mark.parametrize("rw", [-1, 0, bybit.MAX_RECV_WINDOW + 1, 10**30])
def test_recv_window_out_of_range_is_refused(rw: int) -> None:
    with pytest.raises(ValueError, match="recv_window must be 1"):
        bybit.Signer("k", "s", recv_window=rw)


@pytest.mark.parametrize("rw", [5000.0, "5000", True, None])
def test_recv_window_that_is_not_an_int_is_refused(rw: object) -> None:
    with pytest.raises(TypeError, match="recv_window must be an int"):
        bybit.Signer("k", "s", recv_window=rw)  # type: ignore[arg-type]


@pytest.mark.parametrize("rw", [1, bybit.MAX_RECV_WINDOW])
def test_recv_window_bounds_sign_with_that_window(rw: int) -> None:
    s = bybit.Signer("k", "s", recv_window=rw, clock=lambda: 1658384314791)
    h = s.sign_request("GET", "/v5/order/realtime", {"category": "linear"}).headers
    assert h["X-BAPI-RECV-WINDOW"] == str(rw)
    assert h["X-BAPI-SIGN"] == _hex("s", f"1658384314791k{rw}category=linear")


def test_setting_the_recv_window_later_is_checked_too() -> None:
    s = bybit.Signer("k", "s")
    with pytest.raises(ValueError):
        s.recv_window = -1
    assert s.recv_window == bybit.DEFAULT_RECV_WINDOW
    s.recv_window = 8000
    assert s.sign_request("GET", "/x").headers["X-BAPI-RECV-WINDOW"] == "8000"
