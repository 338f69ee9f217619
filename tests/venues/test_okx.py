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


def test_repeated_and_stale_order_pushes_leave_the_order_as_the_venue_has_it() -> None:
    """OKX's "Order channel revamp" (changelog 2025-07-08): "the same message may be sent multiple
    times (perhaps with the different uTime) … Each tradeId should only be returned once … For
    cancellation messages with the same ordId, process the first one and discard later messages."
    Read by the grammar into the tracker: a fill pushed again counts once, and a partial-fill push
    repeated after the cancel neither reopens the order nor adds to it."""
    from decimal import Decimal

    from tickwire.trading.orders import Fill, Order
    from tickwire.trading.tracker import OrderTracker

    heard: list[Fill] = []
    tracker = OrderTracker(on_fill=heard.append)
    intent = Order(
        venue="okx", symbol="BTC-USDT", side="buy", type="limit", price=Decimal("100"),
        qty=Decimal("1"), client_id="tw1",
    )  # fmt: skip
    tracker.track(intent)
    base = {
        "instType": "SPOT", "instId": "BTC-USDT", "ordId": "312269865356374016", "clOrdId": "tw1",
        "px": "100", "sz": "1", "ordType": "limit", "side": "buy", "avgPx": "100", "fee": "-0.0004",
        "feeCcy": "BTC", "fillFeeCcy": "BTC", "execType": "T", "cTime": "1597026383085",
    }  # fmt: skip
    partial = {
        **base, "state": "partially_filled", "accFillSz": "0.4", "fillSz": "0.4", "fillPx": "100",
        "tradeId": "242589207", "fillTime": "1597026383090", "fillFee": "-0.0004", "uTime": "1597026383090",
    }  # fmt: skip
    canceled = {
        **base,
        "state": "canceled",
        "accFillSz": "0.4",
        "fillSz": "0",
        "tradeId": "",
        "uTime": "1597026383200",
    }

    def push(*data: dict[str, object]) -> None:
        for ev in okx.Orders().read_stream(
            {"arg": {"channel": "orders", "instType": "SPOT"}, "data": list(data)}
        ):
            tracker.apply(ev)

    push(partial)
    push({**partial, "uTime": "1597026383095"})  # the same fill again, another uTime
    push(canceled)
    push({**partial, "uTime": "1597026383300"})  # a stale partial fill after the cancel
    push(canceled)
    got = tracker.get("tw1")
    assert got is not None and (got.status, got.filled) == ("canceled", Decimal("0.4"))
    assert [(f.trade_id, f.qty) for f in heard] == [("242589207", Decimal("0.4"))]
