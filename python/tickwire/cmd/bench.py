"""``tickwire bench``: the signing tour — signs Binance's published example (and shows it matches),
signs one request for every venue with throwaway keys generated on the spot, and measures signing
against the standard library for about two seconds. (Market-data latency: ``benches/``.)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import statistics
import sys
import timeit
from typing import Any

# Binance rest-api.md, "SIGNED Endpoint Examples for POST /api/v3/order".
VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
VECTOR_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
VECTOR_EXPECTED = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
BENCH_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=43250.12"
    "&recvWindow=5000&timestamp=1700000000000"
)


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench", help="sign the published vectors and measure signing speed"
    )
    p.add_argument(
        "--duration", type=float, default=2.0, help="seconds to spend on the benchmark table (default 2)"
    )
    p.set_defaults(func=run)


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _short(v: str, n: int = 48) -> str:
    return v if len(v) <= n else v[: n - 1] + "…"


def _vector() -> bool:
    from tickwire.venues import binance

    got = binance.Signer("demo-key", VECTOR_SECRET).rest_signature(VECTOR_PAYLOAD)
    ok = got == VECTOR_EXPECTED
    _out("Binance published HMAC-SHA256 example (rest-api.md, POST /api/v3/order)")
    _out(f"  expected  {VECTOR_EXPECTED}")
    _out(f"  tickwire  {got}")
    _out("  vector matched: yes" if ok else "  vector matched: NO")
    return ok


def _venues() -> None:
    from tickwire.venues import binance, bybit, clarofinlore, cloud9trader, coinbase, htx, kraken, okx

    _out()
    _out("One signed request per venue (throwaway keys generated now):")
    secret = os.urandom(32).hex()
    secret_b64 = base64.b64encode(os.urandom(64)).decode()
    ts = 1_700_000_000_000
    rows: list[tuple[str, str, str]] = []
    r = binance.Signer("demo", secret).sign_request(
        "POST", "/api/v3/order", {"symbol": "BTCUSDT"}, timestamp=ts
    )
    rows.append(("binance", "query signature", r.query.rsplit("=", 1)[1]))
    r = okx.Signer("demo", secret, "demo-pass").sign_request("GET", "/api/v5/account/balance", timestamp=ts)
    rows.append(("okx", "OK-ACCESS-SIGN", r.headers["OK-ACCESS-SIGN"]))
    r = bybit.Signer("demo", secret).sign_request(
        "GET", "/v5/order/realtime", {"category": "linear"}, timestamp=ts
    )
    rows.append(("bybit", "X-BAPI-SIGN", r.headers["X-BAPI-SIGN"]))
    r = kraken.Signer("demo", secret_b64).sign_request("POST", "/0/private/Balance", timestamp=ts)
    rows.append(("kraken", "API-Sign", r.headers["API-Sign"]))
    r = htx.Signer("demo", secret).sign_request("GET", "/v1/account/accounts", timestamp=ts)
    rows.append(("htx", "Signature", r.query.rsplit("Signature=", 1)[1]))
    ed_seed = base64.b64encode(os.urandom(32)).decode()
    r = coinbase.Signer("organizations/demo/apiKeys/demo", ed_seed).sign_request(
        "GET", "/api/v3/brokerage/accounts"
    )
    rows.append(("coinbase", "Authorization", r.headers["Authorization"]))
    h = cloud9trader.Signer("demo", secret_b64).upgrade_headers("/", ts)
    rows.append(("cloud9trader", "x-c9t-signature", h["x-c9t-signature"]))
    r = clarofinlore.Signer("demo", secret).sign_request("POST", "/v1/orders", body="{}", timestamp=ts)
    rows.append(("clarofinlore", "X-Signature", r.headers["X-Signature"]))
    for venue, what, value in rows:
        _out(f"  {venue:13s} {what:16s} {_short(value)}")


def _bench(duration: float) -> None:
    from tickwire import build_info
    from tickwire.auth import HmacKey
    from tickwire.venues import binance

    signer = binance.Signer("demo", VECTOR_SECRET)
    key = HmacKey(VECTOR_SECRET)
    kb, mb = VECTOR_SECRET.encode(), BENCH_PAYLOAD.encode()
    timers = {
        "tickwire binance.Signer.rest_signature": timeit.Timer(
            "f(p)", globals={"f": signer.rest_signature, "p": BENCH_PAYLOAD}
        ),
        "tickwire HmacKey.hexdigest": timeit.Timer("f(p)", globals={"f": key.hexdigest, "p": BENCH_PAYLOAD}),
        "stdlib hmac.new(k, m, sha256).hexdigest()": timeit.Timer(
            "new(k, m, sha256).hexdigest()",
            globals={"new": hmac.new, "k": kb, "m": mb, "sha256": hashlib.sha256},
        ),
    }
    # Calibrate: about duration / (rounds * contenders) seconds per sample.
    rounds = 9
    per = max(duration, 0.05) / (rounds * len(timers))
    numbers = {}
    for name, t in timers.items():
        n, took = t.autorange()
        numbers[name] = max(1, int(n * per / max(took, 1e-9)))
    samples: dict[str, list[float]] = {n: [] for n in timers}
    for _ in range(rounds):
        for name, t in timers.items():
            samples[name].append(t.timeit(numbers[name]) / numbers[name] * 1e9)
    med = {n: statistics.median(v) for n, v in samples.items()}
    peer = med["stdlib hmac.new(k, m, sha256).hexdigest()"]
    _out()
    _out(
        f"Signing a {len(mb)}-byte Binance query (median of {rounds} interleaved rounds, "
        f"build: {build_info()['profile']}):"
    )
    _out(f"  {'what':44s} {'ns/call':>9s} {'ratio':>7s}")
    for name, v in med.items():
        _out(f"  {name:44s} {v:9.0f} {v / peer:7.3f}")


def run(args: argparse.Namespace) -> int:
    ok = _vector()
    _venues()
    _bench(args.duration)
    return 0 if ok else 1
