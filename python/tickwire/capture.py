"""Capture files: a live session's raw traffic as JSON Lines, in the format of shared/fixtures/real
(what ``tickwire replay`` reads), one event per line in receive order::

    {"t": 1652459225.507, "kind": "open", "url": "wss://…"}
    {"t": …, "kind": "send", "url": "wss://…", "text": "{\"op\":\"subscribe\",…}"}
    {"t": …, "kind": "recv", "url": "wss://…", "text": "{…}"}        text frame
    {"t": …, "kind": "recv", "url": "wss://…", "b64": "H4sIAAAA…"}   binary frame as received (compressed)
    {"t": …, "kind": "http", "url": "https://…/depth?symbol=…", "text": "{…}"}   REST snapshot

``t`` is the receive time in seconds since the epoch (a frame's is the time its socket read began).

:class:`CaptureWriter` keeps file I/O off the frame path: the session's line hands it each frame's
bytes and read time (:meth:`CaptureWriter.sink`: a copy and a deque append), and a writer thread
drains the queue, formats the lines and writes them every ``interval`` seconds. A disk slower than the
traffic for long would grow that queue without bound: past ``max_backlog`` bytes queued the capture
stops taking events (``overflow``), the file keeps every event up to there, whole and in order, and
the recording is reported failed as for a write that failed.
"""

from __future__ import annotations

import base64
import collections
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import orjson

from tickwire.audit import shown_url

log = logging.getLogger("tickwire.capture")

__all__ = ["CaptureWriter", "FrameSink"]

# What a line calls for every data frame: (binary?, payload view, socket-read time in monotonic ns).
FrameSink = Callable[[bool, memoryview, int], None]

# A queued event: (kind, url, binary, payload, monotonic ns).
_Event = tuple[str, str, bool, bytes, int]
# Events formatted per write.
_CHUNK = 16
# Bytes of payload the writer may fall behind by before the capture stops taking events.
MAX_BACKLOG = 256 << 20


def _redacted(data: bytes) -> bytes:
    """A sent message as a capture may keep it: no bearer token (Coinbase's subscribe carries a JWT,
    valid for minutes; captures are meant to be shared as fixtures)."""
    if b'"jwt"' not in data:
        return data
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    if isinstance(msg, dict) and "jwt" in msg:
        msg["jwt"] = "<redacted>"
        return orjson.dumps(msg)
    return data


class CaptureWriter:
    """Writes a capture file from a queue drained by its own thread; ``close()`` writes the rest.

    The frame path only copies the payload and appends to a deque (thread-safe without a lock); the
    thread wakes every ``interval`` seconds, so the loop is never woken per frame either."""

    def __init__(self, path: str | Path, interval: float = 0.05, max_backlog: int | None = None) -> None:
        self.path = Path(path)
        self.interval = interval
        self.max_backlog = MAX_BACKLOG if max_backlog is None else max_backlog
        # Payload bytes queued (the session's thread adds) and taken off the queue (the writer adds):
        # each written by one thread only, so their difference is the backlog without a lock.
        self._queued = 0
        self._taken = 0
        # The backlog at which the capture stopped taking events (None: it never fell that far
        # behind), and the events it refused from then on.
        self.overflow: int | None = None
        self.refused = 0
        # monotonic → epoch, fixed once: frame times stay as precise and ordered as the stamps.
        self._epoch_offset_ns = time.time_ns() - time.monotonic_ns()
        self._queue: collections.deque[_Event] = collections.deque()
        # Unbuffered: each chunk's write is a system call, which lets go of the GIL.
        self._file: BinaryIO = open(self.path, "wb", buffering=0)
        self._stop = threading.Event()
        self.counts: dict[str, int] = {"open": 0, "send": 0, "recv": 0, "http": 0}
        self.bytes_written = 0
        self.error: OSError | None = None  # the write that failed; the queue is drained from then on
        self.dropped = 0  # events not written because of it
        self._thread = threading.Thread(target=self._run, name="tickwire-capture", daemon=True)
        self._thread.start()

    # what the session calls --------------------------------------------------------------------

    def sink(self, url: str) -> FrameSink:
        """The per-frame callable for one connection to ``url`` (bound so the frame path passes
        no more than it has)."""
        put, url = self._put, shown_url(url)

        def frame(binary: bool, payload: memoryview, t_ns: int) -> None:
            put(("recv", url, binary, payload.tobytes(), t_ns))

        return frame

    def open(self, url: str) -> None:
        self._put(("open", shown_url(url), False, b"", time.monotonic_ns()))

    def send(self, url: str, data: bytes) -> None:
        self._put(("send", shown_url(url), False, _redacted(bytes(data)), time.monotonic_ns()))

    def http(self, url: str, body: bytes) -> None:
        """A REST response (a book snapshot), queued before the feed applies it."""
        self._put(("http", shown_url(url), False, bytes(body), time.monotonic_ns()))

    def _put(self, ev: _Event) -> None:
        if self.overflow is not None:
            self.refused += 1
            return
        backlog = self._queued - self._taken
        if backlog > self.max_backlog:
            # A capture missing events in its middle would replay to books the session never had:
            # it ends here instead, every event before this one still written.
            self.overflow = backlog
            self.refused += 1
            log.error(
                "capture %s: the writer fell %d bytes behind; events from now on are dropped",
                self.path,
                backlog,
            )
            return
        self._queued += len(ev[3])
        self._queue.append(ev)

    @property
    def failure(self) -> str | None:
        """Why the capture is not the whole session (a failed write, a writer that fell behind)."""
        if self.error is not None:
            return str(self.error)
        if self.overflow is not None:
            return f"the disk could not keep up: {self.overflow:,} bytes were waiting to be written"
        return None

    # writer thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        q, counts = self._queue, self.counts
        offset = self._epoch_offset_ns
        while q:
            # A few events at a time, each chunk written at once: the loop thread never waits for
            # the GIL longer than one chunk's formatting (not a whole interval's, nor the 5 ms
            # switch interval).
            out, kinds = [], []
            for _ in range(_CHUNK):
                try:
                    kind, url, binary, data, t_ns = q.popleft()
                except IndexError:
                    break
                self._taken += len(data)
                kinds.append(kind)
                out.append(orjson.dumps(_event(kind, url, binary, data, (t_ns + offset) / 1e9)))
                out.append(b"\n")
            chunk = b"".join(out)
            if self.error is not None:
                self.dropped += len(kinds)
                continue
            rest = memoryview(chunk)
            try:
                # A raw write may take only part (a pipe interrupted by a signal): the rest follows.
                while rest:
                    rest = rest[self._file.write(rest) :]
            except OSError as e:  # a full disk: the capture is lost, not the session's memory
                self.error = e
                log.error("capture %s: write failed (%s); events from now on are dropped", self.path, e)
            done = len(chunk) - len(rest)
            self.bytes_written += done
            # ``counts`` are the lines in the file (what ``tickwire record`` reports as written): a line
            # the failed write cut is not one of them (replay leaves it out).
            whole = chunk.count(b"\n", 0, done)
            for kind in kinds[:whole]:
                counts[kind] += 1
            self.dropped += len(kinds) - whole

    def close(self) -> None:
        """Stops the thread after it wrote everything queued, and closes the file."""
        if self._file.closed:
            return
        self._stop.set()
        self._thread.join()
        self._file.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _event(kind: str, url: str, binary: bool, data: bytes, t: float) -> dict[str, object]:
    ev: dict[str, object] = {"t": t, "kind": kind, "url": url}
    if kind == "open":
        return ev
    if not binary:
        try:
            ev["text"] = data.decode()
            return ev
        except UnicodeDecodeError:
            pass  # not UTF-8 after all: kept byte for byte
    ev["b64"] = base64.b64encode(data).decode()
    return ev
