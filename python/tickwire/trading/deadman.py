"""The venue's dead-man switch, armed for a trading session's life (``tickwire.trade(..., dead_man=30.0)``):
the venue cancels the account's open orders if the session stops refreshing its countdown for
``dead_man`` seconds — the process was killed, hung, or lost its network — so orders die with the
process even after ``kill -9``.

Where the venue has one (the grammar's ``dead_man(timeout_s, symbols) -> list[Call]``):

- Binance USDⓈ-M ``POST /fapi/v1/countdownCancelAll``: one countdown per symbol (``countdownTime`` in
  ms, 0 stops it). The session arms the symbols it has open orders on when it starts, and a new symbol
  before its first order is sent (one request more, once per symbol), then keeps every armed symbol
  refreshed;
- OKX ``POST /api/v5/trade/cancel-all-after`` (``timeOut`` 0 or 10-120 s) and Kraken
  ``CancelAllOrdersAfter`` (``timeout`` s, 0 disarms): one account-wide countdown.

Bybit's "disconnect cancel all" (DCP) is no countdown: it fires when the private WebSocket with a
``dcp`` subscription is gone for its window, and the venue enables it per account on request
(institutional accounts), so it is not armed here.

The countdown is refreshed every quarter of it (Binance suggests 30 s for 120 s, Kraken 15-30 s for
60 s): two refreshes may fail before the switch fires. Those refreshes may take at most half of any
rate limit they count on (``LOAD_SHARE``, kept up): a countdown that would take more is refused at
start with ``ValueError`` (Kraken's Starter REST counter: under 24 s), and on USDⓈ-M an order on a
symbol whose countdown would take the refreshes past it with ``RiskLimitExceeded`` (``limit``
``"dead_man"``; nothing armed or sent) — kept regardless, the refreshes would wait on the budget past
the countdown and the venue fire on a live session's orders. Refreshes use the ``"cancel"`` lane (they protect
the account, and must not wait behind new orders). A clean ``close()`` disarms the switch (its
orders stay, as the user left them); a process that dies does not, and the venue cancels.

The venue keeps one countdown per account (per symbol on USDⓈ-M), not per session: another session
of the process on the key that still keeps it — refreshing it, or left by an exception with its
countdown still to run out — keeps it through this one's close, armed anew at the shortest of their
countdowns instead of disarmed (a disarm left that session's orders with no switch until its next
refresh, and for good should the process die first)."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tickwire.audit import AuditLog, NullAudit
from tickwire.errors import (
    RequestTimeoutError,
    RiskLimitExceeded,
    TickwireError,
    TransportError,
    UnknownOutcome,
)
from tickwire.limits import Lane, RateBudget
from tickwire.trading.codes import not_supported
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.trading.wire import unsent, was_unsent

log = logging.getLogger("tickwire.trading")

# The countdown is refreshed this often, as a share of it.
REFRESH_SHARE = 0.25
# The most of a rate limit the refreshes may take, kept up: the rest is for the session's orders and
# queries. A countdown needing more is refused (``DeadMan.check_load``) — kept anyway, its refreshes
# would wait on the budget past the countdown and the venue fire on a live session's orders.
LOAD_SHARE = 0.5
# Rounds of a close's hand-over while the other sessions on the key change what they keep armed.
HAND_OVER_ROUNDS = 4

# Every switch of the process that keeps a countdown (sessions may run on several loops and threads).
_KEEPING: weakref.WeakSet[DeadMan] = weakref.WeakSet()
_KEEPING_LOCK = threading.Lock()


class DeadManPort(Protocol):
    venue: str
    grammar: OrderGrammar
    tracker: OrderTracker
    audit: AuditLog | NullAudit
    budget: RateBudget
    timeout: float  # the request time-out

    async def send_lane(self, call: Call, lane: Lane) -> Any: ...


class DeadMan:
    """``timeout_s``: the countdown; refused with ``ValueError`` outside the venue's range (the
    grammar's ``dead_man_range``), ``NotSupported`` on a venue without a switch."""

    def __init__(self, port: DeadManPort, timeout_s: float, account: Callable[[], str] = str) -> None:
        g = port.grammar
        if getattr(g, "dead_man", None) is None:
            raise not_supported(port.venue, "dead-man switch")
        lo, hi = getattr(g, "dead_man_range", (0.0, math.inf))
        if not lo <= timeout_s <= hi:
            raise ValueError(f"{port.venue}: dead_man must be {lo:g} to {hi:g} s, not {timeout_s:g}")
        self.port = port
        self.account = account  # the venue account the countdown is kept for (it follows a rotation)
        self.timeout_s = float(timeout_s)
        self.per_symbol: bool = getattr(g, "dead_man_per_symbol", False)
        self.armed: set[str] = set()  # per-symbol venues: the symbols armed
        self._arming: dict[str, asyncio.Task[None]] = {}  # symbols whose arming request is under way
        # Refreshes whose request is under way, past a stop of the refreshes: the close's disarm waits
        # for them (``close``).
        self._refreshing: set[asyncio.Task[None]] = set()
        # Per-symbol venues: when each symbol was last in use — an order path passed ``cover`` for
        # it, or the session had an order open on it or a quote rule over it at a refresh (monotonic
        # s). A symbol idle long enough is disarmed (``_idle``).
        self._used: dict[str, float] = {}
        # An idle symbol's disarm under way: an arming for it waits for it, so the two cannot cross.
        self._disarming: asyncio.Task[None] | None = None
        # close() has begun: no symbol is armed from then on (one armed after the close's disarm
        # would fire on the orders left).
        self.closing = False
        self.task: asyncio.Task[None] | None = None
        self.refreshes = 0  # successful refresh rounds (health)
        self.failures = 0  # refresh rounds that failed
        self.failing = 0  # refresh rounds failed since the last that went through (health)
        self._sent_at = 0.0  # monotonic s the last arming or refresh was sent
        # Monotonic s the last arming or refresh that went through was sent: the venue's countdown
        # runs out no earlier than this plus ``timeout_s``.
        self._armed_at = 0.0
        self.lapses = 0  # refreshes that went through after the countdown may have run out (health)
        # Stopped without a disarm (the process dying): the venue fires at this monotonic s at the
        # latest, and until then no other session's close disarms what this one armed.
        self._fires_by: float | None = None

    def over_load(self, symbols: Sequence[str]) -> str | None:
        """Why refreshing the countdown (of ``symbols``' on a per-symbol venue) every
        ``REFRESH_SHARE`` of it would take more than ``LOAD_SHARE`` of a rate limit the venue
        announced or documents — None when it would not."""
        p = self.port
        cost_of = getattr(p.grammar, "cost", None)
        if cost_of is None:
            return None
        cost: dict[str, int] = {}
        for call in p.grammar.dead_man(self.timeout_s, list(symbols)):  # type: ignore[attr-defined]
            for name, weight in cost_of(call).items():
                cost[name] = cost.get(name, 0) + weight
        every = self.timeout_s * REFRESH_SHARE
        loads = [(share, name) for name, share in p.budget.load(cost, every) if share > LOAD_SHARE]
        if not loads:
            return None
        share, name = max(loads)
        what = f"the countdowns of {len(symbols)} symbol(s)" if self.per_symbol else "the countdown"
        return (
            f"{p.venue}: dead_man={self.timeout_s:g} s: refreshing {what} every {every:g} s would take "
            f"{share:.0%} of the {name} rate limit (at most {LOAD_SHARE:.0%}); a countdown of "
            f"{math.ceil(self.timeout_s * share / LOAD_SHARE * 10 - 1e-9) / 10:g} s or more would fit"
        )

    def _symbols(self) -> list[str]:
        return sorted(self.armed | {o.symbol for o in self.port.tracker.open_orders()})

    async def _send(self, timeout_s: float, symbols: Sequence[str]) -> None:
        p = self.port
        calls: list[Call] = p.grammar.dead_man(timeout_s, list(symbols))  # type: ignore[attr-defined]
        if timeout_s:
            self._sent_at = time.monotonic()
        for call in calls:
            await p.send_lane(call, "cancel")
        p.audit.event("dead_man", venue=p.venue, timeout_s=timeout_s, symbols=list(symbols))

    async def arm(self) -> None:
        """Arms (or refreshes) the switch: the account's, or each symbol's."""
        symbols = self._symbols() if self.per_symbol else []
        sent_at = time.monotonic()
        await self._send(self.timeout_s, symbols)
        self.armed.update(symbols)
        self._armed_at = max(self._armed_at, sent_at)

    async def start(self) -> None:
        # Weighed with the limits the venue announced (read with its rules) before anything is armed.
        over = self.over_load(self._symbols() if self.per_symbol else [])
        if over:
            raise ValueError(over)
        await self.arm()
        self.task = asyncio.get_running_loop().create_task(self._refresh())
        with _KEEPING_LOCK:
            _KEEPING.add(self)

    def covers(self, symbol: str) -> bool:
        """Whether an order on ``symbol`` may go without :meth:`cover` first."""
        return not self.per_symbol or symbol in self.armed

    async def cover(self, symbol: str) -> None:
        """Before the first order on ``symbol``: arms its countdown where the venue counts per symbol.
        Orders on a new symbol at once wait for one arming request, not one each; one whose caller
        gives up leaves it going for the others. Its failure is raised marked unsent: the order
        waiting on it was never written."""
        if not self.per_symbol:
            return
        self._used[symbol] = time.monotonic()
        if symbol in self.armed:
            return
        if self.closing:
            # The session is closing (its orders are refused anyway): an arming started now would
            # land after the close's disarm and fire on the orders left.
            raise unsent(TransportError(f"{self.port.venue}: {symbol}'s dead-man not armed: closing"))
        arming = self._arming.get(symbol)
        if arming is None:
            over = self.over_load(sorted(self.armed | set(self._arming) | {symbol}))
            if over:
                e = RiskLimitExceeded(f"{over}: an order on {symbol} would need its countdown kept too")
                e.symbol, e.limit = symbol, "dead_man"
                raise unsent(e)
            arming = self._arming[symbol] = asyncio.get_running_loop().create_task(self._cover(symbol))
            arming.add_done_callback(functools.partial(self._armed, symbol))
        try:
            await asyncio.shield(arming)
        except TickwireError as e:  # the arming's failure: the order waiting on it never went out
            raise unsent(e) from None

    def _armed(self, symbol: str, task: asyncio.Task[None]) -> None:
        self._arming.pop(symbol, None)
        if not task.cancelled():
            task.exception()  # each waiter has it raised; retrieved once here should none be left

    async def _cover(self, symbol: str) -> None:
        if self._disarming is not None:  # its disarm answered first: the venue takes them in order
            await asyncio.wait([self._disarming])
        try:
            await self._send(self.timeout_s, [symbol])
        except (asyncio.CancelledError, RequestTimeoutError, TransportError, UnknownOutcome) as e:
            # The request may have armed the countdown all the same (cancelled by the close, its
            # answer lost, a 5xx): refreshed with the others from now, and disarmed at a clean close,
            # never left to fire on the symbol's orders (another program's on the key among them).
            if not was_unsent(e):
                self.armed.add(symbol)
            raise
        self.armed.add(symbol)

    async def _refresh(self) -> None:
        # A try starts every share of the countdown, counted from the last try's start, and may take
        # one share at most: a refresh whose answer never comes (the session's request time-out may
        # be half the countdown, as with OKX's 10 s and the default 5 s) would otherwise push the next
        # one back by its time-out, and the venue fire on a live session's orders after one lost
        # request, where two failed tries are to be borne.
        loop = asyncio.get_running_loop()
        every = self.timeout_s * REFRESH_SHARE
        due = loop.time() + every
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = loop.time() + every
            await self._drop_idle()
            try:
                last = self._armed_at
                # Its own task, shielded: a stop (the close) or the try's time running out leaves the
                # request to its answer — its bytes may be at the venue — and the close's disarm waits
                # for it.
                refresh = loop.create_task(self.arm())
                self._refreshing.add(refresh)
                refresh.add_done_callback(_refreshed(self._refreshing))
                await asyncio.wait_for(asyncio.shield(refresh), every)
                self.refreshes += 1
                if self.failing and time.monotonic() >= last + self.timeout_s:
                    self._lapsed(last)
                self.failing = 0
            except (TickwireError, TimeoutError) as e:
                why = str(e) if isinstance(e, TickwireError) else f"no answer within {every:g} s"
                self.failures += 1
                self.failing += 1
                log.warning("%s: dead-man switch refresh failed: %s", self.port.venue, why)
                self.port.audit.event("dead_man_failed", venue=self.port.venue, error=why)

    def _idle(self) -> list[str]:
        """Per-symbol venues: the armed symbols unused (see ``_used``) for longer than an order that
        passed ``cover`` may take to be tracked — the countdown, the budget's longest wait and a request
        time-out (never, when the budget may wait without end)."""
        if not self.per_symbol or self.closing:
            return []
        p, now = self.port, time.monotonic()
        busy = {o.symbol for o in p.tracker.open_orders()} | set(self._arming)
        busy |= {q.template.symbol for q in getattr(p, "quotes", ()) if not q.stopped}
        for sym in busy:
            self._used[sym] = now
        grace = self.timeout_s + p.budget.max_wait_s + p.timeout
        return sorted(sym for sym in self.armed if now - self._used.get(sym, 0.0) > grace)

    async def _drop_idle(self) -> None:
        """Disarms the idle symbols (``_idle``) so their refreshes stop costing — a USDⓈ-M symbol
        traded once would otherwise be refreshed at weight 10 for the session's life, and count against
        ``LOAD_SHARE`` when another is armed. Taken out of ``armed`` first (an order on one meanwhile
        arms it anew, after this disarm is answered); what another switch of the process keeps armed
        on the account is left to it, not disarmed. A disarm that fails leaves them armed."""
        idle = self._idle()
        if not idle:
            return
        kept = self._kept()
        self.armed.difference_update(idle)
        off = [sym for sym in idle if sym not in kept]
        if not off:
            return
        task = self._disarming = asyncio.get_running_loop().create_task(self._send(0.0, off))
        try:
            await asyncio.shield(task)
            self.port.audit.event("dead_man_idle", venue=self.port.venue, symbols=off)
        except Exception as e:  # never ends the refreshes: the switch must keep the other symbols armed
            self.armed.update(off)  # may still be armed at the venue: refreshed, disarmed at the close
            log.warning("%s: dead-man switch: idle symbols not disarmed: %s", self.port.venue, e)
        finally:
            if self._disarming is task:
                self._disarming = None

    def _lapsed(self, last: float) -> None:
        """A refresh went through after failing ones that spanned the whole countdown: the venue may
        have fired meanwhile and cancelled the account's orders (and a fired switch is armed anew by
        this refresh, so nothing else tells). Said loudly, and the open orders asked about — with no
        private stream to report the venue's cancels, they stayed open here for the session's life."""
        p = self.port
        self.lapses += 1
        unrefreshed = time.monotonic() - last
        log.error(
            "%s: dead-man switch unrefreshed for %.1f s (countdown %g s): the venue may have cancelled "
            "the open orders; reconciling them",
            p.venue,
            unrefreshed,
            self.timeout_s,
        )
        p.audit.event("dead_man_lapsed", venue=p.venue, unrefreshed_s=unrefreshed, timeout_s=self.timeout_s)
        reconciler = getattr(p, "reconciler", None)
        if reconciler is not None and reconciler.spawn is not None:
            reconciler.spawn(reconciler.reconcile_open())

    def stop(self, *, to_fire: bool = True) -> None:
        """Stops refreshing without disarming: the venue fires when the countdown runs out.
        ``to_fire=False``: the countdown is another's to keep now (a gateway that took the account
        over), and no close of the process keeps it armed for this one."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
            self._fires_by = self._sent_at + self.timeout_s if to_fire else None

    def _scopes(self) -> set[str]:
        """The account scopes (key@server) this switch's countdown is the venue account's under: its
        key now, and every key a rotation moved its session from (``account_scopes``) — the venue
        keeps one countdown for the account whichever of its keys armed it."""
        return {self.account(), *getattr(self.port, "account_scopes", ())}

    def _kept(self) -> dict[str, float]:
        """What the other switches of the process on this account keep armed — refreshing, or
        stopped with their countdown still running — by symbol ("" for an account-wide countdown):
        the shortest of their countdowns (the one refreshed most often is refreshed before it runs
        out)."""
        venue, mine, now = self.port.venue, self._scopes(), time.monotonic()
        with _KEEPING_LOCK:
            others = [d for d in _KEEPING if d is not self and d.port.venue == venue]
        kept: dict[str, float] = {}
        for d in others:
            if not (d._scopes() & mine) or d.closing:
                continue
            if d.task is None or d.task.done():  # stopped, or its loop ended under it
                fires_by = d._fires_by if d.task is None else d._sent_at + d.timeout_s
                if fires_by is None or fires_by <= now:
                    continue
            for s in set(d.armed) if d.per_symbol else {""}:
                kept[s] = min(kept.get(s, math.inf), d.timeout_s)
        return kept

    async def _hand_over(self) -> None:
        """Disarms what this switch armed, but for what another session on the account keeps armed:
        that is armed anew at its countdown. Asked again once sent — a session that closed
        meanwhile may have counted on this one's keeping it — so the last word sent stands."""
        mine = sorted(self.armed) if self.per_symbol else [""]
        for _ in range(HAND_OVER_ROUNDS):
            kept = self._kept()
            plan: dict[float, list[str]] = {}
            for s in mine:
                plan.setdefault(kept.get(s, 0.0), []).append(s)
            for timeout_s, symbols in sorted(plan.items()):
                await self._send(timeout_s, symbols if self.per_symbol else [])
            now = self._kept()
            if all(now.get(s) == kept.get(s) for s in mine):
                return

    async def close(self) -> None:
        """Stops refreshing and disarms the switch (a clean close) — what another session on the
        account keeps armed stays armed."""
        self.closing = True  # no arming starts from here, and no other close counts on this one
        self.stop()
        self._fires_by = None
        with _KEEPING_LOCK:
            _KEEPING.discard(self)
        while self._arming or self._refreshing:
            # A symbol's arming still under way ends first — armed, or maybe armed (its answer lost) —
            # so the disarm covers it: one landing after the disarm would fire on the orders left. So
            # does a refresh under way (before 2026-12-07 the close cancelled it and sent the disarm at
            # once, on another connection: the venue could take the refresh after the disarm, arm the
            # countdown again and fire on the orders left after a clean close).
            await asyncio.wait([*self._arming.values(), *self._refreshing])
        try:
            await self._hand_over()
        except TickwireError as e:
            # Logged, not raised: closing must finish; the countdown then runs out at the venue.
            log.warning("%s: dead-man switch not disarmed: %s", self.port.venue, e)
        self.armed.clear()


def _refreshed(under_way: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """A refresh's end: out of the set under way, its outcome read (the refresh loop reports it, or
    it ended after the loop stopped waiting for it)."""

    def done(task: asyncio.Task[None]) -> None:
        under_way.discard(task)
        if not task.cancelled():
            task.exception()

    return done
