"""Which NATS client tickwire scales out on, by measurement (issue 14): publish → subscriber-callback
latency, publish cost and fan-out throughput, every contender in its own process, one loopback
nats-server (``tickwire.bus.server``), rounds alternating the contenders.

A message is 100 bytes: the publisher's ``time.monotonic_ns()`` stamp (CLOCK_MONOTONIC, one machine),
its sequence number, padding. One message is in flight at a time (``--gap-us`` between publishes), so
the figures are latency, not queueing. Subscribers (each stamps on entry to its per-message callback):

- ``async-nats (Rust)``: async-nats on a current-thread tokio runtime, no Python (the floor);
- ``nats-py uvloop`` / ``nats-py asyncio``: ``nc.subscribe(subject, cb=...)``, the callback on the loop;
- ``async-nats thread → loop (call_soon_threadsafe)``: the pyo3 extension of benches/nats_engine_rs:
  a tokio thread receives and, holding the GIL, calls ``loop.call_soon_threadsafe(cb, batch, t)`` on
  uvloop (what "async-nats on a Rust thread in the extension" costs to reach a strategy callback);
- ``async-nats thread → loop (eventfd)``: the same thread, no GIL on it: a queue and an eventfd the
  loop watches (``add_reader``), drained in one call;
- ``bare protocol on uvloop``: a reference, not a client: an ``asyncio.Protocol`` that speaks
  CONNECT/SUB/PING and parses MSG in ``data_received``, the callback called right there.

Publishers: async-nats, nats-py on uvloop and asyncio (the client's flusher task writes), nats-py
with ``await nc.flush()`` after each publish; latency measured at the Rust subscriber (the floor), and
each ``publish`` call's cost; then a burst (as fast as it can, no subscriber) for CPU per message.
Fan-out: the Rust publisher bursts to 4 subscriber processes of one kind; each reports messages/s
from its first to its last message and CPU (getrusage, all threads) per message.

    python benches/bench_nats_engine.py [--quick] [--rounds 3] [--n 2000] [--gap-us 1000] [--json]

The Rust contenders need ``cargo build --release --manifest-path benches/nats_engine_rs/Cargo.toml``
(its target directory: ``$NATS_ENGINE_RS_TARGET``, else ``$CARGO_TARGET_DIR``, else the package's
``target/``); without the build they are skipped, saying so. ``pytest benches/bench_nats_engine.py``
runs it with tiny counts as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import select
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nats_engine_child import needs_rust, rust_bin, rust_ext, rust_target

CHILD = Path(__file__).resolve().parent / "nats_engine_child.py"
FLOOR = "rs"
SUBSCRIBERS = {
    "rs": "async-nats (Rust, no Python)",
    "py-uvloop": "nats-py, uvloop",
    "py-asyncio": "nats-py, asyncio",
    "rs-callsoon": "async-nats thread → uvloop (call_soon_threadsafe)",
    "rs-eventfd": "async-nats thread → uvloop (eventfd)",
    "raw-uvloop": "bare protocol on uvloop (reference)",
}
PUBLISHERS = {
    "rs": "async-nats (Rust)",
    "py-uvloop": "nats-py, uvloop",
    "py-asyncio": "nats-py, asyncio",
    "py-uvloop-flush": "nats-py, uvloop, await flush() each",
    "rs-ext": "async-nats thread, publish() from uvloop",
    "raw-uvloop": "bare protocol on uvloop (reference)",
}
FANOUT = ("rs", "py-uvloop", "rs-eventfd", "rs-callsoon", "raw-uvloop")


# the driver ---------------------------------------------------------------------------------------


def _argv(role: str, kind: str, url: str, subject: str, *rest: int | str) -> list[str]:
    tail = [str(x) for x in rest]
    if kind == "rs":
        binary = rust_bin()
        assert binary is not None
        return [str(binary), role, url, subject, *tail]
    return [sys.executable, str(CHILD), role, kind, url, subject, *tail]


def _line(p: subprocess.Popen[str], timeout: float) -> str:
    assert p.stdout is not None
    if not select.select([p.stdout], [], [], timeout)[0]:
        p.kill()
        raise TimeoutError(f"{p.args!r}: no output within {timeout}s")
    line = p.stdout.readline().strip()
    if not line:
        p.wait(5)
        raise RuntimeError(f"{p.args!r} exited with {p.returncode} before answering")
    return line


_seq = 0


def session(
    url: str, subs: list[str], pub: str | None, n: int, gap_us: int, warm: int, lat_mode: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Subscriber processes (ready first), then one publisher; their JSON results."""
    global _seq
    from tickwire.bus import subjects

    _seq += 1
    subject = subjects.market("bench", f"R{_seq}", "book")
    mode = "lat" if lat_mode else "count"
    procs: list[subprocess.Popen[str]] = []
    try:
        for kind in subs:
            procs.append(
                subprocess.Popen(
                    _argv("sub", kind, url, subject, warm, mode), stdout=subprocess.PIPE, text=True
                )
            )
        for p in procs:
            if _line(p, 30) != "ready":
                raise RuntimeError(f"{p.args!r} did not get ready")
        pp = subprocess.Popen(
            _argv("pub", pub or FLOOR, url, subject, n, gap_us, warm), stdout=subprocess.PIPE, text=True
        )
        procs.append(pp)
        if _line(pp, 30) != "ready":
            raise RuntimeError(f"{pp.args!r} did not get ready")
        timeout = 60 + n * (gap_us / 1e6 + 50e-6) * 3
        pres = json.loads(_line(pp, timeout))
        sres = [json.loads(_line(p, 60)) for p in procs[: len(subs)]]
        return sres, pres
    finally:
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def pct(xs: list[int], p: float) -> float:
    """Percentile of ns samples, in µs."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] / 1000.0 if s else float("nan")


def _rotated(kinds: list[str], r: int) -> list[str]:
    k = r % len(kinds)
    return kinds[k:] + kinds[:k]


def measure_subscribers(
    url: str, kinds: list[str], pub: str, rounds: int, n: int, gap_us: int, warm: int
) -> dict[str, Any]:
    lat: dict[str, list[list[int]]] = {k: [] for k in kinds}
    hand: dict[str, list[int]] = {k: [] for k in kinds}
    for r in range(rounds):
        for kind in _rotated(kinds, r):
            (res,), _ = session(url, [kind], pub, n, gap_us, warm, True)
            lat[kind].append(res["lat"])
            hand[kind] += res.get("handoff", [])
    return {"lat": lat, "handoff": hand}


def measure_publishers(
    url: str, kinds: list[str], sub: str, rounds: int, n: int, gap_us: int, warm: int, burst: int
) -> dict[str, Any]:
    lat: dict[str, list[list[int]]] = {k: [] for k in kinds}
    cost: dict[str, list[int]] = {k: [] for k in kinds}
    paced_cpu: dict[str, list[float]] = {k: [] for k in kinds}
    burst_cpu: dict[str, list[float]] = {k: [] for k in kinds}
    burst_rate: dict[str, list[float]] = {k: [] for k in kinds}
    for r in range(rounds):
        for kind in _rotated(kinds, r):
            (res,), pres = session(url, [sub], kind, n, gap_us, warm, True)
            lat[kind].append(res["lat"])
            cost[kind] += pres["pub_ns"]
            paced_cpu[kind].append(pres["cpu_ns"] / max(1, pres["n"]))
        for kind in _rotated(kinds, r):
            m = burst if not kind.endswith("-flush") else max(1, burst // 10)
            _, pres = session(url, [], kind, m, 0, min(warm, m), True)
            burst_cpu[kind].append(pres["cpu_ns"] / max(1, pres["n"]))
            burst_rate[kind].append(pres["n"] / max(1, pres["wall_ns"]) * 1e9)
    return {
        "lat": lat,
        "cost": cost,
        "paced_cpu": paced_cpu,
        "burst_cpu": burst_cpu,
        "burst_rate": burst_rate,
    }


def measure_fanout(url: str, kinds: list[str], subs: int, rounds: int, m: int, warm: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {k: {"rate": [], "cpu": [], "got": []} for k in kinds}
    pub = FLOOR if rust_bin() else "py-uvloop"
    for r in range(rounds):
        for kind in _rotated(kinds, r):
            sres, _ = session(url, [kind] * subs, pub, m, 0, warm, False)
            for s in sres:
                span = s["t_last"] - s["t_first"]
                if s["n"] > 1 and span > 0:
                    out[kind]["rate"].append((s["n"] - 1) / span * 1e9)
                    out[kind]["cpu"].append((s["cpu_last"] - s["cpu_first"]) / (s["n"] - 1))
                out[kind]["got"].append(s["n"] / m)
    return out


def available(kinds: list[str] | tuple[str, ...], role: str) -> list[str]:
    ok = []
    for k in kinds:
        if k == "rs" and rust_bin() is None:
            print(
                f"skipped {role} {k!r}: no nats-engine binary under {rust_target()} "
                "(cargo build --release --manifest-path benches/nats_engine_rs/Cargo.toml)",
                file=sys.stderr,
            )
        elif needs_rust(k) and k != "rs" and rust_ext() is None:
            print(f"skipped {role} {k!r}: no libnats_engine_rs.so under {rust_target()}", file=sys.stderr)
        else:
            ok.append(k)
    return ok


PARTS = ("subscribers", "publishers", "fanout")


def run(
    rounds: int,
    n: int,
    gap_us: int,
    warm: int,
    burst: int,
    fan_m: int,
    fan_subs: int,
    parts: tuple[str, ...] = PARTS,
) -> dict[str, Any]:
    from tickwire.bus.server import cluster

    subs = available(list(SUBSCRIBERS), "subscriber")
    pubs = available(list(PUBLISHERS), "publisher")
    fans = available(FANOUT, "fan-out subscriber")
    floor_pub = FLOOR if FLOOR in pubs else "py-uvloop"
    floor_sub = FLOOR if FLOOR in subs else "py-uvloop"
    with cluster(1) as c:
        url = c.urls[0]
        res: dict[str, Any] = {"floor": {"pub": floor_pub, "sub": floor_sub}}
        if "subscribers" in parts:
            res["subscribers"] = measure_subscribers(url, subs, floor_pub, rounds, n, gap_us, warm)
        if "publishers" in parts:
            res["publishers"] = measure_publishers(url, pubs, floor_sub, rounds, n, gap_us, warm, burst)
        if "fanout" in parts:
            res["fanout"] = measure_fanout(url, fans, fan_subs, rounds, fan_m, warm)
        return res | {
            "params": {
                "rounds": rounds,
                "n": n,
                "gap_us": gap_us,
                "warm": warm,
                "burst": burst,
                "fanout": fan_m,
                "fanout_subs": fan_subs,
            },
        }


def _ratio_range(rounds: list[list[int]], floor: list[list[int]], p: float) -> str:
    rs = [pct(a, p) / pct(b, p) for a, b in zip(rounds, floor, strict=False) if a and b]
    return f"{min(rs):.2f}-{max(rs):.2f}" if rs else "—"


def table(res: dict[str, Any]) -> str:
    return "\n\n".join(
        f(res)
        for part, f in (("subscribers", _sub_table), ("publishers", _pub_table), ("fanout", _fan_table))
        if part in res
    )


LAT_HEAD = (
    f"{'p50 µs':>8s} {'p99 µs':>8s} {'p99.9':>8s} {'p50/floor':>10s} {'(rounds)':>11s} {'p99/floor':>10s}"
)


def _lat_cols(rounds: list[list[int]], floor: list[list[int]]) -> str:
    """Pooled p50/p99/p99.9, their ratios to the floor's, the per-round range of the p50 ratio."""
    xs, fl = [x for r in rounds for x in r], [x for r in floor for x in r]
    return (
        f"{pct(xs, 50):8.1f} {pct(xs, 99):8.1f} {pct(xs, 99.9):8.1f} {pct(xs, 50) / pct(fl, 50):10.2f} "
        f"{_ratio_range(rounds, floor, 50):>11s} {pct(xs, 99) / pct(fl, 99):10.2f}"
    )


def _sub_table(res: dict[str, Any]) -> str:
    sub, floor = res["subscribers"], res["floor"]["sub"]
    out = [
        f"publish → subscriber callback, publisher {PUBLISHERS[res['floor']['pub']]}, one in flight",
        f"{'subscriber':52s} {LAT_HEAD} {'handoff p50':>11s}",
    ]
    for kind, rounds in sub["lat"].items():
        hand = sub["handoff"][kind]
        cols = _lat_cols(rounds, sub["lat"][floor])
        out.append(f"{SUBSCRIBERS[kind]:52s} {cols} {(f'{pct(hand, 50):.1f}' if hand else '—'):>11s}")
    return "\n".join(out)


def _pub_table(res: dict[str, Any]) -> str:
    pub, floor = res["publishers"], res["floor"]["pub"]
    out = [
        f"publishers, subscriber {SUBSCRIBERS[res['floor']['sub']]}",
        f"{'publisher':40s} {LAT_HEAD} {'call p50 ns':>12s} {'call p99 ns':>12s} "
        f"{'paced CPU µs/msg':>17s} {'burst CPU µs/msg':>17s} {'burst msg/s':>12s}",
    ]
    for kind, rounds in pub["lat"].items():
        cost = pub["cost"][kind]
        out.append(
            f"{PUBLISHERS[kind]:40s} {_lat_cols(rounds, pub['lat'][floor])} "
            f"{pct(cost, 50) * 1000:12.0f} {pct(cost, 99) * 1000:12.0f} "
            f"{statistics.median(pub['paced_cpu'][kind]) / 1000:17.2f} "
            f"{statistics.median(pub['burst_cpu'][kind]) / 1000:17.2f} "
            f"{statistics.median(pub['burst_rate'][kind]):12,.0f}"
        )
    return "\n".join(out)


def _fan_table(res: dict[str, Any]) -> str:
    p = res["params"]
    out = [
        f"fan-out: {p['fanout']:,} messages burst to {p['fanout_subs']} subscriber processes "
        f"(publisher {PUBLISHERS[res['floor']['pub']]})",
        f"{'subscriber':52s} {'msg/s per sub':>14s} {'CPU µs/msg':>11s} {'delivered':>10s}",
    ]
    for kind, r in res["fanout"].items():
        rate = statistics.median(r["rate"]) if r["rate"] else float("nan")
        cpu = statistics.median(r["cpu"]) / 1000 if r["cpu"] else float("nan")
        got = min(r["got"]) if r["got"] else 0.0
        out.append(f"{SUBSCRIBERS[kind]:52s} {rate:14,.0f} {cpu:11.2f} {got:10.1%}")
    return "\n".join(out)


QUICK = {"rounds": 1, "n": 100, "gap_us": 1000, "warm": 10, "burst": 2000, "fan_m": 2000, "fan_subs": 2}


def test_nats_engine_quick() -> None:
    pytest.importorskip("nats")
    pytest.importorskip("uvloop")
    from tickwire.bus.server import NatsServerMissing, binary

    try:
        binary()
    except NatsServerMissing as e:
        pytest.skip(str(e))
    res = run(**{**QUICK, "n": 30, "fan_m": 300})
    print("\n" + table(res))
    for rounds in res["subscribers"]["lat"].values():
        assert sum(len(r) for r in rounds) == 30
    for r in res["fanout"].values():
        assert min(r["got"]) == 1.0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="seconds: a smoke test, not a measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000, help="paced messages per contender and round")
    ap.add_argument("--gap-us", type=int, default=1000)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--burst", type=int, default=100_000, help="publisher burst size (CPU/msg)")
    ap.add_argument("--fanout", type=int, default=100_000, help="messages burst to the fan-out subscribers")
    ap.add_argument("--subs", type=int, default=4, help="fan-out subscriber processes")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--json", metavar="PATH", help="also write the raw samples here")
    a = ap.parse_args()
    params = (
        QUICK
        if a.quick
        else {
            "rounds": a.rounds,
            "n": a.n,
            "gap_us": a.gap_us,
            "warm": a.warm,
            "burst": a.burst,
            "fan_m": a.fanout,
            "fan_subs": a.subs,
        }
    )
    result = run(**params, parts=tuple(a.parts.split(",")))  # type: ignore[arg-type]
    print(table(result))
    if a.json:
        Path(a.json).write_text(json.dumps(result))
