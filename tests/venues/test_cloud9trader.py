"""Cloud9Trader upgrade headers against Python's hmac/base64, and nonce monotonicity."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.venues import cloud9trader


def _ref(secret_b64: str, path: str, nonce: int) -> str:
    return hmac.new(base64.b64decode(secret_b64), f"{path}{nonce}".encode(), hashlib.sha256).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    raw=st.binary(min_size=1, max_size=100),
    path=st.text(alphabet="/abc?=&", max_size=30),
    nonce=st.integers(min_value=0, max_value=2**50),
)
def test_upgrade_headers_equal_python(raw: bytes, path: str, nonce: int) -> None:
    secret = base64.b64encode(raw).decode()
    s = cloud9trader.Signer("key", secret)
    assert s.upgrade_headers(path, nonce) == {
        "x-c9t-key": "key",
        "x-c9t-nonce": str(nonce),
        "x-c9t-signature": _ref(secret, path, nonce),
    }


def test_nonces_strictly_increase_in_one_millisecond_across_threads() -> None:
    s = cloud9trader.Signer("key", "c2VjcmV0", clock=lambda: 1_700_000_000_000)
    per_thread: list[list[int]] = [[] for _ in range(4)]

    def work(mine: list[int]) -> None:
        for _ in range(200):
            mine.append(int(s.upgrade_headers()["x-c9t-nonce"]))

    threads = [threading.Thread(target=work, args=(mine,)) for mine in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = [n for mine in per_thread for n in mine]
    assert len(set(seen)) == len(seen) == 800
    assert min(seen) == 1_700_000_000_000
    for mine in per_thread:
        assert all(a < b for a, b in itertools.pairwise(mine))


def test_nonces_keep_increasing_when_the_clock_steps_back() -> None:
    """An NTP step backwards must not reissue a nonce the venue has already seen."""
    times = iter([1_000, 2_000, 1_500, 1_500, 2_500])
    s = cloud9trader.Signer("key", "c2VjcmV0", clock=lambda: next(times))
    nonces = [int(s.upgrade_headers()["x-c9t-nonce"]) for _ in range(5)]
    assert nonces == [1_000, 2_000, 2_001, 2_002, 2_500]


def test_explicit_nonce_keeps_later_ones_above_it() -> None:
    s = cloud9trader.Signer("key", "c2VjcmV0", clock=lambda: 10)
    s.upgrade_headers("/", 100)
    assert s.upgrade_headers()["x-c9t-nonce"] == "101"


@pytest.mark.parametrize("nonce", [1.5, 1_700_000_000_000.0, "1700000000000", "abc", True, None])
def test_signature_refuses_a_nonce_that_is_not_an_int(nonce: object) -> None:
    with pytest.raises(TypeError, match="nonce must be an int"):
        cloud9trader.Signer("key", "c2VjcmV0").signature("/", nonce)  # type: ignore[arg-type]


@pytest.mark.parametrize("nonce", [-1, 2**64])
def test_signature_refuses_a_nonce_no_u64_holds(nonce: int) -> None:
    with pytest.raises(ValueError, match="nonce must be a non-negative integer"):
        cloud9trader.Signer("key", "c2VjcmV0").signature("/", nonce)


def test_signature_of_an_int_nonce_equals_python() -> None:
    s = cloud9trader.Signer("key", "c2VjcmV0")
    for nonce in (0, 1_700_000_000_000, 2**64 - 1):
        assert s.signature("/ws", nonce) == _ref("c2VjcmV0", "/ws", nonce)
