"""Cost of recording one frame's stage latencies from Python: tickwire vs pure-Python peers; and
what one audit-log event costs the caller, vs the stdlib's QueueHandler.

Run ``pytest benches/bench_latency.py --benchmark-enable`` (after ``maturin develop --release``) to
measure; plain ``pytest`` runs each once as a smoke test. Each round records the same 1000 frames of
4 stamps (3 stages + total), so per-call cost = time / 1000; the loop itself is in every variant.
The audit rounds log 200 events each (per-event cost = time / 200) with the writer drained between
rounds, outside the timing.
"""

from __future__ import annotations

import logging
import logging.handlers
import math
import queue
import random
from collections import Counter
from pathlib import Path
from typing import Any

from tickwire.audit import AuditLog
from tickwire.latency import LatencyRecorder

FRAMES = 1000
_rnd = random.Random(3)
STAMPS = []
for _ in range(FRAMES):
    t0 = 10**15 + _rnd.randrange(10**9)
    t1 = t0 + _rnd.randrange(200, 3000)
    t2 = t1 + _rnd.randrange(100, 2000)
    STAMPS.append((t0, t1, t2, t2 + _rnd.randrange(50, 500)))


def test_tickwire_record(benchmark: Any) -> None:
    """One call per frame: three stages and the total into HDR histograms in Rust."""
    rec = LatencyRecorder(["decode", "apply", "callback"])
    record = rec.record

    def run() -> None:
        for t0, t1, t2, t3 in STAMPS:
            record(t0, t1, t2, t3)

    benchmark(run)
    assert rec.count >= FRAMES and rec.summary()["total"]["count"] == rec.count


def test_python_list_append(benchmark: Any) -> None:
    """The cheapest peer: keep raw stamps, compute nothing (memory grows without bound)."""
    raw: list[tuple[int, int, int, int]] = []
    append = raw.append

    def run() -> None:
        raw.clear()
        for t0, t1, t2, t3 in STAMPS:
            append((t0, t1, t2, t3))

    benchmark(run)
    assert len(raw) == FRAMES


def test_python_log_buckets(benchmark: Any) -> None:
    """A bounded pure-Python histogram: Counter of (stage, log2 bucket) for the same 4 values."""
    c: Counter[tuple[int, int]] = Counter()

    def run() -> None:
        for t0, t1, t2, t3 in STAMPS:
            c[0, (t1 - t0).bit_length()] += 1
            c[1, (t2 - t1).bit_length()] += 1
            c[2, (t3 - t2).bit_length()] += 1
            c[3, (t3 - t0).bit_length()] += 1

    benchmark(run)
    assert sum(c.values()) % (4 * FRAMES) == 0


def test_python_log_linear_buckets(benchmark: Any) -> None:
    """The same resolution as HDR (3 significant figures) in pure Python: ~what tickwire replaces."""
    counts = [[0] * 64 * 2048 for _ in range(4)]
    frexp = math.frexp

    def put(h: list[int], d: int) -> None:
        m, e = frexp(d)
        h[e * 2048 + int(m * 2048)] += 1

    def run() -> None:
        for t0, t1, t2, t3 in STAMPS:
            put(counts[0], t1 - t0)
            put(counts[1], t2 - t1)
            put(counts[2], t3 - t2)
            put(counts[3], t3 - t0)

    benchmark(run)
    assert sum(counts[3]) % FRAMES == 0


# --- audit log: what an event costs the caller (the writer thread works in between rounds) ---

AUDIT_BATCH = 200


def test_audit_event(benchmark: Any, tmp_path: Path) -> None:
    """``AuditLog.event``: a time stamp and a deque append; redaction and I/O are the writer's."""
    with AuditLog(tmp_path / "audit.log") as audit:
        event = audit.event

        def run() -> None:
            for i in range(AUDIT_BATCH):
                event("rest.request", venue="binance", method="GET", path="/api/v3/depth", status=200, i=i)

        benchmark.pedantic(run, setup=audit.flush, rounds=100, iterations=1, warmup_rounds=2)
        assert audit.dropped == 0


def test_stdlib_queue_handler(benchmark: Any, tmp_path: Path) -> None:
    """The stdlib's non-blocking recipe: ``QueueHandler`` → ``QueueListener`` → rotating file."""
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    target = logging.handlers.RotatingFileHandler(tmp_path / "std.log", maxBytes=64 << 20, backupCount=5)
    listener = logging.handlers.QueueListener(q, target)
    logger = logging.getLogger("bench_latency.audit_peer")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.handlers.QueueHandler(q)
    logger.addHandler(handler)
    listener.start()
    try:
        info = logger.info

        def run() -> None:
            for i in range(AUDIT_BATCH):
                info("rest.request %s %s %s %s %s", "binance", "GET", "/api/v3/depth", 200, i)

        benchmark.pedantic(run, setup=q.join, rounds=100, iterations=1, warmup_rounds=2)
    finally:
        listener.stop()
        logger.removeHandler(handler)
        target.close()
