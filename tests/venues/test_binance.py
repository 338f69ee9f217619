"""Binance signer: the published vectors, equality with Python's hmac/base64/urllib on random input,
Ed25519/RSA signatures verified with `cryptography`, and the request builders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.errors import SigningKeyError
from tickwire.venues import binance

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)


def _pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    )


def _ref_rest_payload(payload: str) -> bytes:
    """Binance's rule, independently: percent-encode every non-ASCII character (UTF-8), keep ASCII."""
    return "".join(c if ord(c) < 128 else quote(c, safe="") for c in payload).encode()


@pytest.mark.parametrize(
    ("secret", "payload", "expected"),
    [
        # rest-api.md "SIGNED Endpoint Examples for POST /api/v3/order" (venues.md §8).
        (
            SECRET,
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
            "&timestamp=1499827319559",
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
        ),
        # binance/binance-signature-examples README (venues.md §8).
        (
            SECRET,
            "timestamp=1578963600000",
            "d84e6641b1e328e7b418fff030caed655c266299c9355e36ce801ed14631eed4",
        ),
        # developers.binance.com, USDⓈ-M futures "General Info", SIGNED Endpoint Examples for
        # POST /fapi/v1/order, Example 1 (checked with Python's hmac before being relied on here).
        (
            "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000"
            "&timestamp=1591702613943",
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9",
        ),
    ],
)
def test_published_hmac_vectors(secret: str, payload: str, expected: str) -> None:
    assert hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest() == expected
    s = binance.Signer("key", secret)
    assert s.rest_signature(payload) == expected
    assert s.key_type == "hmac"


def test_futures_example_through_sign_request() -> None:
    s = binance.Signer(
        "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83",
        "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
        recv_window=5000,
    )
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": 1,
        "price": 9000,
        "timeInForce": "GTC",
    }
    req = s.sign_request("POST", "/fapi/v1/order", params, timestamp=1591702613943)
    assert req.query.endswith("&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9")
    assert req.headers == {"X-MBX-APIKEY": "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"}


def test_published_ws_api_vector() -> None:
    """web-socket-api.md "SIGNED request example (HMAC)": the params as the doc lists them (not sorted,
    numbers as JSON numbers), its OpenSSL cross-check output as the expected signature."""
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "newOrderRespType": "ACK",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    }
    expected = "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    assert hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest() == expected
    s = binance.Signer(str(params["apiKey"]), SECRET, clock=lambda: 1645423376532)
    assert s.ws_signature(params) == expected
    assert s.ws_signature({**params, "signature": "stale"}) == expected
    without_auth = {k: v for k, v in params.items() if k not in ("apiKey", "timestamp")}
    assert s.ws_signed_params(without_auth)["signature"] == expected


@settings(max_examples=300, deadline=None)
@given(secret=utf8_text.filter(bool), payload=utf8_text)
def test_rest_hmac_equals_python(secret: str, payload: str) -> None:
    want = hmac.new(secret.encode(), _ref_rest_payload(payload), hashlib.sha256).hexdigest()
    assert binance.Signer("k", secret).rest_signature(payload) == want


@settings(max_examples=200, deadline=None)
@given(
    params=st.dictionaries(names, st.one_of(utf8_text, st.integers(), st.booleans()), max_size=8),
    secret=utf8_text.filter(bool),
)
def test_ws_hmac_equals_python(params: dict[str, object], secret: str) -> None:
    def render(v: object) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    payload = "&".join(f"{k}={render(v)}" for k, v in sorted(params.items()) if k != "signature")
    want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    s = binance.Signer("k", secret)
    assert s.ws_signature(params) == want
    assert s.ws_signature({**params, "signature": "ignored"}) == want


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@settings(max_examples=40, deadline=None)
@given(payload=utf8_text)
def test_ed25519_rest_and_ws_signatures_verify(ed_key: ed25519.Ed25519PrivateKey, payload: str) -> None:
    s = binance.Signer("k", private_key_pem=_pem(ed_key))
    assert s.key_type == "ed25519"
    rest = s.rest_signature(payload)
    assert all(c not in rest for c in "+/=")  # percent-encoded for the URL
    ed_key.public_key().verify(base64.b64decode(unquote(rest)), _ref_rest_payload(payload))
    ws = s.ws_signature({"apiKey": "k", "symbol": payload, "timestamp": 1})
    ed_key.public_key().verify(base64.b64decode(ws), f"apiKey=k&symbol={payload}&timestamp=1".encode())


@settings(max_examples=5, deadline=None)
@given(payload=st.text(alphabet="abc=&0123", max_size=80))
def test_rsa_rest_signature_equals_cryptography(rsa_key: rsa.RSAPrivateKey, payload: str) -> None:
    s = binance.Signer("k", private_key_pem=_pem(rsa_key))
    assert s.key_type == "rsa"
    want = rsa_key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert s.rest_signature(payload) == quote(base64.b64encode(want).decode(), safe="")
    assert (
        s.ws_signature({"a": payload})
        == base64.b64encode(
            rsa_key.sign(f"a={payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
    )


def test_ec_key_is_refused_with_a_clear_message() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(SigningKeyError, match="expected an Ed25519 or RSA key, got an EC P-256 key"):
        binance.Signer("k", private_key_pem=pem)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("k",), {}, "a secret (HMAC) or a private_key_pem"),
        (("k", "s"), {"private_key_pem": "x"}, "not both"),
        (("k", ""), {}, "the secret is empty"),
        (("", "s"), {}, "the API key is empty"),
    ],
)
def test_bad_construction(args: tuple[str, ...], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SigningKeyError, match=re.escape(message)):
        binance.Signer(*args, **kwargs)


def test_sign_request_signs_query_plus_body_and_keeps_param_order() -> None:
    s = binance.Signer("key", SECRET, clock=lambda: 1700000000000)
    req = s.sign_request("POST", "/api/v3/order", {"symbol": "币", "side": "BUY"}, body="x=1")
    q, sig = req.query.rsplit("&signature=", 1)
    assert q == "symbol=%E5%B8%81&side=BUY&timestamp=1700000000000"
    assert sig == hmac.new(SECRET.encode(), (q + "x=1").encode(), hashlib.sha256).hexdigest()
    assert req.body == "x=1"


# venues.md §1.1: "The default is 5000 and the maximum is 60000" — a larger window is refused on
# every signed request (the simulator answers -1131), so the signer refuses it when it is set.
@pytest.mark.parametrize("rw", [-1, 0, binance.MAX_RECV_WINDOW + 1, 10**30])
def test_a_recv_window_binance_refuses_is_refused_when_set(rw: int) -> None:
    with pytest.raises(ValueError, match=r"recv_window must be 1\.\.60000"):
        binance.Signer("key", SECRET, recv_window=rw)
    s = binance.Signer("key", SECRET, recv_window=1000)
    with pytest.raises(ValueError):
        s.recv_window = rw
    assert s.recv_window == 1000


@pytest.mark.parametrize("rw", [5000.0, "5000", True])
def test_a_recv_window_that_is_not_whole_ms_is_refused(rw: object) -> None:
    with pytest.raises(TypeError, match="recv_window must be an int"):
        binance.Signer("key", SECRET, recv_window=rw)  # type: ignore[arg-type]


@pytest.mark.parametrize("rw", [1, binance.MAX_RECV_WINDOW])
def test_the_recv_window_bounds_sign_with_that_window(rw: int) -> None:
    s = binance.Signer("key", SECRET, recv_window=rw, clock=lambda: 1700000000000)
    q, sig = s.sign_request("GET", "/api/v3/order", {"symbol": "BTCUSDT"}).query.rsplit("&signature=", 1)
    assert q == f"symbol=BTCUSDT&recvWindow={rw}&timestamp=1700000000000"
    assert sig == hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()


def test_ws_signed_params() -> None:
    s = binance.Signer("key", SECRET, clock=lambda: 42)
    p = s.ws_signed_params({"symbol": "BTCUSDT", "signature": "stale"})
    assert p["apiKey"] == "key" and p["timestamp"] == 42
    payload = "apiKey=key&symbol=BTCUSDT&timestamp=42"
    assert p["signature"] == hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", "envkey")
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)
    monkeypatch.delenv("BINANCE_PRIVATE_KEY_PEM", raising=False)
    monkeypatch.delenv("BINANCE_PRIVATE_KEY_PATH", raising=False)
    s = binance.Signer.from_env()
    assert s.api_key == "envkey"
    assert s.rest_signature("timestamp=1578963600000").startswith("d84e6641")


def test_repr_hides_the_secret_and_pickling_fails() -> None:
    import copy
    import pickle

    s = binance.Signer("abcdefghijklmnop", SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s)
    assert "abcdefghijklmnop" not in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        copy.deepcopy(s)
