"""What a venue's market-data adapter provides. Each venue module (``tickwire.venues.<name>``)
defines ``Adapter`` subclasses: URLs, subscribe messages, heartbeat, snapshot fetch, server time —
data and small functions, no copy of another venue's client. The rules the Rust feed also follows
(resync method, redundant lines, reconnects, symbol case) are read from its venue spec, not restated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import orjson

from tickwire._core import VenueSpec, venue_spec
from tickwire.streams import Channel, Control, Endpoint, Op, Sub, inflate

if TYPE_CHECKING:
    from tickwire._core import BookFeed
    from tickwire.clock import ServerTime
    from tickwire.limits import Limit
    from tickwire.session.market import MarketData
    from tickwire.transport.http import HttpClient


# Adapter attributes that come from the venue spec: a subclass stating one would contradict the feed.
_FROM_SPEC = frozenset(
    {"spec", "resync", "snapshot_first", "rest_fallback", "redundant_ok", "reset_on_reconnect"}
)


class Adapter:
    """Base of every venue adapter. Class attributes are the venue's documented rules; a subclass
    that sets ``venue`` gets the Rust feed's spec of it (``feed_venue``, by default the same name)."""

    venue: ClassVar[str]
    feed_venue: ClassVar[str]
    # The core's description of the feed (tickwire._core.venue_spec); the rules below are read from it.
    spec: ClassVar[VenueSpec]
    ws_label: ClassVar[str]
    production: ClassVar[Sequence[Mapping[str, Any]]] = ()
    supported: ClassVar[tuple[Channel, ...]] = ("book",)
    # App-level heartbeat: send ``ping()`` after this many idle seconds (None: RFC 6455 ping frames).
    ping_interval: ClassVar[float] = 20.0
    ping_when_idle: ClassVar[bool] = True
    pong_timeout: ClassVar[float] = 10.0
    # Read from the spec: how a book that lost sync is rebuilt (REST snapshot, a REQ on the socket, or
    # resubscribing).
    resync: ClassVar[Literal["snapshot", "request", "resubscribe"]]
    # Frames arrive compressed (gzip, zlib or raw deflate): control frames are inflated before reading.
    compressed: ClassVar[bool] = False
    # Read from the spec: a book may start from a snapshot taken before its first diff (Binance spot:
    # the first diff is checked against it). Off where the rule for the first diff needs it buffered.
    snapshot_first: ClassVar[bool]
    # Read from the spec: the venue pushes a snapshot on subscribing but may not (OKX). A book whose
    # first message after (re)subscribing is a diff takes REST snapshots (``fetch_snapshot``), its
    # resyncs too, as on a "snapshot" venue; one that got its snapshot resyncs by ``resync``.
    rest_fallback: ClassVar[bool]
    # Venue connection-rate ceiling (count, seconds), shared by all sessions of the process.
    connect_limit: ClassVar[tuple[int, float] | None] = None
    # Messages a connection may send in a window (count, seconds), pings and pongs included, over
    # which the venue cuts it (Binance: 5 a second): subscriptions are paced to it (``Line.send``).
    ws_send_limit: ClassVar[tuple[int, float] | None] = None
    # The venue refuses a whole (un)subscribe message for one bad name in it (Bybit), naming only that
    # one: the others sent with it are asked again once it is dropped (``MarketData.on_venue_error``).
    refusal_takes_batch: ClassVar[bool] = False
    # The venue refuses a whole subscribe message for one bad name in it, naming none (Coinbase): each
    # name not yet heard is asked again alone (``Refusals.ask_apart``).
    refusal_names_nothing: ClassVar[bool] = False
    # One subscription per symbol carries all its channels (Tradefence): a symbol stays on the wire
    # while any of its channels is live, and a book added to a symbol on the wire is asked for by
    # subscribing it afresh, the venue sending no snapshot for a symbol it already sends.
    symbol_wide: ClassVar[bool] = False
    # Sockets one credential may hold open at once, process-wide (None: no such rule).
    max_sockets: ClassVar[int | None] = None
    # Read from the spec: books follow a venue-wide sequence the same on every connection, so A/B lines
    # can be arbitrated.
    redundant_ok: ClassVar[bool]
    # Read from the spec: messages are numbered per connection (Coinbase), so a new connection starts
    # every book afresh.
    reset_on_reconnect: ClassVar[bool]
    # How long the venue keeps a connection before it closes it (Binance: 24 h; None: no such rule).
    # Where books follow one sequence on every connection (``redundant_ok``) a line is renewed before
    # then, make-before-break (``tickwire.session.renewal``).
    connection_lifetime_s: ClassVar[float | None] = None
    # Max subscriptions per subscribe message (None: all in one).
    batch: ClassVar[int | None] = None
    # The venue's clock for ``tickwire.clock.sync_venue``: REST path and how to read the answer
    # (None: the session does not sync a clock).
    server_time: ClassVar[ServerTime | None] = None
    # The venue's per-address request limits its REST snapshots count against (with every other
    # request from the address: a trading session's too), as the trading grammar of ``limits_venue``
    # (default: ``venue``) declares them. Empty: snapshots are not counted (no such limit, or none).
    rest_limits: ClassVar[tuple[Limit, ...]] = ()
    limits_venue: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        restated = _FROM_SPEC.intersection(vars(cls))
        if restated:
            raise TypeError(f"{cls.__qualname__} sets {', '.join(sorted(restated))}: the venue spec says")
        if "venue" in vars(cls) and "feed_venue" not in vars(cls):
            cls.feed_venue = cls.venue
        if not hasattr(cls, "feed_venue"):
            return  # a base for adapters still to name their venue
        cls.spec = spec = venue_spec(cls.feed_venue)
        cls.resync = spec.resync
        cls.snapshot_first = spec.snapshot_first
        cls.rest_fallback = spec.rest_fallback
        cls.redundant_ok = spec.redundant_lines
        cls.reset_on_reconnect = spec.connection_numbered

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        self._req = 0

    # connection ------------------------------------------------------------------------------

    def ws_url(self, ep: Endpoint, subs: Sequence[Sub]) -> str:
        label = self.options.get("ws_label", self.ws_label)
        try:
            return ep.ws[label]
        except KeyError:
            if len(ep.ws) == 1:
                return next(iter(ep.ws.values()))
            raise ValueError(f"{self.venue} endpoint {ep.name} has no {label!r} WebSocket URL") from None

    def feed_options(self) -> dict[str, Any]:
        """``BookFeed`` options the venue options imply (Kraken: the books kept at the subscribed
        depth); the session's own ``feed_options`` go over them."""
        return {}

    def check_channels(self, channels: Sequence[Channel]) -> None:
        """Raises ``ValueError`` where this session's socket cannot carry ``channels`` together with
        what it was opened for (HTX serves MBP books and trades on different sockets); called with
        the session's channels, then with each later ``md.subscribe``'s."""

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        return None

    def books_are_traded(self) -> bool:
        """Whether this session's books are the instruments the venue's order entry here trades, so
        they may price its market orders (``md.trade``): a session on another market of the venue
        (Bybit's linear contracts against spot order entry) says False."""
        return True

    def credential_id(self) -> str:
        """What the venue counts sockets by (the API key); never a secret."""
        signer = self.options.get("signer")
        return str(self.options.get("api_key") or getattr(signer, "api_key", None) or "anonymous")

    async def prepare(self, md: MarketData, symbols: Sequence[str] | None = None) -> None:
        """Runs once before the first connection (e.g. fetch instrument precisions), for every book
        subscribed, and again for the books a later ``md.subscribe`` adds (``symbols``)."""

    @classmethod
    def apply_recorded(cls, feed: BookFeed, url: str, body: bytes | str) -> bool:
        """``tickwire replay``: a recorded REST answer that ``prepare`` read (not a book snapshot)
        applied to ``feed`` as the session applied it; False when it is none of those."""
        return False

    @classmethod
    def recorded_options(cls, sent: str) -> dict[str, Any]:
        """``tickwire replay``: the venue options a message the session sent shows it had (Kraken: a
        book subscription's ``depth``), so that replay keeps the books ``feed_options`` kept."""
        return {}

    def login(self) -> bytes | None:
        """A login message sent right after connecting (private channels), or None."""
        return None

    # subscriptions ---------------------------------------------------------------------------

    def next_id(self) -> int:
        self._req += 1
        return self._req

    def subscribe(self, subs: Sequence[Sub]) -> list[bytes]:
        return self.message("subscribe", subs)

    def unsubscribe(self, subs: Sequence[Sub]) -> list[bytes]:
        return self.message("unsubscribe", subs)

    def message(self, op: Op, subs: Sequence[Sub]) -> list[bytes]:
        """The venue's (un)subscribe message(s) for ``subs``."""
        raise NotImplementedError

    def book_key(self, symbol: str) -> str:
        """The name the Rust feed gives this symbol's book (the venue's symbol case applied)."""
        return self.spec.book_key(symbol)

    def chunks(self, subs: Sequence[Sub]) -> Iterable[Sequence[Sub]]:
        n = self.batch or max(1, len(subs))
        for i in range(0, len(subs), n):
            yield subs[i : i + n]

    # heartbeat --------------------------------------------------------------------------------

    def ping(self) -> bytes | None:
        """The app-level ping, or None to send an RFC 6455 ping frame."""
        return None

    def pong_for(self, value: Any) -> bytes:
        """Answer to a venue ping the feed reported (HTX ``{"ping": n}`` → ``{"pong": n}``)."""
        return orjson.dumps({"pong": value})

    # resync ------------------------------------------------------------------------------------

    async def fetch_snapshot(
        self,
        http: HttpClient,
        symbol: str,
        usage: Callable[[Mapping[str, str]], None] | None = None,
        gate: Callable[[], None] | None = None,
    ) -> bytes:
        """The snapshot's body (``GET`` of ``snapshot_target``); ``usage`` is given the answer's headers
        (the venue's usage in them); ``gate`` is the request's ``HttpClient`` gate (its resend charged
        to the budget again)."""
        path, query = self.snapshot_target(symbol)
        r = await http.get(path, query=query, gate=gate)
        if usage is not None:
            usage(r.headers)
        return self.snapshot_body(r.raise_for_status(self.venue).body)

    def snapshot_body(self, body: bytes) -> bytes:
        """A snapshot answer the venue sent with a success status, refused here where its body says
        it failed (OKX answers most errors with HTTP 200); else as it came."""
        return body

    def snapshot_target(self, symbol: str) -> tuple[str, dict[str, Any]]:
        """The REST path and query ``fetch_snapshot`` asks for (a recording names it)."""
        raise NotImplementedError(f"{self.venue} books are rebuilt by resubscribing")

    def snapshot_cost(self, symbol: str) -> dict[str, int]:
        """What the snapshot of ``symbol`` takes of ``rest_limits`` (the venue's weight for it)."""
        return {}

    def server_time_cost(self) -> dict[str, int]:
        """What one reading of ``server_time`` takes of ``rest_limits``."""
        return {}

    def read_usage(self, headers: Mapping[str, str]) -> dict[str, int]:
        """The usage a REST answer's headers report, by limit name (``RateBudget.observe``)."""
        return {}

    def snapshot_request(self, symbol: str) -> bytes:
        raise NotImplementedError(f"{self.venue} has no snapshot request on the socket")

    # control frames ----------------------------------------------------------------------------

    def control(self, payload: bytes | memoryview) -> Control | None:
        """Reads a frame the feed did not treat as market data. Rare: plain orjson is fine."""
        if self.compressed:
            payload = inflate(payload)
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            text = bytes(payload).strip()
            return Control("pong") if text == b"pong" else None
        return self.read_control(msg) if isinstance(msg, dict) else None

    def read_control(self, msg: dict[str, Any]) -> Control | None:
        return None
