"""Order entry for one venue account the gateway owns: requests on ``tw.ord.<venue>.<account>.<op>``
(JSON, request-reply) served by the account's one :class:`~tickwire.trading.session.TradingSession`
(what each op does with it: :mod:`tickwire.gateway.ops`).

One session per account, whatever the number of clients, is the point: one rate budget (every client's
orders count against the venue's one limit), one tracker (exactly-once fills and events), one kill
switch (``kill`` from any client halts and flattens the account for all of them), one dead-man switch.

Requests and replies (:mod:`tickwire.bus.codec`): a reply is ``{"result": …}`` or a typed error
``{"error": <class>, "message": …, "fields": {…}}`` the client raises again as the same class.

Client ids. A client's ``strategy`` is its prefix: the client makes each id itself with the venue's
:class:`~tickwire.trading.client_ids.ClientIds` format (prefix + its own random nonce + counter), so it
knows the id before the request leaves and can ask about it when the answer is lost. The gateway
refuses a place whose id lacks the requesting strategy's prefix, and a strategy whose prefix would
overlap another's (``a`` and ``a-b``: ``a-b-x`` would carry both), so ``owns`` tells every client's
orders apart on the one shared key.

Lost answers. Every mutating request (place, cancel, amend, cancel_all, kill, resume) carries a
request id (``rid``). The gateway notes it as the message arrives — before any await, on the one
subscription all ops share, so a later request from the same client is seen after it — and keeps its
reply. A client whose request timed out asks ``outcome`` for that rid: the reply of a request still in
flight is awaited, a finished one's is returned, and an rid never seen is marked abandoned (the request,
should it still arrive, is refused unrun) and, for a place, the venue is asked about the client id (a
gateway restarted in between). Nothing is ever resent."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

import tickwire
from tickwire._core import OrderBook
from tickwire.bus import codec, subjects
from tickwire.errors import TickwireError, TransportError, UnknownOutcome
from tickwire.gateway.admission import Admission
from tickwire.gateway.catch_up import Marks, catch_up, log_failure, marks
from tickwire.gateway.config import AccountConfig
from tickwire.gateway.events import EventPublisher, ensure_stream
from tickwire.gateway.lease_watch import LeaseWatch, answering
from tickwire.gateway.ops import Ops, lease_terms
from tickwire.gateway.outcomes import Outcomes, Reply, late_s, rid_key
from tickwire.gateway.state import Halt, Lease, Ledger, Strategies
from tickwire.gateway.state import bucket as state_bucket
from tickwire.recovery.backoff import Backoff
from tickwire.trading.book_cost import book_cost
from tickwire.trading.client_ids import FORMATS
from tickwire.trading.codes import invalid_order
from tickwire.trading.session import TradingSession
from tickwire.trading.wire import unsent

log = logging.getLogger("tickwire.gateway")

MUTATING = frozenset({"place", "place_many", "cancel", "amend", "cancel_all", "kill", "resume"})
# What adds to the account's orders, refused while the event backlog is at its bound
# (``EventPublisher.refuse_if_backed_up``): a cancel, cancel-all or kill still runs.
NEW_ORDERS = frozenset({"place", "place_many", "amend"})
# The longest pause between two starts of a session the venue kept from starting (unreachable).
START_RETRY_MAX_S = 30.0
# The longest pause between two runs of a halted account's kill the venue kept from finishing.
KILL_RETRY_MAX_S = 30.0


class OrderService:
    """Serves one account. Build it with :meth:`open`; ``close()`` disarms its dead-man switch."""

    def __init__(
        self, nc: Any, gateway: str, acct: AccountConfig, books: Callable[[str], OrderBook] | None = None
    ) -> None:
        self.nc = nc
        # The gateway's live books of this venue, if it publishes its market data: what prices a
        # market order under a notional cap (``RiskGate.market_cost``).
        self.books = books
        self.gateway = gateway
        self.config = acct
        self.venue = acct.venue
        self.account = acct.name
        self.session: TradingSession | None = None
        self.failed: Reply | None = None  # the error every request gets when the session did not start
        self.events = EventPublisher(nc, acct.venue, acct.name, gateway)
        self.outcomes = Outcomes()
        self.halt: Halt | None = None  # the kill switch's halt, kept past this process
        # The account's lease, and whether this gateway still holds it once its link is back.
        self.watch = LeaseWatch(f"{acct.venue}/{acct.name}", self._step_down)
        self.events.holds = lambda: self.watch.serving  # the ledger written only while sure of it
        # close() has begun: ``health``, ``outcome`` (of a request taken before) and ``kill`` are
        # answered, any other request refused at once as not run.
        self.closing = False
        # Which strategy a request speaks for, and which orders are its own.
        self.admission = Admission(acct.venue, acct.name, FORMATS[acct.venue])
        self.requests = 0
        self.errors = 0
        self._sub: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._retry: asyncio.Task[None] | None = None  # the session started again (``_start``)
        self._catching: asyncio.Task[None] | None = None  # what happened in a gap told (``_start``)
        self._killing: asyncio.Task[None] | None = None  # a halted start's kill run again (``_finish_kill``)
        # What each op does with the session (gateway/ops.py), by its name.
        self._ops = Ops(self).by_name()

    @classmethod
    async def open(
        cls, nc: Any, gateway: str, acct: AccountConfig, books: Callable[[str], OrderBook] | None = None
    ) -> OrderService:
        """Starts the account's trading session (``tickwire.trade(venue, credentials=<Signer from
        acct.env>, **acct.options)``) and serves it. A session that cannot start for a venue-side
        reason (credentials missing or refused, venue unreachable) leaves the service up, answering
        every request with that error, so clients learn why instead of timing out; a bad option
        (``ValueError``) fails the gateway's start."""
        svc = cls(nc, gateway, acct, books)
        serving = await svc._answering()
        if serving is not None:
            raise ValueError(f"{acct.venue}/{acct.name} is already served by gateway {serving}")
        await ensure_stream(nc)
        kv = await state_bucket(nc)
        lease, sent = Lease(kv, acct.venue, acct.name, gateway), time.monotonic()
        lease.terms = lambda: lease_terms(svc.session)  # for a successor's wait (``Ops.outcome``)
        await lease.take(svc._answering)  # ValueError: another gateway has it
        svc.watch.took(lease, sent)
        svc.halt = Halt(kv, acct.venue, acct.name)
        svc.events.ledger = Ledger(kv, nc.jetstream(timeout=2.0), acct.venue, acct.name)
        svc.admission.registry = Strategies(kv, acct.venue, acct.name)
        try:
            await svc._start()
        except BaseException:
            await svc.close()
            raise
        return svc

    async def _start(self) -> None:
        """The session started and the account's requests subscribed, the lease still this one's. A
        session the venue kept from starting (unreachable, a time-out: not refused credentials) is
        started again in the background (full-jitter back-off from 0.5 s up to ``START_RETRY_MAX_S``)
        until it does; requests meanwhile get the start's error, and the lease keeps other gateways out."""
        acct, nc = self.config, self.nc
        assert self.lease is not None
        ledger = self.events.ledger
        heard = await ledger.opens()
        before = await marks(ledger, heard)
        self.events.heard_open = set(heard)
        self.events.start()
        error = await self._start_session()
        self._sub = await nc.subscribe(subjects.orders(acct.venue, acct.name, "*"), cb=self._on_request)
        await nc.flush()
        if not await self.lease.held():  # taken over while this one started: it serves, not this
            raise ValueError(
                f"{acct.venue}/{acct.name}: another gateway took the account while this one started"
            )
        if self.session is not None and heard:
            # Once serving, in the background: its queries may be asked again for minutes (a venue
            # not answering), and neither the account nor the gateway's other accounts wait on it.
            self._catching = asyncio.get_running_loop().create_task(
                catch_up(self._s, self.events, heard, before)
            )
            self._catching.add_done_callback(log_failure)
        elif isinstance(error, TransportError):
            self._retry = asyncio.get_running_loop().create_task(self._start_again(heard, before))

    async def _start_again(self, heard: dict[str, str], before: Marks) -> None:
        backoff = Backoff(base=0.5, cap=START_RETRY_MAX_S, immediate_first=False)
        try:
            while self.session is None and not self.stepped_down:
                await asyncio.sleep(backoff.next_delay() or 0.0)
                error = await self._start_session()
                if error is None:
                    log.warning("%s/%s: trading session started", self.venue, self.account)
                    if heard:
                        await catch_up(self._s, self.events, heard, before)
                    return
                if not isinstance(error, TransportError):  # refused credentials: kept for good
                    return
        finally:
            self._retry = None

    async def _start_session(self) -> TickwireError | None:
        """Starts the trading session (``self.session``, ``failed`` cleared); the error it met, kept
        in ``failed`` for every request to get, if it did not start."""
        acct = self.config
        assert self.halt is not None
        try:
            # Read before the session starts: a read that fails after it (the store away: a leader
            # election, the link lost) left the session running, not halted, and ended its background
            # start with the first error kept as every request's answer.
            halted = await self.halt.get()
        except Exception as e:  # started again later (``_start_again``), as a venue kept away is
            err = TransportError(f"{acct.venue}/{acct.name}: the kill switch's stored halt not read: {e!r}")
            log.error("%s/%s: trading session not started: %s", acct.venue, acct.name, err)
            self.failed = codec.dump_error(err)
            return err
        try:
            session = tickwire.trade(
                acct.venue,
                credentials=acct.signer(),
                on_order=self.events.on_order,
                on_fill=self.events.on_fill,
                # The account is this gateway's alone: every order of it is one of its clients', so a
                # restarted gateway tracks (and publishes the fills of) all those left open.
                **{"adopt": _every, **dict(acct.options)},
            )
            if self.books is not None:
                session.risk.market_cost = functools.partial(book_cost, self.books)
            self.session = await session.start()
            if self.stepped_down:
                # Stepped down while it started (a start again in the background): the step-down
                # found no session to quiet, and this one read and refreshed for the new gateway's
                # account for good.
                _quiet(self.session)
            if halted is not None:  # a kill this account's last gateway took: still in force
                log.warning(
                    "%s/%s: trading halted since before this start (%s): its kill run again",
                    acct.venue, acct.name, halted,
                )  # fmt: skip
                self.session.halt(halted)
                await self._finish_kill(halted)
        except TickwireError as e:
            log.error("%s/%s: trading session did not start: %s", acct.venue, acct.name, e)
            self.failed = codec.dump_error(e)
            return e
        self.failed = None
        return None

    async def _finish_kill(self, reason: str) -> None:
        """The kill whose halt is stored run again before the account is served: the gateway that
        took it may have died mid-way (the halt is stored beside the kill, not after it), leaving
        orders it was about to cancel resting under an account that reads "halted". While halted no
        order can be placed, so on an account the kill had flattened this cancels and closes nothing.
        Before, a halted start only refused new orders (``tests/gateway/test_kill_failover.py``).
        One the venue kept from finishing — a 429 block longer than a kill waits out, a 5xx, a
        connection cut — is run again in the background (``_kill_again``) until it has done what it
        can, while the account stays halted: before, it was only logged, and the orders rested."""
        if not await self._kill_once(reason):
            self._killing = asyncio.get_running_loop().create_task(self._kill_again())

    async def _kill_once(self, reason: str) -> bool:
        """One run of the halted account's kill; whether it left nothing it could still do."""
        try:
            # Shielded: a close cutting the retry short lets a kill under way end (the session's close
            # waits for it), never stops it between its cancels.
            report = await asyncio.shield(self._s.kill(reason))
        except Exception as e:  # the halt stands: new orders are refused whatever this met
            log.error("%s/%s: the halted account's kill failed: %s", self.venue, self.account, e)
            return False
        if not report.complete:
            log.error("%s/%s: the halted account's kill run again, not complete: %s", self.venue,
                      self.account, report)  # fmt: skip
        return not report.left_to_do(self._s.grammar)

    async def _kill_again(self) -> None:
        """The halted account's kill run again (full-jitter back-off from 0.5 s up to
        ``KILL_RETRY_MAX_S``) until one leaves nothing it could still do, while the account is halted
        and this gateway serves it: a client's ``resume`` ends it."""
        backoff = Backoff(base=0.5, cap=KILL_RETRY_MAX_S, immediate_first=False)
        try:
            while True:
                await asyncio.sleep(backoff.next_delay() or 0.0)
                s = self.session
                if s is None or s.halted is None or self.closing or self.stepped_down:
                    return
                if await self._kill_once(s.halted):
                    log.warning("%s/%s: the halted account's kill finished", self.venue, self.account)
                    return
        finally:
            self._killing = None

    def link_lost(self) -> None:
        """The gateway's NATS link dropped: while it is away another gateway may take the lease."""
        self.watch.link_lost()

    async def link_back(self) -> None:
        """The link is back (the subscription with it): serving again if the lease is still this
        gateway's, else stepping down (:class:`~tickwire.gateway.lease_watch.LeaseWatch`)."""
        await self.watch.link_back()

    @property
    def stepped_down(self) -> bool:
        return self.watch.stepped_down

    @property
    def lease(self) -> Lease | None:
        return self.watch.lease

    async def _step_down(self) -> None:
        """Another gateway took the account over meanwhile: this one's requests unsubscribed and
        refused, its events no longer published, its dead-man switch no longer refreshed — its session
        left as it is (closing it would disarm the switch the account's new gateway relies on)."""
        self.failed = codec.dump_error(
            TransportError(f"{self.venue}/{self.account}: served by another gateway now")
        )
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self.session is not None:
            _quiet(self.session)
        # The ledger is the new gateway's (read at its start): nothing more written in it from here.
        self.events.disown()
        await self.events.close()
        self.events.muted = True

    async def _answering(self) -> str | None:
        return await answering(self.nc, self.venue, self.account)

    async def close(self) -> None:
        # A catch-up cut short leaves its orders in the ledger: the next gateway tells them.
        self.watch.stop()
        for task in (self._retry, self._catching, self._killing):
            if task is not None:
                task.cancel()
        # New requests are refused (``_on_request``), but the account is still answered for (``health``,
        # ``outcome``) until the session closed: its orders in flight are being settled, and a gateway
        # starting meanwhile must not take the lease over as a dead one's — two sessions on one account.
        # So the lease is renewed (and ``serving`` holds) until the session closed, not stopped here.
        self.closing = True
        try:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=5.0)
            if self.session is not None:
                # Stepped down, the account's dead-man countdown is its new gateway's: a clean close
                # would disarm it (nothing left in flight here to settle). A kill thrown meanwhile —
                # before the session's close or during it — is run, and the session's close waits for
                # it before it closes the wire (``TradingSession.close``).
                await self.session.close(disarm=not self.stepped_down)
            if self._tasks:
                # What is still answering — a kill's halt being stored, its report sent — before the
                # subscription and the connection go.
                await asyncio.wait(list(self._tasks), timeout=5.0)
            if self._sub is not None:
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
            await self.events.close()
        finally:
            await self.watch.stop_renewing()  # never left running past the close
            await self.admission.close()  # a registry stamp under way, once no request can start one
        if self.lease is not None:
            await self.lease.release()

    def health(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "account": self.account,
            "gateway": self.gateway,
            "failed": None if self.failed is None else self.failed["message"],
            "halted": None if self.session is None else self.session.halted,
            "requests": self.requests,
            "errors": self.errors,
            "in_flight": len(self._tasks),
            "strategies": sorted(self.admission.strategies),
            "session": None if self.session is None else self.session.health(),
            "events": self.events.health(),
        }

    # requests --------------------------------------------------------------------------------------

    async def _on_request(self, msg: Any) -> None:
        # Runs in arrival order for every op (one subscription): the rid is noted here, before any
        # await, so an ``outcome`` asked after a request always finds it.
        op = msg.subject.rsplit(".", 1)[-1]
        if not self.watch.serving and op != "kill":
            # Back from a lost link, its lease not re-checked yet, or not renewed for VALID_S:
            # another gateway may serve the account now, and answer. A kill is run all the same: it
            # only cancels and halts, which cannot hurt a gateway serving the account meanwhile,
            # and a kill switch that waits for a lease check is none.
            return
        if self.closing and op not in ("health", "outcome", "kill"):
            # Refused at once, never run: no other gateway can serve the account until this one
            # released it, so left unanswered the client would wait out its time-out and, finding
            # no one to ask, call the outcome unknown. The outcome of a request taken before the
            # close is still answered (that request is being settled). A kill is run, as when the
            # lease is unsure: it only cancels and halts, and a clean close would otherwise disarm
            # the dead-man switch and leave the account's orders resting — the session's close
            # waits for it, and refuses it (unsent) once past that (``TradingSession.kill``).
            closed = TransportError(
                f"{self.venue}/{self.account}: gateway {self.gateway} is closing: {op} not run"
            )
            self._spawn(self._respond(msg, codec.dump_error(unsent(closed))))
            return
        self.requests += 1
        try:
            req = orjson.loads(msg.data) if msg.data else {}
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as e:
            self._spawn(self._respond(msg, codec.dump_error(invalid_order(f"bad request: {e}"))))
            return
        fut: asyncio.Future[Reply] | None = None
        if op in MUTATING and req.get("rid"):
            key = rid_key(req)
            late = late_s(op, req)
            if late > 0 and self.outcomes.abandon(key) is None:
                stale = TransportError(
                    f"{self.venue}/{self.account}: {op} {req['rid']} arrived {late:.1f} s after its client "
                    "stopped waiting: not run"
                )
                log.warning("%s", stale)
                self._spawn(self._respond(msg, codec.dump_error(unsent(stale))))
                return
            state, fut = self.outcomes.begin(key)
            if state == "abandoned":
                why = invalid_order(f"request {req['rid']} was given up by its client: not run")
                self._spawn(self._respond(msg, codec.dump_error(why)))
                return
            if state == "again":
                assert fut is not None
                self._spawn(self._answer_again(msg, fut))
                return
        self._spawn(self._serve(op, req, msg, fut))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _serve(self, op: str, req: dict[str, Any], msg: Any, fut: asyncio.Future[Reply] | None) -> None:
        try:
            if self.failed is not None and op not in ("hello", "health"):
                reply: Reply = self.failed
            else:
                handler = self._ops.get(op)
                if handler is None:
                    raise invalid_order(f"unknown operation {op!r}")
                if op in NEW_ORDERS:
                    self.events.refuse_if_backed_up(op)
                reply = {"result": await handler(req)}
        except Exception as e:
            if not isinstance(e, TickwireError | ValueError | TypeError | KeyError):
                log.exception("%s/%s: %s failed", self.venue, self.account, op)
            reply = codec.dump_error(e)
        if "error" in reply:
            self.errors += 1
        if fut is not None and not fut.done():
            fut.set_result(reply)
        await self._respond(msg, reply)

    async def _answer_again(self, msg: Any, fut: asyncio.Future[Reply]) -> None:
        await self._respond(msg, await asyncio.shield(fut))

    async def _respond(self, msg: Any, reply: Reply) -> None:
        if msg.reply:
            with contextlib.suppress(Exception):  # a client gone or a connection lost: nothing to do
                data = orjson.dumps(reply)
                limit = getattr(self.nc, "max_payload", 0) or 0
                if limit and len(data) > limit:  # nats-py would refuse it: no answer at all
                    data = orjson.dumps(_fitted(reply, len(data), limit, msg.subject.rsplit(".", 1)[-1]))
                await msg.respond(data)

    @property
    def _s(self) -> TradingSession:
        assert self.session is not None
        return self.session


def _quiet(session: TradingSession) -> None:
    """``session`` left open but no longer acting for the account, which another gateway serves now."""
    if session.dead_man is not None:
        # The countdown is the new gateway's now: refreshed here, it would outlive that one.
        session.dead_man.stop(to_fire=False)
    # The account's periodic reads are the new gateway's, on its budget at the venue.
    session.rules_recheck.stop()
    session.open_audit.stop()


def _every(client_id: str) -> bool:
    return True


# What is kept of an error's message when its reply would exceed the bus's max payload.
FITTED_MESSAGE = 2000


def _fitted(reply: Reply, size: int, limit: int, op: str) -> Reply:
    """A reply of ``size`` bytes, over the server's max payload ``limit`` — which nats-py refuses to
    send, leaving the client waiting out its time-out — made to fit: an error keeps its class, its
    message cut and its small fields (a refusal quoting a huge input); a result too large to carry is
    ``UnknownOutcome`` for a mutating ``op`` (it ran; what it did is for the client to ask:
    ``open_orders``, ``order_status``), else (a query's answer) a ``TransportError`` saying so."""
    if "error" in reply:
        message = str(reply.get("message", ""))
        fields = {
            k: v for k, v in dict(reply.get("fields") or {}).items() if len(orjson.dumps(v)) <= FITTED_MESSAGE
        }
        cut = f"{message[:FITTED_MESSAGE]}… (cut: the reply was {size} bytes, over the bus's {limit})"
        return {**reply, "message": cut, "fields": fields}
    why = f"the gateway's reply is {size} bytes, over the bus's max payload of {limit}"
    if op in MUTATING:
        return codec.dump_error(UnknownOutcome(f"{op} was run, but {why}: ask the orders' state"))
    return codec.dump_error(TransportError(f"{why}: ask for less"))
