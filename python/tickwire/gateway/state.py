"""What of an account's service outlives the gateway process serving it, in a JetStream key-value
bucket (``TW_GATEWAY``: file storage, ``min(3, cluster size)`` replicas, one value per key): the kill
switch's halt — a gateway restarted after a client threw the kill switch refuses new orders as the
killed one did, until a client calls ``resume()``: a restart is not a resume — and the lease that
makes one gateway, never two, serve an account — and the ledger of what its clients last heard,
from which a gateway starting after a gap tells them what happened meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    APIError,
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

from tickwire.gateway.events import STREAM_READY_S, cluster_size

# JetStream's error code for a write whose expected last revision is not the key's.
WRONG_LAST_SEQUENCE = 10071
BUCKET = "TW_GATEWAY"
STREAM = f"KV_{BUCKET}"  # the stream behind the bucket, and its keys' subjects (NATS's KV layout)
SUBJECT_PREFIX = f"$KV.{BUCKET}."


def _part(text: str) -> str:
    """``text`` as one part of a key (KV keys take letters, digits, ``-`` and ``_`` between dots)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


async def bucket(nc: Any) -> Any:
    """The bucket, made on first use; retried while the cluster's JetStream is not ready yet."""
    js = nc.jetstream(timeout=2.0)
    end = time.monotonic() + STREAM_READY_S
    while True:
        try:
            try:
                return await js.key_value(BUCKET)
            except BucketNotFoundError:
                cfg = KeyValueConfig(
                    bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=min(3, cluster_size(nc))
                )
                return await js.create_key_value(cfg)
        except Exception:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


class Halt:
    """The account's kill-switch halt: its reason while trading is halted, nothing otherwise."""

    def __init__(self, kv: Any, venue: str, account: str) -> None:
        self.kv = kv
        self.key = "halt." + _part(f"{venue}.{account}")

    async def get(self) -> str | None:
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return entry.value.decode() if entry.value else None

    async def put(self, reason: str) -> None:
        await self.kv.put(self.key, reason.encode())

    async def clear(self) -> None:
        await self.kv.delete(self.key)


# A lease taken or renewed less than this long ago whose gateway does not answer is not one left by
# a gateway that died: one starting (its session can take this long to start before it subscribes),
# or one cut off from the taker's side of a partition and still serving the clients on its own side.
# Its holder renews it every ``lease_watch.RENEW_S`` and serves only within ``lease_watch.VALID_S``
# of its last renewal, so a lease this old is one whose holder stopped serving — the two hosts'
# clocks (the age is read off the holder's wall clock) agreeing within the difference, 20 s.
STARTING_S = 30.0
# How often a renewal reads the lease back and writes again when its compare-and-set is refused.
RENEW_TRIES = 3


class Lease:
    """Which gateway serves the account, taken atomically at start: two gateways started at once
    for one account both heard no one serving it, and both served — every request ran on both
    sessions (two orders for one place). The first to create the key serves; a lease left by a
    gateway that died (no one answers for the account, and it was not renewed for ``STARTING_S``) is
    taken over by compare-and-set, so two takers of one stale lease cannot both win either. Its value
    is ``"<gateway> <wall-clock ms of the last renewal> <token>"``, then — once the holder's session
    runs — ``"<settle ms> <venue-clock offset ms, or ->"`` (``terms``); the holder is the gateway and
    the token, which a renewal keeps."""

    def __init__(self, kv: Any, venue: str, account: str, gateway: str) -> None:
        self.kv = kv
        self.what = f"{venue}/{account}"
        self.key = "lease." + _part(f"{venue}.{account}")
        self.gateway = gateway
        self.token = secrets.token_hex(8)
        # This gateway's settling terms, written with each renewal for a gateway that may take the
        # account over: how long a request it took may take to settle (s), and the venue-clock offset
        # its requests are stamped on (None: the venue bounds no request, no clock in the wait).
        # None while it has no session.
        self.terms: Callable[[], tuple[float, float | None] | None] | None = None
        self.value = self._value()
        self.rev: int | None = None
        # When the lease was taken over from a gateway that did not answer: one cut off from NATS
        # but alive still runs the requests it took (monotonic time; None if it was free).
        self.taken_over: float | None = None
        # The terms the holder wrote, when this gateway took the lease over (None: it wrote none).
        self.holder_terms: tuple[float, float | None] | None = None

    async def take(self, answered: Callable[[], Awaitable[str | None]]) -> None:
        """Takes the lease, or raises ``ValueError`` naming who holds it. ``answered()``: the
        gateway that answers for the account now, None when none does."""
        while True:
            self.value = self._value()
            try:
                self.rev = await self.kv.create(self.key, self.value)
                return
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self.kv.get(self.key)
                break
            except (KeyNotFoundError, KeyDeletedError):
                continue  # released since the create was refused (its gateway closed): free to take
        owner, since_ms = self._holder(entry.value)
        serving = await answered()
        if serving is not None:
            raise ValueError(f"{self.what} is already served by gateway {serving}")
        age_s = time.time() - since_ms / 1000
        if age_s < STARTING_S:
            raise ValueError(
                f"{self.what} is held by gateway {owner}, which does not answer here but took or"
                f" renewed its lease {max(age_s, 0.0):.1f} s ago (starting, or cut off from this side)"
            )
        try:
            self.rev = await self.kv.update(self.key, self.value, last=entry.revision)
            self.taken_over = time.monotonic()
            self.holder_terms = self._terms_of(entry.value)
        except KeyWrongLastSequenceError:
            raise ValueError(f"{self.what} was just taken by another gateway") from None

    async def held(self) -> bool:
        """Whether the lease is still this gateway's."""
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return False
        return self._mine(entry.value)

    async def renew(self) -> bool:
        """Stamps the lease with the time now, by compare-and-set on its last revision; False when it
        is not this gateway's any more (taken over, or deleted). A store that does not answer raises.
        A renewal stored whose answer was lost leaves a stale revision here: the lease read back is
        still this gateway's then, and renewed from the revision read — and read back again when that
        write is refused too (another renewal of this gateway's stored late, not a taker's); still
        this gateway's after ``RENEW_TRIES`` reads, the renewal raises (not renewed, not given up)."""
        if self.rev is None:
            return False
        value, last = self._value(), self.rev
        for _ in range(RENEW_TRIES):
            try:
                self.rev = await self.kv.update(self.key, value, last=last)
                self.value = value
                return True
            except KeyWrongLastSequenceError:
                # Written since: by a taker — or by this gateway's own renewal stored late (its
                # answer lost, its write held up in the store). Only the lease read back tells.
                try:
                    entry = await self.kv.get(self.key)
                except (KeyNotFoundError, KeyDeletedError):
                    return False
                if not self._mine(entry.value):
                    return False
                last = entry.revision
        # Still this gateway's, but moving under it: not renewed this time (not given up).
        raise TimeoutError(f"{self.what}: lease still written by late renewals: not renewed")

    def _value(self) -> bytes:
        value = f"{self.gateway} {int(time.time() * 1000)} {self.token}"
        terms = self.terms() if self.terms is not None else None
        if terms is not None:
            settle, offset = terms
            value += f" {settle * 1000:.0f} {'-' if offset is None else f'{offset:.3f}'}"
        return value.encode()

    def _mine(self, value: bytes | None) -> bool:
        parts = (value or b"").decode(errors="replace").split()
        return len(parts) in (3, 5) and parts[0] == self.gateway and parts[2] == self.token

    @staticmethod
    def _terms_of(value: bytes | None) -> tuple[float, float | None] | None:
        parts = (value or b"").decode(errors="replace").split()
        if len(parts) != 5:
            return None
        try:
            return float(parts[3]) / 1000, None if parts[4] == "-" else float(parts[4])
        except ValueError:
            return None

    async def release(self) -> None:
        if self.rev is None:
            return
        # Not ours any more, or the store away: left as is.
        with contextlib.suppress(Exception):
            try:
                await self.kv.delete(self.key, last=self.rev)
            except APIError as e:
                if e.err_code != WRONG_LAST_SEQUENCE:  # nats-py's delete does not name it
                    raise
                # A renewal cut short by the close may have been stored, its revision unheard.
                entry = await self.kv.get(self.key)
                if self._mine(entry.value):
                    await self.kv.delete(self.key, last=entry.revision)
        self.rev = None

    @staticmethod
    def _holder(value: bytes | None) -> tuple[str, float]:
        parts = (value or b"").decode(errors="replace").split()
        try:
            return parts[0], float(parts[1])
        except (IndexError, ValueError):
            return "?", 0.0


class Ledger:
    """What the account's clients last heard, kept for the gateway that serves it next: the orders
    they heard open, and the newest fill published (its venue time and the trade ids at that time).
    A gateway that was down while an order filled or ended would otherwise never tell them — it
    adopts the orders still open, and an adopted order's fills count from the adopting listing."""

    def __init__(self, kv: Any, js: Any, venue: str, account: str) -> None:
        self.kv = kv
        self.js = js
        base = _part(f"{venue}.{account}")
        self.prefix = f"open.{base}."
        self.mark_prefix = f"fills.{base}."

    def _key(self, client_id: str) -> str:
        return self.prefix + _part(client_id)

    async def opened(self, client_id: str, symbol: str) -> None:
        await self.kv.put(self._key(client_id), orjson.dumps({"cid": client_id, "symbol": symbol}))

    async def ended(self, client_id: str) -> None:
        # Purged from the stream, not deleted: a delete leaves a marker per order for good, which
        # every later listing would read through.
        await self.js.purge_stream(STREAM, subject=SUBJECT_PREFIX + self._key(client_id))

    async def opens(self) -> dict[str, str]:
        """Client id → symbol of every order the clients last heard open."""
        # The stream's subjects under the prefix, as the server counts them. Not ``kv.keys()``:
        # nats-py's watcher may call its listing done before the first entries reach it and return
        # fewer keys or none (seen in about 1 call in 100), and a gateway would then tell its
        # clients nothing of what happened to their orders while none ran.
        info = await self.js.stream_info(STREAM, subjects_filter=SUBJECT_PREFIX + self.prefix + ">")
        keys = [s[len(SUBJECT_PREFIX) :] for s in info.state.subjects or {}]
        out: dict[str, str] = {}
        for k in keys:
            try:
                v = orjson.loads((await self.kv.get(k)).value or b"null")
            except (KeyNotFoundError, KeyDeletedError, orjson.JSONDecodeError):
                continue
            if isinstance(v, dict) and isinstance(v.get("cid"), str) and isinstance(v.get("symbol"), str):
                out[v["cid"]] = v["symbol"]
        return out

    def _mark_key(self, symbol: str) -> str:
        return self.mark_prefix + _part(symbol)

    async def set_mark(self, symbol: str, ms: int, trade_ids: list[str]) -> None:
        await self.kv.put(self._mark_key(symbol), orjson.dumps({"ms": ms, "ids": trade_ids}))

    async def mark(self, symbol: str) -> tuple[int | None, frozenset[str]]:
        """The newest published fill's venue time (ms) on ``symbol`` and the trade ids published at
        it — per symbol: a venue's fills of two symbols need not reach the session in time order."""
        try:
            v = orjson.loads((await self.kv.get(self._mark_key(symbol))).value or b"null")
        except (KeyNotFoundError, KeyDeletedError, orjson.JSONDecodeError):
            return None, frozenset()
        if not isinstance(v, dict) or not isinstance(v.get("ms"), int):
            return None, frozenset()
        return v["ms"], frozenset(str(t) for t in v.get("ids") or ())


class Strategies:
    """The strategies (client-id prefixes) the account's gateways admitted, kept past a restart: a
    new one whose prefix overlaps one admitted before (``a`` and ``a-b``) is refused whichever
    gateway process admitted the other — before, a restart forgot them, and a client of ``a-b`` that
    said hello first made ``a``'s client hear ``a-b``'s fills. A name unseen for ``KEEP_S`` lapses."""

    KEEP_S = 7 * 86_400.0  # the events stream's age: a strategy gone longer has nothing left there

    def __init__(self, kv: Any, venue: str, account: str) -> None:
        self.kv = kv
        self.key = "strategies." + _part(f"{venue}.{account}")

    async def admit(self, name: str, overlaps: Callable[[str], bool]) -> None:
        """Records ``name`` (seen now) unless a live other one ``overlaps`` it (``ValueError`` naming
        it); a compare-and-set, so two gateways admitting at once cannot both pass."""
        for _ in range(10):
            try:
                entry = await self.kv.get(self.key)
                known, rev = orjson.loads(entry.value or b"{}"), entry.revision
            except (KeyNotFoundError, KeyDeletedError):
                known, rev = {}, None
            now = time.time()
            live = {k: t for k, t in known.items() if isinstance(t, int | float) and now - t < self.KEEP_S}
            for other in live:
                if other != name and overlaps(other):
                    raise ValueError(other)
            live[name] = now
            try:
                if rev is None:
                    await self.kv.create(self.key, orjson.dumps(live))
                else:
                    await self.kv.update(self.key, orjson.dumps(live), last=rev)
                return
            except KeyWrongLastSequenceError:
                continue  # another admission in between: read again
        raise ValueError("(the registry kept changing)")
