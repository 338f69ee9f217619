"""The kill switch: every open order of the account cancelled, every position closed where the venue has
positions, and a report of what was confirmed and what was not (``TradingSession.kill``).

How, in this order:

1. The account's open orders are listed at the venue (not only the session's own: another script's
   orders on the same key are cancelled too); the session's own open orders are added in case the
   listing fails.
2. They are cancelled with the venue's widest means: an account-wide cancel where the grammar has one
   (``cancel_everything()``: Kraken ``CancelAll``, Clarofinlore ``cancel-all``), else a per-symbol
   cancel-all (``cancel_all(symbol)``: Binance spot ``DELETE openOrders``, Bybit ``cancel-all``), else
   the listed orders in the venue's batches (``cancel_orders``).
3. Positions are closed: an account-wide close where the grammar has one (``close_all()``: Clarofinlore
   ``close-all``), else reduce-only market orders against what ``positions()`` lists where the venue
   has reduce-only (``close_by_reduce_only``: Binance USDⓈ-M); other venues' positions are reported
   as left open. A closing order whose answer is lost is reconciled before the positions are read
   again (``Reconciler.resolve``: found, as the venue has it; no trace, not placed, and then sent
   once more against the position as it is read again), and an order left ``unknown`` before — an
   earlier kill's closing order whose queries failed too — is reconciled before a symbol is closed:
   while a reduce-only order on it stays unknown, no other is sent there (see ``close_by_reduce_only``).
4. Orders being settled when the kill began — their own place call in flight (sent, not yet
   answered: the venue may take them after the first listing), or their reconciliation running (an
   answer lost, or a call its caller cancelled) — are waited for until each can have its verdict
   (``settle_bound.settle_bound_s``: what is left of its venue's window, else of the session's
   ``lost_order_wait_s``, then the queries; at least ``IN_FLIGHT_WAIT`` request time-outs); those
   that came out open are cancelled, those still unsettled are reported unconfirmed;
   and positions are closed again where they may have traded (a market order in flight fills after
   step 3).
5. What was cancelled is confirmed: the venue's answers, a second listing, and for an order neither
   settles (an account-wide cancel answers with a count), its status.

Every request goes over REST — it needs no socket to be up or logged in, and a half-dead order socket
would stall each cancel for the time-out — and on the budget's ``"cancel"`` lane, which may use the
reserve new orders may not: a bot at its order-rate limit can still be stopped. Nothing here reads
market data. A step that fails is recorded and the next one runs anyway; every step is audited."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tickwire.errors import (
    OrderNotFound,
    RateLimitError,
    TickwireError,
)
from tickwire.limits import Lane
from tickwire.trading.account import every_page
from tickwire.trading.answers import read_events
from tickwire.trading.cancel_all import answer_batch
from tickwire.trading.intake import untracked
from tickwire.trading.kill_positions import NO_MEANS, PositionCloser, closes_positions
from tickwire.trading.orders import Order, OrderType, Side, Tif
from tickwire.trading.place import SendPort
from tickwire.trading.reconcile import until_settled
from tickwire.trading.risk import RiskGate
from tickwire.trading.settle_bound import IN_FLIGHT_WAIT, BoundPort, settle_bound_s
from tickwire.trading.venue import Call, Position
from tickwire.trading.wire import was_unsent

log = logging.getLogger("tickwire.trading")

LANE: Lane = "cancel"
# Rounds of cancels when the venue refused entries of a batch for rate (each waits the block out).
RATE_ROUNDS = 4
# How long each request of the kill waits out the session's rate budget — a venue's 429 block, its
# Retry-After — in request time-outs, whatever ``rate_wait`` the session's new orders have (0: a bot
# that would rather skip an order than send it late still wants its kill switch to cancel).
RATE_WAIT = 2.0
# Listings after the cancels that may each find orders the venue took meanwhile, cancelled in turn.
LATE_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class KillReport:
    """What :meth:`TradingSession.kill` did. ``cancelled``: orders the venue confirmed cancelled;
    ``done_before``: orders that turned out filled or otherwise closed before the cancel reached them;
    ``unconfirmed``: orders still listed open, or whose state could not be learned; ``closing``: the
    orders sent to close positions, as the venue has them (one whose answer was lost, reconciled:
    ``filled`` if it traded, ``rejected`` if it proved never placed — then followed by another —
    ``unknown`` only if even the queries failed, then also in ``errors``); ``positions``: positions
    still open afterwards, read after those reconciliations (or never closed: the venue has no means,
    or the listing failed — then see ``errors``); ``errors``: each step that failed, as text (no
    secrets: the venues' messages)."""

    reason: str
    cancelled: tuple[Order, ...]
    done_before: tuple[Order, ...]
    unconfirmed: tuple[Order, ...]
    closing: tuple[Order, ...]
    positions: tuple[Position, ...]
    errors: tuple[str, ...]
    elapsed_s: float

    @property
    def complete(self) -> bool:
        """Every order confirmed closed, no position left, no step failed."""
        return not (self.unconfirmed or self.positions or self.errors)

    def left_to_do(self, grammar: object) -> bool:
        """Whether another run of the kill on ``grammar``'s venue could do what this report says was
        left: an order unconfirmed, a step that failed, a position where the venue has a means to
        close it (where it has none — said in ``errors`` — a rerun changes nothing)."""
        failed = [e for e in self.errors if not e.endswith(NO_MEANS)]
        return bool(self.unconfirmed or failed or (self.positions and closes_positions(grammar)))


class KillPort(SendPort, BoundPort, Protocol):
    """What the kill switch needs of a trading session (its closing orders go by
    ``place.send_order``, as every order does)."""

    timeout: float
    risk: RiskGate

    def in_flight(self) -> set[str]:
        """Client ids of the orders being settled now (their place call, their reconciliation)."""
        ...

    async def send_lane(self, call: Call, lane: Lane) -> Any:
        """``call`` over REST on ``lane``."""
        ...

    def rate_refused(self, call: Call, e: RateLimitError) -> None:
        """Entries of ``call``'s batch refused for rate: the budget blocks that limit."""
        ...

    def prepare(
        self,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Any,
        price: Any = None,
        *,
        tif: Tif = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
        client_id: str | None = None,
    ) -> Order: ...


def _key(o: Order) -> str:
    return o.order_id or o.client_id


class Kill:
    def __init__(self, port: KillPort, reason: str) -> None:
        self.port = port
        self.reason = reason
        self.errors: list[str] = []
        # ``confirm`` cancelled orders its second listing found open (taken by the venue after the
        # first listing, or still open after their cancel failed): they may have traded before that.
        self.cancelled_late = False
        self.closer = PositionCloser(
            port, self._failed, self._state, self.current, self.errors, LANE, self.verdicts_s, send=self.send
        )

    async def verdicts_s(self, client_ids: set[str]) -> float:
        """How long until the orders of ``client_ids`` being settled can have their verdicts
        (``settle_bound_s``): an order reported unconfirmed for a wait cut short is one the kill may
        leave working — the venue taking it after the kill's last listing."""
        return await settle_bound_s(self.port, self.port.reconciler, client_ids)

    async def send(self, call: Call) -> Any:
        """``call`` over REST on the kill's lane. Refused by the budget with nothing sent (a venue's
        429 block the session's ``rate_wait`` will not wait out), it is sent once the block has
        passed, up to ``RATE_WAIT`` request time-outs in all."""
        p = self.port
        deadline = time.monotonic() + RATE_WAIT * p.timeout
        while True:
            try:
                return await p.send_lane(call, LANE)
            except RateLimitError as e:
                wait = getattr(e, "retry_after", None)
                if not was_unsent(e) or wait is None or time.monotonic() + wait > deadline:
                    raise
                p.audit.event("kill_rate_wait", venue=p.venue, path=call.path, wait_s=wait)
                await asyncio.sleep(wait)

    def _failed(self, step: str, e: Exception) -> None:
        self.errors.append(f"{step}: {e}")
        log.warning("%s: kill switch: %s failed: %s", self.port.venue, step, e)
        self.port.audit.event("kill_step_failed", venue=self.port.venue, step=step, error=str(e))

    def _state(self, ev_body: Any) -> list[Order]:
        """The orders an answer states, as the tracker now knows them (or as stated, if untracked)."""
        p, out = self.port, []
        for item in ev_body if isinstance(ev_body, list) else [ev_body]:
            events = read_events(p.grammar.read_order, item)
            for ev in events:
                p.tracker.apply(ev)
            if events:
                tracked = p.tracker.get(events[0].client_id) if events[0].client_id else None
                if tracked is None and events[0].order_id:
                    tracked = p.tracker.by_order_id(events[0].order_id)
                out.append(tracked if tracked is not None else untracked(p.venue, events[0]))
        return out

    async def listed(self) -> list[Order]:
        """The account's open orders at the venue."""
        p = self.port
        body: list[Any] = []
        try:
            await every_page(self.send, p.grammar, p.grammar.open_orders(None), body)
        except TickwireError as e:
            if not body:
                raise
            # The pages read are still cancelled; the report says the listing was cut short.
            self._failed("open orders past the pages read", e)
        return [o for o in self._state(body) if o.is_open]

    async def run(self) -> KillReport:
        p, t0 = self.port, time.monotonic()
        p.audit.event("kill", venue=p.venue, reason=self.reason)
        try:
            listed = await self.listed()
        except TickwireError as e:
            self._failed("open orders", e)
            listed = []
        targets = {_key(o): o for o in listed}
        flying: set[str] = set()
        busy = p.in_flight()
        calls = set(getattr(p, "placing", ()))  # a venue's own untracked calls in flight (a TWAP start)
        for o in p.tracker.open_orders():
            if o.client_id in busy:  # its call or its reconciliation settles it: waited for below
                flying.add(o.client_id)
            if o.status != "pending":
                targets.setdefault(_key(o), o)
        p.audit.event("kill_targets", venue=p.venue, orders=sorted(targets))
        await self.cancel(list(targets.values()))
        closing, positions = await self.close_positions()
        landed = await self.landed(flying)
        called = await self.landed_calls(calls)
        aimed = {o.client_id for o in targets.values() if o.client_id}
        for o in landed:
            if o.client_id not in aimed:  # an unknown one was aimed at before its order id was known
                targets.setdefault(_key(o), o)
        if landed or called:
            # They went to the venue after the positions were closed: what they traded is a position
            # again (a market order in flight fills there), closed and counted anew.
            more, positions = await self.close_positions()
            closing += more
        cancelled, done, unconfirmed = await self.confirm(list(targets.values()), closing)
        if self.cancelled_late:
            # Open until ``confirm`` cancelled them, after the positions were read: what they traded
            # meanwhile is a position the report would not name, closed and counted anew.
            more, positions = await self.close_positions()
            closing += more
        report = KillReport(
            reason=self.reason,
            cancelled=tuple(cancelled),
            done_before=tuple(done),
            unconfirmed=tuple(unconfirmed),
            closing=tuple(closing),
            positions=tuple(positions),
            errors=tuple(self.errors),
            elapsed_s=time.monotonic() - t0,
        )
        p.audit.event(
            "kill_done", venue=p.venue, reason=self.reason, cancelled=[_key(o) for o in cancelled],
            done_before=[_key(o) for o in done], unconfirmed=[_key(o) for o in unconfirmed],
            closing=[o.client_id for o in closing], positions=[f"{x.symbol} {x.qty}" for x in positions],
            errors=list(self.errors), elapsed_ms=report.elapsed_s * 1e3,
        )  # fmt: skip
        return report

    async def landed(self, flying: set[str]) -> list[Order]:
        """The orders of ``flying`` (being settled when the kill began) once that ends, or once each
        could have had its verdict (``verdicts_s``); those that came out open are cancelled (one still
        in flight is left to ``confirm``, which reports it unconfirmed while it is not settled)."""
        if not flying:
            return []
        p = self.port
        await until_settled(p.in_flight, flying, await self.verdicts_s(flying))
        got = [o for o in (p.tracker.get(cid) for cid in sorted(flying)) if o is not None]
        live = [o for o in got if o.is_open and o.status != "pending"]
        if live:
            p.audit.event("kill_landed_orders", venue=p.venue, orders=sorted(_key(o) for o in live))
            await self.cancel(live)
        return got

    async def landed_calls(self, calls: set[str]) -> bool:
        """The venue's own calls of ``calls`` (``placing`` when the kill began: a TWAP start in flight,
        which may reach the venue after the cancels and close, then trade there) once they end, or
        ``IN_FLIGHT_WAIT`` request time-outs pass; then the account-wide cancel once more where the
        venue has one (it stops what they started). True when there were any: positions are closed
        again, and ``confirm``'s second listing cancels an order they left. (Not an order's verdict:
        such a call settles by asking again with its client id, no lost-order wait — the floor.)"""
        if not calls:
            return False
        p = self.port
        await until_settled(lambda: set(getattr(p, "placing", ())), calls, IN_FLIGHT_WAIT * p.timeout)
        p.audit.event("kill_landed_calls", venue=p.venue, calls=sorted(calls))
        await self.cancel([])
        return True

    # cancels -----------------------------------------------------------------------------------------

    def _cancel_calls(self, orders: Sequence[Order]) -> list[tuple[str, Call]]:
        g = self.port.grammar
        everything = getattr(g, "cancel_everything", None)
        if everything is not None:
            return [("", everything())]
        calls: list[tuple[str, Call]] = []
        for s in sorted({o.symbol for o in orders}):
            bulk = g.cancel_all(s)
            if bulk is not None:
                calls.append((s, bulk))
            else:
                calls += [(s, c) for c in g.cancel_orders(s, [o for o in orders if o.symbol == s])]
        return calls

    async def cancel(self, orders: Sequence[Order], rounds: int = RATE_ROUNDS) -> None:
        p = self.port
        if not orders and getattr(p.grammar, "cancel_everything", None) is None:
            return
        limited: RateLimitError | None = None
        for symbol, call in self._cancel_calls(orders):
            p.audit.event("kill_cancel", venue=p.venue, symbol=symbol, method=call.method, path=call.path)
            try:
                body = await self.send(call)
            except OrderNotFound:
                continue  # nothing open there any more
            except TickwireError as e:
                self._failed(f"cancel {symbol or 'all'}", e)
                continue
            if not symbol:
                continue  # an account-wide cancel's answer (a count) is confirmed below
            failed = functools.partial(self._failed, f"cancel answer {symbol}")
            limited = await answer_batch(p, symbol, call, body, failed) or limited
        if limited is not None:
            left = [o for o in (self.current(o) for o in orders) if o.is_open]
            if rounds > 1 and left:
                await self.cancel(left, rounds - 1)
            elif left:
                self._failed("cancel answer", limited)

    async def confirm(
        self, orders: Sequence[Order], closing: Sequence[Order] = ()
    ) -> tuple[list[Order], list[Order], list[Order]]:
        """(cancelled, closed otherwise, unconfirmed): a second listing, then each order's status where
        neither the answers nor the listing settled it. ``closing``: the kill's own orders (closing
        positions), never taken for late ones."""
        p = self.port
        try:
            listed = await self.listed()
            for listing in range(LATE_ROUNDS + 1):
                late, again = self._unsettled(listed, orders, closing)
                # Counted from the listing that found them: one the rounds run out on (the venue kept
                # taking orders — another script on the key) is reported open, never left out unseen.
                orders = [*orders, *late]
                if not (late or again) or listing == LATE_ROUNDS:
                    break
                if late:
                    p.audit.event("kill_late_orders", venue=p.venue, orders=sorted(_key(o) for o in late))
                if again:
                    p.audit.event("kill_cancel_again", venue=p.venue, orders=sorted(_key(o) for o in again))
                self.cancelled_late = True
                await self.cancel([*late, *again])
                # Listed once more: the venue may have taken another while these were cancelled.
                listed = await self.listed()
            still = {_key(o) for o in listed}
        except TickwireError as e:
            self._failed("open orders after the cancels", e)
            still = None
        cancelled: list[Order] = []
        done: list[Order] = []
        unconfirmed: list[Order] = []
        for o in orders:
            now = self.current(o)
            if still is not None and _key(now) in still:
                unconfirmed.append(now)
                continue
            if now.is_open:
                try:
                    body = await self.send(p.grammar.status(o.symbol, o.client_id or None, o.order_id))
                    now = (self._state(body) or [now])[0]
                except TickwireError as e:
                    if not p.grammar.not_found(e):
                        self._failed(f"status of {_key(o)}", e)
            if now.is_open:
                unconfirmed.append(now)
            else:
                (cancelled if now.status == "canceled" else done).append(now)
        return cancelled, done, unconfirmed

    def _unsettled(
        self, listed: Sequence[Order], orders: Sequence[Order], closing: Sequence[Order]
    ) -> tuple[list[Order], list[Order]]:
        """(late, again) of a listing after the cancels. Late: open but never aimed at — written
        before the halt and taken by the venue after the first listing (its own call in flight), or
        another script's on the key. Again: aimed at and still open — their cancel failed (a 5xx, a
        time-out the venue never processed); one blip must not leave them working after the kill.
        By either id: a target listed first by client id may be listed now by its order id."""
        known = [self.current(o) for o in [*orders, *closing]]
        aimed = {k for o in known for k in (o.order_id, o.client_id) if k}
        late = [o for o in listed if not ({o.order_id, o.client_id} & aimed)]
        targets = {k for o in orders for k in (self.current(o).order_id, self.current(o).client_id) if k}
        again = [o for o in listed if {o.order_id, o.client_id} & targets]
        return late, again

    def current(self, o: Order) -> Order:
        t = self.port.tracker
        got = t.get(o.client_id) if o.client_id else None
        if got is None and o.order_id:
            got = t.by_order_id(o.order_id)
        return got or o

    # positions ---------------------------------------------------------------------------------------

    async def close_positions(self) -> tuple[list[Order], list[Position]]:
        """(closing orders sent, positions still open afterwards): ``kill_positions.PositionCloser``."""
        return await self.closer.close_positions()
