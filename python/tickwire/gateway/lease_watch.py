"""Whether a gateway still serves an account: while its NATS link is away, or while the store does
not take its lease's renewals (a partition that leaves it serving the clients on its side), another
gateway may take the account's lease over, and two gateways serving one account would be two rate
budgets, two kill switches and every request run twice. Requests wait unanswered from the link's
loss until the lease is re-checked, and from ``VALID_S`` after the last renewal the store took until
the next one; a lease found taken makes the gateway step down. And who answers for an account now
(``answering``), asked before a gateway takes it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
import orjson

from tickwire.bus import subjects
from tickwire.gateway.state import Lease
from tickwire.recovery.backoff import Backoff

log = logging.getLogger("tickwire.gateway")

# The longest pause between two tries of a lease re-check the store did not answer.
LEASE_RECHECK_MAX_S = 15.0
# How often the holder renews its lease, and how long after a renewal's request was sent (the store
# took it) the gateway serves on without another: well under ``state.STARTING_S``, the age at which
# another gateway may take the lease over — the margin is for the two hosts' clocks.
RENEW_S = 2.0
VALID_S = 10.0


class LeaseWatch:
    """One account's lease as its gateway's link comes and goes. ``step_down()``: what the gateway
    does once another holds the account (called once)."""

    def __init__(self, what: str, step_down: Callable[[], Awaitable[None]]) -> None:
        self.what = what
        self.lease: Lease | None = None  # this gateway's claim to the account, once taken
        # The NATS link was lost and the lease is not re-checked yet: requests are left unanswered.
        self.suspect = False
        self.stepped_down = False
        self._step_down = step_down
        self._recheck: asyncio.Task[None] | None = None  # the lease asked again (``link_back``)
        self._renewing: asyncio.Task[None] | None = None
        # When the request of the last renewal the store took (or of the take) was sent (monotonic).
        self.renewed = 0.0

    def link_lost(self) -> None:
        self.suspect = True

    @property
    def serving(self) -> bool:
        """Whether the gateway answers requests now: its link not lost since the lease was last
        checked, and the lease renewed within ``VALID_S``."""
        return not self.suspect and not self.stepped_down and time.monotonic() - self.renewed < VALID_S

    def took(self, lease: Lease, sent: float) -> None:
        """``lease`` was taken by a request sent at ``sent`` (monotonic): renewed every ``RENEW_S``
        from now on, the gateway stepping down when it is found taken."""
        self.lease, self.renewed = lease, sent
        self._renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        assert self.lease is not None
        failing = False
        while not self.stepped_down:
            await asyncio.sleep(RENEW_S)
            sent = time.monotonic()
            try:
                held = await self.lease.renew()
            except Exception as e:
                if not failing:  # once per outage, not every RENEW_S
                    log.warning("%s: lease not renewed (%s): serving stops %.0f s after the last renewal",
                                self.what, e, VALID_S)  # fmt: skip
                failing = True
                continue
            if held:
                if failing:
                    log.warning("%s: lease renewed again", self.what)
                failing = False
                self.renewed = sent
            else:
                await self._answered(False)

    async def link_back(self) -> None:
        """Serving again if the lease is still this gateway's, else stepping down. A store not
        answering yet (JetStream recovering) is asked again (full-jitter back-off from 0.25 s up to
        ``LEASE_RECHECK_MAX_S``) until it answers: requests wait unanswered meanwhile."""
        if self.lease is None or self.stepped_down or self._recheck is not None:
            return
        try:
            held = await self.lease.held()
        except Exception as e:
            log.warning("%s: lease not re-checked (%s): asked again", self.what, e)
            self._recheck = asyncio.get_running_loop().create_task(self._again())
            return
        await self._answered(held)

    async def _again(self) -> None:
        assert self.lease is not None
        backoff = Backoff(base=0.25, cap=LEASE_RECHECK_MAX_S, immediate_first=False)
        try:
            while not self.stepped_down:
                await asyncio.sleep(backoff.next_delay() or 0.0)
                try:
                    held = await self.lease.held()
                except Exception as e:
                    log.warning("%s: lease not re-checked (%s): asked again", self.what, e)
                    continue
                await self._answered(held)
                return
        finally:
            self._recheck = None

    async def _answered(self, held: bool) -> None:
        if held:
            self.suspect = False
            return
        self.stepped_down = True
        log.error("%s: another gateway took the account: stepping down", self.what)
        if self.lease is not None:
            self.lease.rev = None  # not ours to release
        await self._step_down()

    def stop(self) -> None:
        """The re-check stopped (the gateway closing). The renewals go on until ``stop_renewing``:
        a closing gateway still runs its session, and answers ``health`` and ``outcome``, until that
        session closed — its lease must not go stale meanwhile."""
        if self._recheck is not None:
            self._recheck.cancel()

    async def stop_renewing(self) -> None:
        """The renewals stopped, and ended (a renewal still running would race the release)."""
        task, self._renewing = self._renewing, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])


async def answering(nc: Any, venue: str, account: str) -> str | None:
    """The gateway that answers for the account now; None when none does. Two sessions on one account
    would be two rate budgets and two kill switches, and every request would run on both: a second
    gateway for an account does not start (see also ``Lease``)."""
    try:
        msg = await nc.request(subjects.orders(venue, account, "health"), b"{}", timeout=1.0)
    except nats.errors.NoRespondersError:
        return None
    except nats.errors.TimeoutError:
        return "(one that does not answer)"
    return str(orjson.loads(msg.data).get("result", {}).get("gateway"))
