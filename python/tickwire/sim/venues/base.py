"""What every simulated venue provides. A venue is one package under ``tickwire.sim.venues``."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from tickwire.sim.engine import Engine
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import BookProcess, DepthView, Fmt, Instrument, Step
from tickwire.sim.venues.context import VenueContext
from tickwire.sim.venues.grid import Grids
from tickwire.sim.venues.private import PrivateFaults
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer


@dataclass
class VenueConfig:
    """Knobs shared by all venues. ``time_scale`` multiplies every venue interval and time-out so a
    test can run Binance's 20 s ping / 60 s pong rule in 0.2 s / 0.6 s; ``timeouts`` overrides one
    by name (``{"ping_interval": 0.05}``)."""

    seed: int = 1
    time_scale: float = 1.0
    timeouts: dict[str, float] = field(default_factory=dict)
    depth: int | None = None  # levels per side of each simulated book (None: the venue's default)
    # Venue profile settings where a venue's document leaves details open (seed-venues.md).
    profile: dict[str, Any] = field(default_factory=dict)
    # Serve only these symbols (None: all the venue's defaults). Fewer symbols, less CPU per step.
    symbols: list[str] | None = None
    # Serve every endpoint of the venue over TLS (wss://, https://) with this server context.
    tls: ssl.SSLContext | None = None


class Venue:
    name: ClassVar[str]
    ws_paths: ClassVar[dict[str, str]]
    has_checksum: ClassVar[bool] = False
    # Sends a book message whose level a client's book refuses (``VenueServer.bad_level``).
    can_refuse: ClassVar[bool] = False
    # Its instrument list shows a symbol's trading status (``Simulator.set_status``).
    shows_status: ClassVar[bool] = False
    # Its instrument list and order entry follow a grid changed by ``Simulator.set_grid``; and
    # announces a change before it takes effect (OKX ``upcChg``: the parameters it names).
    sets_grid: ClassVar[bool] = False
    announces_grid: ClassVar[frozenset[str]] = frozenset()
    # The grid values its instrument list shows and its order entry checks (``tick``, ``lot``,
    # ``min_qty``), and those it lists as a number of decimal places (HTX ``price-precision``): a
    # change of one of those must be a power of ten.
    grid_params: ClassVar[frozenset[str]] = frozenset({"tick", "lot", "min_qty"})
    grid_decimals: ClassVar[frozenset[str]] = frozenset()
    # Venue-level intervals in seconds at time_scale 1; overridable through VenueConfig.timeouts.
    intervals: ClassVar[dict[str, float]] = {}
    default_instruments: ClassVar[list[Instrument]]
    # Margin venues: leverage of funded accounts' margin orders (profile ``leverage`` overrides it).
    # None: orders are cash orders, paid from the assets the account holds.
    leverage: ClassVar[Decimal | None] = None

    def __init__(self, config: VenueConfig, instruments: list[Instrument] | None = None) -> None:
        self.config = config
        insts = instruments or self.default_instruments
        if config.symbols is not None:
            known = {i.symbol for i in insts}
            unknown = set(config.symbols) - known
            if unknown:
                raise ValueError(f"{self.name} has no symbol {sorted(unknown)}; it has {sorted(known)}")
            insts = [i for i in insts if i.symbol in config.symbols]
        if config.depth is not None:
            insts = [dataclasses.replace(i, depth=config.depth) for i in insts]  # small books for tests
        self.instruments = {i.symbol: i for i in insts}
        self.books = {i.symbol: BookProcess(i, config.seed) for i in insts}
        lev = config.profile.get("leverage", self.leverage)
        self.engine = Engine(self.books, None if lev is None else Decimal(str(lev)))
        # Filled in place by the simulator: the venue's parts hold this same list (VenueContext.servers).
        self.endpoints: list[VenueServer] = []
        self.private_faults = PrivateFaults()
        self.status: dict[str, str] = {}  # VenueContext.status
        self.grids = Grids(self.instruments)  # VenueContext.grids
        # topic -> number of subscriptions over all endpoints: lets a step skip topics nobody reads.
        self.live: dict[str, int] = {}
        # Depth-limited feeds: symbol -> {(depth, delete_out_of_scope): view}. Each view is diffed at
        # every step from its creation, so a snapshot taken from it always chains with its updates.
        self.views: dict[str, dict[tuple[int, bool], DepthView]] = {s: {} for s in self.books}

    def context(self, fmt: dict[str, tuple[Fmt, Fmt]]) -> VenueContext:
        """What the venue's parts may use of it (``fmt``: the formatters the venue prints with)."""
        return VenueContext(
            books=self.books,
            instruments=self.instruments,
            fmt=fmt,
            engine=self.engine,
            profile=self.config.profile,
            interval=self.interval,
            # Looked up at each call, not bound now: a wrapper set on the venue's on_step (as a test
            # does to record what is published) also sees the steps users' orders make.
            publish=lambda symbol, step: self.on_step(symbol, step),
            subscribers=self.subscribers,
            servers=self.endpoints,
            private_faults=self.private_faults,
            status=self.status,
            grids=self.grids,
        )

    def formats(self, strip: bool = False) -> dict[str, tuple[Fmt, Fmt]]:
        """Per symbol, (price, size) formatters at the instrument's own precision."""
        return {
            s: (Fmt(i.tick, i.price_decimals, strip), Fmt(i.lot, i.qty_decimals, strip))
            for s, i in self.instruments.items()
        }

    def interval(self, name: str) -> float:
        if name in self.config.timeouts:
            return self.config.timeouts[name]
        return self.intervals[name] * self.config.time_scale

    @property
    def timer_period(self) -> float:
        """How often ``on_timer`` runs: a fraction of the shortest interval."""
        vals = [self.interval(k) for k in self.intervals] or [1.0]
        return max(0.002, min(vals) / 4)

    def subscribers(self, topic: str) -> Iterable[tuple[VenueServer, set[Conn]]]:
        if topic not in self.live:
            return ()
        return [(ep, subs) for ep in self.endpoints if (subs := ep.topics.get(topic))]

    def view(self, symbol: str, depth: int, delete_out_of_scope: bool) -> DepthView:
        views = self.views[symbol]
        v = views.get((depth, delete_out_of_scope))
        if v is None:
            v = views[(depth, delete_out_of_scope)] = DepthView(
                self.books[symbol], depth, delete_out_of_scope
            )
        return v

    def register(self, args: dict[str, Any]) -> None:
        """Register credentials from plain JSON values (the control endpoint's ``POST /keys``).
        Venues whose ``add_key`` takes other types convert here."""
        add = getattr(self, "add_key", None)
        if add is None:
            raise ValueError(f"{self.name} takes no keys")
        add(**args)

    # hooks -------------------------------------------------------------------------------------

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        """Check the upgrade request. None accepts; (status, body) refuses with that HTTP status."""
        return None

    def on_open(self, conn: Conn) -> None:
        pass

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        pass

    @staticmethod
    def ws_operation(data: bytes) -> str | None:
        """The operation a WebSocket request names (its ``method`` or ``op``), for ``lose_answer``."""
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(msg, dict):
            return None
        op = msg.get("method", msg.get("op"))
        return op.removeprefix("v3/") if isinstance(op, str) else None

    def on_pong(self, conn: Conn, payload: bytes) -> None:
        if conn.ping_payload is not None and payload == conn.ping_payload:
            conn.ping_payload = None

    def on_step(self, symbol: str, step: Step) -> None:
        pass

    def book_step(self, symbol: str) -> None:
        """Advance one symbol's book process by one event and publish it (after the engine has
        reconciled resting user orders with it)."""
        step = self.books[symbol].step()
        self.engine.after_step(symbol, step)
        self.on_step(symbol, step)

    def on_timer(self, ep: VenueServer, now: float) -> None:
        pass

    def scramble_private(self, duplicate: int = 0, reorder: bool = False) -> None:
        """Fault: the next ``duplicate`` private-stream messages are each sent twice, and (``reorder``)
        every message is delivered after the one that follows it (or after 50 ms alone)."""
        self.private_faults.duplicate = duplicate
        self.private_faults.reorder = reorder

    async def stop(self) -> None:
        """The simulator is stopping: end the venue's own background work (TWAPs, webhooks)."""

    async def http(self, ep: VenueServer, req: Request) -> Response:
        return json_response({"error": f"no route {req.method} {req.path}"}, 404)

    def send_malformed(self, conn: Conn) -> None:
        # Truncated JSON: what a frame cut by a buggy proxy looks like.
        conn.send_text(b'{"e":"depthUpdate","E":17,"s":')

    def send_server_shutdown(self, conn: Conn) -> None:
        raise ValueError(f"{self.name} has no server-shutdown announcement")

    # shared helpers ----------------------------------------------------------------------------

    def ws_ping_cycle(self, ep: VenueServer, now: float, every: float, pong_within: float) -> None:
        """RFC 6455 ping every ``every`` s; cut a client whose pong has not come in ``pong_within`` s."""
        for c in list(ep.conns.values()):
            if c.ping_payload is not None and now - c.ping_sent_at > pong_within:
                c.abort()
                continue
            if c.next_ping_at == 0.0:
                c.next_ping_at = c.opened_at + every
            if now >= c.next_ping_at and not ep.stalled:
                c.next_ping_at = now + every
                if c.ping_payload is None:
                    c.send_ping(str(ep.now_ms()).encode())
