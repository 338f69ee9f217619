import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from conftest import shared_path


def test_replay_okx_capture_reports_all_checksums() -> None:
    path = shared_path("fixtures", "real", "okx.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "okx", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report = json.loads(out)
    assert report["decode_errors"] == 0
    assert report["outcomes"] == {"applied": 290}
    for b in report["books"].values():
        assert (b["gaps"], b["checksum_fail"], b["state"]) == (0, 0, "synced")
        for k in [k for k in b if k not in ("best_bid", "best_ask", "bid_levels", "ask_levels", "synced")]:
            del b[k]
    assert (report["book_messages"], report["checksums_verified"], report["checksum_failures"]) == (
        290,
        290,
        0,
    )
    assert (report["gaps"], report["resyncs"], report["needs"]) == (0, 0, [])
    assert report["frames_per_s"] > 0
    assert report["books"] == _okx_reference(path)


def _okx_reference(path: Path) -> dict[str, dict[str, object]]:
    """Each OKX book replayed longhand with Decimal: snapshots replace, size "0" deletes."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for line in path.read_text().splitlines():
        ev = json.loads(line)
        if ev["kind"] != "recv":
            continue
        msg = json.loads(ev["text"])
        if msg.get("arg", {}).get("channel") != "books" or "data" not in msg:
            continue
        sym = msg["arg"]["instId"]
        if msg["action"] == "snapshot":
            books[sym] = {"bids": {}, "asks": {}}
        for side in ("bids", "asks"):
            for p, q, *_ in msg["data"][0][side]:
                if Decimal(q) == 0:
                    books[sym][side].pop(Decimal(p), None)
                else:
                    books[sym][side][Decimal(p)] = Decimal(q)
    out: dict[str, dict[str, object]] = {}
    for sym, b in books.items():
        bid, ask = max(b["bids"]), min(b["asks"])
        out[sym] = {
            "best_bid": [float(bid), float(b["bids"][bid])],
            "best_ask": [float(ask), float(b["asks"][ask])],
            "bid_levels": len(b["bids"]),
            "ask_levels": len(b["asks"]),
            "synced": True,
        }
    return out


def test_replay_htx_gzip_frames() -> None:
    path = shared_path("fixtures", "real", "htx.jsonl")
    out = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "htx", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    report = json.loads(out)
    # Every binary frame gunzipped in Rust and decoded.
    assert report["decode_errors"] == 0
    assert len(report["books"]) == 10
    assert report["outcomes"]["applied"] == 292


def test_replay_missing_file_is_a_clean_error() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", "/nonexistent.jsonl", "--venue", "okx"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "tickwire replay" in r.stderr
