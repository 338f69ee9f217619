"""Signing one Binance order query from Python: tickwire's pre-keyed signer against the standard
library's ``hmac``, interleaved rounds of many calls (one call is far below the clock's resolution)."""

from __future__ import annotations

import hashlib
import hmac
import timeit

from tickwire.bench.report import Progress, Result, add_ratios

STAGE = "sign a 122-byte Binance order query (ns per call, medians of interleaved rounds)"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=43250.12"
    "&recvWindow=5000&timestamp=1700000000000"
)


def measure(quick: bool, progress: Progress, duration: float | None = None) -> list[Result]:
    from tickwire.auth import HmacKey
    from tickwire.venues import binance

    duration = duration if duration is not None else (0.2 if quick else 2.0)
    signer = binance.Signer("demo", SECRET)
    key = HmacKey(SECRET)
    kb, mb = SECRET.encode(), PAYLOAD.encode()
    timers = {
        ("tickwire", "tickwire binance.Signer.rest_signature"): timeit.Timer(
            "f(p)", globals={"f": signer.rest_signature, "p": PAYLOAD}
        ),
        ("hmac_key", "tickwire HmacKey.hexdigest"): timeit.Timer(
            "f(p)", globals={"f": key.hexdigest, "p": PAYLOAD}
        ),
        ("stdlib", "stdlib hmac.new(k, m, sha256).hexdigest()"): timeit.Timer(
            "new(k, m, sha256).hexdigest()",
            globals={"new": hmac.new, "k": kb, "m": mb, "sha256": hashlib.sha256},
        ),
    }
    rounds = 9
    per = max(duration, 0.05) / (rounds * len(timers))
    numbers = {}
    for name, t in timers.items():
        n, took = t.autorange()
        numbers[name] = max(1, int(n * per / max(took, 1e-9)))
    samples: dict[tuple[str, str], list[float]] = {n: [] for n in timers}
    for r in range(rounds):
        progress(f"sign: round {r + 1}/{rounds}")
        for name, t in timers.items():
            samples[name].append(t.timeit(numbers[name]) / numbers[name] * 1e9)
    rows = [Result.of(STAGE, k, name, xs, stage_key="sign") for (k, name), xs in samples.items()]
    add_ratios(rows, "stdlib")
    return rows
