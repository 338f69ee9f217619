"""``tickwire record`` against the simulator (a separate process, steered through its control
endpoint): gaps forced mid-recording so resyncs are recorded, the market paused before the end; then
the file must read like the real captures, ``tickwire replay`` of it must end with the simulator's own
books, and so must a longhand replay of it that shares no code with the library."""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from captures import KINDS, LINE_KEYS, decoded, okx_checksum
from sbe_schema import SchemaDecoder, dec
from shared_files import shared_path
from tickwire.sim.process import sim_process

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def _control(urls: dict[str, Any], path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(urls["control"] + path, data=data, method="GET" if data is None else "POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _record(
    tmp_path: Path,
    venue: str,
    symbols: list[str],
    depth: int | None = None,
    fault: str = "gap",
    sim_venue: str | None = None,
) -> tuple[Path, dict[str, Any], dict[str, Book]]:
    """Records ``venue`` for ~3 s with one gap per symbol (or one dropped connection), pausing the
    market 1 s before the end; returns the file, the command's JSON summary and the simulator's books
    after (its top ``depth`` levels: what a venue serving fixed-depth books sends). ``sim_venue``: the
    simulator's venue serving it, when named otherwise."""
    out = tmp_path / f"{venue}.jsonl"
    sv = sim_venue or venue
    sim_args = [
        "--venue",
        sv,
        "--symbols",
        f"{sv}={','.join(symbols)}",
        "--rate",
        "200",
        "--depth",
        "20",
    ]
    with sim_process(*sim_args) as urls:
        cmd = [
            sys.executable,
            "-m",
            "tickwire.cli",
            "record",
            "--venue",
            venue,
            "--symbols",
            ",".join(symbols),
        ]
        cmd += ["--out", str(out), "--duration", "3", "--endpoint", urls["control"], "--json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            end = time.monotonic() + 10
            while sum(e["kind"] == "recv" for e in _lines(out)) < 30:
                assert time.monotonic() < end and proc.poll() is None, "recording did not start"
                time.sleep(0.05)
            for s in symbols if fault == "gap" else []:
                _control(urls, "/fault", {"venue": sv, "fault": "gap", "args": {"symbol": s}})
            for s in symbols if fault == "bad_level" else []:
                _control(urls, "/fault", {"venue": sv, "fault": "bad_level", "args": {"symbol": s}})
            if fault == "drop":
                _control(urls, "/fault", {"venue": sv, "fault": "drop", "args": {}})
            time.sleep(0.8)
            _control(urls, "/pause", {})
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stderr
        truth = {}
        for s in symbols:
            q = urllib.parse.urlencode({"venue": sv, "symbol": s, **({"depth": depth} if depth else {})})
            b = _control(urls, f"/book?{q}")
            truth[s] = tuple({Decimal(p): Decimal(v) for p, v in b[side]} for side in ("bids", "asks"))
    return out, json.loads(stdout), truth  # type: ignore[return-value]


def _check_lines(path: Path) -> list[dict[str, Any]]:
    """The fixture format's lines: keys and kinds as in ../shared/fixtures/real, receive times now."""
    lines = _lines(path)
    for e in lines:
        assert set(e) in LINE_KEYS and e["kind"] in KINDS, e
        assert isinstance(e["t"], float) and abs(e["t"] - time.time()) < 120
    return lines


def _check_format(path: Path) -> list[tuple[str, str, Any]]:
    """The fixture format, every binary frame gunzips and every text frame / REST body is JSON (the
    rules the real captures are read by)."""
    _check_lines(path)
    events = list(decoded(path))
    assert all(not isinstance(m, str) for kind, _, m in events if kind in ("recv", "http")), "non-JSON frame"
    return events


def _replay(path: Path, venue: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tickwire.cli", "replay", str(path), "--venue", venue, "--json"]
    report: dict[str, Any] = json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    )
    return report


def _assert_replay_equals(
    report: dict[str, Any],
    truth: dict[str, Book],
    keys: dict[str, str],
    gaps: int | None = None,
    refused: int = 0,
) -> None:
    assert report["decode_errors"] == refused
    # By default the one gap forced per symbol, seen in the file too.
    assert report["gaps"] == (len(truth) if gaps is None else gaps)
    for sym, (bids, asks) in truth.items():
        b = report["books"][keys[sym]]
        bid, ask = max(bids), min(asks)
        assert (b["state"], b["synced"]) == ("synced", True), b
        assert b["best_bid"] == [float(bid), float(bids[bid])]
        assert b["best_ask"] == [float(ask), float(asks[ask])]
        assert (b["bid_levels"], b["ask_levels"]) == (len(bids), len(asks))


def _apply(book: Book, bids: list[list[Any]], asks: list[list[Any]]) -> None:
    for side, levels in zip(book, (bids, asks), strict=True):
        for p, q, *_ in levels:
            if Decimal(str(q)) == 0:
                side.pop(Decimal(str(p)), None)
            else:
                side[Decimal(str(p))] = Decimal(str(q))


def _query_symbol(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["symbol"][0]


def _spot_sync(
    symbols: list[str], events: Iterable[tuple[str, str, dict[str, Any]]]
) -> tuple[dict[str, Book | None], int, int]:
    """Longhand: Binance's official spot sync (U/u rules) over ("http", symbol, REST snapshot) and
    ("diff", "", {"s", "U", "u", "b", "a"}) events in capture order, a gap waiting for the next
    snapshot like the live session did. The books, the snapshots applied and the gaps seen."""
    books: dict[str, Book | None] = dict.fromkeys(symbols)
    last: dict[str, int] = {}
    pending: dict[str, list[dict[str, Any]]] = {s: [] for s in symbols}
    snapshots = gaps = 0

    def diff(d: dict[str, Any]) -> None:
        nonlocal gaps
        s, book = d["s"], books[d["s"]]
        if book is None:
            pending[s].append(d)
        elif d["u"] > last[s]:
            if d["U"] > last[s] + 1:
                gaps += 1
                books[s], pending[s] = None, [d]
                return
            _apply(book, d["b"], d["a"])
            last[s] = d["u"]

    for kind, s, m in events:
        if kind == "http":
            books[s] = ({}, {})
            _apply(books[s], m["bids"], m["asks"])  # type: ignore[arg-type]
            last[s] = m["lastUpdateId"]
            snapshots += 1
            held, pending[s] = pending[s], []
            for d in held:
                diff(d)
        else:
            diff(m)
    return books, snapshots, gaps


def test_record_binance_spot_replays_to_the_simulators_books(tmp_path: Path) -> None:
    symbols = ["BTCUSDT", "ETHUSDT"]
    out, summary, truth = _record(tmp_path, "binance", symbols)
    assert summary["synced"] == dict.fromkeys(symbols, True) and summary["resyncs"] >= 2 * len(symbols)
    events = _check_format(out)
    diffs = (
        ("http", _query_symbol(url), m) if kind == "http" else ("diff", "", m["data"])
        for kind, url, m in events
        if kind == "http" or (kind == "recv" and m.get("data", {}).get("e") == "depthUpdate")
    )
    books, snapshots, gaps = _spot_sync(symbols, diffs)
    assert (snapshots, gaps) == (2 * len(symbols), len(symbols))
    assert books == truth
    _assert_replay_equals(_replay(out, "binance"), truth, {s: s for s in symbols})


def test_record_okx_replays_to_the_simulators_books(tmp_path: Path) -> None:
    symbols = ["BTC-USDT", "ETH-USDT"]
    out, summary, truth = _record(tmp_path, "okx", symbols)
    assert summary["synced"] == dict.fromkeys(symbols, True) and summary["resyncs"] >= len(symbols)
    events = _check_format(out)
    # Longhand, as the real OKX capture is checked: every book message's checksum verifies, except
    # that after a sequence gap nothing counts until the resubscription's snapshot.
    books: dict[str, Book | None] = {}
    raw: dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]] = {}
    last: dict[str, int] = {}
    checked = gaps = 0
    for kind, _, m in events:
        if kind != "recv" or m.get("arg", {}).get("channel") != "books" or "data" not in m:
            continue
        s, d = m["arg"]["instId"], m["data"][0]
        if m["action"] == "snapshot":
            books[s], raw[s] = ({}, {}), ({}, {})
        elif d["prevSeqId"] != last[s] and books[s] is not None:
            gaps += 1
            books[s] = None
        last[s] = d["seqId"]
        book = books[s]
        if book is None:
            continue
        _apply(book, d["bids"], d["asks"])
        for side, levels in zip(raw[s], (d["bids"], d["asks"]), strict=True):
            for lv in levels:
                if Decimal(lv[1]) == 0:
                    side.pop(lv[0], None)
                else:
                    side[lv[0]] = lv
        assert okx_checksum(*raw[s]) == d["checksum"]
        checked += 1
    assert gaps == len(symbols) and checked > 50
    assert books == truth
    _assert_replay_equals(_replay(out, "okx"), truth, {s: s for s in symbols})


def test_record_htx_keeps_binary_frames_compressed(tmp_path: Path) -> None:
    symbols = ["btcusdt", "ethusdt"]
    out, summary, truth = _record(tmp_path, "htx", symbols, depth=20)  # mbp.20
    assert summary["synced"] == dict.fromkeys(symbols, True)
    lines = _lines(out)
    binary = [e for e in lines if "b64" in e]
    assert binary and all(e["kind"] == "recv" for e in binary)
    assert not [e for e in lines if e["kind"] == "recv" and "text" in e]  # HTX sends only gzip frames
    events = _check_format(out)  # every binary frame gunzips to JSON, as in the real HTX capture
    # The resync is a "req" on the same socket, recorded as sent.
    reqs = [m for kind, _, m in events if kind == "send" and "req" in m]
    assert len(reqs) >= 2 * len(symbols)
    _assert_replay_equals(_replay(out, "htx"), truth, {s: s for s in symbols})


def test_record_coinbase_reconnect_replays_from_the_new_connection(tmp_path: Path) -> None:
    """Coinbase numbers messages per connection: the recording's second "open" is where replay, like
    the live session, starts the book afresh."""
    symbols = ["BTC-USD"]
    out, summary, truth = _record(tmp_path, "coinbase", symbols, fault="drop")
    assert summary["reconnects"] == 1 and summary["synced"] == {"BTC-USD": True}
    assert [e["kind"] for e in _lines(out)].count("open") == 2
    _check_format(out)
    _assert_replay_equals(_replay(out, "coinbase"), truth, {"BTC-USD": "BTC-USD"}, gaps=0)


def test_record_bybit_refused_frames_replay_as_the_session_resynced(tmp_path: Path) -> None:
    """A frame the book refuses (a negative quantity; the simulator's book took the update) makes the
    live session drop that book and resubscribe; replay does the same from the file, so the update
    the frame carried is never missing from a book it reports synced, and it ends with the
    simulator's books."""
    symbols = ["BTCUSDT", "ETHUSDT"]
    out, summary, truth = _record(tmp_path, "bybit", symbols, depth=50, fault="bad_level")
    assert summary["synced"] == dict.fromkeys(symbols, True)
    _check_format(out)
    report = _replay(out, "bybit")
    # Each refused frame a gap in its book, healed by the resubscription's snapshot — the resyncs
    # the live session counted.
    _assert_replay_equals(report, truth, {s: s for s in symbols}, gaps=len(symbols), refused=len(symbols))
    assert report["refused"] == len(symbols) and report["resyncs"] == summary["resyncs"] == len(symbols)


def test_record_binance_sbe_keeps_sbe_frames_as_received(tmp_path: Path) -> None:
    """Binance's SBE stream (the simulator's "binance" venue, /sbe/ paths, an Ed25519 key the command
    registers): every binary frame written as received, each one whole SBE message the schema's own
    reader decodes; the spot sync over those diffs and the recorded REST snapshots, and ``tickwire
    replay --venue binance-sbe``, both end with the simulator's books."""
    reader = SchemaDecoder(shared_path("specs", "binance-sbe", "stream_1_0.xml"))
    symbols = ["BTCUSDT", "ETHUSDT"]
    out, summary, truth = _record(tmp_path, "binance-sbe", symbols, sim_venue="binance")
    assert summary["synced"] == dict.fromkeys(symbols, True) and summary["resyncs"] >= 2 * len(symbols)
    lines = _check_lines(out)
    assert all("/sbe/" in e["url"] for e in lines if e["kind"] in ("open", "recv"))
    assert all(e["kind"] == "recv" for e in lines if "b64" in e)
    # Text frames are only the subscription's answer; data is binary, never gzip, never re-encoded.
    assert [e["text"] for e in lines if e["kind"] == "recv" and "text" in e] == ['{"result":null,"id":1}']

    def levels(m: dict[str, Any], side: str) -> list[list[Decimal]]:
        return [[dec(r["price"], m["priceExponent"]), dec(r["qty"], m["qtyExponent"])] for r in m[side]]

    events: list[tuple[str, str, dict[str, Any]]] = []
    names = set()
    for e in lines:
        if e["kind"] == "http":
            events.append(("http", _query_symbol(e["url"]), json.loads(e["text"])))
        elif "b64" in e:
            m = reader.decode(base64.b64decode(e["b64"]))  # asserts the frame is one whole message
            names.add(m["_name"])
            d = {"s": m["symbol"], "U": m["firstBookUpdateId"], "u": m["lastBookUpdateId"]}
            events.append(("diff", "", {**d, "b": levels(m, "bids"), "a": levels(m, "asks")}))
    assert names == {"DepthDiffStreamEvent"} and len(events) > 100
    books, snapshots, gaps = _spot_sync(symbols, events)
    assert (snapshots, gaps) == (2 * len(symbols), len(symbols))
    assert books == truth
    _assert_replay_equals(_replay(out, "binance-sbe"), truth, {s: s for s in symbols})


def test_record_bad_endpoint_is_a_clean_error(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tickwire.cli", "record", "--venue", "okx", "--symbols", "BTC-USDT"]
    r = subprocess.run(
        [*cmd, "--out", str(tmp_path / "x.jsonl"), "--endpoint", "ftp://nowhere"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "tickwire record" in r.stderr


def test_record_sbe_without_a_key_says_so_before_connecting(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tickwire.cli", "record", "--venue", "binance-sbe", "--symbols", "BTCUSDT"]
    out = tmp_path / "x.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "BINANCE_API_KEY"}
    cmd += ["--out", str(out), "--endpoint", "ws://127.0.0.1:9/stream"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "BINANCE_API_KEY" in r.stderr and not out.exists()


def test_record_kraken_replays_with_the_precisions_the_session_checked_at(tmp_path: Path) -> None:
    """Kraken v2 prints numbers in their shortest form; its checksums are over them re-formatted at
    the pair's precision, which the session reads from REST ``AssetPairs`` before connecting. The
    recording keeps that answer, so replay verifies the checksums the session verified and ends with
    the simulator's books (before: every replayed book failed its first checksum and stayed out of
    sync, where the session's were all synced)."""
    symbols = ["BTC/USD", "ETH/USD"]
    out, summary, truth = _record(tmp_path, "kraken", symbols, depth=10)
    # A lost message that changed nothing in the top 10 a client keeps costs it nothing: at most one
    # resync per symbol.
    assert summary["synced"] == dict.fromkeys(symbols, True) and summary["resyncs"] <= len(symbols)
    report = _replay(out, "kraken")
    _assert_replay_equals(report, truth, {s: s for s in symbols}, gaps=0)
    events = _check_format(out)
    # Longhand, with no code of the library's: the decimals as the recorded answer gives them, the
    # book cut to its top 10, the CRC32 of the top 10 of each side at those decimals. A lost message
    # that mattered fails the next check; nothing counts until the resubscription's snapshot.
    [(url, pairs)] = [(u, m) for kind, u, m in events if kind == "http"]
    assert urllib.parse.urlparse(url).path == "/0/public/AssetPairs"
    decimals = {
        p["wsname"].replace("XBT", "BTC"): (p["pair_decimals"], p["lot_decimals"])
        for p in pairs["result"].values()
    }
    books: dict[str, Book | None] = {}
    checked = failed = 0
    for kind, _, m in events:
        if kind != "recv" or m.get("channel") != "book":
            continue
        for d in m["data"]:
            s = d["symbol"]
            if m["type"] == "snapshot":
                books[s] = ({}, {})
            book = books.get(s)
            if book is None:
                continue
            _apply(
                book, [[x["price"], x["qty"]] for x in d["bids"]], [[x["price"], x["qty"]] for x in d["asks"]]
            )
            bids, asks = sorted(book[0].items(), reverse=True)[:10], sorted(book[1].items())[:10]
            books[s] = book = (dict(bids), dict(asks))
            pd, qd = decimals[s]
            text = "".join(
                f"{p:.{pd}f}".replace(".", "").lstrip("0") + f"{q:.{qd}f}".replace(".", "").lstrip("0")
                for p, q in asks + bids
            )
            if zlib.crc32(text.encode()) == d["checksum"]:
                checked += 1
            else:
                failed += 1
                books[s] = None
    assert failed == summary["resyncs"] and checked > 50
    assert books == truth
    assert (report["checksum_failures"], report["checksums_verified"]) == (failed, checked)


def test_record_coinbase_connection_gap_resyncs_every_book(tmp_path: Path) -> None:
    """Coinbase numbers messages per connection, not per product: a lost one may have been any
    book's, so every book loses sync, and each is resubscribed, also the ones the next frame does not
    name. The session ends synced and the replay with the simulator's books (before: no book was
    resynced, the session's and the replay's books stayed out of sync for good)."""
    symbols = ["BTC-USD", "ETH-USD"]
    out, summary, truth = _record(tmp_path, "coinbase", symbols, fault="gap")
    assert summary["synced"] == dict.fromkeys(symbols, True), summary
    assert summary["resyncs"] >= len(symbols) and summary["reconnects"] == 0
    events = _check_format(out)
    # In the file: the connection's sequence skips, and each book is resubscribed after it.
    seqs = [m["sequence_num"] for kind, _, m in events if kind == "recv" and "sequence_num" in m]
    assert any(b > a + 1 for a, b in itertools.pairwise(seqs))
    resubscribed = [
        p for kind, _, m in events if kind == "send" and m["type"] == "subscribe" for p in m["product_ids"]
    ]
    assert sorted(set(resubscribed)) == symbols and len(resubscribed) > len(symbols)
    # One gap forced per symbol: each loss un-syncs both books, so each counts one per loss it met.
    report = _replay(out, "coinbase")
    _assert_replay_equals(report, truth, {s: s for s in symbols}, gaps=report["gaps"])
    assert report["gaps"] >= len(symbols)


async def _freeze_then_stop(sim: Any, stop: Any) -> None:
    """The simulator's market paused after a second of recording, then the recording stopped once
    the frames in flight have landed."""
    import asyncio

    await asyncio.sleep(1.0)
    sim.pause()
    await asyncio.sleep(0.3)
    stop.set()


def test_record_ab_lines_replays_to_the_simulators_books(tmp_path: Path) -> None:
    """A session on two redundant lines (A/B, ``redundancy=2``) records every message twice, one line
    at times ahead of the other; the session arbitrated them and its books stayed synced. Replay of
    the file must end with the simulator's books too (before: each copy after the first was a gap to
    replay, OKX's and Tradefence's books ended ``out_of_sync:gap`` with levels the venue no longer
    had)."""
    import asyncio

    from tickwire.cmd.record import record
    from tickwire.cmd.replay import replay
    from tickwire.sim import Simulator

    async def go(venue: str, symbol: str) -> None:
        async with Simulator([venue], seed=21, rate=300, depth=25, endpoints={venue: 2}) as sim:
            out, stop = tmp_path / f"{venue}.jsonl", asyncio.Event()

            task = asyncio.create_task(_freeze_then_stop(sim, stop))
            summary = await record(venue, [symbol], out, endpoints=sim.urls()[venue], stop=stop, redundancy=2)
            await task
            assert summary["synced"] == {symbol: True} and summary["events"]["open"] == 2
            t = sim.book(venue, symbol)
            truth: Book = ({p: q for p, q in t.bids}, {p: q for p, q in t.asks})
            report = json.loads(json.dumps(replay(out, venue)))  # as the command prints it
            _assert_replay_equals(report, {symbol: truth}, {symbol: symbol}, gaps=0)

    for venue, symbol in (("okx", "BTC-USDT"), ("tradefence", "AAPL"), ("binance", "BTCUSDT")):
        asyncio.run(go(venue, symbol))


def test_record_kraken_with_precisions_given_as_an_option_replays_them(tmp_path: Path) -> None:
    """A Kraken session given its pair's precision (``venue_options={"precision": …}``) asks nothing of
    ``AssetPairs`` for itself; recording, it asks anyway, so the file carries what replay verifies the
    checksums at: replay ends synced with the simulator's book (before: nothing was recorded, every replayed
    checksum failed and the book stayed out of sync)."""
    import asyncio

    from tickwire.cmd.record import record
    from tickwire.cmd.replay import replay
    from tickwire.sim import Simulator

    async def go() -> None:
        symbol = "BTC/USD"
        async with Simulator(["kraken"], seed=21, rate=300, depth=25, symbols={"kraken": [symbol]}) as sim:
            out, stop = tmp_path / "kraken.jsonl", asyncio.Event()

            task = asyncio.create_task(_freeze_then_stop(sim, stop))
            given = {symbol: (1, 8)}  # the simulator's BTC/USD: 1 price decimal, 8 lot decimals
            summary = await record(
                "kraken",
                [symbol],
                out,
                endpoints=sim.urls()["kraken"],
                stop=stop,
                venue_options={"precision": given},
            )
            await task
            assert summary["synced"] == {symbol: True}
            t = sim.book("kraken", symbol)
            top = ({p: q for p, q in t.bids[:10]}, {p: q for p, q in t.asks[:10]})
            report = json.loads(json.dumps(replay(out, "kraken")))
            _assert_replay_equals(report, {symbol: top}, {symbol: symbol}, gaps=0)

    asyncio.run(go())


def test_a_token_in_the_endpoint_url_is_in_no_line_of_the_capture_nor_in_the_log(
    tmp_path: Path, caplog: Any
) -> None:
    """``tickwire record --endpoint "wss://host/stream?token=…"``: a credential in the socket URL's query
    (``transport.ws._host``: "some venues carry tokens there") or user part is not written into the
    capture (meant to be shared as a fixture; every line names its URL), nor logged as the endpoint's
    name (the session's status lines), and the file still replays to the simulator's book."""
    import argparse
    import asyncio
    import logging

    from tickwire.cmd.record import _endpoints, record
    from tickwire.cmd.replay import replay
    from tickwire.sim import Simulator

    token = "SECRET-never-seen-XYZ"
    symbol = "BTCUSDT"

    async def go() -> None:
        async with Simulator(["binance"], seed=21, rate=300, depth=25, symbols={"binance": [symbol]}) as sim:
            [ep] = sim.urls()["binance"]
            args = argparse.Namespace(
                venue="binance", endpoint=f"{ep['ws']['stream']}?token={token}", rest=ep["rest"]
            )
            out, stop = tmp_path / "binance.jsonl", asyncio.Event()
            task = asyncio.create_task(_freeze_then_stop(sim, stop))
            with _endpoints(args, [symbol]) as (endpoints, options):
                summary = await record("binance", [symbol], out, endpoints=endpoints, stop=stop, **options)
            await task
            assert summary["synced"] == {symbol: True}
            t = sim.book("binance", symbol)
            truth: Book = ({p: q for p, q in t.bids}, {p: q for p, q in t.asks})
            report = json.loads(json.dumps(replay(out, "binance")))
            _assert_replay_equals(report, {symbol: truth}, {symbol: symbol}, gaps=0)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    written = (tmp_path / "binance.jsonl").read_text()
    assert '"kind":"open"' in written and "connected" in caplog.text
    assert token not in written, written[:400]
    assert token not in caplog.text, [r.getMessage() for r in caplog.records if token in r.getMessage()]
