"""Venue clock sync: a synthetic clock with known offset, drift and asymmetric delays (the truth is
known exactly), and the simulator's skewed venue clocks over real loopback HTTP."""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickwire.clock import SERVER_TIME, ClockSync, sample_server_time, sync_venue, wall_minus_monotonic_ns
from tickwire.errors import VenueError
from tickwire.sim import Simulator
from tickwire.transport.http import HttpClient

S = 1_000_000_000  # ns


class Network:
    """A venue whose clock is ``offset_ms + drift_ppm * t`` ahead of ours, reached over a path whose
    outbound leg is slower and more variable than the return leg (queueing on the way out)."""

    def __init__(self, offset_ms: float, drift_ppm: float, seed: int) -> None:
        self.offset_ms = offset_ms
        self.drift_ppm = drift_ppm
        self.rng = random.Random(seed)
        self.t_ns = 1_700_000_000 * S

    def true_offset_ms(self, t_ns: int) -> float:
        return self.offset_ms + self.drift_ppm * 1e-6 * (t_ns - 1_700_000_000 * S) / 1e6

    def exchange(self) -> tuple[int, float, int]:
        """One round trip: (local send ns, venue reading ms, local receive ns)."""
        out_ns = int((0.1 + self.rng.expovariate(1 / 3.0)) * 1e6)  # mean ~3 ms out
        back_ns = int((0.1 + self.rng.expovariate(1 / 0.5)) * 1e6)  # mean ~0.5 ms back
        t_send = self.t_ns
        at_server = t_send + out_ns
        server_ms = at_server / 1e6 + self.true_offset_ms(at_server)
        return t_send, server_ms, at_server + back_ns


def test_min_rtt_filter_beats_the_mean() -> None:
    errors_filter, errors_mean = [], []
    for seed in range(20):
        net = Network(offset_ms=123.4, drift_ppm=0.0, seed=seed)
        clock = ClockSync(keep=4, window=32)
        offsets = []
        for _ in range(32):
            t0, server_ms, t1 = net.exchange()
            clock.add_sample(t0, server_ms, t1)
            offsets.append(server_ms - (t0 + t1) / 2e6)
            net.t_ns += S // 10
        assert clock.samples == 32
        errors_filter.append(abs(clock.offset_ms - 123.4))
        errors_mean.append(abs(statistics.fmean(offsets) - 123.4))
    # The mean carries the ~1.25 ms asymmetry; the lowest-RTT samples had little delay either way.
    assert statistics.median(errors_mean) > 0.8
    assert statistics.median(errors_filter) < 0.25
    assert max(errors_filter) < 0.5
    assert sum(f < m for f, m in zip(errors_filter, errors_mean, strict=True)) >= 19


def test_drift_tracked_and_extrapolated() -> None:
    local_ns = [0]
    net = Network(offset_ms=-37.0, drift_ppm=40.0, seed=3)
    clock = ClockSync(keep=8, window=64, clock_ns=lambda: local_ns[0])
    for _ in range(64):  # one sample every 5 s for 5 min 20 s: the offset moves 12.8 ms
        clock.add_sample(*net.exchange())
        net.t_ns += 5 * S
    assert clock.drift_ppm is not None and abs(clock.drift_ppm - 40.0) < 4.0
    last = net.t_ns - 5 * S
    assert abs(clock.offset_ms - net.true_offset_ms(last)) < 0.5
    # One minute after the last sample the venue's clock has moved on by 2.4 ms more than ours.
    local_ns[0] = last + 60 * S
    truth_ms = local_ns[0] / 1e6 + net.true_offset_ms(local_ns[0])
    assert abs(clock.offset_at_ms(local_ns[0]) - net.true_offset_ms(local_ns[0])) < 0.5
    assert truth_ms - 1.5 < clock.now_ms() <= truth_ms + 0.5  # whole ms, truncated like venues do
    # Without drift correction the same reading would be off by the 2.4 ms the venue gained.
    assert abs(local_ns[0] / 1e6 + net.true_offset_ms(last) - truth_ms) > 2.0


def test_no_drift_from_samples_close_in_time() -> None:
    clock = ClockSync()
    net = Network(offset_ms=5.0, drift_ppm=0.0, seed=1)
    for _ in range(10):
        clock.add_sample(*net.exchange())
        net.t_ns += S // 100
    assert clock.drift_ppm is None and abs(clock.offset_ms - 5.0) < 0.5
    assert clock.rtt_ms is not None and 0.2 <= clock.rtt_ms < 2.0


def test_step_replaces_old_samples_but_one_outlier_does_not() -> None:
    clock = ClockSync(keep=4)
    t = 10 * S
    rtt = S // 1000

    def add(offset_ms: float) -> None:
        # The venue reads its clock half-way through a 1 ms round trip.
        clock.add_sample(t, (t + rtt / 2) / 1e6 + offset_ms, t + rtt)

    for _ in range(8):
        add(100.0)
        t += S
    add(900.0)  # one wild reading (a bad backend)
    t += S
    assert clock.samples == 8 and abs(clock.offset_ms - 100.0) < 0.01
    add(100.0)
    t += S
    for _ in range(2):  # the venue's clock (or ours) stepped by 250 ms
        add(350.0)
        t += S
    assert clock.samples == 2 and abs(clock.offset_ms - 350.0) < 0.01
    with pytest.raises(ValueError):
        clock.add_sample(t, 0.0, t - 1)


def test_sync_uses_the_given_clock_and_fetch() -> None:
    local_ns = [50 * S]

    async def fetch() -> float:
        local_ns[0] += 2_000_000  # 2 ms out
        reading = local_ns[0] / 1e6 + 42.0
        local_ns[0] += 2_000_000  # 2 ms back
        return reading

    clock = ClockSync(clock_ns=lambda: local_ns[0])
    assert asyncio.run(clock.sync(fetch, rounds=3)) == pytest.approx(42.0)
    assert clock.samples == 3 and clock.rtt_ms == pytest.approx(4.0)
    assert clock.now_ms() == int(local_ns[0] / 1e6 + 42.0)


def test_a_resync_keeps_the_offset_in_use_until_its_samples_are_in_and_after_a_failure() -> None:
    """The venue's clock steps from +42 ms to -1500 ms. While a resync's readings are under way the
    estimate in use (what signs requests and dates the fills search) is still the last one, not 0;
    once they are in, only they count (before: the samples were dropped first, and for the whole
    measurement — or for good, when it failed — the offset read 0)."""
    local_ns = [50 * S]
    venue_offset = [42.0]
    seen: list[float] = []

    async def fetch() -> float:
        seen.append(clock.offset_ms)  # what a request signed during the measurement would use
        local_ns[0] += 2_000_000
        reading = local_ns[0] / 1e6 + venue_offset[0]
        local_ns[0] += 2_000_000
        return reading

    clock = ClockSync(clock_ns=lambda: local_ns[0])
    asyncio.run(clock.sync(fetch, rounds=3))
    venue_offset[0] = -1500.0
    seen.clear()
    assert asyncio.run(clock.resync(fetch, rounds=3)) == pytest.approx(-1500.0)
    assert seen == [pytest.approx(42.0)] * 3 and clock.samples == 3
    assert clock.offset_ms == pytest.approx(-1500.0)

    async def failing() -> float:
        raise VenueError("server time unavailable")

    with pytest.raises(VenueError):
        asyncio.run(clock.resync(failing, rounds=3))
    assert clock.offset_ms == pytest.approx(-1500.0)


# Against the simulator's venue clocks ----------------------------------------------------------


def test_offset_from_simulated_venue_skew() -> None:
    venues = sorted(SERVER_TIME)

    async def go() -> None:
        async with Simulator(venues, rate=0) as sim:
            for i, venue in enumerate(venues):
                ep = sim.endpoint(venue)
                skew = 250 + 10 * i
                ep.skew(skew)
                async with HttpClient(sim.urls()[venue][0]["rest"]) as http:
                    clock = ClockSync()
                    offset = await sync_venue(clock, http, venue, rounds=6)
                    # Kraken's clock reads whole seconds: no better than half a second.
                    tol = 501.0 if venue == "kraken" else 1.5
                    assert abs(offset - skew) < tol, (venue, offset)
                    if venue == "kraken":
                        continue
                    assert abs(clock.now_ms() - ep.now_ms()) <= 2, venue
                    ep.skew(-40)  # the venue's clock steps back: the estimate follows
                    await sync_venue(clock, http, venue, rounds=4)
                    assert abs(clock.offset_ms + 40) < 1.5, (venue, clock.offset_ms)

    asyncio.run(go())


def test_server_time_error_surfaces() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            sim.endpoint("binance").fail(1, status=503)
            async with HttpClient(sim.urls()["binance"][0]["rest"]) as http:
                path, parse, _ = SERVER_TIME["binance"]
                with pytest.raises(VenueError):
                    await sample_server_time(http, path, parse)
                assert abs(await sample_server_time(http, path, parse) - sim.endpoint("binance").now_ms()) < 5

    asyncio.run(go())


@given(
    offset_ms=st.floats(-5e3, 5e3),
    drift_ppm=st.floats(-400, 400),
    t_ns=st.integers(1_600_000_000_000_000_000, 1_900_000_000_000_000_000),
)
def test_the_estimate_rust_reads_gives_now_ms_to_the_millisecond(
    offset_ms: float, drift_ppm: float, t_ns: int
) -> None:
    """``ClockSync.linear`` (read by an order template in Rust) against ``now_ms``'s own arithmetic,
    on samples from a drifting venue clock: the same integer millisecond at every local time."""
    sync = ClockSync(keep=4, window=16)
    base = 1_700_000_000_000_000_000
    for k in range(6):  # samples a minute apart: the drift is estimated
        t = base + k * 60_000_000_000
        sync.add_sample(t - 500_000, t / 1e6 + offset_ms + drift_ppm * 1e-6 * (t - base) / 1e6, t + 500_000)
    clocked = ClockSync(keep=4, window=16, clock_ns=lambda: t_ns)
    clocked.__dict__.update({k: v for k, v in sync.__dict__.items() if k not in ("clock_ns", "linear")})
    assert sync.linear.at(t_ns) == clocked.now_ms()
    assert abs(sync.linear.now_ms() - sync.now_ms()) <= 1  # both read the wall clock, a moment apart


@pytest.mark.parametrize(
    ("offset_then", "offset_now", "step_ms", "early_ms"),
    [
        (250.0, 250.0, 0, 0),  # nothing changed
        (250.0, 5250.0, -5000, 0),  # ours stepped 5 s back, the offset measured again
        (250.0, -4750.0, 5000, 5000),  # ours stepped 5 s forward: the bound 5 s early
        (0.0, -2000.0, 0, 0),  # the offset at the stamp was not measured yet: ours 2 s ahead
        (0.0, 2000.0, 0, 2000),  # ours 2 s behind, not measured yet: the bound 2 s early
    ],
)
def test_a_stamp_is_read_on_the_venues_clock_never_later_than_it_was(
    offset_then: float, offset_now: float, step_ms: int, early_ms: int
) -> None:
    """The truth is the venue's reading at the stamp's moment: our clock then plus the true offset
    then, ``offset_now + step_ms`` (ours stepped by ``step_ms`` since, which the offset measured
    again takes in). Read back after the step and the re-measurement, the stamp is never later than
    the truth: exact where ours stepped back or its offset was too large, early by the step or the
    offset's shortfall otherwise (a search from it finds what it must, and a little more)."""
    local_then_ms = 1_700_000_000_000
    true_then = local_then_ms + offset_now + step_ms
    clock = ClockSync(keep=1, window=1, clock_ns=lambda: local_then_ms * 1_000_000)
    clock.add_sample(local_then_ms * 1_000_000, local_then_ms + offset_then, local_then_ms * 1_000_000)
    s = clock.stamp()
    assert s.local_ms == local_then_ms and s.offset_ms == pytest.approx(offset_then)
    later_ns = (local_then_ms + 60_000 + step_ms) * 1_000_000
    clock.clock_ns = lambda: later_ns
    for _ in range(2):  # two readings that agree: a step, not an outlier
        clock.add_sample(later_ns, later_ns / 1e6 + offset_now, later_ns)
    assert clock.offset_ms == pytest.approx(offset_now)
    got = clock.venue_ms_at(s)
    assert early_ms <= true_then - got <= early_ms + 1  # (+1: the millisecond it falls in)


def test_wall_minus_monotonic_maps_a_monotonic_reading_between_the_wall_readings_around_it() -> None:
    """The offset other processes' wall-clock stamps are moved with (gateway book stamps): a
    monotonic reading taken between two wall readings lands between them once moved."""
    for _ in range(20):
        off = wall_minus_monotonic_ns()
        w1 = time.time_ns()
        m = time.monotonic_ns()
        w2 = time.time_ns()
        # 20 µs of slack: the offset is exact to half its tightest bracket, not to the nanosecond.
        assert w1 - 20_000 <= m + off <= w2 + 20_000
