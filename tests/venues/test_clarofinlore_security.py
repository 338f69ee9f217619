"""Clarofinlore's ``SecurityWatch`` under a key tried for hours: what it keeps of the failed log-ins it
read (``_failures``, ``_seen``) and of the alerts it raised stays bounded — one failed log-in every few
seconds for a week is ~100,000 of them, and each poll walked every one kept, twice over."""

from __future__ import annotations

import asyncio

from tickwire.venues.clarofinlore import security
from tickwire.venues.clarofinlore.security import SecurityWatch


def _attack(every_ms: int, polls: int, poll_ms: int) -> tuple[SecurityWatch, list[int]]:
    """A failed log-in every ``every_ms`` (venue time), read every ``poll_ms`` for ``polls`` polls; the
    log answers with the entries since ``since_ms`` (inclusive, as the simulator's does). Returns the
    watch and the greatest number of failures it kept after any poll."""
    log: list[dict[str, object]] = []
    now = [0]

    async def logs(since_ms: int | None) -> list[dict[str, object]]:
        return [e for e in log if since_ms is None or int(e["ts"]) >= since_ms]  # type: ignore[call-overload]

    watch = SecurityWatch(logs, lambda kind, value: None)
    sizes: list[int] = []

    async def run() -> None:
        t = 0
        for _ in range(polls):
            now[0] += poll_ms
            while t + every_ms <= now[0]:
                t += every_ms
                log.append(
                    {"ts": t, "event": "login_failed", "code": 401, "ip": "203.0.113.9", "path": "/auth"}
                )
                log.append(
                    {"ts": t, "event": "request_denied", "code": 403, "ip": "203.0.113.9", "path": "/x"}
                )
            await watch.poll()
            sizes.append(max(len(watch._failures), len(watch._seen)))

    asyncio.run(run())
    return watch, sizes


def test_failed_log_ins_kept_stay_within_a_minute_of_the_newest() -> None:
    # Half an hour of one failed log-in every 5 s (12 a minute: an alert a quiet minute apart), read
    # every 10 s: 360 failures, at most one minute's (and one poll's) worth of them needed.
    _, sizes = _attack(every_ms=5_000, polls=180, poll_ms=10_000)
    assert max(sizes) <= 20, f"kept {max(sizes)} failed log-ins (of 360 read)"


def test_alerts_are_still_one_per_quiet_minute_apart() -> None:
    # What the pruning must not change: 12 failures a minute, polled every 10 s, alert at the 4th
    # failure, read at 20 s), then again only once a minute has passed since (read at 85 s), ...
    watch, _ = _attack(every_ms=5_000, polls=30, poll_ms=10_000)
    assert [a.at_ms for a in watch.alerts] == [20_000, 85_000, 150_000, 215_000, 280_000]
    assert [a.failures for a in watch.alerts] == [4, 12, 12, 12, 12]


def test_alerts_kept_are_the_newest_few(monkeypatch) -> None:
    # Each alert went on ``events()`` as it fired; the list keeps the newest (one a minute for as long
    # as the key is tried, each with its minute's failures).
    monkeypatch.setattr(security, "MAX_ALERTS", 5, raising=False)
    watch, _ = _attack(every_ms=5_000, polls=60, poll_ms=10_000)
    assert [a.at_ms for a in watch.alerts] == [280_000, 345_000, 410_000, 475_000, 540_000], (
        f"{len(watch.alerts)} alerts kept (cap 5)"
    )


def test_an_alert_each_poll_still_leaves_the_kept_failures_bounded() -> None:
    # Read once a minute while the key is tried every 0.7 s: every poll raises an alert (returning at
    # the first window over the limit); what it kept must still not grow with every poll.
    watch, sizes = _attack(every_ms=700, polls=12, poll_ms=60_000)
    assert len(watch.alerts) == 12
    assert max(sizes) <= 3 * 86, f"kept {max(sizes)} failed log-ins (of {len(sizes) * 86} read)"
