"""Binance market-data adapters, registered for ``tickwire.connect``: ``Adapter`` (``"binance"``, spot
JSON combined streams), ``UsdmAdapter`` (``"binance-usdm"``) and ``SbeAdapter`` (``"binance-sbe"``, spot
SBE binary streams) — production hosts, stream names per channel, subscribe messages, REST depth
snapshot paths, server-time paths and the ``serverShutdown`` notice. (A/B lines are arbitrated in Rust
on the sequence numbers the decoder reads.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.auth import Credentials
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register
from tickwire.venues.binance import limits as rate
from tickwire.venues.binance import usdm_limits
from tickwire.venues.binance.signer import API_KEY_HEADER

# Market data ---------------------------------------------------------------------------------------

_STREAM = {"book": "@depth@100ms", "trades": "@trade", "bbo": "@bookTicker"}


class Adapter(session_adapter.Adapter):
    """Binance spot combined streams: ``@depth@100ms`` diffs synced from REST ``/api/v3/depth`` by the
    official algorithm, ``@trade``, ``@bookTicker``. The venue pings every 20 s; picows answers with
    the same payload. ``serverShutdown`` makes the session reconnect at once."""

    venue = "binance"
    ws_label = "stream"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream.binance.com:9443",
            "ws": {"stream": "wss://stream.binance.com:9443/stream"},
            "rest": "https://api.binance.com",
        },
        {
            "name": "stream.binance.com:443",
            "ws": {"stream": "wss://stream.binance.com:443/stream"},
            "rest": "https://api.binance.com",
        },
        {
            "name": "data-stream.binance.vision",
            "ws": {"stream": "wss://data-stream.binance.vision/stream"},
            "rest": "https://data-api.binance.vision",
        },
    ]
    supported = ("book", "trades", "bbo")
    ping_interval = 30.0
    connect_limit = (300, 300.0)
    batch = 200  # streams per SUBSCRIBE: well under the 5 messages/s and 1024 streams rules
    ws_send_limit = (5, 1.0)  # "5 incoming messages per second", pings and pongs too (venues.md §1.4)
    connection_lifetime_s = 86_400.0  # "a connection is valid for 24 h" (venues.md §1.3, §1.5)
    depth_path = "/api/v3/depth"
    server_time: ClassVar[ServerTime | None] = ServerTime("/api/v3/time", lambda j: float(j["serverTime"]))
    # The per-IP request weight a depth snapshot counts against, with the trading session's requests.
    rest_limits = rate.LIMITS
    # ``GET /api/v3/depth`` weight by ``limit`` (rest-api.md): up to 100, 500, 1000, then 5000.
    depth_weights: ClassVar[tuple[tuple[int, int], ...]] = ((100, 5), (500, 25), (1000, 50), (5000, 250))
    # The only ``limit`` values the depth request takes (empty: any in the weight tiers' range).
    snapshot_limits: ClassVar[tuple[int, ...]] = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        # A book synced from a snapshot of n levels lacks every deeper level no diff touched since:
        # once diffs remove levels of its top it shows the wrong top while in sync (diffs carry only
        # the levels that changed, venues.md §1.4). A snapshot shallower than the cheapest weight
        # tier's saves no weight, so none is taken; a deep one makes that a walk of hundreds of levels.
        limit = self.options.get("snapshot_limit", 1000)
        low, high = self.depth_weights[0][0], self.depth_weights[-1][0]
        listed = self.snapshot_limits
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not low <= limit <= high
            or (listed and limit not in listed)
        ):
            which = ", ".join(map(str, listed)) if listed else f"from {low} to {high}"
            raise ValueError(
                f"{self.venue}: snapshot_limit must be a number of levels {which}, not {limit!r} (a"
                " shallower snapshot leaves the book's top wrong once diffs remove levels)"
            )

    def stream(self, s: streams.Sub) -> str:
        suffix = _STREAM[s.channel]
        if s.channel == "book":
            suffix = "@depth" + self.options.get("depth_speed", "@100ms")
        return s.symbol.lower() + suffix

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        params = [self.stream(s) for s in subs]
        return (
            [orjson.dumps({"method": op.upper(), "params": params, "id": self.next_id()})] if params else []
        )

    def snapshot_cost(self, symbol: str) -> dict[str, int]:
        n = int(self.snapshot_target(symbol)[1]["limit"])
        weight = next((w for top, w in self.depth_weights if n <= top), self.depth_weights[-1][1])
        return {"WEIGHT": weight}

    def server_time_cost(self) -> dict[str, int]:
        return {"WEIGHT": 1}  # ``GET /api/v3/time``, ``/fapi/v1/time``: weight 1

    def read_usage(self, headers: Mapping[str, str]) -> dict[str, int]:
        return rate.read_usage(headers)

    def snapshot_target(self, symbol: str) -> tuple[str, dict[str, Any]]:
        return self.depth_path, {"symbol": symbol, "limit": self.options.get("snapshot_limit", 1000)}

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        # ``serverShutdown`` in each surface's form (binance-spot-api-docs, on market streams since
        # 2026-05-08, SBE ones since 2026-06-09): a raw stream's ``{"e":…}``, a combined stream's
        # ``{"stream":"!serverShutdown","data":{"e":…}}``, the WS API's ``{"event":{"e":…}}``.
        for ev in (msg, msg.get("data"), msg.get("event")):
            if isinstance(ev, dict) and ev.get("e") == "serverShutdown":
                return streams.Control("shutdown", "serverShutdown")
        err = msg.get("error")
        if isinstance(err, dict):
            return streams.Control("error", str(err.get("msg", "")), str(err.get("code", "")))
        if "result" in msg and "id" in msg:
            return streams.Control("ack")
        return None


class UsdmAdapter(Adapter):
    """USDⓈ-M futures: the routed ``/public`` path carries depth, bookTicker and trades; diffs chain
    by ``pu`` (previous ``u``); snapshots from ``/fapi/v1/depth``. Server ping every 3 minutes."""

    venue = "binance-usdm"
    ws_label = "public"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "fstream.binance.com",
            # private: the user data stream's routed path (+ "?listenKey=<key>&events=…"); ws_api: order entry
            # (venues.md 1.6: widely used, not on an official page).
            "ws": {
                "public": "wss://fstream.binance.com/public/stream",
                "private": "wss://fstream.binance.com/private/ws",
                "ws_api": "wss://ws-fapi.binance.com/ws-fapi/v1",
            },
            "rest": "https://fapi.binance.com",
        },
    ]
    depth_path = "/fapi/v1/depth"
    server_time = ServerTime("/fapi/v1/time", lambda j: float(j["serverTime"]))
    rest_limits = usdm_limits.LIMITS
    # ``GET /fapi/v1/depth`` weight by ``limit``: 5-50, 100, 500, 1000.
    depth_weights = ((50, 2), (100, 5), (500, 10), (1000, 20))
    # "Valid limits: [5, 10, 20, 50, 100, 500, 1000]": any other is refused (-1100), every snapshot
    # then failed and the book never synced. Those from the cheapest tier's 50 up.
    snapshot_limits = (50, 100, 500, 1000)
    ping_interval = 120.0
    ws_send_limit = (10, 1.0)  # "10 incoming messages per second" (venues.md §1.6)


_SBE_STREAM = {"book": "@depth", "trades": "@trade", "bbo": "@bestBidAsk"}


class SbeAdapter(Adapter):
    """Binance spot SBE market data (``stream-sbe.binance.com``): the same streams as binary SBE
    frames (schema 1:0), synced with REST snapshots by the same algorithm. The upgrade carries an
    Ed25519 API key in ``X-MBX-APIKEY`` (no signature); pass ``api_key`` in the venue options or a
    ``binance.Signer`` as credentials (or set ``BINANCE_API_KEY``)."""

    venue = "binance-sbe"
    ws_label = "sbe_stream"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream-sbe.binance.com:9443",
            "ws": {"sbe_stream": "wss://stream-sbe.binance.com:9443/stream"},
            "rest": "https://api.binance.com",
        },
    ]
    # An SBE session syncs no clock (a "binance" session on the same REST host reads the same one).
    server_time = None
    limits_venue = "binance"  # its snapshots are spot's, on spot's REST host

    def stream(self, s: streams.Sub) -> str:
        return s.symbol.lower() + _SBE_STREAM[s.channel]

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        key = self.options.get("api_key")
        if key is None and self.options.get("signer") is not None:
            key = self.options["signer"].api_key
        if key is None:
            key = Credentials.from_env("BINANCE").api_key
        return {API_KEY_HEADER: str(key)}


register(Adapter, UsdmAdapter, SbeAdapter)
