"""Rebuilding books that lost sync, one symbol at a time, while the others keep serving.

How depends on the venue (``Adapter.resync``): a REST snapshot the feed aligns with the diffs it
buffered (Binance), a snapshot request on the same socket (HTX ``req``), or unsubscribing and
subscribing the one symbol so the venue sends a fresh snapshot (OKX, Kraken, Bybit, Coinbase, the
seed venues). Where the venue may send no snapshot (``Adapter.rest_fallback``: OKX), a book whose
first message after subscribing was a diff asks for a REST snapshot instead (the feed says so: its
need is a snapshot), on each attempt. At most one resync per symbol runs at a time, retried with a
growing pause (50 ms to 2 s) for as long as the book is wanted — never given up. A REST
snapshot refused for the request rate (429/418) stops every book's snapshot fetches for its
Retry-After (1 s when it names none): the resyncs of many books after a reconnect must not turn a
429 into Binance's IP ban. Where the adapter names the venue's per-address limits (``rest_limits``),
each snapshot first waits for room in them — counted with every request of the process to that
address, a trading session's included — and a refusal blocks them for every session. Snapshots that
keep failing otherwise at the streaming endpoint (3 in a row), or keep coming back older than the
diffs buffered since, are asked of the next endpoint, where update ids are venue-wide (Binance).
A REST host that fails (5xx, a time-out, the connection) is asked by one book at a time until it
answers (``HostGate``): the resyncs of many books must not each retry it through an outage, spending
the address's request weight on answers that never come and leaving none for the snapshots once it
is back.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from tickwire.errors import RateLimitError, TickwireError, TransportError, VenueError
from tickwire.limits.budget import resend_gate
from tickwire.session.ports import LOST_SYNC

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tickwire._core import BookFeed
    from tickwire.capture import CaptureWriter
    from tickwire.limits import RateBudget
    from tickwire.session.adapter import Adapter
    from tickwire.session.ports import ResyncOwner, Summary
    from tickwire.streams import Sub

log = logging.getLogger("tickwire.session")

RATE_PAUSE_S = 1.0  # a 429/418 without Retry-After: nothing to that host for this long
BEHIND_PAUSE_S = 0.5  # the least wait before asking again for a snapshot that came back too old
MAX_PAUSE_S = 2.0  # the longest pause between two attempts (from 50 ms, doubling)
ATTEMPTS_REPORTED = 8  # a resync still failing after this many is reported (``out_of_sync`` status)
# A book synced before a reconnect that no message has vouched for this long after the line came
# back is asked for a snapshot (``Resyncer.prove_continuity``); a live symbol's next diff comes first.
CONTINUITY_AFTER_S = 1.0
# Snapshots failing this many times in a row at one endpoint are asked of the next (venues whose
# update ids are the same at every endpoint, so any endpoint's snapshot aligns with the stream).
REST_SWITCH_AFTER = 3


def _observe(budget: RateBudget, adapter: Adapter, sent: float, headers: Mapping[str, str]) -> None:
    """What a snapshot's answer says the address used, noted in its budget as of when the snapshot
    went out (``sent``, on the budget's clock): what the process took since is not in the venue's
    count yet, and an answer to a request newer than the snapshot may have reported more."""
    budget.observe(adapter.read_usage(headers), max(0.0, budget.clock() - sent))


def host_failed(e: BaseException) -> bool:
    """Whether a snapshot's error says its REST host is failing (a 5xx, a time-out, the connection)
    rather than something of the book's own (a 4xx naming its symbol) or the request rate."""
    if isinstance(e, RateLimitError):
        return False
    if isinstance(e, VenueError):
        return (getattr(e, "status", None) or 0) >= 500
    return isinstance(e, (TransportError, OSError))


class HostDown(TransportError):
    """The REST host failed the snapshot another book asked it for (``HostGate``) while this one
    waited: counted as this book's own failure there, nothing sent."""


class HostGate:
    """One REST host's snapshots while it fails: once one failed for the host (``host_failed``), one
    book at a time asks — its probe — after a pause doubling from 50 ms to ``MAX_PAUSE_S``, the
    others waiting for its answer; the first success lets every book ask again at once. Before, each
    book retried on its own through an outage (100 books: ~50 requests a second answered 503 for as
    long as it lasted, each taking its weight from the address's budget, so the snapshots that could
    sync the books once it was back waited for the venue's minute to slide)."""

    def __init__(self) -> None:
        self.pause = 0.0  # 0: the host answers; else the pause before its next probe
        self.until = 0.0  # monotonic: no probe before then
        self.probing = False
        self.failures = 0  # how many times it failed (a probe's waiters tell theirs from a release)
        self._done = asyncio.Event()  # set when the probe out now ends (replaced for each)

    async def turn(self) -> bool:
        """Waits until this book may ask the host; True when it goes as the failing host's probe
        (then say how it went: ``answered``, ``failed`` or ``release``). :class:`HostDown` when the
        probe it waited for failed."""
        while self.pause:
            if self.probing:
                done, failures = self._done, self.failures
                await done.wait()
                if self.failures > failures:
                    raise HostDown("the REST host failed another book's snapshot meanwhile")
                continue  # answered (the loop ends) or released unasked (another probe goes)
            wait = self.until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self.probing = True
            self._done = asyncio.Event()
            return True
        return False

    def answered(self, probe: bool) -> None:
        """The host answered (whatever the answer said of the book)."""
        self.pause = 0.0
        self.release(probe)

    def failed(self, probe: bool) -> None:
        """The host failed a snapshot (``host_failed``)."""
        # A probe's failure, or the first of those sent before the host was known failing (the others
        # of that wave tell nothing more: the pause doubles once per probe, not once per book).
        if probe or not self.pause:
            self.failures += 1
            self.pause = min(max(self.pause * 2, 0.05), MAX_PAUSE_S)
            self.until = time.monotonic() + self.pause
        self.release(probe)

    def release(self, probe: bool) -> None:
        """The probe ends (told, or without asking: the budget's refusal, a cancel)."""
        if probe:
            self.probing = False
            self._done.set()


class Resyncer:
    def __init__(
        self,
        owner: ResyncOwner,
        adapter: Adapter,
        feed: BookFeed,
        apply_snapshot: Callable[[str, bytes], Summary],
    ) -> None:
        self.owner = owner
        self.adapter = adapter
        self.feed = feed
        # The frame route's ``on_snapshot``: the book it resyncs is called back like a frame's.
        self.apply_snapshot = apply_snapshot
        self.tasks: dict[str, asyncio.Task[None]] = {}
        # Books under resync that lost sync again since their resync's latest attempt began (``lost``).
        self.lost_again: set[str] = set()
        # Recording: REST snapshots go to the capture just before the feed applies them.
        self.capture: CaptureWriter | None = None
        self.rest_blocked_until = 0.0  # monotonic: the venue's rate refusal, for every book's fetch
        self.gates: dict[str, HostGate] = {}  # by REST base URL: a failing host asked by one book at a time
        self.method: dict[str, str] = {}  # how the running attempt of each book's resync goes

    def request(self, key: str, why: str) -> None:
        owner = self.owner
        if key in self.tasks or owner.closing:
            return
        owner.count("resyncs")
        # Frames an A/B line held for this book belong to the history the resync replaces.
        self.feed.clear_held(key)
        owner.status("resync", symbol=key, detail=why)
        owner.record("resync", symbol=key, reason=why)
        task = asyncio.get_running_loop().create_task(self._run(key))
        self.tasks[key] = task
        task.add_done_callback(functools.partial(self._done, key))

    def snapshot_wanted(self, key: str) -> None:
        """``key`` keeps its diffs for a REST snapshot on a venue that may push none
        (``Adapter.rest_fallback``): its stream sent no snapshot. A resync resubscribing it stops
        waiting for one and asks REST at its next attempt; without a resync, one starts."""
        if key in self.tasks:
            if self.method.get(key) == "resubscribe":
                self.lost_again.add(key)
            return
        self.request(key, "no snapshot in the stream")

    def how(self, key: str) -> str:
        """How the next attempt rebuilds ``key``: the adapter's ``resync``, but a REST snapshot for a
        book that waits for one where the venue may push none (``rest_fallback``)."""
        a = self.adapter
        if a.resync == "resubscribe" and a.rest_fallback and dict(self.feed.needs()).get(key) == "snapshot":
            return "snapshot"
        return a.resync

    def lost_sync(self, key: str, why: str) -> None:
        """``key`` lost sync (a gap, a bad checksum, a crossed book): counted, reported, resynced."""
        self.owner.count("gaps")
        self.owner.status("out_of_sync", symbol=key, detail=why)
        self.lost(key, why)

    def invalidate(self, keys: Iterable[str], why: str) -> None:
        """Each of ``keys`` no longer trusted (a refused frame, the core failing on one): marked out
        of sync and resynced."""
        for key in sorted(keys):
            with self.owner.books_held():
                gone = self.feed.invalidate(key)
            if gone:
                self.lost_sync(key, why)

    def lost(self, key: str, why: str) -> None:
        """``key`` lost sync (a gap, a bad checksum, a refused frame): resynced. A resync already under
        way may have seen its snapshot sync the book and the loss follow before it looked (one socket
        read can bring both): it asks again now instead of waiting ``resync_timeout`` for a sync that
        came and went."""
        if key in self.tasks:
            self.lost_again.add(key)
        self.request(key, why)

    async def prove_continuity(
        self, keys: Callable[[], Iterable[str]], confirmed: Callable[[str], bool]
    ) -> None:
        """After every line was down, a synced book waits for a message on the new connection to show
        nothing was missed, and a quiet symbol may send none for minutes. Books still unproven
        ``CONTINUITY_AFTER_S`` later take a snapshot: one at the book's own id proves it (the feed
        answers ``duplicate`` and confirms the book), a newer one replaces it, an older one changes
        nothing (the next diff decides, as before)."""
        await asyncio.sleep(CONTINUITY_AFTER_S)
        for key in keys():
            try:
                if self.feed.book(key).state == "synced" and not confirmed(key):
                    self.request(key, "continuity after reconnect")
            except KeyError:
                pass

    def drop(self, key: str) -> None:
        """No resync of ``key`` any more (its book was unsubscribed)."""
        task = self.tasks.pop(key, None)
        self.lost_again.discard(key)
        if task is not None:
            task.cancel()

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(key) is task:  # not a later one (a book dropped, then subscribed again)
            del self.tasks[key]
            self.lost_again.discard(key)
            self.method.pop(key, None)

    async def _run(self, key: str) -> None:
        owner, a = self.owner, self.adapter
        delay = 0.05
        rest_failures = 0  # not counting refusals for the request rate: those hold per IP
        # Never given up while the book is wanted (``drop`` and closing end it): a resync that gave
        # up left a book out of sync for good where nothing else asks again — a quiet symbol, or a
        # venue resynced by request (HTX) whose diffs start no new resync.
        for attempt in itertools.count():
            if attempt == ATTEMPTS_REPORTED:
                owner.status("out_of_sync", symbol=key, detail=f"resync failing after {attempt} attempts; "
                             f"trying again every {MAX_PAUSE_S:g} s")  # fmt: skip
            if owner.closing:
                return
            behind = False
            self.lost_again.discard(key)  # a loss from before this attempt is what it repairs
            gate: HostGate | None = None
            probe = False
            how = self.method[key] = self.how(key)
            try:
                if how == "snapshot":
                    blocked = self.rest_blocked_until - time.monotonic()
                    if blocked > 0:
                        await asyncio.sleep(blocked)
                        if owner.closing:
                            return
                    turn = rest_failures // REST_SWITCH_AFTER if a.redundant_ok else 0
                    http = owner.rest(turn)
                    gate = self.gates.setdefault(http.base_url, HostGate())
                    probe = await gate.turn()
                    if owner.closing:
                        gate.release(probe)
                        return
                    # Counted with every other request from the address (a trading session's too):
                    # it waits for room in the venue's limit, and what the venue says used is read.
                    budget = owner.rest_budget(turn)
                    if budget is None:
                        body = await a.fetch_snapshot(http, key)
                    else:
                        cost = a.snapshot_cost(key)
                        await budget.acquire(cost, "query")
                        try:
                            usage = functools.partial(_observe, budget, a, budget.clock())
                            body = await a.fetch_snapshot(http, key, usage, resend_gate(budget, cost))
                        except RateLimitError as e:
                            if getattr(e, "status", None) is None:
                                raise  # the budget's own refusal of a resend: nothing the venue said
                            named = budget.limit_for_code(getattr(e, "code", None))
                            e.__dict__["retry_after"] = budget.refused(
                                named or None, getattr(e, "retry_after", None), cost
                            )
                            raise
                    gate.answered(probe)
                    gate = None
                    if self.capture is not None:
                        path, query = a.snapshot_target(key)
                        self.capture.http(f"{http.base_url}{path}?{urlencode(query)}", body)
                    with owner.books_held():
                        _, updates, _ = self.apply_snapshot(key, body)
                    # Older than the diffs buffered since (Binance: fetch another): waiting for a
                    # sync it cannot bring would only spend resync_timeout.
                    behind = any(o in LOST_SYNC for _, o in updates)
                    # Older than a book a reconnect left unproven (a replica behind it): it proves
                    # nothing, and the book, "synced" but unconfirmed, would end the resync at once —
                    # a quiet symbol then stayed unsynced until its next diff. Asked again instead.
                    if not behind and any(o == "stale" for _, o in updates):
                        behind = not self._proven(key)
                elif how == "request":
                    owner.send_first([a.snapshot_request(key)])
                else:
                    subs = self.subs_for_key(key)
                    owner.send_first(a.unsubscribe(subs) + a.subscribe(subs))
                if behind:
                    log.info("%s resync %s: the snapshot is older than the buffered diffs", a.venue, key)
                    # A replica that keeps lagging must not be asked every 50 ms (weight 50 a time
                    # on Binance): half a second at least before the next.
                    delay = max(delay, BEHIND_PAUSE_S)
                    # And it is a failure of its endpoint like an error answer: one stuck behind (a
                    # cache, a replica that stopped) is left for the next after REST_SWITCH_AFTER.
                    rest_failures += 1
                elif await self.until_synced(key, owner.resync_timeout):
                    owner.status("synced", symbol=key)
                    return
            except (TickwireError, OSError) as e:
                if gate is not None and not isinstance(e, HostDown):
                    if host_failed(e):
                        gate.failed(probe)
                    elif getattr(e, "status", None) is not None:  # the venue's own answer, a 4xx/429
                        gate.answered(probe)
                    else:  # the budget's own refusal: the host was not asked
                        gate.release(probe)
                    gate = None
                log.log(
                    logging.DEBUG if isinstance(e, HostDown) else logging.WARNING,
                    "%s resync %s attempt %d failed: %s", a.venue, key, attempt + 1, e,
                )  # fmt: skip
                if how == "snapshot" and not isinstance(e, RateLimitError):
                    rest_failures += 1
                if isinstance(e, RateLimitError):
                    pause = getattr(e, "retry_after", None) or RATE_PAUSE_S
                    self.rest_blocked_until = max(self.rest_blocked_until, time.monotonic() + pause)
            except BaseException:  # cancelled (the book dropped, the session closing): not judged
                if gate is not None:
                    gate.release(probe)
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_PAUSE_S)

    def _proven(self, key: str) -> bool:
        try:
            return bool(self.feed.book(key).is_synced)
        except KeyError:
            return False

    async def until_synced(self, key: str, timeout: float) -> bool:
        # In sync as ``md.is_synced`` reads it, not the book's state alone: a snapshot that landed
        # while every line was down syncs the state, but no stream continues it yet — the "synced"
        # event then contradicted ``md.is_synced``. The next message on a line back proves it.
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._proven(key):
                return True
            if key in self.lost_again:
                return False
            await asyncio.sleep(0.005)
        return False

    def subs_for_key(self, key: str) -> list[Sub]:
        a = self.adapter
        return [s for s in self.owner.live_subs() if s.channel == "book" and a.book_key(s.symbol) == key]
