"""What recording (``tickwire record``) adds on the frame path, per frame, in-process: the line's tee
(``CaptureWriter.sink``: copy the payload, append to the queue) against the one ``is not None`` check
a session that does not record pays, alternating rounds, on real Binance spot frames
(../shared/fixtures/real) with the writer thread draining alongside as it does live. Also the writer
thread's own rate (frames formatted and written per second), which must stay far above any feed's.

The same with a whole session over loopback is the ``tickwire record`` row of benches/bench_session.py.

    python benches/bench_record.py [--rounds 20] [--frames 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tickwire.capture import CaptureWriter, FrameSink

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "binance_spot.jsonl"
# A Binance-shaped diff, for a user's clone without ../shared.
SYNTHETIC = (
    b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":1,"u":2,"b":[["1.0","2.0"]],"a":[]}}'
)
# Frames per burst; bursts 5 ms apart (cold caches, as for frames arriving on an idle loop) or back to
# back (hot); the writer drains alongside either way.
BURST = 100
PAUSES = {"bursts 5 ms apart": 0.005, "back to back": 0.0}


def frames(n: int) -> list[memoryview]:
    texts = [SYNTHETIC]
    if FIXTURE.exists():
        events = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
        texts = [e["text"].encode() for e in events if e["kind"] == "recv"]
    return [memoryview(texts[i % len(texts)]) for i in range(n)]


def _loop(tee: FrameSink | None, batch: list[memoryview], pause: float) -> int:
    """ns spent in the frame path's recording part over ``batch``, fed in bursts."""
    spent = 0
    for i in range(0, len(batch), BURST):
        burst = batch[i : i + BURST]
        t0 = time.perf_counter_ns()
        for mv in burst:
            if tee is not None:
                tee(False, mv, 0)
        spent += time.perf_counter_ns() - t0
        if pause:
            time.sleep(pause)
    return spent


def measure(rounds: int, n: int) -> dict[str, Any]:
    batch = frames(n)
    out: dict[str, Any] = {}
    written = 0
    with tempfile.TemporaryDirectory() as tmp, CaptureWriter(Path(tmp) / "bench.jsonl") as cap:
        tee = cap.sink("wss://stream.binance.com:9443/stream")
        for name, pause in PAUSES.items():
            per: dict[str, list[float]] = {"not recording": [], "recording": []}
            for _ in range(rounds):
                per["not recording"].append(_loop(None, batch, pause) / n)
                per["recording"].append(_loop(tee, batch, pause) / n)
            r = {k: {"median_ns": statistics.median(v), "min_ns": min(v)} for k, v in per.items()}
            r["added_ns"] = r["recording"]["median_ns"] - r["not recording"]["median_ns"]
            out[name] = r
            written += rounds * n
        cap.close()
        assert cap.counts["recv"] == written
    # The writer alone: format and write n frames.
    with tempfile.TemporaryDirectory() as tmp:
        cap = CaptureWriter(Path(tmp) / "w.jsonl", interval=3600)
        tee = cap.sink("wss://stream.binance.com:9443/stream")
        for mv in batch:
            tee(False, mv, 0)
        t0 = time.perf_counter()
        cap.close()
        out["writer_frames_per_s"] = n / (time.perf_counter() - t0)
    out["frame_bytes_mean"] = sum(len(m) for m in batch) / n
    return out


def test_record_tee_cost() -> None:
    res = measure(3, 1000)
    # A copy and an append: well under a microsecond per frame on any machine this runs on.
    assert res["back to back"]["added_ns"] < 2000
    assert res["writer_frames_per_s"] > 20_000


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--frames", type=int, default=2_000)
    a = ap.parse_args()
    r = measure(a.rounds, a.frames)
    print(f"frames: real Binance spot, mean {r['frame_bytes_mean']:.0f} bytes; {a.rounds} alternating rounds")
    for name in PAUSES:
        print(f"{name}:")
        for k in ("not recording", "recording"):
            m = r[name][k]
            print(f"  {k:14s} {m['median_ns']:7.1f} ns/frame (median)  {m['min_ns']:7.1f} (min)")
        print(f"  added by the tee: {r[name]['added_ns']:.1f} ns/frame")
    print(f"writer thread: {r['writer_frames_per_s']:,.0f} frames/s formatted and written")
