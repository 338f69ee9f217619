"""A trading session's start and close, step by step: what is connected, loaded and adopted at start,
in which order (the venue's instrument rules among them); what a close stops, disarms or leaves armed
once the orders being settled were waited for (:mod:`tickwire.trading.closing`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from tickwire.errors import TransportError
from tickwire.limits import Lane, RateBudget
from tickwire.streams import Endpoint
from tickwire.trading.adopt import AdoptPort, adopt_open
from tickwire.trading.channels import Channels
from tickwire.trading.closing import ClosePort, settle_for_close
from tickwire.trading.deadman import DeadMan
from tickwire.trading.delivery import EventFeed
from tickwire.trading.kept_socket import CLOSE_POLL_S
from tickwire.trading.open_audit import OpenAudit
from tickwire.trading.orders import Order
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.risk import RiskGate
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.rules_recheck import RulesRecheck
from tickwire.trading.settle_bound import BoundPort, query_budget_s, settle_bound_s
from tickwire.trading.venue import Call, OrderGrammar, Position
from tickwire.trading.wire import Wire


class RulesPort(Protocol):
    """What loading the instrument rules needs of a trading session."""

    grammar: OrderGrammar
    rules: dict[str, InstrumentRules]
    risk: RiskGate
    budget: RateBudget
    rules_recheck: RulesRecheck

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...


class StartPort(AdoptPort, Protocol):
    """What a start needs of a trading session."""

    grammar: OrderGrammar
    signer: Any
    endpoint: Endpoint
    wire: Wire
    channels: Channels
    risk: RiskGate
    dead_man: DeadMan | None
    open_audit: OpenAudit

    async def send(self, call: Call, lane: Lane = "query") -> Any: ...

    async def load_rules(self) -> dict[str, InstrumentRules]: ...

    async def positions(self) -> Mapping[str, Position]: ...


class StopPort(ClosePort, BoundPort, Protocol):
    """What a close needs of a trading session."""

    closing: bool
    kills_closed: bool
    killing: int
    starting: asyncio.Task[Any] | None
    start_cancels: int
    rotating: asyncio.Future[None] | None
    retiring: list[Any]
    owns_audit: bool
    quotes: list[Any]
    timeout: float
    unsettled: list[Order]
    dead_man: DeadMan | None
    reconciler: Reconciler
    channels: Channels
    wire: Wire


async def load_rules(port: RulesPort) -> dict[str, InstrumentRules]:
    """The venue's instrument rules into ``port.rules``, their order limits (and an account-wide one)
    into the risk gate, the limits the venue announces into the budget, and the rule changes it
    announces ahead (OKX ``upcChg``) and the next periodic read into the recheck's timer."""
    body = await port.send(port.grammar.instruments())
    port.rules = port.grammar.read_rules(body)
    changes = getattr(port.grammar, "rule_changes", None)
    port.rules_recheck.at(changes(body) if changes is not None else ())
    read_open = getattr(port.grammar, "read_open_limit", None)  # an account-wide one (Binance)
    port.risk.set_venue_limits(
        {s: r.max_open_orders for s, r in port.rules.items()},
        account=read_open(body) if read_open else None,
    )
    if hasattr(port.grammar, "read_limits"):  # the venue's announced limits replace the defaults
        port.budget.set_limits(port.grammar.read_limits(body), replace=True)
    return port.rules


async def start(port: StartPort, adopting: bool) -> None:
    """Token, wire and venue clock, the venue's once-per-session calls, the instrument rules, the
    sockets, then (``adopting``) an earlier run's open orders, the positions a position limit counts
    from, the dead-man switch, and the timer of the open orders' audit."""
    ensure = getattr(port.signer, "ensure_token", None)  # an OAuth signer's token (Tradefence)
    if ensure is not None:
        await ensure()
    await port.wire.start()
    await port.wire.start_clock(port.signer)
    setup = getattr(port.grammar, "setup", None)  # the venue's once-per-session calls (HTX account)
    if setup is not None:
        for call in setup(port.endpoint, port.signer):
            port.grammar.read_setup(call, await port.send(call))  # type: ignore[attr-defined]
    await port.load_rules()
    await port.channels.start(port)
    if adopting:
        await adopt_open(port)
    if port.risk.bounds_position and hasattr(port.grammar, "positions"):
        # What the account holds is where a position limit counts from on a venue with
        # positions; read after the adoption, so a fill both counts at most twice (refusing
        # more), never not at all.
        for sym, pos in (await port.positions()).items():
            port.risk.set_position(sym, pos.qty)
    if port.dead_man is not None:
        await port.dead_man.start()
    port.open_audit.start()


def start_error(
    port: StopPort, task: asyncio.Task[Any] | None, e: BaseException, stopped: bool
) -> BaseException:
    """What a start that failed with ``e`` raises: a ``TransportError`` where a close under way
    (``stopped``) stopped it (its cancels, every one the task was sent, taken back: its caller did not
    cancel it), else ``e`` — its own failure, raised as it was."""
    if not stopped or task is None:
        return e
    if isinstance(e, asyncio.CancelledError):
        if task.cancelling() > port.start_cancels:  # its caller cancelled it too
            return e
        while task.cancelling():
            task.uncancel()
    return TransportError(f"{port.venue}: the session was closed while it started")


async def _stop_start(port: StopPort) -> None:
    """A start still under way (another task's) is cancelled and has ended — closing what it had
    opened — before the close goes on: else it would go on connecting behind the close (the REST
    client opened again, the sockets started) and return a session closed under it as started."""
    task = port.starting
    if task is None or task is asyncio.current_task():
        return
    while not task.done():
        if port.starting is task:  # again while it starts: 3.11's ``wait_for`` can lose a cancel
            port.start_cancels += 1
            task.cancel()
        await asyncio.wait((task,), timeout=CLOSE_POLL_S)


async def _stop_rotation(port: StopPort) -> None:
    """A key rotation under way is stopped — the new sockets it was starting closed by it — and the
    old ones it was retiring are closed here should the stop cut their retirement short."""
    job, retiring = port.rotating, list(port.retiring)
    while job is not None and not job.done():
        job.cancel()  # each pass leaves the rotation a time-out to close what it had started
        await asyncio.wait((job,), timeout=port.timeout)
    for sock in retiring:
        await sock.close()


async def close(
    port: StopPort, disarm: bool, settle_s: float | None, tasks: set[asyncio.Task[Any]], events: EventFeed
) -> None:
    """As ``TradingSession.close`` states: ``tasks`` are the session's own (cancelled), ``events`` its
    feed (ended last)."""
    port.closing = True
    await _stop_start(port)
    for q in list(port.quotes):  # nothing written on connections about to close
        q.stop()
    wait = 0.0
    if disarm:
        # By default until every order being settled can have its verdict (its venue's window or the
        # session's lost-order wait, then the queries), so no order is named unsettled for a wait cut
        # short; an explicit ``settle_s`` is the caller's word.
        wait = await settle_bound_s(port, port.reconciler) if settle_s is None else settle_s
    # Fills still unheard get one last fetch, within a round of an order's queries and an explicit
    # ``settle_s`` (0: "not at all", no fetch); none after an exception's exit (nothing is waited for).
    catch_s = query_budget_s(port.timeout)
    if settle_s is not None:
        catch_s = min(catch_s, settle_s)
    catch_up = port.reconciler.catch_up_fills if disarm and catch_s > 0 else None
    port.unsettled = await settle_for_close(port, wait, catch_up, catch_s)
    # Before the disarm: a rotation under way signs with its new key, which the venue may refuse; once
    # stopped, the session is on a key it took (the old one, unless the rotation was done).
    await _stop_rotation(port)
    if port.dead_man is not None:
        if disarm:
            await port.dead_man.close()  # disarmed: a clean close leaves the orders as they are
        else:
            port.dead_man.stop()
    if disarm:
        # A kill thrown once the close began (a gateway closing while a client stops the account) is
        # let run to its end — it only cancels and closes — whether it began during the wait above,
        # after it, or outlasts it: its requests must reach the venue before the wire closes, the
        # dead-man switch that would have cancelled in its stead being disarmed by now. Its own
        # steps are bounded by request time-outs.
        while port.killing:
            await asyncio.sleep(0.005)
    # From here (no await since the last look at ``killing``) a kill is refused unrun (``kill``).
    port.kills_closed = True
    port.reconciler.spawn = None  # no later tries start once closing
    for t in list(tasks):
        t.cancel()
    await port.channels.close()
    await port.wire.close()
    events.close()
    port.audit.event("close", venue=port.venue)
    if port.owns_audit:  # opened from a path by this session: everything written before it returns
        port.audit.close()
