"""Signing a ~120-byte Binance query from Python: tickwire vs the standard library's hmac.

`pytest benches/bench_sign.py --benchmark-enable` prints the table (group "sign") and asserts the
interleaved ratio; plain `pytest` runs each once as a smoke test and checks the results agree.
"""

from __future__ import annotations

import hashlib
import hmac
import statistics
import timeit

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from tickwire.auth import HmacKey
from tickwire.venues import binance

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
# 120 bytes: a realistic LIMIT order query as sent.
PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=43250.12"
    "&recvWindow=5000&timestamp=1700000000000"
)
KEY_B = SECRET.encode()
MSG_B = PAYLOAD.encode()
EXPECTED = hmac.new(KEY_B, MSG_B, hashlib.sha256).hexdigest()
TARGET_RATIO = 0.2

SIGNER = binance.Signer("bench-key", SECRET)
HKEY = HmacKey(SECRET)


def _stdlib(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _benchmarks_enabled(config: pytest.Config) -> bool:
    # pytest-benchmark's own rule (addopts carries --benchmark-disable; --benchmark-enable wins).
    return not (config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"))


def test_payload_is_about_120_bytes() -> None:
    assert 110 <= len(MSG_B) <= 130


@pytest.mark.benchmark(group="sign", min_time=0.00005, warmup=True)
def test_tickwire_binance_rest_signature(benchmark: BenchmarkFixture) -> None:
    assert benchmark(SIGNER.rest_signature, PAYLOAD) == EXPECTED


@pytest.mark.benchmark(group="sign", min_time=0.00005, warmup=True)
def test_tickwire_hmac_key_hexdigest(benchmark: BenchmarkFixture) -> None:
    assert benchmark(HKEY.hexdigest, PAYLOAD) == EXPECTED


@pytest.mark.benchmark(group="sign", min_time=0.00005, warmup=True)
def test_stdlib_hmac_new_hexdigest(benchmark: BenchmarkFixture) -> None:
    assert benchmark(_stdlib, KEY_B, MSG_B) == EXPECTED


def interleaved_ns(rounds: int, number: int) -> dict[str, float]:
    """Median ns per call of each contender, measured alternately in the same process so that CPU
    frequency and noise from other processes hit all sides alike. The statements call the bound
    methods directly (no lambda frame) so that only the call itself is measured."""
    timers = {
        "binance.Signer.rest_signature": timeit.Timer(
            "f(p)", globals={"f": SIGNER.rest_signature, "p": PAYLOAD}
        ),
        "HmacKey.hexdigest": timeit.Timer("f(p)", globals={"f": HKEY.hexdigest, "p": PAYLOAD}),
        "hmac.new(...).hexdigest()": timeit.Timer(
            "new(k, m, sha256).hexdigest()",
            globals={"new": hmac.new, "k": KEY_B, "m": MSG_B, "sha256": hashlib.sha256},
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, t in timers.items():
            samples[name].append(t.timeit(number) / number * 1e9)
    return {name: statistics.median(v) for name, v in samples.items()}


def test_interleaved_ratio(request: pytest.FixtureRequest) -> None:
    assert SIGNER.rest_signature(PAYLOAD) == HKEY.hexdigest(PAYLOAD) == _stdlib(KEY_B, MSG_B) == EXPECTED
    if not _benchmarks_enabled(request.config):
        interleaved_ns(rounds=1, number=1)  # smoke: the measuring code runs
        return
    ns = interleaved_ns(rounds=21, number=20_000)
    peer = ns["hmac.new(...).hexdigest()"]
    for name, v in ns.items():
        print(f"{name:32s} {v:8.1f} ns  ratio {v / peer:.3f}")
    assert ns["binance.Signer.rest_signature"] <= TARGET_RATIO * peer, ns
    assert ns["HmacKey.hexdigest"] <= TARGET_RATIO * peer, ns
