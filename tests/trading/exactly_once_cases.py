"""A seeded random run of order entry against the simulator, with faults and a moving market, and the
checks that hold it to "exactly once" against the simulator's own state (``test_exactly_once_random``).

The run (:class:`Chaos`) draws operations — places (resting near the touch, far away, marketable IOC),
template sends, cancels, amends, invalid orders, market steps — and faults the simulator injects
(an answer lost over REST or the order socket, every connection cut, the private stream alone cut, a
WebSocket stall, a 503, a rate refusal in the venue's own form, a REST request never answered, REST
answers delayed past the time-out). A few operations run at once. At the end the faults are lifted,
the session is left to settle by itself (nothing asks the venue on the test's behalf), and
:func:`disagreements` lists every way the session's view differs from the simulator's."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from session_cases import SimAccount
from tickwire.errors import InvalidOrder, NotSupported, TickwireError
from tickwire.sim import Simulator
from tickwire.trading.orders import Fill, Order
from tickwire.trading.session import TradingSession

# The simulator's order statuses as the tracker names them.
STATUS = {
    "NEW": "new",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "EXPIRED": "expired",
}


def _engine_id(t: Any) -> str:
    return str(t.id)


@dataclass(frozen=True)
class Ops:
    """A venue's operation names, for ``lose_answer`` (REST ``"METHOD /path"``, a trailing ``*`` for
    a path naming the order; socket method/op), its REST rate refusal as the venue writes it (body,
    ``Retry-After``), and how the session names what the venue holds."""

    rest_cancel: str
    ws_cancel: str
    ws_amend: str
    too_many: dict[str, Any]
    retry_after: float | None
    too_many_status: int = 429
    # The private stream's socket path where the venue keeps it as a topic (cut alone by path); "":
    # none, or its sockets added under the account (``PrivateStreams.connections``).
    stream_path: str = ""
    order_id: Callable[[Any], str] = _engine_id  # the venue's order id of an engine order
    no_expired: bool = False  # the venue has no expired state: an IOC's remainder is canceled


OPS = {
    # venues.md §1.2: every 429 names its Retry-After.
    "binance": Ops(
        "DELETE /api/v3/order",
        "order.cancel",
        "order.amend.keepPriority",
        {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."},
        1.0,
    ),
    "okx": Ops(
        "POST /api/v5/trade/cancel-order",
        "cancel-order",
        "amend-order",
        {"code": "50011", "msg": "Too Many Requests", "data": []},
        None,
        no_expired=True,
    ),
    # Bybit refuses for rate on HTTP 200 with retCode 10006 (its per-UID limits).
    "bybit": Ops(
        "POST /v5/order/cancel",
        "order.cancel",
        "order.amend",
        {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}},
        None,
        200,
        no_expired=True,
    ),
    "binance-usdm": Ops(
        "DELETE /fapi/v1/order",
        "order.cancel",
        "order.modify",
        {"code": -1003, "msg": "Too many requests; current limit is 2400 request weight per 1 MINUTE."},
        1.0,
        stream_path="/private/",
    ),
    # Kraken refuses for rate on HTTP 200 in its error list.
    "kraken": Ops(
        "POST /0/private/CancelOrder",
        "cancel_order",
        "amend_order",
        {"error": ["EAPI:Rate limit exceeded"]},
        None,
        200,
        stream_path="/auth/v2",
    ),
    "coinbase": Ops(
        "POST /api/v3/brokerage/orders/batch_cancel",
        "",
        "",
        {"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"},
        None,
        stream_path="/user",
        order_id=lambda t: str(uuid.UUID(int=t.id)),
    ),
    "htx": Ops(
        "POST /v1/order/orders/batchcancel",
        "",
        "",
        {"status": "error", "err-code": "too-many-requests", "err-msg": "too many requests", "data": None},
        None,
        stream_path="/ws/v2",
        no_expired=True,  # an IOC's remainder is canceled (or partial-canceled)
    ),
    "tradefence": Ops("POST /v1/batch", "", "", {"code": 2001, "message": "rate limit exceeded"}, 1.0),
    "clarofinlore": Ops(
        "DELETE /v1/orders/client/*", "", "", {"code": 429, "message": "rate limit exceeded"}, 1.0
    ),
}


# Venue limits tighter than the defaults, announced as the venue announces them (Binance's exchangeInfo:
# ``MAX_NUM_ORDERS``, the 10-second order count), so a run of a few dozen orders meets them: the session
# must hold orders back (typed refusals, nothing sent), never have the venue refuse them.
PROFILES: dict[str, dict[str, Any]] = {
    "binance": {"order_limit_10s": 20, "max_open_orders": 5},
    "tradefence": {"webhook_retries": 2},
}


def limit_refusals(sim: Simulator, venue: str, account: str) -> dict[str, int]:
    """What the venue refused ``account`` for one of its announced or documented limits (Binance spot
    and USDⓈ-M: ``MAX_NUM_ORDERS``, the order counts; OKX: 50011 per instrument and operation; Bybit:
    10006 per UID and endpoint; Kraken: its REST and per-pair trading counters; HTX, Coinbase,
    Tradefence, Clarofinlore: their per-key request limits)."""
    v: Any = sim.venue(venue)
    if venue in ("binance", "binance-usdm"):
        counts = v.orders.limit_refusals
    elif venue in ("okx", "bybit"):
        counts = v.trade.limit_refusals
    elif venue in ("kraken", "htx"):
        counts = v.limits.limit_refusals
    elif venue == "clarofinlore":
        counts = v.auth.limit_refusals
    else:  # Coinbase, Tradefence: the venue class keeps its request limiters
        counts = v.limit_refusals
    return {"/".join(k[1:]): n for k, n in counts.items() if k[0] == account and n}


def private_streams(sim: Simulator, venue: str) -> Any:
    """The venue's fan-out of private order events (``PrivateStreams``) where its sockets are added
    under the account (Binance spot's WS API, OKX, Bybit, Kraken)."""
    v: Any = sim.venue(venue)
    return v.wsapi.streams if venue == "binance" else v.trade.streams


@dataclass
class Chaos:
    """One random run: ``run`` draws the operations and faults from ``rng``; what every call raised is
    counted (``typed``; anything but the library's typed errors in ``untyped``), ``fills`` is what
    ``on_fill`` heard, ``trace`` what ran when."""

    a: SimAccount
    sim: Simulator
    tr: TradingSession
    rng: random.Random
    transport: str
    fills: list[Fill] = field(default_factory=list)
    typed: Counter[str] = field(default_factory=Counter)  # "op: ErrorType" -> how many
    untyped: list[str] = field(default_factory=list)  # anything else raised: a failure
    ran: Counter[str] = field(default_factory=Counter)  # operations and faults drawn
    broken: list[str] = field(default_factory=list)  # a refusal that changed the tracker
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    trace: list[str] = field(default_factory=list)  # what ran, when: for a failure's replay by hand
    templates: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Also batch places (``place_orders``) and cancel-alls, drawn in place of some places and cancels
    # (off: the draws of the seeds found before they were added stay as they were).
    extras: bool = False

    # the run ------------------------------------------------------------------------------------------

    # What ``run`` draws, by weight, and how long it pauses between draws (a subclass adds its own
    # kinds and acts on them in ``act``).
    KINDS: ClassVar[dict[str, int]] = {
        "place": 6, "template": 3, "cancel": 3, "amend": 2, "market": 3, "invalid": 1, "fault": 3,
    }  # fmt: skip
    PAUSE_S: ClassVar[float] = 0.03

    def act(self, kind: str) -> bool:
        """A drawn ``kind`` the subclass acts on itself (True), else the run's own."""
        return False

    async def run(self, steps: int, at_once: int = 3) -> None:
        for _ in range(steps):
            while len(self.tasks) >= at_once:
                await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
            kind = self.rng.choices(list(self.KINDS), weights=list(self.KINDS.values()))[0]
            if self.extras and kind in ("place", "cancel") and self.rng.random() < 0.2:
                kind = "batch" if kind == "place" else "cancel_all"
            self.ran[kind] += 1
            if kind == "market":
                await self.market(self.rng.randint(20, 300))
            elif kind == "fault":
                self.fault()
            elif kind == "invalid":
                self.invalid()
            elif self.act(kind):
                pass
            else:
                op = {
                    "place": self.place,
                    "template": self.template,
                    "cancel": self.cancel,
                    "amend": self.amend,
                    "batch": self.batch,
                    "cancel_all": self.cancel_all,
                }
                self.spawn(kind, op[kind]())
            await asyncio.sleep(self.rng.uniform(0, self.PAUSE_S))
        if self.tasks:
            await asyncio.wait(self.tasks)

    def note(self, what: str) -> None:
        self.trace.append(f"{asyncio.get_running_loop().time():.3f} {what}")

    def spawn(self, name: str, work: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                got = await work
                self.note(f"{name} -> {got!r}")
            except TickwireError as e:
                self.typed[f"{name}: {type(e).__name__}"] += 1
                self.note(f"{name} -> {type(e).__name__}: {e}")
            except Exception as e:  # the promise: nothing but the library's typed errors
                self.untyped.append(f"{name}: {e!r}")
                self.note(f"{name} -> untyped {e!r}")

        t = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    # operations ---------------------------------------------------------------------------------------

    def touch(self) -> tuple[Decimal, Decimal]:
        return self.a.touch(self.sim)

    @property
    def tick(self) -> Decimal:
        return self.tr.rules[self.a.symbol].tick_size

    def terms(self) -> tuple[str, Decimal, Decimal, str]:
        """A side, price, quantity and time in force: resting at or near the touch (the market will
        trade through some), far from it, or taking liquidity (IOC, sometimes more than the touch)."""
        bid, ask = self.touch()
        side = self.rng.choice(["buy", "sell"])
        how = self.rng.choices(["near", "far", "take"], weights=[5, 2, 3])[0]
        sign = -1 if side == "buy" else 1
        if how == "take":
            price, tif = (ask if side == "buy" else bid) + sign * -self.rng.randint(0, 2) * self.tick, "IOC"
        else:
            away = self.rng.randint(0, 3) if how == "near" else self.rng.randint(20, 40)
            price, tif = (bid if side == "buy" else ask) + sign * away * self.tick, "GTC"
        return side, price, self.a.size(self.tr, price, self.rng.randint(1, 6)), tif

    async def place(self) -> Order:
        side, price, qty, tif = self.terms()
        self.note(f"place {side} {qty} @ {price} {tif}")
        return await self.tr.place_order(self.a.symbol, side, "limit", qty, price, tif=tif)  # type: ignore[arg-type]

    async def template(self) -> Order:
        side, price, qty, tif = self.terms()
        self.note(f"send {side} {qty} @ {price} {tif}")
        tmpl = self.templates.get((side, tif))
        if tmpl is None:
            tmpl = self.templates[(side, tif)] = self.tr.template(self.a.symbol, side, tif=tif)  # type: ignore[arg-type]
        return await tmpl.send(price, qty)  # type: ignore[no-any-return]

    async def batch(self) -> list[Order | TickwireError]:
        """Two or three orders in one ``place_orders`` (the venue's batch where it has one): each
        result the order or the typed error that refused it."""
        orders = []
        for _ in range(self.rng.randint(2, 3)):
            side, price, qty, tif = self.terms()
            orders.append(self.tr.prepare(self.a.symbol, side, "limit", qty, price, tif=tif))  # type: ignore[arg-type]
        self.note(f"batch {[(o.client_id, o.side, str(o.qty), str(o.price), o.tif) for o in orders]}")
        got = await self.tr.place_orders(orders)
        for r in got:
            if isinstance(r, TickwireError):
                self.typed[f"batch: {type(r).__name__}"] += 1
            elif not isinstance(r, Order):
                self.untyped.append(f"batch: {r!r}")
        return got

    async def cancel_all(self) -> list[Order]:
        self.note("cancel_all")
        return await self.tr.cancel_all(self.a.symbol)

    def working(self) -> list[Order]:
        return [o for o in self.tr.tracker.open_orders() if o.status in ("new", "partially_filled")]

    async def cancel(self) -> None:
        mine = self.working()
        if mine:
            cid = self.rng.choice(mine).client_id
            self.note(f"cancel {cid}")
            await self.tr.cancel_order(self.a.symbol, client_id=cid)

    async def amend(self) -> None:
        mine = [o for o in self.working() if o.tif == "GTC" and o.price is not None]
        if not mine:
            return
        o = self.rng.choice(mine)
        assert o.price is not None
        lot = self.tr.rules[self.a.symbol].lot_size
        if not self.a.amend_reprices or self.rng.random() < 0.5:
            # Down by a few lots, not below what filled nor the venue's minimum (else InvalidOrder or
            # the venue's refusal: both typed, both fine).
            qty = max(o.qty - lot * self.rng.randint(1, 3) * (o.qty / lot / 4).to_integral_value(), lot)
            self.note(f"amend {o.client_id} qty {qty}")
            await self.tr.amend_order(self.a.symbol, client_id=o.client_id, qty=qty)
        else:
            step = self.rng.choice([-2, -1, 1, 2]) * self.tick
            self.note(f"amend {o.client_id} price {o.price + step}")
            await self.tr.amend_order(self.a.symbol, client_id=o.client_id, price=o.price + step)

    def invalid(self) -> None:
        """An order off the tick, and (Binance spot) an amend to a larger quantity: refused before
        anything is sent, the tracker left as it was — checked in the same loop step, nothing else runs
        between the two reads."""
        before = {o.client_id: o for o in self.tr.tracker}
        bid, _ = self.touch()
        price = bid - self.tick / 2
        try:
            coro = self.tr.place_order(self.a.symbol, "buy", "limit", self.a.size(self.tr, bid), price)
            coro.send(None)
            coro.close()
            self.broken.append("an off-tick place was not refused at once")
        except InvalidOrder:
            self.typed["invalid: InvalidOrder"] += 1
        after = {o.client_id: o for o in self.tr.tracker}
        if after != before:
            self.broken.append(f"a refused call changed the tracker: {set(after) ^ set(before)}")
        if not self.a.amend_reprices and (mine := self.working()):
            self.spawn("invalid", self.larger_amend(mine[0]))

    async def larger_amend(self, o: Order) -> None:
        """Binance spot's amend only lowers the quantity: a larger one is ``NotSupported`` (after any
        amend of the order still running: amends of one order wait for each other)."""
        try:
            await self.tr.amend_order(self.a.symbol, client_id=o.client_id, qty=o.qty * 2)
            self.broken.append(f"{o.client_id}: a larger keepPriority amend was not refused")
        except NotSupported:
            self.typed["invalid: NotSupported"] += 1

    async def market(self, steps: int) -> None:
        """The simulator's market process moved ``steps`` events (others trade: resting orders at the
        touch fill, in part or whole)."""
        v = self.sim.venue(self.a.venue)
        self.note(f"market {steps}")
        for i in range(steps):
            v.book_step(self.a.symbol)
            if i % 50 == 49:
                await asyncio.sleep(0)

    # faults -------------------------------------------------------------------------------------------

    def fault(self) -> None:
        ep = self.sim.endpoint(self.a.venue, 0)
        ops = OPS[self.a.venue]
        ws = self.transport == "ws"
        loop = asyncio.get_running_loop()
        faults: dict[str, Callable[[], None]] = {
            "lose place": lambda: ep.lose_answer(self.a.ws_place_op if ws else self.a.place_op),
            "lose cancel": lambda: ep.lose_answer(ops.ws_cancel if ws else ops.rest_cancel),
            "lose amend": lambda: ep.lose_answer(ops.ws_amend if ws else self.a.amend_op),
            "cut all": lambda: ep.drop(),
            "cut stream": self.cut_stream,
            # Held, not lost: an open connection delivers late, never drops (a private stream has no
            # sequence to tell a loss by; a lossy stall is a market-data fault).
            "stall ws": lambda: ep.stall(self.rng.choice([0.3, 1.5]), hold=True),
            "503": lambda: ep.fail(1, status=503),
            "rate refusal": lambda: ep.fail(
                1, status=ops.too_many_status, body=ops.too_many, retry_after=ops.retry_after
            ),
            "rest never answers": lambda: ep.fail(1, timeout=True),
            "rest slow": lambda: (ep.delay(1.2), loop.call_later(0.4, ep.delay, 0.0)),  # type: ignore[func-returns-value]
        }
        name = self.rng.choice(sorted(faults))
        self.ran[f"fault {name}"] += 1
        self.note(f"fault {name}")
        faults[name]()

    def cut_stream(self) -> None:
        path = OPS[self.a.venue].stream_path
        if path:
            for c in list(self.sim.endpoint(self.a.venue, 0).conns.values()):
                if c.path.startswith(path):
                    c.abort()
            return
        if self.a.venue in ("tradefence", "clarofinlore"):
            return  # no private socket: webhooks (Tradefence), or nothing (Clarofinlore)
        for c in private_streams(self.sim, self.a.venue).connections(self.a.key):
            c.abort()

    def lift_faults(self) -> None:
        ep = self.sim.endpoint(self.a.venue, 0)
        ep.fail(0)
        ep.delay(0.0)
        ep.unstall()
        for op in list(ep.lose_left):
            ep.lose_answer(op, times=0)

    # the end --------------------------------------------------------------------------------------------

    async def settled(self, timeout: float) -> bool:
        """Waits for the session to settle by itself: nothing in flight or being changed, no order
        pending or unknown, the private stream (and order socket) up. False if it did not in time."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            tr = self.tr
            up = tr.stream is None or tr.stream.connected
            if self.transport != "rest":
                up = up and (tr.orders_ws is None or tr.orders_ws.connected)
            pending = [o for o in tr.tracker if o.status in ("pending", "unknown")]
            if up and not tr.settling() and not pending:
                return True
            await asyncio.sleep(0.05)
        return False

    def venue_summary(self) -> str:
        """What the run left at the venue (for the failure message: how much the run exercised)."""
        v = self.sim.venue(self.a.venue)
        theirs = [o for o in v.engine.orders.values() if o.account == self.a.key]
        statuses = Counter(o.status for o in theirs)
        return f"venue orders {dict(statuses)}, fills {sum(len(o.fills) for o in theirs)}"

    def disagreements(self) -> list[str]:
        """Every way the session disagrees with the simulator (empty when it keeps its promise)."""
        a, sim, tr = self.a, self.sim, self.tr
        v = sim.venue(a.venue)
        inst = v.instruments[a.symbol]
        theirs = [o for o in v.engine.orders.values() if o.account == a.key]
        out: list[str] = list(self.broken) + [f"untyped error: {u}" for u in self.untyped]
        # 1. Every order the venue holds is tracked with its status, quantity filled, terms.
        for t in theirs:
            o = tr.tracker.get(t.client_id)
            status = STATUS[t.status]
            if status == "expired" and OPS[a.venue].no_expired:
                status = "canceled"
            venue_view = (status, t.filled * inst.lot, t.qty * inst.lot, t.price * inst.tick)
            if o is None:
                out.append(f"{t.client_id}: at the venue {venue_view}, not tracked")
                continue
            mine = (o.status, o.filled, o.qty, o.price)
            vid = OPS[a.venue].order_id(t)
            if mine != venue_view or o.order_id != vid:
                out.append(f"{t.client_id}: tracked {mine} id {o.order_id}, venue {venue_view} id {vid}")
        # ... and what it tracks that the venue never took is rejected (never placed), nothing else.
        at_venue = {t.client_id for t in theirs}
        for o in tr.tracker:
            if o.client_id not in at_venue and o.status != "rejected":
                out.append(f"{o.client_id}: tracked {o.status}, never at the venue")
        # ... and no limit the venue announced was crossed (a refusal the faults injected aside). Not
        # where REST was slow: requests the venue queued are handled bunched with later ones, in a
        # window they were not sent in — no client can keep to a limit the venue counts that way.
        crossed = limit_refusals(sim, a.venue, a.key)
        if crossed and not self.ran["fault rest slow"]:
            out.append(f"the venue refused orders for its announced limits: {crossed}")
        # 2. No client id reached the venue's engine twice.
        for (acct, cid), n in v.engine.place_requests.items():
            if acct == a.key and n > 1:
                out.append(f"{cid}: placed {n} times at the venue")
        # 3. Each fill the venue made is reported once (by trade id), and no other.
        venue_fills = Counter(
            (t.client_id, str(f.trade_id), f.qty * inst.lot) for t in theirs for f in t.fills
        )
        heard = Counter((f.client_id, f.trade_id, f.qty) for f in self.fills)
        if heard != venue_fills:
            out.append(
                f"fills: heard but not made {dict(heard - venue_fills)}, made but not heard "
                f"{dict(venue_fills - heard)}"
            )
        for o in tr.tracker:
            heard_qty = sum((f.qty for f in self.fills if f.client_id == o.client_id), Decimal(0))
            if heard_qty != o.filled:
                out.append(f"{o.client_id}: filled {o.filled} tracked, {heard_qty} in the fills heard")
        return out
