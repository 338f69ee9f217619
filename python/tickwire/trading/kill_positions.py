"""The kill switch's step 3 (``trading/kill.py``): positions closed — an account-wide close where
the grammar has one, else reduce-only market orders against what the venue lists — and a closing
order whose answer is lost reconciled before the positions are read again for the report, never sent
again while its fate is unknown.

Apart from :mod:`tickwire.trading.kill` because it holds what closing positions needs beyond the
cancels: ``PositionCloser`` is given the kill's port and the few things of the kill it reports
through (its step failures, its reading of an answer's orders, the tracker's current view)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tickwire.errors import TickwireError, TransportError, UnknownOutcome
from tickwire.limits import Lane
from tickwire.trading.orders import Order, Side
from tickwire.trading.place import register, send_order
from tickwire.trading.reconcile import until_settled
from tickwire.trading.venue import Call, Position
from tickwire.trading.wire import was_unsent

if TYPE_CHECKING:
    from tickwire.trading.kill import KillPort

__all__ = ["CLOSE_ROUNDS", "NO_MEANS", "PositionCloser", "closes_positions"]

# Reduce-only orders sent against one position in one closing step: the first, and one more only once
# reconciliation found no trace of the first (never while its fate is unknown).
CLOSE_ROUNDS = 2
# How the kill's ``errors`` end where the venue has positions but no means to close them.
NO_MEANS = "no means to close positions; left open"


def closes_positions(grammar: object) -> bool:
    """Whether the kill has a means to close the venue's positions: an account-wide close
    (``close_all``) or reduce-only orders (``close_by_reduce_only``)."""
    return getattr(grammar, "close_all", None) is not None or bool(
        getattr(grammar, "close_by_reduce_only", False)
    )


class PositionCloser:
    """Closes the account's positions for one kill (``close_positions``)."""

    def __init__(
        self,
        port: KillPort,
        failed: Callable[[str, Exception], None],
        state: Callable[[Any], list[Order]],
        current: Callable[[Order], Order],
        errors: list[str],
        lane: Lane,
        wait_s: Callable[[set[str]], Awaitable[float]],
        send: Callable[[Call], Awaitable[Any]] | None = None,
    ) -> None:
        # ``lane``: the kill's budget lane for every request; ``wait_s``: how long orders another
        # call is settling are waited for (until each can have its verdict).
        self.lane = lane
        # How each request goes (the kill's ``send``: its lane, a rate block waited out).
        self.send = send or (lambda c: port.send_lane(c, lane))
        self.wait_s = wait_s
        self.port = port
        self.failed = failed
        self.state = state
        self.current = current
        self.errors = errors

    async def positions(self) -> list[Position] | None:
        """Open positions (None on a venue without positions)."""
        g = self.port.grammar
        call = getattr(g, "positions", None)
        if call is None:
            return None
        read: Any = g.read_positions  # type: ignore[attr-defined]
        found: Mapping[str, Position] = read(await self.send(call()))
        return [x for x in found.values() if x.qty != 0]

    async def close_positions(self) -> tuple[list[Order], list[Position]]:
        """(closing orders sent, positions still open afterwards: read once every closing order whose
        answer was lost is reconciled, so they state what the venue holds after it)."""
        p, g = self.port, self.port.grammar
        if getattr(g, "positions", None) is None:
            return [], []
        closing: list[Order] = []
        close_all = getattr(g, "close_all", None)
        try:
            if close_all is not None:
                closing = await self.close_all(close_all)
            elif getattr(g, "close_by_reduce_only", False):
                await self.close_by_reduce_only(closing)
        except TickwireError as e:
            self.failed("close positions", e)
        try:
            left = await self.positions() or []
        except TickwireError as e:
            self.failed("positions after closing", e)
            return closing, []
        no_means = f"{p.venue}: {NO_MEANS}"
        if left and not closes_positions(g):
            if no_means not in self.errors:  # closed again after orders in flight landed: said once
                self.errors.append(no_means)
        return closing, left

    async def close_all(self, make: Callable[[], Call]) -> list[Order]:
        """The account-wide close (``make()``: its request), its closing orders as the answer lists
        them. Its answer lost (a time-out, the connection gone): the positions are listed again and,
        any still open, it is sent once more (``CLOSE_ROUNDS``) — a close-all flattens what is open
        when the venue runs it, so a second cannot close anything twice (the first, should it run
        late, finds the account flat). The lost one's orders are not in the list; the positions read
        afterwards say what the two did."""
        p, g = self.port, self.port.grammar
        for round_ in range(CLOSE_ROUNDS):
            p.audit.event("kill_close_all", venue=p.venue)
            try:
                body = await self.send(make())
            except (TransportError, UnknownOutcome) as e:
                if was_unsent(e) or round_ + 1 == CLOSE_ROUNDS:
                    raise
                p.audit.event("kill_close_all_lost", venue=p.venue, error=str(e))
                held = await self.positions()
                if held is not None:  # the lost answer's orders unknown: the gate takes the venue's word
                    p.risk.observe_positions({x.symbol: x.qty for x in held})
                if not held:
                    return []
                continue
            closing = self.state(g.read_close_all(body))  # type: ignore[attr-defined]
            for o in closing:  # the venue's orders: what they filled moves the position counted
                p.risk.count_untracked(p.tracker, o)
            return closing
        return []

    async def close_by_reduce_only(self, closing: list[Order]) -> None:
        """A reduce-only market order against each position listed, appended to ``closing``. Orders
        already unknown are reconciled first (``settle_unknown``); a symbol where a reduce-only order
        is still unknown after that gets no other (reported in ``errors``: reduce-only keeps a second
        from flipping the position, but an order whose fate is unknown is never sent again blindly).
        A closing order whose answer is lost is reconciled at once (``reduce``); one proved absent is
        followed, once, by another against the position as it is listed again (``CLOSE_ROUNDS``) —
        where the venue names no request window, "absent" is concluded after the reconciler's queries
        (not after the session's ``lost_order_wait_s``, as other orders: ``Reconciler.unwaited``), and
        should the first still reach the venue's engine later, reduce-only lets it only shrink what is
        left (the venue refuses it once the position is flat)."""
        await self.settle_unknown()
        retry: set[str] | None = None
        for round_ in range(CLOSE_ROUNDS):
            absent: set[str] = set()
            for pos in await self.positions() or ():
                if retry is not None and pos.symbol not in retry:
                    continue
                blocking = self.unknown_reducing(pos.symbol)
                if blocking:
                    # A concurrent kill may have sent it after ``settle_unknown`` above looked (its call
                    # still running): waited for as there, and the position read again after it.
                    await self.settle_unknown()
                    blocking = self.unknown_reducing(pos.symbol)
                    if not blocking:
                        now = [x for x in await self.positions() or () if x.symbol == pos.symbol]
                        if not now:
                            continue  # flat: that order closed it
                        pos = now[0]
                if blocking:
                    self.failed(
                        f"close {pos.symbol}",
                        UnknownOutcome(f"closing order {', '.join(blocking)} still unknown; not sent again"),
                    )
                    continue
                o, not_placed = await self.reduce(pos)
                if o is None:
                    continue
                closing.append(o)
                if not_placed:
                    if round_ + 1 < CLOSE_ROUNDS:
                        absent.add(pos.symbol)
                    else:
                        self.failed(f"close {pos.symbol}", TransportError(f"{o.client_id} {o.reason}"))
            if not absent:
                return
            p = self.port
            p.audit.event("kill_close_again", venue=p.venue, symbols=sorted(absent))
            retry = absent

    def unknown_reducing(self, symbol: str) -> list[str]:
        """Client ids of the reduce-only orders on ``symbol`` whose fate is not known (``unknown``, or
        ``pending``: their call still running)."""
        return sorted(
            o.client_id
            for o in self.port.tracker.open_orders()
            if o.symbol == symbol and o.reduce_only and o.status in ("unknown", "pending")
        )

    async def settle_unknown(self) -> None:
        """Before positions are closed, every tracked reduce-only order whose fate is not known is
        settled where it can be: one being settled now (its call, its reconciliation: ``in_flight`` —
        a kill running at the same time) is waited for until it can have its verdict (``wait_s``);
        one left ``unknown`` by a reconciliation whose queries failed (an earlier kill's closing
        order) is reconciled again now — found, as the venue has it; no trace, not placed. The
        positions listed after that include what they did. (Other orders whose fate is unknown are
        not waited for here: positions are closed first, then those are waited for and what they
        traded closed again — see ``landed``.)"""
        p = self.port
        unknown = [o for o in p.tracker.open_orders() if o.reduce_only and o.status in ("unknown", "pending")]
        if not unknown:
            return
        busy = {o.client_id for o in unknown} & p.in_flight()
        if busy:
            await until_settled(p.in_flight, busy, await self.wait_s(busy))
        for o in unknown:
            now = self.current(o)
            if now.status != "unknown" or p.reconciler.owned(o.client_id):
                continue
            p.audit.event("kill_reconcile", venue=p.venue, client_id=o.client_id)
            try:
                await p.reconciler.resolve(now, f"still unknown when the kill was thrown ({now.reason})")
            except UnknownOutcome as e:
                self.failed(f"reconcile {o.client_id}", e)
            except TransportError:
                pass  # no trace at the venue: not placed (``rejected``)

    async def reduce(self, pos: Position) -> tuple[Order | None, bool]:
        """A reduce-only market order against ``pos``: it can only shrink the position. Sent as every
        order is (``place.send_order``: registered, its answer applied, an answer lost reconciled before
        this returns — never answered by a resend while the order's fate is unknown), over REST on
        the kill's lane. (The order as the venue has it, or None when it was refused before it was
        written; whether it was proved not placed: its answer lost, reconciliation found no trace.)"""
        p = self.port
        side: Side = "sell" if pos.qty > 0 else "buy"
        try:
            order = p.prepare(pos.symbol, side, "market", abs(Decimal(pos.qty)), reduce_only=True)
            call = p.grammar.new_order(order)  # refused by the grammar: nothing tracked
        except TickwireError as e:
            self.failed(f"close {pos.symbol}", e)
            return None, False
        register(p, order)
        # Its "not placed" waits only a window the venue names, not the session's guess: reduce-only,
        # a late one can only shrink what is left, and the position is not left open meanwhile.
        p.reconciler.unwaited.add(order.client_id)
        p.audit.event("kill_close", venue=p.venue, symbol=pos.symbol, side=side, qty=str(order.qty),
                      client_id=order.client_id)  # fmt: skip
        try:
            return await send_order(p, order, call, self.send), False
        except TransportError as e:
            if was_unsent(e):  # not one byte written: withdrawn, nothing sent
                self.failed(f"close {pos.symbol}", e)
                return None, False
            # Only a lost answer's reconciliation raises this one (``send_order``): no trace.
            p.audit.event("kill_close_absent", venue=p.venue, client_id=order.client_id)
            return self.current(order), True
        except TickwireError as e:  # refused (``rejected``), unsent, or still unknown after the queries
            self.failed(f"close {pos.symbol}", e)
            return (None if was_unsent(e) else self.current(order)), False
