import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from shared_files import shared_path


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


def _replay_cli(path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", "okx", "--json"]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.parametrize(
    "bad,why",
    [
        ('{"t":1.5,"kind":"recv","url":"wss://x","text":"{\\"arg\\":{\\"chan', "not JSON"),
        ("[1, 2]", "not an event object"),
        ('{"t":1.5,"kind":"recv","url":"wss://x","b64":"H4sI*"}', "not base64"),
        ('{"t":1.5,"kind":"recv","url":"wss://x"}', "without a text or b64 payload"),
        ('{"t":1.5,"kind":"recv","url":"wss://x","text":5}', "without a text or b64 payload"),
        (b'{"t":1.5,"kind":"recv","url":"wss://x","text":"\xff"}', "not UTF-8"),
    ],
)
def test_replay_malformed_line_is_a_typed_error_naming_it(tmp_path: Path, bad: str | bytes, why: str) -> None:
    """A capture with a bad fourth line (cut mid-way as by a full disk, not an object, bad base64,
    no payload, not UTF-8): the command exits 2 naming the file's line, with no traceback, and
    ``replay`` raises a ``DecodeError`` (``CaptureFormatError``, a ``ValueError``) whose ``line`` is 4
    (before: an ``AttributeError`` traceback from inside the reader, a JSON or UTF-8 message naming
    a position in the line or the file but not the line, or the line skipped or counted as a venue's
    decode error with exit 0)."""
    from tickwire.cmd.replay import replay
    from tickwire.errors import DecodeError

    real = shared_path("fixtures", "real", "okx.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "bad.jsonl"
    line = bad if isinstance(bad, bytes) else bad.encode()
    path.write_bytes(b"".join([*real[:3], line, b"\n", *real[3:9]]))
    r = _replay_cli(path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"tickwire replay: {path}, line 4: ") and why in r.stderr, r.stderr
    with pytest.raises(DecodeError) as e:  # a ValueError too, like any bad input
        replay(path, "okx")
    assert getattr(e.value, "line", None) == 4
    assert str(e.value) == r.stderr.removeprefix("tickwire replay: ").strip()


def test_record_ab_lines_to_one_endpoint_replays_to_the_simulators_books(tmp_path: Path) -> None:
    """A session on two redundant lines (``redundancy=2``) to the venue's one endpoint: both lines'
    ``open`` and frames carry one URL. Replay of the file ends with the simulator's books, as the
    arbitrated session did (before: replay took the file for one line that reconnected, so it did
    not arbitrate, and each copy after the first was a gap — books ``out_of_sync:gap``)."""
    import asyncio

    from test_record import _assert_replay_equals, _freeze_then_stop
    from tickwire.cmd.record import record
    from tickwire.cmd.replay import replay
    from tickwire.sim import Simulator

    async def go(venue: str, symbol: str) -> None:
        async with Simulator([venue], seed=21, rate=300, depth=25) as sim:
            out, stop = tmp_path / f"{venue}.jsonl", asyncio.Event()
            task = asyncio.create_task(_freeze_then_stop(sim, stop))
            summary = await record(venue, [symbol], out, endpoints=sim.urls()[venue], stop=stop, redundancy=2)
            await task
            assert summary["synced"] == {symbol: True} and summary["events"]["open"] == 2
            opened = [json.loads(line)["url"] for line in out.read_text().splitlines() if '"open"' in line]
            assert len(set(opened)) == 1, opened  # both lines on the one endpoint
            t = sim.book(venue, symbol)
            truth = ({p: q for p, q in t.bids}, {p: q for p, q in t.asks})
            report = json.loads(json.dumps(replay(out, venue)))
            assert report["gaps"] == 0, (report["gaps"], report["books"][symbol]["state"])
            _assert_replay_equals(report, {symbol: truth}, {symbol: symbol}, gaps=0)

    asyncio.run(go("okx", "BTC-USDT"))


def test_a_last_line_cut_mid_write_is_left_out_and_named(tmp_path: Path) -> None:
    """A recording stopped mid-write ends with a line that is not JSON and has no line end: replay
    leaves that line out, names it (``cut_line``, and a line of the text report), and replays the
    rest to the same books as the file of the whole lines before it (before: the whole file refused,
    exit 2, though every line before the last was whole). A bad line that has its line end is still
    refused, as above."""
    from tickwire.cmd.replay import replay

    real = shared_path("fixtures", "real", "okx.jsonl").read_bytes().splitlines(keepends=True)
    whole, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl"
    whole.write_bytes(b"".join(real[:40]))
    cut.write_bytes(b"".join(real[:40]) + real[40][: len(real[40]) // 2])
    got, want = replay(cut, "okx"), replay(whole, "okx")
    assert got["cut_line"] == 41 and want["cut_line"] is None
    assert got["books"] == want["books"] and got["outcomes"] == want["outcomes"], got
    assert got["frames"] == want["frames"] > 0
    r = subprocess.run(
        [sys.executable, "-m", "tickwire.cli", "replay", str(cut), "--venue", "okx"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "line 41 (the last) was cut mid-write: left out" in r.stdout, r


def test_one_line_that_reconnected_and_resubscribed_is_not_taken_for_ab_lines(tmp_path: Path) -> None:
    """A Tradefence session on one line (the venue's one endpoint) that reconnected, then resynced
    each book twice by resubscribing: the venue answers each repeated request with the same
    ``unsubscribed``/``subscribed`` message as before. Those answers to messages sent again are not
    copies of one message brought by two lines: replay must not arbitrate the file, and so reports
    the gaps the session resynced (the session's own count) and ends with the simulator's books
    (before: three such answers made replay take the file for A/B lines to one endpoint; each gap's
    frame was held until the resubscription's snapshot replaced it, and replay reported 0 gaps and 0
    resyncs where the session had 4)."""
    import asyncio

    from test_record import _assert_replay_equals
    from tickwire.cmd.record import record
    from tickwire.cmd.replay import replay
    from tickwire.sim import Simulator

    venue, symbols = "tradefence", ["AAPL", "GOOGL"]

    async def go() -> None:
        async with Simulator([venue], seed=21, rate=300, depth=25, symbols={venue: symbols}) as sim:
            out, stop = tmp_path / "tradefence.jsonl", asyncio.Event()
            ep = sim.endpoint(venue)

            async def faults() -> None:
                await asyncio.sleep(0.8)
                assert ep.drop() == 1  # the one line reconnects to the same URL
                await asyncio.sleep(0.8)
                for s in (*symbols, *symbols):  # each book resubscribed twice on the new connection
                    ep.gap(s)
                    await asyncio.sleep(0.4)
                sim.pause()
                await asyncio.sleep(0.3)
                stop.set()

            task = asyncio.create_task(faults())
            summary = await record(venue, symbols, out, endpoints=sim.urls()[venue], stop=stop)
            await task
            assert summary["events"]["open"] == 2 and summary["reconnects"] == 1, summary
            assert summary["synced"] == dict.fromkeys(symbols, True) and summary["resyncs"] >= 4, summary
            truth = {}
            for s in symbols:
                t = sim.book(venue, s)
                truth[s] = ({p: q for p, q in t.bids}, {p: q for p, q in t.asks})
            report = json.loads(json.dumps(replay(out, venue)))
            assert (report["gaps"], report["resyncs"]) == (summary["resyncs"], summary["resyncs"]), (
                report["gaps"],
                report["resyncs"],
                report["outcomes"],
            )
            _assert_replay_equals(report, truth, {s: s for s in symbols}, gaps=summary["resyncs"])

    asyncio.run(go())
