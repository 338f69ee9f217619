"""``tickwire record`` / ``tickwire replay`` under faults the other files leave out: a capture whose
file cannot be written, a venue whose market-data socket is signed (Cloud9Trader), a receive time no
clock reaches, a frame the core fails on. The truth is the simulator's books, the live session's
books and the real captures' format (../shared/fixtures/real)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from shared_files import shared_path
from test_record import _check_format
from tickwire.sim import Simulator


@contextlib.contextmanager
def _sim_thread(venue: str, **options: Any) -> Iterator[Simulator]:
    """A simulator on its own loop in a thread, so the command under test runs in the main thread
    (its signal handlers need it) and steers it through the control URL as it would a process."""
    loop = asyncio.new_event_loop()
    ready, box = threading.Event(), {}

    async def main() -> None:
        async with Simulator([venue], **options) as sim:
            box["sim"], box["stop"] = sim, asyncio.Event()
            ready.set()
            await box["stop"].wait()

    t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    t.start()
    assert ready.wait(10), "simulator did not start"
    try:
        yield box["sim"]
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        t.join(10)
        loop.close()


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from tickwire.cli import main

    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_recording_whose_writes_fail_is_no_success(capsys: pytest.CaptureFixture[str]) -> None:
    """The file cannot be written (a full disk: /dev/full refuses every write): the command must not
    exit 0 reporting every frame as written (before: "N frames … → /dev/full (0 bytes)", exit 0, the
    counts those of events never written; only a log line said otherwise). It exits 2 naming the
    failure, and its counts are those of the lines in the file."""
    with _sim_thread("okx", seed=3, rate=200, depth=20, symbols={"okx": ["BTC-USDT"]}) as sim:
        argv = ["record", "--venue", "okx", "--symbols", "BTC-USDT", "--out", "/dev/full"]
        rc, out, err = _cli(
            [*argv, "--endpoint", sim.urls()["control"], "--duration", "0.5", "--json"], capsys
        )
    summary = json.loads(out)
    nothing = dict.fromkeys(("open", "send", "recv", "http"), 0)
    assert summary["bytes"] == 0 and summary["events"] == nothing, summary
    assert summary["dropped"] > 10 and "No space left" in summary["write_error"]
    assert rc == 2 and "tickwire record: writing /dev/full failed" in err, (rc, err)


def test_a_recording_whose_disk_falls_behind_stops_whole_and_is_no_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that cannot keep up (here: the writer writes nothing until the end, and the backlog it
    may fall behind by is 0): the capture stops taking events once behind — its memory bounded —, the
    file keeps what came before whole, and the command exits 2 saying so (before stop 44 the queue
    grew for as long as the recording ran)."""
    from tickwire import capture

    monkeypatch.setattr(capture, "MAX_BACKLOG", 0)

    def late(self: capture.CaptureWriter) -> None:
        self._stop.wait()
        self._drain()

    monkeypatch.setattr(capture.CaptureWriter, "_run", late)
    out_path = tmp_path / "slow.jsonl"
    with _sim_thread("okx", seed=3, rate=200, depth=20, symbols={"okx": ["BTC-USDT"]}) as sim:
        argv = ["record", "--venue", "okx", "--symbols", "BTC-USDT", "--out", str(out_path)]
        rc, out, err = _cli(
            [*argv, "--endpoint", sim.urls()["control"], "--duration", "0.5", "--json"], capsys
        )
    summary = json.loads(out)
    lines = [json.loads(x) for x in out_path.read_text().splitlines()]
    assert [e["kind"] for e in lines] == ["open", "send"], lines  # up to the first event it fell behind by
    assert sum(summary["events"].values()) == len(lines) and summary["dropped"] > 10, summary
    assert rc == 2 and "could not keep up" in err, (rc, err)


def test_record_cloud9trader_signs_its_socket_and_replays_to_the_simulators_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud9Trader's market data comes over a socket whose upgrade is signed (seed-venues: HMAC
    headers). Against the simulator the command registers a fresh key, as it does for Binance SBE, and
    the recording replays to the simulator's book; without a key in production it says so before
    connecting (before: every connect failed on the missing key, the command recorded "0 frames, 0
    connections" and exited 0 — or never, without ``--duration``)."""
    from tickwire.cmd.replay import replay

    out = tmp_path / "c9.jsonl"
    with _sim_thread("cloud9trader", seed=3, rate=0, depth=20, symbols={"cloud9trader": ["BTCUSD"]}) as sim:
        argv = ["record", "--venue", "cloud9trader", "--symbols", "BTCUSD", "--out", str(out), "--json"]
        rc, stdout, err = _cli([*argv, "--endpoint", sim.urls()["control"], "--duration", "0.6"], capsys)
        book = sim.book("cloud9trader", "BTCUSD")  # rate 0: the market does not move
        truth = ([(p, q) for p, q in book.bids], [(p, q) for p, q in book.asks])
    assert rc == 0, err
    summary = json.loads(stdout)
    assert summary["synced"] == {"BTCUSD": True} and summary["events"]["recv"] > 0, summary
    _check_format(out)
    report = replay(out, "cloud9trader")
    b = report["books"]["BTCUSD"]
    assert b["synced"] and (b["bid_levels"], b["ask_levels"]) == (len(truth[0]), len(truth[1]))
    assert b["best_bid"] == (float(truth[0][0][0]), float(truth[0][0][1]))
    assert b["best_ask"] == (float(truth[1][0][0]), float(truth[1][0][1]))

    for k in [k for k in os.environ if k.startswith("CLOUD9TRADER_")]:
        monkeypatch.delenv(k)
    none = tmp_path / "none.jsonl"
    argv = ["record", "--venue", "cloud9trader", "--symbols", "BTCUSD", "--out", str(none)]
    rc, _, err = _cli([*argv, "--endpoint", "ws://127.0.0.1:9/", "--duration", "0.5"], capsys)
    assert rc == 2 and "CLOUD9TRADER_API_KEY" in err and not none.exists(), (rc, err)


@pytest.mark.parametrize("t", ["1e300", "Infinity", "NaN", "-Infinity"])
def test_replay_of_a_receive_time_no_clock_reaches_names_its_line(tmp_path: Path, t: str) -> None:
    """A fourth line whose ``t`` is JSON but no time (a flipped exponent digit, or the non-standard
    NaN/Infinity Python's reader takes): a ``CaptureFormatError`` naming the line, exit 2, like any
    other bad line (before: an ``OverflowError`` traceback, or "cannot convert float NaN to integer"
    naming no line)."""
    import subprocess
    import sys

    from tickwire.cmd.replay import replay
    from tickwire.errors import CaptureFormatError

    real = shared_path("fixtures", "real", "okx.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "t.jsonl"
    frame = real[4]  # the first frame received
    assert json.loads(frame)["kind"] == "recv"
    bad = frame.replace(b'{"t":' + frame[5:].split(b",")[0], b'{"t":' + t.encode(), 1)
    assert bad != frame
    path.write_bytes(b"".join([*real[:3], bad, *real[5:9]]))
    r = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "okx"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"tickwire replay: {path}, line 4: "), r.stderr
    with pytest.raises(CaptureFormatError) as e:
        replay(path, "okx")
    assert e.value.line == 4


class _FailsOn:
    """A feed whose core fails (``InternalError``) on one given frame, once: what a bug in the core
    does to replay where it did to the live session."""

    def __init__(self, feed: Any, payload: bytes) -> None:
        self._feed, self._payload = feed, payload

    def on_frame(self, payload: Any, *args: Any) -> Any:
        from tickwire.errors import InternalError

        raw = payload.encode() if isinstance(payload, str) else bytes(payload)
        if self._payload is not None and raw == self._payload:
            self._payload = None
            raise InternalError("internal error in tickwire core (please report): test")
        return self._feed.on_frame(payload, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._feed, name)


def test_replay_of_a_frame_the_core_failed_on_trusts_no_book_as_the_session_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the core (``InternalError``) on a Bybit delta: the live session trusts no book — each
    is marked out of sync, the line reconnects, every book comes back from a fresh snapshot. Replay of
    the recording, meeting the same failure on the same frame, must do as the session did (before: it
    counted a decode error naming no book, so every book stayed "synced" without that frame — Bybit's
    ids only grow, nothing later shows the loss — where the session's were all out of sync), and end
    with the simulator's books."""
    import tickwire
    from tickwire.capture import CaptureWriter
    from tickwire.cmd.replay import replay
    from tickwire.errors import InternalError

    symbols = ["BTCUSDT", "ETHUSDT"]
    out = tmp_path / "bybit.jsonl"
    failed: list[bytes] = []
    # What the live session said of each book right after the failure (its status events).
    lost: list[str] = []

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        async with Simulator(["bybit"], seed=8, rate=200, depth=25, symbols={"bybit": symbols}) as sim:
            with CaptureWriter(out, interval=0.01) as cap:
                md = tickwire.connect(
                    "bybit",
                    symbols,
                    endpoints=sim.urls()["bybit"],
                    capture=cap,
                    probe_interval=None,
                    ready_timeout=5,
                    on_status=lambda e: lost.append(e.symbol) if failed and e.kind == "out_of_sync" else None,
                )
                async with md:
                    line = md.lines[0]
                    route = line._route

                    def once(payload: Any, t0: int, last: int) -> Any:
                        if not failed and b'"delta"' in bytes(payload):
                            failed.append(bytes(payload))
                            raise InternalError("internal error in tickwire core (please report): test")
                        return route(payload, t0, last)

                    line._route = once
                    for _ in range(100):
                        if line.connects == 2 and all(md.is_synced(s) for s in symbols):
                            break
                        await asyncio.sleep(0.03)
                    after = {s: md.feed.book(s).state for s in symbols}
                    sim.pause()
                    await asyncio.sleep(0.3)
                    counters = dict(md.counters)
                    books = {s: sim.book("bybit", s) for s in symbols}
                    truth = {
                        s: ([(p, q) for p, q in b.bids], [(p, q) for p, q in b.asks])
                        for s, b in books.items()
                    }
        assert counters["internal_errors"] == 1 and sorted(lost) == symbols, (counters, lost)
        assert all(v == "synced" for v in after.values()), after
        return counters, truth

    counters, truth = asyncio.run(go())
    real = tickwire.BookFeed
    feeds: list[Any] = []

    def failing(venue: str, **kw: Any) -> Any:
        feeds.append(_FailsOn(real(venue, **kw), failed[0]))
        return feeds[-1]

    monkeypatch.setattr(tickwire, "BookFeed", failing)
    # Up to the failing frame and the line's end: where the session had every book out of sync.
    lines = out.read_bytes().splitlines(keepends=True)
    at = next(i for i, x in enumerate(lines) if json.loads(x).get("text", "").encode() == failed[0])
    (tmp_path / "upto.jsonl").write_bytes(b"".join(lines[: at + 1]))
    upto = replay(tmp_path / "upto.jsonl", "bybit")
    assert {s: b["synced"] for s, b in upto["books"].items()} == dict.fromkeys(symbols, False), upto["books"]
    assert (upto["internal_errors"], upto["decode_errors"]) == (1, 0), upto

    report = replay(out, "bybit")
    assert report["refused"] == len(symbols) and report["resyncs"] == counters["resyncs"], (report, counters)
    feed = feeds[-1]
    for s, (bids, asks) in truth.items():
        book = feed.book(s)
        assert book.is_synced
        assert book.levels_exact("bid", 1000) == [(Decimal(p), Decimal(q)) for p, q in bids]
        assert book.levels_exact("ask", 1000) == [(Decimal(p), Decimal(q)) for p, q in asks]
