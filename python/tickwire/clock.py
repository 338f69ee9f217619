"""Venue clock sync: NTP-style offset from a venue's server-time endpoint.

Each sample brackets one server reading between a local send and receive time. The venue read its
clock somewhere inside that interval, so the midpoint estimate errs by at most half the round trip,
and by less the more symmetric the two legs were. Network delay only ever adds, which is why the
lowest-RTT samples are the trustworthy ones (NTP's clock filter): averaging every sample instead
carries any asymmetry of the slow ones straight into the offset.

``ClockSync.now_ms`` plugs into a signer's ``clock=`` so that signed timestamps land inside the
venue's receive window even when the local clock is off.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from tickwire import _core

if TYPE_CHECKING:
    from tickwire.transport.http import HttpClient

log = logging.getLogger("tickwire.clock")

# A drift estimate needs samples spread over enough time: over a few seconds, 1 ms of reading noise
# is hundreds of ppm, and extrapolating that would move the clock more than it corrects.
MIN_DRIFT_SPAN_S = 60.0
# Loopback RTTs are tens of µs; below this, weights would reward timer noise.
MIN_RTT_NS = 20_000
# Real oscillators drift by tens of ppm; a larger slope is noise or a stepped clock, not drift.
MAX_DRIFT_PPM = 500.0
# How fast two honest clocks may plausibly drift apart, for telling drift from a step.
STEP_DRIFT_PPM = 100.0


def wall_minus_monotonic_ns() -> int:
    """``time.time_ns() - time.monotonic_ns()`` now, the wall reading bracketed by two monotonic
    ones (the tightest of a few), so that processes on one host map a monotonic stamp onto the wall
    clock and back alike. Reading the two clocks one after the other instead errs by whatever
    preemption falls between the reads — milliseconds on a loaded machine. Slewing moves both
    clocks together; only a step of the wall clock changes the result."""
    best = (1 << 62, 0)
    for _ in range(9):
        a = time.monotonic_ns()
        w = time.time_ns()
        b = time.monotonic_ns()
        best = min(best, (b - a, w - (a + b) // 2))
    return best[1]


class Stamp(NamedTuple):
    """A moment as ``ClockSync.stamp`` took it: our clock (Unix ms) and the venue's offset then."""

    local_ms: int
    offset_ms: float

    @property
    def venue_ms(self) -> float:
        """On the venue's clock as known then."""
        return self.local_ms + self.offset_ms


class _Sample(NamedTuple):
    t_ns: int  # local midpoint
    offset_ms: float
    rtt_ns: int


class ClockSync:
    """Tracks ``venue time - local time`` from server-time samples.

    The last ``window`` samples are held; estimates use the ``keep`` of them with the lowest RTT.
    Two samples in a row that disagree with the estimate by more than their own error bound (half
    their RTT plus ``tolerance_ms``) mean one of the clocks stepped: older samples are dropped.
    """

    def __init__(
        self,
        *,
        keep: int = 8,
        clock_ns: Callable[[], int] = time.time_ns,
        window: int = 64,
        tolerance_ms: float = 2.0,
    ) -> None:
        if keep < 1 or window < keep:
            raise ValueError("need keep >= 1 and window >= keep")
        self.keep = keep
        self.clock_ns = clock_ns
        self.tolerance_ms = tolerance_ms
        self._window: deque[_Sample] = deque(maxlen=window)
        self._suspect: list[_Sample] = []
        # Cached estimate: offset at reference local time t_ref, slope in ms per ns.
        self._offset = 0.0
        self._t_ref = 0
        self._t_mean = 0  # weighted mean local time of the samples the estimate rests on
        self._slope = 0.0
        self._rtt_ns: int | None = None
        self._err_ms = 0.0
        self._drift: float | None = None
        # The estimate for Rust (an order template stamps its requests with it without a Python call).
        self.linear = _core.VenueTime()

    # samples ---------------------------------------------------------------------------------------

    def add_sample(self, t_send_ns: int, server_ms: float, t_recv_ns: int) -> None:
        if t_recv_ns < t_send_ns:
            raise ValueError("t_recv_ns before t_send_ns")
        rtt = t_recv_ns - t_send_ns
        mid = t_send_ns + rtt // 2
        s = _Sample(mid, server_ms - mid / 1e6, rtt)
        # The estimate may have drifted since the samples it rests on: allow for a plausible drift.
        slack = STEP_DRIFT_PPM * 1e-12 * abs(mid - self._t_mean)
        if self._window and not self._agrees(s, self._offset_at(mid), self._rtt_ns or 0, slack):
            suspect = self._suspect
            if suspect and not self._agrees(s, suspect[-1].offset_ms, suspect[-1].rtt_ns, slack):
                suspect.clear()  # two unrelated outliers are not a step
            suspect.append(s)
            if len(suspect) < 2:
                return
            log.info(
                "clock step: offset moved %.1f ms; dropping %d older samples",
                s.offset_ms - self._offset_at(mid),
                len(self._window),
            )
            self._window.clear()
            self._window.extend(self._suspect)
        else:
            self._window.append(s)
        self._suspect.clear()
        self._estimate()

    def _agrees(self, s: _Sample, offset_ms: float, rtt_ns: int, slack_ms: float) -> bool:
        # Each reading is within half its RTT of the truth (plus the venue clock's granularity).
        return abs(s.offset_ms - offset_ms) <= (s.rtt_ns + rtt_ns) / 2e6 + self.tolerance_ms + slack_ms

    def reset(self) -> None:
        self._window.clear()
        self._suspect.clear()
        self._estimate()

    def _best(self) -> list[_Sample]:
        return sorted(self._window, key=lambda s: s.rtt_ns)[: self.keep]

    def _estimate(self) -> None:
        best = self._best()
        if not best:
            self._offset, self._t_ref, self._slope, self._rtt_ns, self._drift = 0.0, 0, 0.0, None, None
            self._err_ms = 0.0
            self.linear.set(0.0, 0.0, 0)
            return
        self._rtt_ns = best[0].rtt_ns
        # The estimate averages its readings, each within half its own round trip of the truth.
        self._err_ms = max(s.rtt_ns for s in best) / 2e6
        # Weighted by 1/RTT²: a reading errs by up to half its RTT, so when a few slow samples are
        # among the kept ones (a short sync) they barely count, while similar RTTs average the
        # venue clock's rounding away.
        base = best[0].t_ns
        pts = [(s.t_ns - base, s.offset_ms, 1.0 / max(s.rtt_ns, MIN_RTT_NS) ** 2) for s in best]
        w_sum = sum(w for _, _, w in pts)
        t_mean = sum(t * w for t, _, w in pts) / w_sum
        o_mean = sum(o * w for _, o, w in pts) / w_sum
        slope = 0.0
        drift = None
        span_ns = max(t for t, _, _ in pts) - min(t for t, _, _ in pts)
        if len(pts) >= 3 and span_ns >= MIN_DRIFT_SPAN_S * 1e9:
            sxx = sum(w * (t - t_mean) ** 2 for t, _, w in pts)
            sxy = sum(w * (t - t_mean) * (o - o_mean) for t, o, w in pts)
            slope = sxy / sxx  # ms per ns
            drift = slope * 1e12  # ms per ns -> ms per ms (x1e6) -> ppm (x1e6)
            if abs(drift) > MAX_DRIFT_PPM:
                slope, drift = 0.0, None
        # Reference: the newest sample time, so that offset_ms describes the venue's clock now-ish.
        t_ref = max(s.t_ns for s in self._window)
        self._t_ref = t_ref
        self._t_mean = base + int(t_mean)
        self._slope = slope
        self._offset = o_mean + slope * (t_ref - base - t_mean)
        self.linear.set(self._offset, slope, t_ref)
        self._drift = drift

    def _offset_at(self, t_ns: int) -> float:
        return self._offset + self._slope * (t_ns - self._t_ref)

    # estimates -------------------------------------------------------------------------------------

    @property
    def samples(self) -> int:
        return len(self._window)

    @property
    def offset_ms(self) -> float:
        """Venue time minus local time at the newest sample (0.0 before any sample)."""
        return self._offset

    @property
    def rtt_ms(self) -> float | None:
        """The lowest round trip among the samples held."""
        return None if self._rtt_ns is None else self._rtt_ns / 1e6

    @property
    def error_ms(self) -> float:
        """How far the offset may be from the truth (the venue clock's granularity aside): half the
        largest round trip among the readings it rests on (0.0 before any sample)."""
        return self._err_ms

    @property
    def drift_ppm(self) -> float | None:
        """How fast the offset grows (venue clock faster: positive), once samples span a minute."""
        return self._drift

    def offset_at_ms(self, t_ns: int) -> float:
        """The offset extrapolated to local time ``t_ns`` (drift included when known)."""
        return self._offset_at(t_ns)

    def now_ms(self) -> int:
        """The venue's clock as best known: local time corrected by the offset and drift."""
        t = self.clock_ns()
        return int(t / 1e6 + (self._offset + self._slope * (t - self._t_ref)))  # _offset_at, inlined

    def stamp(self) -> Stamp:
        """Now, for telling later when on the venue's clock it was (``venue_ms_at``)."""
        return Stamp(self.clock_ns() // 1_000_000, self._offset)

    def venue_ms_at(self, s: Stamp) -> int:
        """When ``s`` was taken, on the venue's clock, never later than it was: with the smaller of
        the offset then and now. Ours stepped back since (the offset measured again grew by the
        step) or the offset then was too large (not yet measured, a clock that was off): now's. Ours
        stepped forward, or the offset then was too small: then's — a bound a little early, not the
        step late (what starts a search for the venue's trades since then must not miss one)."""
        return int(s.local_ms + min(s.offset_ms, self._offset))

    async def sync(
        self,
        fetch: Callable[[], Awaitable[float]],
        rounds: int = 5,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> float:
        """Take ``rounds`` samples back to back; ``fetch`` returns the server's time in ms. ``before``
        runs ahead of each sample, outside its timing (a rate budget's wait is no round trip)."""
        clock = self.clock_ns
        for _ in range(rounds):
            if before is not None:
                await before()
            t0 = clock()
            server_ms = await fetch()
            self.add_sample(t0, server_ms, clock())
        return self._offset

    async def resync(self, fetch: Callable[[], Awaitable[float]], rounds: int = 5) -> float:
        """A fresh estimate from ``rounds`` new samples only (the clocks may have stepped), the one in
        use kept until they are all in: requests signed meanwhile — and a search by the venue's time —
        use the last offset, not none; a failed fetch leaves it as it was."""
        fresh = ClockSync(
            keep=self.keep, clock_ns=self.clock_ns, window=self._window.maxlen or self.keep,
            tolerance_ms=self.tolerance_ms,
        )  # fmt: skip
        await fresh.sync(fetch, rounds)
        self._window.clear()
        self._window.extend(fresh._window)
        self._suspect.clear()
        self._estimate()
        return self._offset


# Server-time endpoints ------------------------------------------------------------------------------


class ServerTime(NamedTuple):
    """Where a venue tells its time over REST, and how to read the answer."""

    path: str
    parse: Callable[[Any], float]  # decoded JSON body -> venue time in ms
    # The clock's granularity in ms: venues truncate, so the true time is on average half a unit
    # later than the reading.
    resolution_ms: float = 1.0


class _ServerTimes(Mapping[str, ServerTime]):
    """``venue -> ServerTime`` of every venue whose module declares one (``Adapter.server_time``)."""

    def _table(self) -> dict[str, ServerTime]:
        from tickwire.venues import adapters

        return {v: a.server_time for v, a in adapters().items() if a.server_time is not None}

    def __getitem__(self, venue: str) -> ServerTime:
        return self._table()[venue]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


SERVER_TIME: Mapping[str, ServerTime] = _ServerTimes()


async def sample_server_time(
    http: HttpClient,
    path: str,
    parse: Callable[[Any], float],
    *,
    resolution_ms: float = 1.0,
    gate: Callable[[], None] | None = None,
) -> float:
    """One server-time reading in ms (raises the venue's error on a non-2xx answer), shifted by half
    the clock's resolution. Use as ``sync.sync(lambda: sample_server_time(http, path, parse))``."""
    resp = await http.get(path, gate=gate) if gate is not None else await http.get(path)
    resp.raise_for_status()
    return parse(resp.json()) + resolution_ms / 2


async def sync_venue(
    clock: ClockSync,
    http: HttpClient,
    venue: str,
    rounds: int = 5,
    before: Callable[[], Awaitable[None]] | None = None,
    gate: Callable[[], Callable[[], None] | None] | None = None,
) -> float:
    """Sync ``clock`` against ``venue``'s server-time endpoint (its adapter's ``server_time``); the
    offset in ms. A coarse venue clock (Kraken: whole seconds) widens ``clock.tolerance_ms`` to its
    resolution, or its rounding would look like clock steps. ``before`` runs ahead of each reading
    (the address's rate budget); ``gate``, when given, makes each reading's ``HttpClient`` gate
    (a resend of it charged to the budget again)."""
    st = SERVER_TIME[venue]
    clock.tolerance_ms = max(clock.tolerance_ms, st.resolution_ms)

    def fetch() -> Awaitable[float]:
        g = gate() if gate is not None else None
        return sample_server_time(http, st.path, st.parse, resolution_ms=st.resolution_ms, gate=g)

    return await clock.sync(fetch, rounds, before)
