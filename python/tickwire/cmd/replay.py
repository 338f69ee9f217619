"""``tickwire replay FILE --venue VENUE``: run a captured JSON Lines session through a BookFeed.

The capture format is the one in shared/fixtures (one event per line: ``recv`` frames as ``text`` or
base64 ``b64``, ``http`` REST snapshots). Binary frames are gunzipped or inflated here with the
standard library; the feed sees exactly the payload bytes a live connection would hand it.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("replay", help="replay a captured session into order books")
    p.add_argument("file", type=Path, help="JSON Lines capture")
    venues = "binance, binance-usdm, okx, kraken, bybit, coinbase, htx, clarofinlore, tradefence"
    p.add_argument("--venue", required=True, help=venues)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _payload(event: dict[str, Any]) -> bytes | str | None:
    if "text" in event:
        text: str = event["text"]
        return text
    if "b64" in event:
        raw = base64.b64decode(event["b64"])
        # zlib with wbits 47 accepts both gzip and zlib headers; raw deflate needs -15.
        try:
            return zlib.decompress(raw, 47)
        except zlib.error:
            return zlib.decompress(raw, -15)
    return None


def replay(path: Path, venue: str) -> dict[str, Any]:
    from tickwire import BookFeed, errors

    feed = BookFeed(venue)
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    frames = decode_errors = 0
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for ev in events:
        payload = _payload(ev)
        if payload is None or ev.get("kind") not in ("recv", "http"):
            continue
        try:
            if ev["kind"] == "http":
                symbol = parse_qs(urlparse(ev.get("url", "")).query).get("symbol", [""])[0]
                _, updates, _ = feed.on_snapshot(symbol, payload)
            else:
                _, updates, _ = feed.on_frame(payload)
        except errors.TickwireError:
            decode_errors += 1
            continue
        frames += 1
        for _, outcome in updates:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    elapsed = time.perf_counter() - started
    books = {}
    for sym in feed.symbols():
        b = feed.book(sym)
        books[sym] = {
            "state": b.state,
            "best_bid": b.best_bid(),
            "best_ask": b.best_ask(),
            "levels": len(b),
            **b.stats(),
        }
    return {
        "venue": feed.venue,
        "frames": frames,
        "errors": decode_errors,
        "seconds": elapsed,
        "frames_per_second": frames / elapsed if elapsed > 0 else 0.0,
        "outcomes": outcomes,
        "books": books,
    }


def run(args: argparse.Namespace) -> int:
    from tickwire import errors

    try:
        report = replay(args.file, args.venue)
    except (OSError, ValueError, errors.TickwireError) as e:
        sys.stderr.write(f"tickwire replay: {e}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        return 0
    w = sys.stdout.write
    w(f"{report['venue']}: {report['frames']} frames, {report['errors']} errors, ")
    w(f"{report['frames_per_second']:,.0f} frames/s (including Python)\n")
    w("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(report["outcomes"].items())) + "\n")
    for sym, b in report["books"].items():
        w(
            f"  {sym:<16} {b['state']:<22} bid={b['best_bid']} ask={b['best_ask']} levels={b['levels']} "
            f"checksums={b['checksum_ok']}/{b['checksum_ok'] + b['checksum_fail']} gaps={b['gaps']}\n"
        )
    return 0
