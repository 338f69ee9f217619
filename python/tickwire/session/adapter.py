"""What a venue's market-data adapter provides. Each venue module (``tickwire.venues.<name>``)
defines an ``Adapter`` subclass: URLs, subscribe messages, heartbeat, snapshot fetch and resync
rule — data and small functions, no copy of another venue's client."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import orjson

if TYPE_CHECKING:
    from tickwire.session.market import MarketData
    from tickwire.transport.http import HttpClient

Channel = Literal["book", "trades", "bbo"]
Op = Literal["subscribe", "unsubscribe"]
CHANNELS: tuple[Channel, ...] = ("book", "trades", "bbo")


@dataclass(frozen=True)
class Endpoint:
    """One venue endpoint: WebSocket URLs by label (``"public"``, ``"stream"``, …) and a REST base.

    The shape is what :meth:`tickwire.sim.Simulator.urls` returns per endpoint, so simulator URLs can be
    passed straight to ``tickwire.connect(..., endpoints=sim.urls()["okx"])``.
    """

    ws: Mapping[str, str]
    rest: str | None = None
    name: str = ""

    @classmethod
    def of(cls, spec: Endpoint | Mapping[str, Any], index: int = 0) -> Endpoint:
        if isinstance(spec, Endpoint):
            return spec
        ws = spec["ws"]
        if isinstance(ws, str):
            ws = {"default": ws}
        return cls(dict(ws), spec.get("rest"), str(spec.get("name") or f"#{index}"))


@dataclass(frozen=True)
class Sub:
    channel: Channel
    symbol: str


@dataclass
class Control:
    """What a control frame (ack, error, login answer, pong, shutdown notice) means to the session."""

    kind: Literal["pong", "ack", "error", "auth_ok", "auth_failed", "shutdown", "other"]
    message: str = ""
    code: str = ""
    symbols: tuple[str, ...] = field(default_factory=tuple)


def inflate(payload: bytes | memoryview) -> bytes:
    """A compressed control frame's text (the feed inflates market data itself, in Rust): gzip or
    zlib by header, else raw deflate; the bytes as they are when none of them fits."""
    data = bytes(payload)
    for wbits in (47, -15):  # 47: gzip or zlib, told apart by the header
        try:
            return zlib.decompress(data, wbits)
        except zlib.error:
            continue
    return data


def typed_control(msg: dict[str, Any]) -> Control | None:
    """Control frames shaped ``{"type": "error" | "subscribed" | "unsubscribed", ...}`` (the seed
    venues, Coinbase errors)."""
    kind = msg.get("type")
    if kind == "error":
        return Control("error", str(msg.get("message", "")), str(msg.get("code", "")))
    if kind in ("subscribed", "unsubscribed"):
        return Control("ack")
    return None


class Adapter:
    """Base of every venue adapter. Class attributes are the venue's documented rules."""

    venue: ClassVar[str]
    feed_venue: ClassVar[str]
    ws_label: ClassVar[str]
    production: ClassVar[Sequence[Mapping[str, Any]]] = ()
    supported: ClassVar[tuple[Channel, ...]] = ("book",)
    # App-level heartbeat: send ``ping()`` after this many idle seconds (None: RFC 6455 ping frames).
    ping_interval: ClassVar[float] = 20.0
    ping_when_idle: ClassVar[bool] = True
    pong_timeout: ClassVar[float] = 10.0
    # How a book that lost sync is rebuilt: REST snapshot, a REQ on the socket, or resubscribing.
    resync: ClassVar[Literal["snapshot", "request", "resubscribe"]] = "resubscribe"
    # Frames arrive compressed (gzip, zlib or raw deflate): control frames are inflated before reading.
    compressed: ClassVar[bool] = False
    # A book may start from a snapshot taken before its first diff (Binance spot: the first diff is
    # checked against it). Off where the venue's rule for the first diff needs it buffered first.
    snapshot_first: ClassVar[bool] = False
    # Venue connection-rate ceiling (count, seconds), shared by all sessions of the process.
    connect_limit: ClassVar[tuple[int, float] | None] = None
    # Sockets one credential may hold open at once, process-wide (None: no such rule).
    max_sockets: ClassVar[int | None] = None
    # Books follow a venue-wide sequence the same on every connection: A/B lines can be arbitrated.
    redundant_ok: ClassVar[bool] = False
    # The venue numbers messages per connection (Coinbase): a new connection starts every book afresh.
    reset_on_reconnect: ClassVar[bool] = False
    # Max subscriptions per subscribe message (None: all in one).
    batch: ClassVar[int | None] = None

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

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        return None

    def credential_id(self) -> str:
        """What the venue counts sockets by (the API key); never a secret."""
        signer = self.options.get("signer")
        return str(self.options.get("api_key") or getattr(signer, "api_key", None) or "anonymous")

    async def prepare(self, md: MarketData) -> None:
        """Runs once before the first connection (e.g. fetch instrument precisions)."""

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
        """The name the Rust feed gives this symbol's book."""
        return symbol

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

    async def fetch_snapshot(self, http: HttpClient, symbol: str) -> bytes:
        raise NotImplementedError(f"{self.venue} books are rebuilt by resubscribing")

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

    # redundant lines ---------------------------------------------------------------------------

    def sequence(self, payload: memoryview | bytes) -> tuple[str, int, int] | None:
        """``(book key, first, last)`` of a book frame where the venue's numbering is the same on
        every connection; ``first`` is the sequence the frame continues from plus one."""
        return None
