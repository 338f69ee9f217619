"""What each request op of an account's order service (:class:`~tickwire.gateway.orders.OrderService`)
does with the account's trading session: places (each id the requesting strategy's), cancels and
amends (of its own orders), cancel-all, the kill and resume (the halt kept past the process), queries,
and ``outcome`` — a lost request's reply by its rid, or the venue's view of what it would have done.
Each takes the request's JSON object and gives the ``result`` of the reply (errors are raised, the
service replies with them)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tickwire.bus import codec
from tickwire.errors import MarketClosed, TickwireError, UnknownOutcome
from tickwire.gateway.admission import Admission
from tickwire.gateway.events import WRITE_AHEAD_S, EventPublisher
from tickwire.gateway.outcomes import Outcomes, Reply, rid_key
from tickwire.gateway.state import Halt, Lease
from tickwire.trading.codes import invalid_order
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession
from tickwire.trading.settle_bound import query_budget_s, request_bound_s, settle_bound_s

log = logging.getLogger("tickwire.gateway")


class OpsPort(Protocol):
    """What the ops need of the account's order service."""

    gateway: str
    venue: str
    account: str
    admission: Admission
    outcomes: Outcomes
    session: TradingSession | None
    failed: Reply | None  # the error every request gets when the session did not start
    halt: Halt | None
    events: EventPublisher

    @property
    def lease(self) -> Lease | None: ...

    def health(self) -> dict[str, Any]: ...


def _maybe_sent(e: BaseException) -> bool:
    """Whether the venue may have the order of a place that raised ``e``: the session's typed errors
    are its refusals (or nothing sent), but for ``UnknownOutcome``; anything else (a cancellation
    mid-send, a bug) may have left it there."""
    return not isinstance(e, TickwireError) or isinstance(e, UnknownOutcome)


# The longest kill reason kept as given (``Ops.kill``).
KILL_REASON_MAX = 1000


def _symbol(req: dict[str, Any], *, optional: bool = False) -> Any:
    """The symbol a request names, refused (``InvalidOrder``, nothing sent) unless it is text — or,
    ``optional``, absent: before, ``None`` or a number went to the venue as the text "None"."""
    symbol = req.get("symbol")
    if (symbol is None and optional) or (isinstance(symbol, str) and symbol):
        return symbol
    raise invalid_order(f"a request's symbol is a venue symbol's text, not {symbol!r}")


def _flag(req: dict[str, Any], name: str) -> Any:
    """``post_only``/``reduce_only`` as sent (unstated: False), for the session to refuse anything but a
    bool — read with ``bool()`` as before, a text "false" placed a post-only order."""
    got = req.get(name)
    return False if got is None else got


def _terms(req: dict[str, Any]) -> tuple[Any, ...]:
    """A place's symbol, side, type, quantity and price, every one read (``InvalidOrder`` for one
    missing or a symbol not text) before anything is written ahead: a ``KeyError`` or ``TypeError``
    met after the write was taken for a place that may be at the venue, its entry left in the ledger."""
    return _symbol(req), req["side"], req["type"], req["qty"], req.get("price")


def request_settle_s(s: TradingSession) -> float:
    """The longest a request sent now may take on ``s``: a place's write-ahead, the rate wait, then
    ``settle_bound.request_bound_s`` (its time-out, a lost order's wait for the venue's request
    window, else the session's ``lost_order_wait_s``, and the reconciliation's queries). Without that
    wait, a place the gateway an account was taken from sent just before could still be waiting for
    its verdict when the successor answered "unseen"."""
    return WRITE_AHEAD_S + s.budget.max_wait_s + request_bound_s(s)


async def settle_s(s: TradingSession) -> float:
    """The longest a request may take on ``s`` from now: ``request_settle_s``, or longer where an
    order lost already waits longer — its window lengthened by how far the venue's clock fell behind
    the offset it was stamped with, as the session's own wait is (``settle_bound_s``)."""
    return max(request_settle_s(s), WRITE_AHEAD_S + await settle_bound_s(s, s.reconciler))


def lease_terms(s: TradingSession | None) -> tuple[float, float | None] | None:
    """What this gateway writes in its lease for a successor (``Lease.terms``): ``request_settle_s``
    on its own settings, and the venue-clock offset its requests are stamped on where the venue's
    window bounds them (None: the wait is the session's, no clock in it)."""
    if s is None:
        return None
    return request_settle_s(s), None if s.request_window_s() is None else s.signing_offset_ms()


async def predecessor_s(s: TradingSession, lease: Lease | None) -> float | None:
    """How long after this gateway took the account over a request the gateway it was taken from
    took may still be settling: that gateway's ``request_settle_s`` (its settings, not this one's),
    plus how far the venue's clock now stands behind the offset it stamped with. None when the lease
    was free, or its holder wrote no terms (an older gateway, or one whose session never ran)."""
    if lease is None or lease.taken_over is None or lease.holder_terms is None:
        return None
    bound, offset = lease.holder_terms
    if offset is None:
        return bound
    return bound + await s.clock_fell_back_s(offset, lease.taken_over)


class Ops:
    """The ops of one account, by name (:meth:`by_name`)."""

    def __init__(self, svc: OpsPort) -> None:
        self.svc = svc

    def by_name(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "hello": self.hello, "place": self.place, "place_many": self.place_many,
            "cancel": self.cancel, "amend": self.amend,
            "cancel_all": self.cancel_all, "kill": self.kill, "resume": self.resume,
            "status": self.status, "reconcile": self.reconcile, "outcome": self.outcome,
            "open_orders": self.open_orders, "balances": self.balances, "positions": self.positions,
            "fills": self.fills, "health": self.health,
        }  # fmt: skip

    @property
    def _s(self) -> TradingSession:
        assert self.svc.session is not None
        return self.svc.session

    async def _mine(self, req: dict[str, Any]) -> dict[str, Any]:
        """The order ``req`` names, once it is the requesting strategy's (``Admission.mine``)."""
        return await self.svc.admission.mine(req, self._s.tracker)

    async def hello(self, req: dict[str, Any]) -> Any:
        svc = self.svc
        await svc.admission.register(req.get("strategy"))
        s = svc.session
        return {
            "gateway": svc.gateway,
            "venue": svc.venue,
            "account": svc.account,
            "failed": None if svc.failed is None else svc.failed["message"],
            "halted": None if s is None else s.halted,
            "rules": {} if s is None else codec.dump(s.rules),
            # The longest a request may take here (rate wait, venue time-out, its own reconciliation):
            # the client's ``outcome`` question waits this long for a request still in flight.
            "settle_s": 0.0 if s is None else await self._settle_s(s),
        }

    async def _settle_s(self, s: TradingSession) -> float:
        """``settle_s``, or — while a request the gateway the account was taken from took may still
        be settling — what is left of that wait and the queries an ``outcome`` makes after it."""
        own = await settle_s(s)
        before = await predecessor_s(s, self.svc.lease)
        if before is None:
            return own
        assert self.svc.lease is not None and self.svc.lease.taken_over is not None
        left = self.svc.lease.taken_over + before - time.monotonic()
        return max(own, left + query_budget_s(s.timeout))

    async def place(self, req: dict[str, Any]) -> Any:
        admission = self.svc.admission
        cid = admission.own_id(await admission.register(req.get("strategy")), req)
        events = self.svc.events
        terms = _terms(req)
        written = await events.placing({cid: terms[0]})
        try:
            o = await self._s.place_order(
                *terms, tif=req.get("tif", "GTC"), post_only=_flag(req, "post_only"),
                reduce_only=_flag(req, "reduce_only"), client_id=cid,
            )  # fmt: skip
        except BaseException as e:
            for c in written:  # not another place's entry: a second place of one id is refused
                await events.placed(c, _maybe_sent(e))
            raise
        for c in written:
            await events.placed(c, True)
        return codec.dump(o)

    async def place_many(self, req: dict[str, Any]) -> Any:
        """The session's ``place_orders`` (the venue's batch request where it has one): one reply per
        order, ``{"result": order}`` or its error, in the order asked."""
        ids = await self.svc.admission.register(req.get("strategy"))
        entries = req["orders"]
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise invalid_order("place_many names a list of orders (each an object)")
        prepared: list[Order | TickwireError] = []
        for e in entries:
            try:
                prepared.append(
                    self._s.prepare(
                        *_terms(e),
                        tif=e.get("tif", "GTC"),
                        post_only=_flag(e, "post_only"),
                        reduce_only=_flag(e, "reduce_only"),
                        client_id=self.svc.admission.own_id(ids, e),
                    )
                )
            except MarketClosed as closed:  # that entry's own result, as the session's place_orders has it
                prepared.append(closed)
        orders = [o for o in prepared if isinstance(o, Order)]
        events = self.svc.events
        written = await events.placing({o.client_id: o.symbol for o in orders})
        try:
            placed = iter(await self._s.place_orders(orders) if orders else [])
        except BaseException as e:
            for cid in written:
                await events.placed(cid, _maybe_sent(e))
            raise
        results = [next(placed) if isinstance(p, Order) else p for p in prepared]
        for o, r in zip(prepared, results, strict=True):
            if isinstance(o, Order) and o.client_id in written:
                await events.placed(o.client_id, not isinstance(r, BaseException) or _maybe_sent(r))
        return [{"result": codec.dump(r)} if isinstance(r, Order) else codec.dump_error(r) for r in results]

    async def cancel(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.cancel_order(_symbol(req), **(await self._mine(req))))

    async def amend(self, req: dict[str, Any]) -> Any:
        o = await self._s.amend_order(
            _symbol(req), **(await self._mine(req)), qty=req.get("qty"), price=req.get("price"),
        )  # fmt: skip
        return codec.dump(o)

    async def cancel_all(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.cancel_all(_symbol(req, optional=True)))

    async def kill(self, req: dict[str, Any]) -> Any:
        svc = self.svc
        log.warning("%s/%s: kill switch thrown by %s: %s", svc.venue, svc.account, req.get("strategy"),
                    req.get("reason"))  # fmt: skip
        reason = str(req.get("reason") or "kill switch")
        if len(reason) > KILL_REASON_MAX:
            # A note for people, kept in the store and carried back in the report: one of any length
            # failed the store's write (the halt not kept: a restart a silent resume) and made a report
            # over the bus's max payload (no answer to a kill that ran).
            reason = reason[:KILL_REASON_MAX] + f"… (cut from {len(reason)} characters)"
        # A session past its close refuses the kill unrun: nothing halted, nothing stored.
        self._s.ensure_killable(reason)
        # Stored beside the kill, not before it: the kill never waits on the store (its leader may be
        # moving), and a gateway that dies mid-kill most likely restarts halted all the same.
        stored = asyncio.ensure_future(svc.halt.put(reason)) if svc.halt is not None else None
        try:
            return codec.dump(await self._s.kill(reason))
        finally:
            if stored is not None:
                try:
                    await stored
                except Exception as e:
                    log.error("%s/%s: the halt was not stored (%s): a restart would not keep it",
                              svc.venue, svc.account, e)  # fmt: skip

    async def resume(self, req: dict[str, Any]) -> Any:
        self._s.ensure_resumable()  # before the stored halt is cleared: a kill still running keeps it
        if self.svc.halt is not None:
            await self.svc.halt.clear()  # failing, the resume fails: a restart would halt again
        self._s.resume()
        return None

    async def status(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.order_status(_symbol(req), **(await self._mine(req))))

    async def reconcile(self, req: dict[str, Any]) -> Any:
        """What the venue knows of a client id (None: no trace of it)."""
        s, named = self._s, await self._mine(req)
        cid = named["client_id"]
        if not cid:
            # Named by order id alone: ``_mine`` found it tracked as the strategy's (before, the venue
            # was asked about the client id "None" and the answer was None — no trace — for an order
            # resting there).
            tracked = s.tracker.by_order_id(str(named["order_id"]))
            assert tracked is not None and tracked.client_id is not None
            cid = tracked.client_id
        if s.tracker.get(cid) is not None:
            return codec.dump(await s.reconcile(cid))
        try:
            return codec.dump(await s.order_status(_symbol(req), client_id=cid))
        except TickwireError as e:
            if s.grammar.not_found(e):
                return None
            raise

    async def outcome(self, req: dict[str, Any]) -> Any:
        """A mutating request's reply, by its rid: ``{"state": "done", "reply": …}``; or, never seen
        (now abandoned), ``{"state": "unseen", "order": …}`` with the venue's view of a place's id."""
        fut = self.svc.outcomes.abandon(rid_key(req))
        if fut is not None:
            return {"state": "done", "reply": await asyncio.shield(fut)}
        taken = self.svc.lease.taken_over if self.svc.lease is not None else None
        if taken is not None:
            # Unseen here is no proof it never ran: the gateway this one took the account from may be
            # alive, cut off, and still running it — a request it took before, settled within the
            # window — its own, with the venue clock's correction. The venue is asked once that has
            # passed.
            before = await predecessor_s(self._s, self.svc.lease)
            wait = await settle_s(self._s) if before is None else before
            await asyncio.sleep(taken + wait - time.monotonic())
        if isinstance(req.get("orders"), list):  # a place_many: each of its orders
            found = [await self.reconcile({**e, "strategy": req.get("strategy")}) for e in req["orders"]]
            return {"state": "unseen", "orders": found}
        order = await self.reconcile(req) if req.get("client_id") and req.get("symbol") else None
        return {"state": "unseen", "order": order}

    async def open_orders(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.open_orders(_symbol(req, optional=True)))

    async def balances(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.balances())

    async def positions(self, req: dict[str, Any]) -> Any:
        return codec.dump(await self._s.positions())

    async def fills(self, req: dict[str, Any]) -> Any:
        since = req.get("since_ms")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise invalid_order(f"since_ms is a Unix time in ms, not {since!r}")
        return codec.dump(await self._s.fills(_symbol(req), since))

    async def health(self, req: dict[str, Any]) -> Any:
        return self.svc.health()
