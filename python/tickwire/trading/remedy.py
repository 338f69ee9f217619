"""Venue errors that have a remedy, and the venue clock one of them needs.

A request the venue refused *before looking at it* — its timestamp outside the receive window, its
nonce not above the last one, its token expired — was not processed, so it may be sent once more
after the cause is fixed, with a fresh timestamp and signature (the same client id: an order is still
placed at most once). What each code means, from the venues' error tables:

* ``clock``: Binance -1021 "Timestamp for this request is outside of the recvWindow", OKX 50102
  "Timestamp request expired", Bybit 10002 "invalid request, please check your server timestamp or
  recv_window param" → re-measure the offset to the venue's clock, then resend.
* ``signature``: Binance -1022 "Signature for this request is not valid.", Coinbase 401
  UNAUTHENTICATED, HTX api-signature-not-valid (both also refuse a stale timestamp so) — the clock
  re-measured: an offset that moved means the timestamp was the cause (a clock remedy); else the
  signer is refreshed (one that can); either way the request is signed anew and resent.
* ``nonce``: Kraken ``EAPI:Invalid nonce`` → resent with a fresh nonce (the signer's nonces only grow).
* ``relogin``: Tradefence 1001 "invalid credentials" → the signer's token refreshed, then resent.

Anything else — Tradefence 1003 "market closed" included (``MarketClosed``) — reaches the caller as
its typed error: resending would not change the answer. Each remedy is applied at most once per
request; a second refusal is the caller's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from tickwire.audit import AuditLog, NullAudit
from tickwire.auth import now_ms
from tickwire.clock import SERVER_TIME, ClockSync, sample_server_time
from tickwire.errors import AuthError
from tickwire.trading.venue import Call

log = logging.getLogger("tickwire.trading")

Remedy = Literal["clock", "signature", "nonce", "relogin"]

_BINANCE: dict[str, Remedy] = {"-1021": "clock", "-1022": "signature"}
REMEDIES: dict[str, dict[str, Remedy]] = {
    "binance": _BINANCE,
    "binance-usdm": _BINANCE,
    "okx": {"50102": "clock", "60006": "clock"},
    "bybit": {"10002": "clock"},
    "kraken": {"EAPI:Invalid nonce": "nonce"},
    # Their refusal of a stale timestamp is their bad-signature answer (Coinbase: a JWT before its
    # ``nbf``; HTX: "Signature not valid: Timestamp expired"): a signature remedy, as Binance -1022.
    "coinbase": {"UNAUTHENTICATED": "signature"},
    "htx": {"api-signature-not-valid": "signature"},
    "tradefence": {"1001": "relogin"},
}


def remedy_for(venue: str, error: BaseException) -> Remedy | None:
    """The remedy ``venue``'s refusal ``error`` has, by its code; None: no remedy."""
    table = REMEDIES.get(venue)
    code = getattr(error, "code", None)
    if code is None or not table:
        return None
    text = str(code).strip()
    # Kraken codes may carry detail after a further colon ("EAPI:Invalid nonce:…").
    return table.get(text) or table.get(":".join(text.split(":")[:2]))


def refused_for_good(venue: str, error: BaseException) -> bool:
    """Whether ``error`` is the venue refusing the credentials themselves (a wrong key, secret or
    passphrase: ``AuthError``) rather than something a retry may cure (a stale timestamp, a nonce
    reused: the refusals with a remedy)."""
    return isinstance(error, AuthError) and remedy_for(venue, error) is None


# Venues whose signatures carry no timestamp the venue checks against its clock: Kraken's nonce
# only has to grow, Tradefence sends a bearer token. Their signers keep the local clock.
_NO_WINDOW = frozenset({"kraken", "tradefence"})
# A re-measured offset that moved by more than this was the cause of a signature refusal (Binance
# signs the timestamp; its default recvWindow is 5000 ms).
CLOCK_MOVED_MS = 1000.0
START_ROUNDS = 1  # one reading at start: its error is half a round trip, far inside any window
RESYNC_ROUNDS = 3


class VenueClock:
    """The venue's clock for signing: local time plus the offset measured against the venue's
    server-time endpoint (:mod:`tickwire.clock`). ``now_ms`` is what the signers call."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        # Kept for the venues without a window too: searches by the venue's time read its clock.
        self.server_time = SERVER_TIME.get(venue)
        self.signs = venue not in _NO_WINDOW  # its signed requests carry a time it checks
        self.sync = ClockSync(keep=4, window=16)
        if self.server_time is not None:
            self.sync.tolerance_ms = max(self.sync.tolerance_ms, self.server_time.resolution_ms)
        self.measured_at: float | None = None  # monotonic s of the last measurement

    @property
    def available(self) -> bool:
        """Whether the signers sign with this clock (and a refusal for timestamp re-measures it)."""
        return self.server_time is not None and self.signs

    @property
    def offset_ms(self) -> float:
        return self.sync.offset_ms

    @property
    def error_ms(self) -> float:
        """How far the offset may be from the truth: its readings' error and half the venue clock's
        granularity."""
        st = self.server_time
        return self.sync.error_ms + (st.resolution_ms / 2 if st is not None and self.sync.samples else 0.0)

    def now_ms(self) -> int:
        return self.sync.now_ms()

    def install(self, signer: Any) -> bool:
        """Makes ``signer`` sign with this clock, unless it was given a clock of its own (``clock=``):
        True when it now does."""
        current = getattr(signer, "clock", None)
        # The signer's default clock, or the venue clock of an earlier session it served.
        ours = current is now_ms or isinstance(getattr(current, "__self__", None), VenueClock)
        if not self.available or not ours:
            return False
        signer.clock = self.now_ms
        return True

    async def measure(
        self, http: Any, rounds: int, before: Callable[[], Awaitable[Callable[[], None] | None]]
    ) -> float:
        """A fresh offset from ``rounds`` readings (older ones dropped: the venue's clock, or ours,
        may have stepped; the last offset in use until then); ``before`` runs ahead of each reading
        (the rate-limit budget) and returns the reading's gate (its resend charged again), or None."""
        st = self.server_time
        assert st is not None

        async def fetch() -> float:
            gate = await before()
            return await sample_server_time(
                http, st.path, st.parse, resolution_ms=st.resolution_ms, gate=gate
            )

        offset = await self.sync.resync(fetch, rounds)
        self.measured_at = time.monotonic()
        return offset


class Remedies:
    """Which refusals a venue's requests get a remedy for, and the counts ``health()`` reports."""

    def __init__(self, venue: str, clock: VenueClock, audit: AuditLog | NullAudit) -> None:
        self.venue = venue
        self.clock = clock
        self.audit = audit
        self.table = REMEDIES.get(venue, {})
        self.clock_resyncs = 0  # measurements of the venue clock a refusal asked for
        self.clock_retries = 0  # requests resent after a clock remedy (refused together: one resync)
        self.relogins = 0
        self.nonce_retries = 0

    def remedy_for(self, error: BaseException) -> Remedy | None:
        return remedy_for(self.venue, error)

    async def apply(
        self,
        remedy: Remedy,
        error: BaseException,
        call: Call,
        signer: Any,
        resync: Callable[[int], Awaitable[float]],
    ) -> bool:
        """Fixes the cause of ``error``; True when the request should be sent once more.
        ``resync(rounds)`` re-measures the venue clock and returns the new offset."""
        code = getattr(error, "code", None)
        if remedy in ("clock", "signature") and self.clock.available:
            before = self.clock.offset_ms
            after = await resync(RESYNC_ROUNDS)
            self._count("clock", code, call, offset_ms=round(after, 3), moved_ms=round(after - before, 3))
            if remedy == "clock" or abs(after - before) > CLOCK_MOVED_MS:
                return True
            remedy = "relogin"  # a signature refused while the clock is fine: the credentials
        elif remedy == "clock":
            return False  # no server time to measure against: nothing would change
        elif remedy == "signature":
            remedy = "relogin"
        if remedy == "relogin":
            refresh = getattr(signer, "refresh", None)
            if refresh is not None:
                await refresh()
            self._count("relogin", code, call)
            return True
        self._count("nonce", code, call)
        return True

    def _count(self, remedy: str, code: object, call: Call, **fields: Any) -> None:
        if remedy == "clock":
            self.clock_retries += 1
        elif remedy == "relogin":
            self.relogins += 1
        else:
            self.nonce_retries += 1
        log.warning(
            "%s: %s refused with %s; remedy: %s, sending once more", self.venue, call.path, code, remedy
        )
        self.audit.event(
            "remedy", venue=self.venue, remedy=remedy, code=code, method=call.method, path=call.path,
            params=dict(call.params), body=call.body, **fields,
        )  # fmt: skip
