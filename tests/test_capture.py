"""The capture writer (``tickwire.capture.CaptureWriter``, what ``tickwire record`` writes with): the
fixture format's lines in order, no bearer token kept, a failed or short write ending the capture
and not the writer thread. (Recording live sessions and replaying them: ``tests/cmd/test_record.py``.)"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_capture_writer_writes_the_fixture_lines_in_order(tmp_path: Path) -> None:
    """The writer alone: events in, the fixture's lines out, in order."""
    from tickwire.capture import CaptureWriter

    path = tmp_path / "w.jsonl"
    with CaptureWriter(path, interval=0.01) as w:
        w.open("wss://x/stream")
        w.send("wss://x/stream", b'{"method":"SUBSCRIBE"}')
        tee = w.sink("wss://x/stream")
        tee(False, memoryview(b'{"a":1}'), time.monotonic_ns())
        tee(True, memoryview(b"\x1f\x8b\x00"), time.monotonic_ns())
        w.http("https://x/api/v3/depth?symbol=BTCUSDT&limit=1000", b'{"lastUpdateId":1,"bids":[],"asks":[]}')
    lines = _lines(path)
    assert [(e["kind"], sorted(e)) for e in lines] == [
        ("open", ["kind", "t", "url"]),
        ("send", ["kind", "t", "text", "url"]),
        ("recv", ["kind", "t", "text", "url"]),
        ("recv", ["b64", "kind", "t", "url"]),
        ("http", ["kind", "t", "text", "url"]),
    ]
    assert lines[3]["b64"] == "H4sA" and lines[2]["text"] == '{"a":1}'
    assert [e["t"] for e in lines] == sorted(e["t"] for e in lines)
    assert w.counts == {"open": 1, "send": 1, "recv": 2, "http": 1}


def test_capture_writer_keeps_no_bearer_token_and_survives_a_failed_write(tmp_path: Path) -> None:
    """A sent message's JWT (Coinbase's subscribe) is not written; a write that fails (a full disk) ends
    the capture, not the writer thread: later events are drained and counted as dropped, so the queue
    the frame path fills stays bounded (before: the thread died and the queue grew for good)."""
    from tickwire.capture import CaptureWriter

    path = tmp_path / "jwt.jsonl"
    with CaptureWriter(path, interval=0.01) as w:
        w.send("wss://x/ws", b'{"type":"subscribe","channel":"level2","jwt":"eyJhbGciOi.secret.sig"}')
    [sent] = _lines(path)
    assert "secret" not in path.read_text() and json.loads(sent["text"])["jwt"] == "<redacted>"

    w = CaptureWriter(tmp_path / "full.jsonl", interval=0.01)

    class Full:
        closed = False

        def write(self, _chunk: bytes) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            self.closed = True

    w._file = Full()  # type: ignore[assignment]
    tee = w.sink("wss://x/stream")
    for _ in range(3):
        tee(False, memoryview(b'{"a":1}'), time.monotonic_ns())
    time.sleep(0.1)
    assert w.error is not None and w._thread.is_alive() and w.dropped == 3 and not w._queue
    tee(False, memoryview(b'{"a":2}'), time.monotonic_ns())
    time.sleep(0.1)
    assert w.dropped == 4 and not w._queue
    w.close()


def test_capture_writer_keeps_no_credential_of_a_url_and_one_url_stays_one_connection(tmp_path: Path) -> None:
    """A URL's password (user part) and secret-named query values (a token, a signature, a listenKey)
    are in no line of the capture; a plain query (a snapshot's ``symbol``) is kept as it was, and one
    URL is written the same way on every line (``tickwire replay`` tells connections apart by it)."""
    from tickwire.capture import CaptureWriter

    ws = "wss://alice:PASS-never-seen-XYZ@x.test/ws?token=TOKEN-never-seen-XYZ&streams=btcusdt@depth"
    rest = "https://x.test/api/v3/depth?symbol=BTCUSDT&signature=SIG-never-seen-XYZ&limit=1000"
    path = tmp_path / "urls.jsonl"
    with CaptureWriter(path, interval=0.01) as w:
        w.open(ws)
        w.send(ws, b'{"op":"subscribe"}')
        w.sink(ws)(False, memoryview(b'{"a":1}'), time.monotonic_ns())
        w.http(rest, b"{}")
    text = path.read_text()
    assert "never-seen" not in text, text
    lines = _lines(path)
    assert len({e["url"] for e in lines[:3]}) == 1 and "streams=btcusdt@depth" in lines[0]["url"]
    assert "symbol=BTCUSDT" in lines[3]["url"] and lines[3]["url"].startswith("https://x.test/api/v3/depth?")


def test_capture_writer_finishes_a_short_write(tmp_path: Path) -> None:
    """An unbuffered write may take fewer bytes than it was given (``RawIOBase.write``: a pipe or FIFO
    interrupted by a signal, a disk filling up): the writer writes the rest, every line whole and in
    order (before: the rest of each chunk was dropped, lines cut mid-way)."""
    from tickwire.capture import CaptureWriter

    path = tmp_path / "short.jsonl"
    w = CaptureWriter(path, interval=0.01)
    real = w._file

    class Short:
        closed = False

        def write(self, chunk: bytes) -> int:
            return real.write(bytes(chunk[:97]))

        def close(self) -> None:
            real.close()
            self.closed = True

    w._file = Short()  # type: ignore[assignment]
    tee = w.sink("wss://x/stream")
    sent = [json.dumps({"n": i, "pad": "x" * (i % 50)}) for i in range(200)]
    for m in sent:
        tee(False, memoryview(m.encode()), time.monotonic_ns())
    w.close()
    assert [e["text"] for e in _lines(path)] == sent
    assert w.bytes_written == path.stat().st_size and w.error is None


def test_capture_writer_behind_a_slow_disk_stops_at_its_backlog_with_a_whole_prefix(tmp_path: Path) -> None:
    """A disk slower than the traffic: the queue the frame path fills stops at ``max_backlog`` bytes
    (before stop 44 it grew without bound, a long recording's memory with it); the file holds every
    event up to there, whole and in order, and the capture says why it is not the whole session."""
    from tickwire.capture import CaptureWriter

    path = tmp_path / "slow.jsonl"
    w = CaptureWriter(path, interval=0.005, max_backlog=20_000)
    real = w._file

    class Slow:
        closed = False

        def write(self, chunk: bytes) -> int:
            time.sleep(0.02)
            return real.write(bytes(chunk))

        def close(self) -> None:
            real.close()
            self.closed = True

    w._file = Slow()  # type: ignore[assignment]
    tee = w.sink("wss://x/stream")
    sent = [json.dumps({"n": i, "pad": "x" * 80}) for i in range(2000)]
    most = 0
    for m in sent:
        tee(False, memoryview(m.encode()), time.monotonic_ns())
        most = max(most, w._queued - w._taken)
    assert w.overflow is not None and most <= 20_000 + len(sent[-1])
    w.close()
    got = [e["text"] for e in _lines(path)]
    assert got == sent[: len(got)] and 0 < len(got) < len(sent)
    assert w.counts["recv"] == len(got) and w.refused == len(sent) - len(got) and w.dropped == 0
    assert w.failure is not None and "could not keep up" in w.failure
