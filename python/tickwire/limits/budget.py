"""A venue account's rate-limit budget, shared by every session of the process that uses the same key
or the same address, checked before anything is sent.

Each request has a cost: weight per named limit (``{"REQUEST_WEIGHT": 4}``, ``{"ORDERS_10S": 1, …}``).
``acquire`` waits until every limit has room (or raises :class:`RateLimitError` with ``retry_after`` at
once when the caller would rather not wait that long), then takes the weight. Lanes: new orders and
queries may use the limit minus a **reserve**; cancels and the kill switch may use all of it, so a bot
at its limit can always cancel. A venue's refusal (429/418, OKX 50011, Bybit 10006…) blocks that limit
for its Retry-After — nothing is sent to it before then, from any session of the process, in any lane.

The windows themselves, one per limit and scope for the whole process, and the lock they are counted
under, are in :mod:`tickwire.limits.shared`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Literal

from tickwire import _core
from tickwire.errors import RateLimitError
from tickwire.limits.shared import JITTER_S as JITTER_S  # importable from here, as before
from tickwire.limits.shared import _announced, _budgets, _carry, _lock, _reported, _unsure, _windows
from tickwire.limits.shared import shared_window as shared_window  # importable from here, as before
from tickwire.limits.window import Limit, Window
from tickwire.transport.unsent import unsent

Lane = Literal["order", "query", "cancel"]
# Share of each limit new orders and queries leave to cancels (at least one unit of weight).
RESERVE = 0.1

# Clock error allowed for when an aligned window of the venue's resets.
ALIGN_MARGIN_S = 0.5
# A request written this long after its weight was taken (a new connection's set-up, a stall of the
# process) is counted from its write (``RateBudget.restamp``): the venue counts it from its arrival.
LATE_S = JITTER_S / 2
# How often a wait for room runs its ``ready`` check again (the halt check of an order: a session
# closing, or a kill thrown, refuses the waiting order within this, not after the whole wait).
READY_RECHECK_S = 0.05
# The most used weight a window counts (an i64): a venue report past it is held to it.
_MOST_USED = 2**63 - 1


def rate_limited(venue: str, names: Iterable[str], retry_after: float) -> RateLimitError:
    """The budget's own refusal of a request (``status`` None: no venue's), marked ``unsent``: it
    comes before the request is written, so there is no refusal of the venue's to block the budget
    for — taken for one (a log-in's, a clock reading's), it blocked every lane, cancels too — and an
    order it stops is withdrawn, not rejected."""
    e = RateLimitError(f"{venue}: rate limit {', '.join(names)}: retry after {retry_after:.3f} s")
    e.__dict__.update(venue=venue, code=None, retry_after=retry_after, status=None)
    return unsent(e)


def resend_gate(budget: RateBudget, cost: Mapping[str, int], lane: Lane = "query") -> Callable[[], None]:
    """A ``gate`` for one request through ``HttpClient.request`` (run right before each write of it),
    whose ``cost`` the caller just took: the first write, if it comes more than ``LATE_S`` after the
    take (a new connection's set-up, a stall of the process), counts the cost from the write instead
    (``RateBudget.restamp``); from the second write on — the client's one resend of a GET after a
    kept-alive connection closed under it — the cost is taken again (a venue that processed the
    first counts both). No room for either: refused unsent (a :class:`RateLimitError` with no
    ``status``: the budget's own, no refusal of the venue's)."""
    # The take's own reading of the clock (``try_take``), not a second one: ``Window.restamp`` finds
    # the take in its record of recent takes by that time exactly (a venue's usage report is topped
    # up from that record), and moves the weight out of that time's slot.
    taken_at = budget.taken_at if budget.taken_at is not None else budget.clock()
    writes = 0

    def check() -> None:
        nonlocal writes
        writes += 1
        if writes > 1:
            wait = budget.try_take(cost, lane)
        else:
            wait = budget.restamp(cost, lane, taken_at) if budget.clock() - taken_at > LATE_S else 0.0
        if wait > 0:
            raise rate_limited(budget.venue, sorted({n.split(":", 1)[0] for n in cost}), wait)

    return check


def address_budget(
    venue: str, ip: str, documented: Iterable[Limit], current: RateBudget | None = None
) -> RateBudget:
    """A budget of ``venue``'s per-address limits at ``ip`` only — for requests no key signs (a
    market-data session's REST snapshots) but the venue counts with every other request from the
    address: the limits a session of the process was announced, else the ``documented`` ones.
    ``current``, one made before, is brought up to an announcement made since."""
    announced = _announced.get((venue, ip))
    if current is None:
        limits = announced or tuple(lim for lim in documented if lim.per == "ip")
        return RateBudget(venue, limits, ip=ip, account=f"*@{ip}", replace=announced is not None)
    if announced is not None and tuple(current.limits.values()) != announced:
        current.set_limits(announced, replace=True)
    return current


class RateBudget:
    """One session's limits. ``ip`` and ``account`` name the scopes the windows are shared by.
    ``max_wait_s``: the longest ``acquire`` waits before raising (0: never wait)."""

    def __init__(
        self,
        venue: str,
        limits: Iterable[Limit],
        *,
        ip: str,
        account: str,
        max_wait_s: float = math.inf,
        reserve: float = RESERVE,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        replace: bool = False,
    ) -> None:
        self.venue = venue
        self.ip, self.account = ip, account
        self.max_wait_s = max_wait_s
        self.reserve = reserve
        self.clock = clock
        self.wall = wall  # the venue's clock as far as we know it (aligned windows)
        self.limits: dict[str, Limit] = {}
        self.windows: dict[str, Window] = {}
        # Windows of keyed limits, by "<limit>:<key>" (made when a cost first names the key).
        self.keyed: dict[str, Window] = {}
        # The account's block when the venue refused for rate under a limit nobody declared.
        self._any = shared_window(venue, Limit("*", 1 << 62, 1.0, "account"), account)
        # Per (lane, cost): the windows it charges with weight and cap, worked out once — an order's
        # check is then a few comparisons (the order path runs it for every request).
        self._plans: dict[tuple[str, tuple[tuple[str, int], ...]], list[tuple[Window, int, int]]] = {}
        _budgets.add(self)
        self.waited_s = 0.0  # total time acquire spent waiting
        # When ``try_take`` last took (its clock reading): the ``then`` of a ``resend_gate`` made
        # right after the take (no await between), for ``restamp``.
        self.taken_at: float | None = None
        self.refusals = 0  # venue refusals (429/418 and equivalents) seen
        self.set_limits(limits, replace=replace)

    def set_limits(self, limits: Iterable[Limit], *, replace: bool = False, announce: bool = True) -> None:
        """Declares limits; with ``replace``, they are the only ones (what the venue announced
        supersedes the documented defaults). ``announce=False``: this budget's own limits declared
        anew (``rescope``), not the venue's word — the address's other budgets do not follow them."""
        limits = list(limits)
        self._plans.clear()
        by_ip: tuple[Limit, ...] = ()
        if replace and limits:
            by_ip = tuple(lim for lim in limits if lim.per == "ip") if announce else ()
            if by_ip:
                _announced[(self.venue, self.ip)] = by_ip
            self.limits.clear()
            self.windows.clear()
            self.keyed.clear()
        for lim in limits:
            self.limits[lim.name] = lim
            scope = self.ip if lim.per == "ip" else self.account
            self.windows[lim.name] = shared_window(
                self.venue, lim, scope, announced=replace, now=self.clock()
            )
        if by_ip:
            # Every other budget of the address counts on the announced windows from now: one left
            # on a documented window of another name (a market-data session made before the
            # announcement) neither counted in them nor was blocked by a refusal met on them — nor
            # did its own refusal block the others, and Binance bans an address that goes on.
            for b in list(_budgets):
                if b is not self and b.venue == self.venue and b.ip == self.ip:
                    b._follow(by_ip)

    def _follow(self, by_ip: tuple[Limit, ...]) -> None:
        """The per-address limits a venue announced to another session of the address, in place of
        this budget's own per-address ones; a block on a window dropped carries to the new ones."""
        now = self.clock()
        with _lock:
            mine = {n: lim for n, lim in self.limits.items() if lim.per == "ip"}
            if tuple(mine.values()) == by_ip:
                return
            dropped = [self.windows[n] for n in mine if n in self.windows]
            dropped += [w for n, w in self.keyed.items() if n.split(":", 1)[0] in mine]
            for n in mine:
                del self.limits[n]
                self.windows.pop(n, None)
            for n in [n for n in self.keyed if n.split(":", 1)[0] in mine]:
                del self.keyed[n]
            for lim in by_ip:
                self.limits[lim.name] = lim
                self.windows[lim.name] = shared_window(self.venue, lim, self.ip, announced=True, now=now)
            for w in dropped:
                blocked_until = w.state()[2]
                if blocked_until > now:
                    for lim in by_ip:
                        self.windows[lim.name].block(blocked_until - now, now)
            self._plans.clear()

    def swap(self, old: Window, new: Window) -> None:
        """``old``, a shared window made again as ``new``: counted on ``new`` from now (the plans
        made with ``old`` made again). Called under the budgets' lock."""
        changed = False
        for d in (self.windows, self.keyed):
            for n, w in d.items():
                if w is old:
                    d[n] = new
                    changed = True
        if changed:
            self._plans.clear()

    def _cap(self, w: Window, lane: Lane, name: str) -> int:
        if lane == "cancel":
            return w.limit
        return w.limit - max(1, math.ceil(w.limit * self.reserve), self.limits[name].reserve)

    def _charged(self, cost: Mapping[str, int]) -> list[tuple[str, Window, int]]:
        """The windows ``cost`` charges (by each limit's ``charged_by``; a keyed limit's by
        ``"<charged_by>:<key>"``), each with its limit's name and the weight."""
        out = []
        for n, w in self.windows.items():
            lim = self.limits[n]
            if not lim.keyed:
                weight = cost.get(lim.charged_by, 0)
                if weight:
                    out.append((n, w, weight))
                continue
            prefix = lim.charged_by + ":"
            for k, weight in cost.items():
                if weight and k.startswith(prefix):
                    out.append((n, self._key_window(lim, k[len(prefix) :]), weight))
        return out

    def load(self, cost: Mapping[str, int], every_s: float) -> list[tuple[str, float]]:
        """How much of each limit ``cost`` charges sending it every ``every_s`` seconds takes, kept up:
        its weight a second over the limit's (1.0: all of it), by limit name."""
        return [
            (n, weight / every_s / (self.limits[n].limit / self.limits[n].window_s))
            for n, _, weight in self._charged(cost)
        ]

    def _key_window(self, lim: Limit, key: str) -> Window:
        name = f"{lim.name}:{key}"
        w = self.keyed.get(name)
        if w is None:
            scope = self.ip if lim.per == "ip" else self.account
            w = self.keyed[name] = shared_window(self.venue, replace(lim, name=name, keyed=False), scope)
        return w

    def _plan(self, cost: Mapping[str, int], lane: Lane) -> list[tuple[Window, int, int]]:
        key = (lane, tuple(cost.items()))
        plan = self._plans.get(key)
        if plan is None:
            bad = {k: v for k, v in cost.items() if not isinstance(v, int) or v < 0}
            if bad:
                # A negative weight would hand back room the venue still counts (the order
                # templates' fast path takes a cached plan without asking again).
                raise ValueError(f"a cost's weights are ints >= 0, not {bad}")
            plan = [(w, weight, self._cap(w, lane, n)) for n, w, weight in self._charged(cost)]
            plan.append((self._any, 0, 1))
            if len(self._plans) < 4096:  # costs are few (one per kind of call and instrument)
                self._plans[key] = plan
        return plan

    def check(self, cost: Mapping[str, int], lane: Lane) -> float:
        """Seconds until ``cost`` fits in every limit it charges (0.0: now)."""
        now = self.clock()
        return max(w.wait(weight, cap, now) for w, weight, cap in self._plan(cost, lane))

    def taker(self, cost: Mapping[str, int], lane: Lane) -> _core.BudgetTaker:
        """``try_take(cost, lane)`` as one call for a cost taken over and over (an order template's, in
        Rust: ``OrderTemplate.fire`` runs it): its plan looked up by a key made once, each window's
        wait and count done in place under the lock, as ``try_take`` does them; only a plan not made
        yet or a lock another thread holds goes to ``try_take`` itself."""
        cost = dict(cost)
        key = (lane, tuple(cost.items()))
        return _core.BudgetTaker(self._plans, key, self.clock, self.try_take, cost, lane, _lock)

    def try_take(self, cost: Mapping[str, int], lane: Lane) -> float:
        """Takes ``cost`` if it fits now (0.0), else the seconds to wait and nothing taken."""
        with _lock:
            plan = self._plan(cost, lane)
            now = self.clock()
            wait = max(w.wait(weight, cap, now) for w, weight, cap in plan)
            if wait <= 0:
                for w, weight, _ in plan:
                    if weight:
                        w.take(weight, now)
                self.taken_at = now
            return wait

    def restamp(self, cost: Mapping[str, int], lane: Lane, then: float) -> float:
        """``cost``, taken at ``then``, counted from now instead: its request is written only now, and
        the venue counts it from its arrival. Where its take already left a window (a wait longer than
        the window) it is taken anew if it fits (0.0), else nothing changes and the seconds until it
        fits are returned — the request must not go."""
        with _lock:
            plan = self._plan(cost, lane)
            now = self.clock()
            wait = 0.0
            for w, weight, cap in plan:
                if weight and not w.counted(then, now):
                    wait = max(wait, w.wait(weight, cap, now))
            if wait <= 0:
                for w, weight, _ in plan:
                    if weight:
                        w.restamp(weight, then, now)
            return wait

    def rescope(self, account: str) -> None:
        """Moves the account-scoped limits to ``account`` (a rotated key) in place; the IP-scoped ones
        stay as they are. What the old scope counted and any block on it carry over: a venue counts
        orders per account, not per key, so the orders just placed with the old key still count (a
        fresh window would admit a whole limit more right after the rotation) — and the windows are
        the new scope's own from then on, the same ones, so a session still on the old key counts in
        them with this one. A limit the venue keeps per key (``per="key"``: Kraken's REST call
        counter) starts on the new key's own window."""
        old = {n: w for n, w in self.windows.items() if self.limits[n].per == "account"}
        old_keyed = {n: w for n, w in self.keyed.items() if self.limits[n.split(":", 1)[0]].per == "account"}
        old_any = self._any
        with _lock:
            # The account's windows are the new key's from now, the same windows (not copies): a
            # session still on the old key, or one started on the new key later, counts in them too,
            # as the venue counts the account (two windows would each admit the whole limit).
            for n, w in old.items():
                _windows.setdefault((self.venue, n, account), w)
            for n, w in old_keyed.items():
                _windows.setdefault((self.venue, n, account), w)
            _windows.setdefault((self.venue, "*", account), old_any)
        self.account = account
        self.set_limits(list(self.limits.values()), replace=True, announce=False)
        self._any = shared_window(self.venue, Limit("*", 1 << 62, 1.0, "account"), account)
        now = self.clock()
        with _lock:
            for n, w in old.items():
                _carry(w, self.windows[n], now)
            for n, w in old_keyed.items():
                base, key = n.split(":", 1)
                _carry(w, self._key_window(self.limits[base], key), now)
            _carry(old_any, self._any, now)
        self._plans.clear()

    async def acquire(
        self,
        cost: Mapping[str, int],
        lane: Lane = "order",
        max_wait_s: float | None = None,
        *,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """Waits until ``cost`` fits, then takes it; :class:`RateLimitError` (``retry_after`` set) at
        once when the wait would exceed ``max_wait_s`` (default: the budget's). ``ready`` runs right
        before each try to take (in the same step): what it raises leaves nothing taken."""
        limit_s = self.max_wait_s if max_wait_s is None else max_wait_s
        spent = 0.0
        while True:
            if ready is not None:
                ready()
            wait = self.try_take(cost, lane)
            if wait <= 0:
                self.waited_s += spent
                return
            if spent + wait > limit_s:
                names = sorted({n for n, _, _ in self._charged(cost)})
                raise rate_limited(self.venue, names, wait)
            # With a ``ready`` check it is run again at least every READY_RECHECK_S: what it refuses
            # (a session closing, a kill thrown) ends the wait then, not after all of it.
            if ready is not None:
                wait = min(wait, READY_RECHECK_S)
            await asyncio.sleep(wait)
            spent += wait

    def observe(self, used: Mapping[str, int], age: float | None = None) -> None:
        """What the venue reported used (``X-MBX-USED-WEIGHT-1M``…), by limit name, in the answer to
        a request that went out ``age`` seconds ago: what was taken since (other requests still on
        their way, not in the venue's count yet) is added to it (None: nothing added)."""
        now, wall = self.clock(), self.wall()
        since = None if age is None else now - age
        sent = now if since is None else since
        with _lock:
            for n, u in used.items():
                w = self.windows.get(n) or self.keyed.get(n)
                if w is None:
                    continue
                last = _reported.get(w)
                older = last is not None and sent < last
                if not older:
                    _reported[w] = sent
                held = w.state()[3:5]  # (floor, floor_until) as the newer report left them
                until = None
                lim = self.limits[n.split(":", 1)[0]]
                if lim.aligned:
                    # The venue's counter resets at its next boundary: on the venue's grid of its own
                    # window (the window counted here is longer by JITTER_S, a grid that drifts). Our
                    # reading of its clock may be off by ALIGN_MARGIN_S either way: ahead, the boundary
                    # comes later than read (the margin after it); behind, a count read just before a
                    # boundary may be the next window's already — held to that one's end. (Taken for
                    # the window read, it was dropped a whole window early while the venue counted it.)
                    latest = wall + ALIGN_MARGIN_S
                    until = now + (lim.window_s - latest % lim.window_s) + 2 * ALIGN_MARGIN_S
                # Any number the venue sends: held within what the window's counter holds.
                w.observe(min(u, _MOST_USED), now, until, since)
                if older and held[0] > w.state()[3] and now < held[1]:
                    # An answer to a request older than the report the window holds, counting less:
                    # as of before that report, it has not seen what came after (another process's
                    # weight the newer report counted). Replacing the floor, it moved the budget
                    # backwards and a burst crossed the venue's limit.
                    w.observe(held[0], now, held[1])

    def refused(
        self, names: Iterable[str] | None, retry_after: float | None, cost: Mapping[str, int] | None = None
    ) -> float:
        """The venue refused for rate (429/418…): blocks the named limits (all when None or unknown)
        for ``retry_after`` seconds, or, when the venue said nothing, until their window has passed —
        of windows of several lengths, the shortest first, doubling while the refusals go on.
        With the refused request's ``cost``, a named limit the cost charges is blocked only where it
        charged it (OKX's 50011 blocks that instrument's window, not every instrument's). Returns the
        block's length."""
        now = self.clock()
        named = [n for n in names or () if n in self.windows]
        picked = [w for n, w, _ in self._charged(cost or {}) if n in named]
        picked = picked or [w for n in named for w in self._all(n)]
        picked = picked or [*self.windows.values(), *self.keyed.values()] or [self._any]
        spans = sorted({w.window_s for w in picked if w is not self._any}) or [1.0]
        if retry_after is not None:
            seconds = retry_after
        elif len(spans) == 1:
            seconds = spans[0]
        else:
            # Which of windows of different lengths ran out, the venue did not say (no limit named,
            # or one with several windows, and no Retry-After): blocked for the shortest first,
            # doubling with each such refusal in a row up to the longest. Blocked for the longest
            # at once, one unexplained 429 stopped the session for Binance's day of order counts.
            with _lock:
                last = _unsure.get((self.venue, self.account))
                if last is not None and now < last[0] + last[1]:
                    # Refused while the last such block still runs: a request sent before it began
                    # (the requests in flight together, each answered 429), not a refusal in a row —
                    # the same block, not doubled once per request in flight (20 of them: the longest
                    # at once).
                    seconds = last[0] + last[1] - now
                else:
                    if last is not None and now - last[0] <= 2 * last[1]:
                        seconds = min(spans[-1], 2 * last[1])  # refused again right after it: doubled
                    else:
                        seconds = spans[0]
                    _unsure[(self.venue, self.account)] = (now, seconds)
        with _lock:
            for w in picked:
                w.block(seconds, now)
        self.refusals += 1
        return seconds

    def _all(self, name: str) -> list[Window]:
        """The windows of limit ``name``: a keyed limit's every key seen so far."""
        if not self.limits[name].keyed:
            return [self.windows[name]]
        return [w for k, w in self.keyed.items() if k.split(":", 1)[0] == name] or [self.windows[name]]

    def limit_for_code(self, code: object) -> list[str]:
        """The limits whose refusal code is ``code`` (e.g. Binance -1015 → the order counts)."""
        c = str(code)
        return [n for n, lim in self.limits.items() if c in lim.codes]
