"""HTX signer against the documented signature-version-2/2.1 recipe implemented with Python's
urllib/hmac/base64 (the docs' worked example publishes no secret, so only its layout is usable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.auth import HmacKey
from tickwire.venues import htx

utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=12)
AUTH = ("AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Signature")


def _ref_query(ak: str, params: dict[str, str], ts: str) -> str:
    p = {k: v for k, v in params.items() if k not in AUTH}
    p.update({"AccessKeyId": ak, "SignatureMethod": "HmacSHA256", "SignatureVersion": "2", "Timestamp": ts})
    return urlencode(sorted(p.items()), quote_via=quote_plus)


def _ref_sig(secret: str, method: str, host: str, path: str, query: str) -> str:
    pre = f"{method.upper()}\n{host.lower()}\n{path}\n{query}"
    return base64.b64encode(hmac.new(secret.encode(), pre.encode(), hashlib.sha256).digest()).decode()


@settings(max_examples=200, deadline=None)
@given(
    secret=utf8_text.filter(bool),
    ak=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=30),
    method=st.sampled_from(["GET", "POST", "get"]),
    host=st.sampled_from(["api.huobi.pro", "API-AWS.Huobi.pro"]),
    path=st.text(alphabet="/abcdefghijklmnopqrstuvwxyz", max_size=30),
    params=st.dictionaries(names, utf8_text, max_size=6),
    ts=st.sampled_from(["2017-05-11T15:19:30", "2019-11-21T10:00:00"]),
)
def test_rest_signature_equals_python(
    secret: str, ak: str, method: str, host: str, path: str, params: dict[str, str], ts: str
) -> None:
    s = htx.Signer(ak, secret)
    q = _ref_query(ak, params, ts)
    sig = _ref_sig(secret, method, host, path, q)
    assert s.rest_signature(method, host, path, params, ts) == sig
    assert s.signed_query(method, host, path, params, ts) == f"{q}&Signature={quote_plus(sig)}"


# Official Go SDK vectors (HuobiRDCenter/huobi_Golang, internal/requestbuilder/*_test.go): access key
# "access", secret "secret", api.huobi.pro, 2019-11-21T10:00:00 UTC; recomputed with Python's hmac.
GO_SDK_TS = "2019-11-21T10:00:00"


def test_go_sdk_websocket_v2_vector() -> None:
    want = "1/d+cUIEh4tC0aXho86zu5QAxVzJaTe56mUiB275T0E="
    q = "accessKey=access&signatureMethod=HmacSHA256&signatureVersion=2.1&timestamp=2019-11-21T10%3A00%3A00"
    assert _ref_sig("secret", "GET", "api.huobi.pro", "/ws/v2", q) == want
    assert htx.Signer("access", "secret").ws_v21_signature("api.huobi.pro", "/ws/v2", GO_SDK_TS) == want


@pytest.mark.parametrize(
    ("path", "params", "signature"),
    [
        ("/v1/account/accounts", {}, "rWnLcMt3XBAsmXoNHtTQVpvMbH%2FcE1PXFwQAGeYwt3s%3D"),
        (
            "/v1/account/history",
            {"account-id": "123", "currency": "btc"},
            "SGZYJ9Ub%2FhFerEBbSWsCxl8Djk%2BLRBgEZOB4fLc4T9Q%3D",
        ),
    ],
)
def test_go_sdk_private_url_vectors(path: str, params: dict[str, str], signature: str) -> None:
    s = htx.Signer("access", "secret", clock=lambda: 1574330400000)
    q = s.sign_request("GET", path, params).query
    assert q == _ref_query("access", params, GO_SDK_TS) + f"&Signature={signature}"
    assert q.endswith(f"&Signature={signature}")


def test_go_sdk_signer_vector() -> None:
    """signer_test.go TestSigner_Sign_FourString_Success: the pre-sign text given directly. It pins the
    Python reference the property tests rely on, and HmacKey's base64 output."""
    want = "HUP3n78npIuTzVKyjEOrPictRKEUTRoYs7Ld5y38hmA="
    query = "account-id=1&currency=btcusdt"
    assert _ref_sig("secret", "GET", "api.huobi.pro", "/v1/account/history", query) == want
    assert HmacKey("secret").b64digest(f"GET\napi.huobi.pro\n/v1/account/history\n{query}") == want


def test_documented_query_layout_and_int_timestamp() -> None:
    # HTX docs, "Signature" section: GET /v1/order/orders with order-id=1234567890 at 2017-05-11T15:19:30.
    s = htx.Signer("e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx", "secret")
    q = s.signed_query("GET", "api.huobi.pro", "/v1/order/orders", {"order-id": 1234567890}, 1494515970000)
    assert q.startswith(
        "AccessKeyId=e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx&SignatureMethod=HmacSHA256&SignatureVersion=2"
        "&Timestamp=2017-05-11T15%3A19%3A30&order-id=1234567890&Signature="
    )


@settings(max_examples=100, deadline=None)
@given(secret=utf8_text.filter(bool), ak=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=30))
def test_ws_v21_signature_equals_python(secret: str, ak: str) -> None:
    ts = "2019-11-21T10:00:00"
    q = f"accessKey={ak}&signatureMethod=HmacSHA256&signatureVersion=2.1&timestamp=2019-11-21T10%3A00%3A00"
    want = _ref_sig(secret, "GET", "api.huobi.pro", "/ws/v2", q)
    s = htx.Signer(ak, secret)
    assert s.ws_v21_signature("api.huobi.pro", "/ws/v2", ts) == want
    assert s.ws_v21_signature("api.huobi.pro", "/ws/v2", 1574330400000) == want


def test_request_builders() -> None:
    s = htx.Signer("ak", "secret", clock=lambda: 1574330400000)
    req = s.sign_request("GET", "/v1/account/accounts")
    q = _ref_query("ak", {}, "2019-11-21T10:00:00")
    sig = _ref_sig("secret", "GET", "api.huobi.pro", "/v1/account/accounts", q)
    assert req.query == f"{q}&Signature={quote_plus(sig)}"
    m = s.ws_auth_message()
    assert m["action"] == "req" and m["ch"] == "auth"
    params = m["params"]
    assert isinstance(params, dict)
    assert params["timestamp"] == "2019-11-21T10:00:00"
    assert params["signature"] == s.ws_v21_signature("api.huobi.pro", "/ws/v2", "2019-11-21T10:00:00")


@pytest.mark.parametrize(
    "params", ["symbol=btcusdt&states=filled", b"symbol=btcusdt", [("symbol", "btcusdt")]]
)
def test_params_that_are_not_a_mapping_are_a_type_error(params: object) -> None:
    """HTX signs its parameters sorted by name, so it takes them as a mapping only: anything else is a
    ``TypeError`` naming what it wants (before 2026-12-07, an ``AttributeError`` from inside the
    signer, ``'str' object has no attribute 'items'``)."""
    s = htx.Signer("ak", "sk")
    with pytest.raises(TypeError, match="must be a mapping"):
        s.sign_request("GET", "/v1/order/orders", params)  # type: ignore[arg-type]
