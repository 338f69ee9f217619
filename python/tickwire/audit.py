"""Audit log of every API interaction, written off the hot path with secrets redacted.

``AuditLog.event(kind, **fields)`` stamps ``time.time_ns()`` (``ts_ns``, wall clock) and
``time.monotonic_ns()`` (``mono_ns``: orders events correctly even when the wall clock steps) and
appends to a bounded in-memory queue; a daemon thread redacts, serialises (one JSON object per line,
orjson) and writes to a size-rotated file (``path``, ``path.1`` … ``path.N``). The caller never blocks
on the disk and never sees an exception from it: when the queue is full the event is dropped and counted
in :attr:`AuditLog.dropped`, and the file says so where they are missing: an ``audit_dropped`` line
(``dropped``: how many since the last such line, ``total``) before the next event kept, or at the
close — a reader rebuilding an order's life from the file knows when it cannot be whole.

Redaction happens on the writer thread, so values are read there: do not mutate a container after
passing it. What is masked:

* any mapping key (at any depth, also ``(name, value)`` header pairs) whose name matches a redact
  word, case-insensitively, ignoring ``-``/``_``: words of 5+ letters anywhere in the name
  (``X-MBX-SIGNATURE``, ``client_secret``), shorter ones as a whole word (``sign``, ``jwt``);
* inside strings: ``name=value`` query parameters, ``"name": "value"`` JSON pairs and
  ``Name: value`` header lines with such names, JWT-shaped tokens, ``Bearer <token>``, a URL's
  password (``ws://user:***@host``; a user part alone, NATS's token, as ``***@``), and every known
  secret value given to ``secrets=`` / :meth:`AuditLog.add_secret`;
* API keys (``api_key``, ``apiKey``, ``AccessKeyId``, …) are shortened to their first 4 characters.
"""

from __future__ import annotations

import atexit
import collections
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import orjson

__all__ = [
    "DEFAULT_REDACT",
    "DEFAULT_SHORTEN",
    "NULL_AUDIT",
    "AuditLog",
    "AuditSink",
    "NullAudit",
    "Redactor",
    "excerpt",
    "shown_url",
]

log = logging.getLogger("tickwire.audit")

DEFAULT_REDACT: Final[frozenset[str]] = frozenset(
    {
        "secret",
        "signature",
        "sign",
        "passphrase",
        "password",
        "passwd",
        "token",
        "jwt",
        "authorization",
        "api-sign",
        "x-mbx-apikey",
        "ok-access-sign",
        "ok-access-passphrase",
        "x-bapi-sign",
        "cb-access-sign",
        "cookie",
        "private_key",
        "pem",
        "seed",
        "listenkey",
    }
)
DEFAULT_SHORTEN: Final[frozenset[str]] = frozenset(
    {"api_key", "apikey", "access_key", "accesskey", "accesskeyid", "ok-access-key", "x-bapi-api-key"}
)
REDACTED: Final = "***"

_KEEP, _REDACT, _SHORTEN = 0, 1, 2
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_QUERY = re.compile(r"(?P<pre>^|[?&;\s])(?P<name>[\w.\-\[\]]{1,64})=(?P<val>[^&\s#;\"']*)")
_PAIR = re.compile(
    r"(?P<q>[\"'])(?P<name>[\w.\- ]{1,64})(?P=q)\s*:\s*(?P<q2>[\"'])(?P<val>(?:\\.|(?!(?P=q2)).)*)"
)
_HEADER = re.compile(r"(?m)^(?P<name>[A-Za-z0-9_\-]{1,64})[ \t]*:[ \t]*(?P<val>[^\r\n]*)")
_JWT = re.compile(r"eyJ[\w\-]{4,}\.[\w\-]{4,}\.[\w\-]*")
# A bearer token in free text ("Bearer <token>", an Authorization value quoted in a message): opaque
# tokens (Tradefence's, Kraken's) have no shape of their own to be found by.
_BEARER = re.compile(r"(?i)(?P<pre>\bbearer\s+)[\w\-.~+/]+=*")
# A URL's user part (``ws://alice:<password>@host``, NATS's ``nats://<token>@host``): the password, or a
# user part alone (a token), masked; the scheme and host kept.
_USERINFO = re.compile(r"(?P<pre>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s/?#@:]*)(?P<pw>:[^\s/?#@]*)?@")


def _userinfo(m: re.Match[str]) -> str:
    user = f"{m.group('user')}:{REDACTED}" if m.group("pw") is not None else REDACTED
    return f"{m.group('pre')}{user}@"


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _name(k: object) -> str | None:
    """A key or header name as text (headers often arrive as bytes); None if it is no name."""
    if isinstance(k, str):
        return k
    if isinstance(k, bytes | bytearray):
        return bytes(k).decode("latin-1")
    return None


class Redactor:
    """Masks secrets in one event's fields; pure and thread-confined (used by the writer thread)."""

    def __init__(
        self, redact: Iterable[str] = DEFAULT_REDACT, shorten: Iterable[str] = DEFAULT_SHORTEN
    ) -> None:
        words = {_compact(w) for w in redact} - {""}
        self._long = tuple(w for w in words if len(w) >= 5)
        self._short = frozenset(w for w in words if len(w) < 5)
        self._shorten = frozenset(_compact(w) for w in shorten) - {""}
        self._secrets: list[str] = []
        self._verdicts: dict[str, int] = {}

    def add_secret(self, value: str) -> None:
        # Short values would mask unrelated text (and say little); real credentials are long.
        if len(value) >= 6 and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    def verdict(self, name: str) -> int:
        v = self._verdicts.get(name)
        if v is None:
            v = self._judge(name)
            if len(self._verdicts) > 4096:
                self._verdicts.clear()
            self._verdicts[name] = v
        return v

    def _judge(self, name: str) -> int:
        compact = _compact(name)
        if any(w in compact for w in self._long):
            return _REDACT
        words = {_compact(w) for w in re.split(r"[^A-Za-z0-9]+", _CAMEL.sub(" ", name))}
        if compact in self._short or words & self._short:
            return _REDACT
        if compact in self._shorten:
            return _SHORTEN
        return _KEEP

    def _mask(self, verdict: int, value: str) -> str:
        if verdict == _REDACT:
            return REDACTED
        return value[:4] + "…" if len(value) > 4 else value

    def _sub(self, m: re.Match[str]) -> str:
        v = self.verdict(m.group("name"))
        if v == _KEEP or not m.group("val"):
            return m.group(0)
        start, end = m.span("val")
        s = m.string
        return s[m.start() : start] + self._mask(v, m.group("val")) + s[end : m.end()]

    def scrub(self, s: str) -> str:
        """Masks secrets inside free text (URLs, bodies, raw messages)."""
        for secret in self._secrets:
            if secret in s:
                s = s.replace(secret, REDACTED)
        if "eyJ" in s:
            s = _JWT.sub(REDACTED, s)
        if "earer" in s:
            s = _BEARER.sub(r"\g<pre>" + REDACTED, s)
        if "@" in s and "://" in s:
            s = _USERINFO.sub(_userinfo, s)
        if "=" in s:
            s = _QUERY.sub(self._sub, s)
        if ":" in s:
            s = _PAIR.sub(self._sub, s)
            s = _HEADER.sub(self._sub, s)
        return s

    def value(self, v: Any, depth: int = 0) -> Any:
        """A JSON-ready copy of ``v`` with secrets masked."""
        if v is None or isinstance(v, bool | int | float):
            return v
        if isinstance(v, str):
            return self.scrub(v)
        if depth > 32:
            return "<too deep>"
        if isinstance(v, bytes | bytearray | memoryview):
            return self.scrub(bytes(v).decode("utf-8", "replace"))
        if isinstance(v, Mapping):
            return self.mapping(v.items(), depth + 1)
        if isinstance(v, list | tuple | set | frozenset | collections.deque):
            return [self._item(x, depth + 1) for x in v]
        return self.scrub(str(v))

    def _item(self, x: Any, depth: int) -> Any:
        # (name, value) pairs: headers given as a list of tuples, as aiohttp and picows accept them.
        if isinstance(x, tuple | list) and len(x) == 2 and (name := _name(x[0])) is not None:
            v = self.verdict(name)
            if v != _KEEP:
                return [name, self._mask(v, str(self.value(x[1], depth)))]
        return self.value(x, depth)

    def mapping(self, items: Iterable[tuple[Any, Any]], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            key = _name(k) or str(k)
            verdict = self.verdict(key)
            if isinstance(v, bytes | bytearray) and verdict != _KEEP:
                v = bytes(v).decode("utf-8", "replace")
            if verdict == _KEEP or v is None:
                out[key] = self.value(v, depth)
            elif verdict == _SHORTEN and isinstance(v, str):
                out[key] = self._mask(_SHORTEN, self.scrub(v))
            else:
                out[key] = REDACTED
        return out


@functools.cache
def _excerpt_redactor() -> Redactor:
    return Redactor()


def excerpt(body: bytes, limit: int = 200) -> str:
    """The start of a venue's answer for an error message, credentials masked as in the audit file
    (``"token": "…"`` pairs, JWT-shaped tokens, …): an answer that cannot be read may still carry a
    token (Kraken's ``GetWebSocketsToken``, a log-in's access token), and its start is that token."""
    # Masked before it is cut: a value cut short is still masked by the name in front of it.
    text = _excerpt_redactor().scrub(body[: limit * 4].decode("utf-8", "replace"))
    return text[:limit]


@functools.lru_cache(maxsize=256)
def shown_url(url: str) -> str:
    """``url`` as a capture file or a log may keep it: no user part (a password, a NATS-style token)
    and the values of secret-named query parameters masked as the audit file masks them
    (``token=***``, ``signature=***``, ``listenKey=***``; an API key shortened). The rest is kept, so
    one URL stays one connection to ``tickwire replay`` and a snapshot's ``symbol`` stays in its query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    query = _excerpt_redactor().scrub(parts.query) if parts.query else parts.query
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class _Rotating:
    """Size-rotated append-only file: ``path`` is current, ``path.1`` the newest backup."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self.f = open(path, "ab")
        self.size = self.f.tell()

    def write(self, data: bytes) -> None:
        if self.size and self.size + len(data) > self.max_bytes:
            self.rotate()
        self.f.write(data)
        self.size += len(data)

    def rotate(self) -> None:
        self.f.close()
        if self.backups > 0:
            for i in range(self.backups - 1, 0, -1):
                src = f"{self.path}.{i}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i + 1}")
            os.replace(self.path, f"{self.path}.1")
        self.f = open(self.path, "wb")
        self.size = 0


_CLOSE = object()
# How long the writer works before it lets other threads take the GIL.
_SLICE_S = 0.0002


class AuditLog:
    """Non-blocking audit log to a rotating local file; see the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 64 << 20,
        backups: int = 5,
        redact: Iterable[str] = DEFAULT_REDACT,
        shorten: Iterable[str] = DEFAULT_SHORTEN,
        secrets: Iterable[str] = (),
        queue_size: int = 65536,
    ) -> None:
        if max_bytes <= 0 or backups < 0 or queue_size <= 0:
            raise ValueError("max_bytes and queue_size must be positive, backups not negative")
        self.path = os.fspath(path)
        self._redactor = Redactor(redact, shorten)
        for s in secrets:
            self._redactor.add_secret(s)
        self._file = _Rotating(self.path, max_bytes, backups)
        # A deque, not queue.Queue: append is one atomic C call with no lock, so event() costs about
        # as much as building its kwargs. The writer polls it; flush/close wake it at once.
        self._q: collections.deque[Any] = collections.deque()
        self._cap = queue_size
        self._dropped = 0
        self._marked = 0  # ``_dropped`` as the last ``audit_dropped`` marker queued told it
        self._closed = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tickwire-audit:{self.path}", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full (or logged after close)."""
        return self._dropped

    def add_secret(self, value: str) -> None:
        """Masks this exact value wherever it appears from now on (e.g. a credential's secret)."""
        self._q.append(("secret", value))

    def event(self, kind: str, /, **fields: Any) -> None:
        """Records one interaction. Never blocks on I/O and never raises."""
        q = self._q
        if len(q) >= self._cap or self._closed:
            self._dropped += 1
            return
        if self._dropped != self._marked:
            self._mark_dropped()
        q.append((time.time_ns(), time.monotonic_ns(), kind, fields))

    def _mark_dropped(self) -> None:
        """Queues where events went missing: the writer writes it as an ``audit_dropped`` line."""
        self._marked = self._dropped
        self._q.append(("dropped", time.time_ns(), time.monotonic_ns(), None, self._dropped))

    def flush(self, timeout: float = 5.0) -> None:
        """Waits until everything logged so far is written to the OS (not fsynced)."""
        if self._closed or not self._thread.is_alive():
            return
        done = threading.Event()
        self._q.append(done)
        self._wake.set()
        if not done.wait(timeout):
            log.warning("audit log %s: flush timed out after %.1fs", self.path, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Writes what is queued, stops the writer and closes the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if self._dropped != self._marked:  # the last events dropped, told at the end of the file
            self._mark_dropped()
        self._q.append(_CLOSE)
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("audit log %s: writer still busy after %.1fs; events may be lost", self.path, timeout)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        self._file.write(data)

    def _line(self, ts: int, mono: int, kind: str, fields: dict[str, Any]) -> bytes:
        rec: dict[str, Any] = {"ts_ns": ts, "mono_ns": mono, "kind": self._redactor.scrub(str(kind))}
        for k, v in self._redactor.mapping(fields.items()).items():
            rec["field_" + k if k in rec else k] = v
        return orjson.dumps(rec, default=str) + b"\n"

    def _told(self, ts: int, mono: int, total: int, told: int) -> int:
        """An ``audit_dropped`` line for the events dropped since ``told`` of them were told; the
        count now told. Never raises (the write's own failure is the next line's to tell)."""
        if total > told:
            line = {
                "ts_ns": ts,
                "mono_ns": mono,
                "kind": "audit_dropped",
                "dropped": total - told,
                "total": total,
            }
            try:
                self._write(orjson.dumps(line) + b"\n")
            except Exception:
                return told
        return total

    def _run(self) -> None:
        q, failed, told = self._q, False, 0
        clock, slice_end = time.perf_counter, 0.0
        try:
            while True:
                if not q:
                    self._wake.wait(0.05)
                    self._wake.clear()
                    slice_end = clock() + _SLICE_S
                    continue
                if clock() > slice_end:
                    # Hand the GIL over: a burst of events must not hold off the event loop for a
                    # whole switch interval (5 ms) when a frame arrives.
                    time.sleep(0)
                    slice_end = clock() + _SLICE_S
                item = q.popleft()
                if isinstance(item, tuple) and len(item) == 4:
                    try:
                        self._write(self._line(*item))
                    except Exception:
                        # One report, not one per event: a full disk would otherwise flood the log.
                        if not failed:
                            log.exception("audit log %s: writing failed; events are being lost", self.path)
                        failed = True
                        self._dropped += 1
                elif isinstance(item, tuple) and len(item) == 5:
                    told = self._told(item[1], item[2], item[4], told)
                elif isinstance(item, tuple):
                    self._redactor.add_secret(item[1])
                else:
                    self._file.f.flush()
                    if item is _CLOSE:
                        return
                    item.set()
        except Exception:
            log.exception("audit log %s: writer stopped", self.path)
        finally:
            self._closed = True
            try:
                self._file.f.close()
            except OSError:
                log.exception("audit log %s: close failed", self.path)


class AuditSink(Protocol):
    """What the connection layer needs from an audit log: :class:`AuditLog` or :data:`NULL_AUDIT`."""

    @property
    def dropped(self) -> int: ...
    def event(self, kind: str, /, **fields: Any) -> None: ...
    def flush(self, timeout: float = 5.0) -> None: ...
    def close(self, timeout: float = 5.0) -> None: ...
    def add_secret(self, value: str) -> None: ...


class NullAudit:
    """An audit log that records nothing, so callers need no ``if audit:``."""

    @property
    def dropped(self) -> int:
        return 0

    def event(self, kind: str, /, **fields: Any) -> None:
        pass

    def flush(self, timeout: float = 5.0) -> None:
        pass

    def close(self, timeout: float = 5.0) -> None:
        pass

    def add_secret(self, value: str) -> None:
        pass

    def __enter__(self) -> NullAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


NULL_AUDIT: Final = NullAudit()
