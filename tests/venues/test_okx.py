"""OKX signer against the documented formula computed with Python's hmac/base64 (OKX publishes no
reproducible signature; its WS sample is known not to match its example secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import SigningKeyError
from tickwire.venues import okx

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
DOC_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the docs' example SecretKey


def _ref(secret: str, msg: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()).decode()


@settings(max_examples=200, deadline=None)
@given(
    secret=utf8_text.filter(bool),
    ts=utf8_text,
    method=st.sampled_from(["GET", "post", "Delete", "PUT"]),
    path=utf8_text,
    body=utf8_text,
)
def test_rest_signature_equals_python(secret: str, ts: str, method: str, path: str, body: str) -> None:
    s = okx.Signer("k", secret, "p")
    assert s.rest_signature(ts, method, path, body) == _ref(secret, ts + method.upper() + path + body)


@settings(max_examples=100, deadline=None)
@given(secret=utf8_text.filter(bool), ts=st.integers(min_value=0, max_value=2**40))
def test_ws_login_signature_equals_python(secret: str, ts: int) -> None:
    s = okx.Signer("k", secret, "p")
    want = _ref(secret, f"{ts}GET/users/self/verify")
    assert s.ws_login_signature(ts) == want
    assert s.ws_login_signature(str(ts)) == want


def test_sign_request_headers() -> None:
    s = okx.Signer("key", DOC_SECRET, "pass", clock=lambda: 1607418537715)
    req = s.sign_request("GET", "/api/v5/account/balance", {"ccy": "BTC"})
    ts = "2020-12-08T09:08:57.715Z"  # the docs' header example, from the ms clock
    assert req.headers == {
        "OK-ACCESS-KEY": "key",
        "OK-ACCESS-SIGN": _ref(DOC_SECRET, ts + "GET/api/v5/account/balance?ccy=BTC"),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": "pass",
    }
    assert req.query == "ccy=BTC"
    post = s.sign_request("POST", "/api/v5/trade/order", body='{"instId":"BTC-USDT"}')
    assert post.headers["OK-ACCESS-SIGN"] == _ref(
        DOC_SECRET, ts + 'POST/api/v5/trade/order{"instId":"BTC-USDT"}'
    )


def test_ws_auth_message() -> None:
    s = okx.Signer("key", DOC_SECRET, "pass", clock=lambda: 1538054050123)
    m = s.ws_auth_message()
    assert m == {
        "op": "login",
        "args": [
            {
                "apiKey": "key",
                "passphrase": "pass",
                "timestamp": "1538054050",
                "sign": _ref(DOC_SECRET, "1538054050GET/users/self/verify"),
            }
        ],
    }


def test_bad_input_and_secrecy() -> None:
    with pytest.raises(SigningKeyError, match="passphrase is empty"):
        okx.Signer("k", "s", "")
    with pytest.raises(SigningKeyError, match="secret is empty"):
        okx.Signer("k", "", "p")
    s = okx.Signer("key", DOC_SECRET, "my-passphrase")
    assert DOC_SECRET not in repr(s) and "my-passphrase" not in repr(s)
    with pytest.raises(TypeError):
        s.rest_signature(1.5, "GET", "/")  # type: ignore[arg-type]


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from tickwire.errors import CredentialsError

    monkeypatch.setenv("OKX_API_KEY", "k")
    monkeypatch.setenv("OKX_API_SECRET", DOC_SECRET)
    monkeypatch.delenv("OKX_PASSPHRASE", raising=False)
    with pytest.raises(CredentialsError, match="OKX_PASSPHRASE"):
        okx.Signer.from_env()
    monkeypatch.setenv("OKX_PASSPHRASE", "p")
    assert okx.Signer.from_env().ws_login_signature(1) == _ref(DOC_SECRET, "1GET/users/self/verify")
