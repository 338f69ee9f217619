"""Kraken spot market data: ``Adapter`` (``"kraken"``, registered for ``tickwire.connect``): the v2
production URLs, ``book`` / ``trade`` subscriptions at the subscribed depth, instrument precisions from
REST ``AssetPairs`` for the checksums, the ``ping`` keepalive, the server-time path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.errors import TickwireError
from tickwire.session import adapter as session_adapter
from tickwire.venues import register
from tickwire.venues.kraken.names import spot_pairs, ws_symbol

if TYPE_CHECKING:
    from tickwire._core import BookFeed
    from tickwire.session.market import MarketData

log = logging.getLogger("tickwire.kraken")

__all__ = ["Adapter"]


ASSET_PAIRS = "/0/public/AssetPairs"
# The pause before asking ``AssetPairs`` again for pairs it has not given a precision yet: from the
# first, doubling to the second (Kraken's public REST counts calls per IP).
PRECISION_RETRY_S = (0.25, 5.0)


def precisions(body: bytes | str) -> dict[str, tuple[int, int]]:
    """(price, lot) decimals by v2 symbol from an ``AssetPairs`` answer."""
    # wsname is v1's (XBT/USD); the v2 stream says BTC/USD.
    return {
        ws_symbol(info["wsname"]): (int(info["pair_decimals"]), int(info["lot_decimals"]))
        for _, info in spot_pairs(orjson.loads(body)["result"])
    }


class Adapter(session_adapter.Adapter):
    """Kraken WebSocket v2: ``book`` (snapshot and updates with a top-10 CRC32 checksum; the book is
    cut to the subscribed depth), ``trade``; ``{"channel":"heartbeat"}`` arrives every second once
    subscribed, and the session pings with ``{"method":"ping"}`` when idle. Books are resynced by
    resubscribing. No sequence numbers: one line per session."""

    venue = "kraken"
    ws_label = "v2"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "ws.kraken.com",
            # v2_auth: the authenticated socket (order entry and the executions channel).
            "ws": {"v2": "wss://ws.kraken.com/v2", "v2_auth": "wss://ws-auth.kraken.com/v2"},
            "rest": "https://api.kraken.com",
        },
    ]
    supported = ("book", "trades")
    ping_interval = 10.0
    server_time = ServerTime("/0/public/Time", lambda j: float(j["result"]["unixtime"]) * 1000, 1000.0)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._lacking: set[str] = set()  # pairs subscribed without a precision (``prepare``)
        self._asking: asyncio.Task[None] | None = None  # asking ``AssetPairs`` again for them

    def feed_options(self) -> dict[str, Any]:
        # The books are cut to the subscribed depth (the venue sends no delete for a level merely
        # pushed out of it): kept at the spec's 10, a subscription at 25 lost levels 11-25, and a
        # level of them coming back into the top 10 failed the checksum — a resync every few updates.
        depth = self.options.get("depth")
        return {} if depth is None else {"max_depth": int(depth)}

    @classmethod
    def recorded_options(cls, sent: str) -> dict[str, Any]:
        try:
            msg = orjson.loads(sent)
        except orjson.JSONDecodeError:
            return {}
        params = msg.get("params") if isinstance(msg, dict) and msg.get("method") == "subscribe" else None
        depth = params.get("depth") if isinstance(params, dict) and params.get("channel") == "book" else None
        # Only a number Kraken takes: a line edited to anything else is no depth to keep books at.
        if isinstance(depth, int) and not isinstance(depth, bool) and depth > 0:
            return {"depth": depth}
        return {}

    def message(self, method: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        out = []
        books = [s.symbol for s in subs if s.channel == "book"]
        trades = [s.symbol for s in subs if s.channel == "trades"]
        if books:
            depth = self.options.get("depth", self.spec.max_depth)
            params = {"channel": "book", "symbol": books, "depth": depth}
            if method == "subscribe":
                params["snapshot"] = True
            out.append(orjson.dumps({"method": method, "params": params, "req_id": self.next_id()}))
        if trades:
            out.append(
                orjson.dumps(
                    {
                        "method": method,
                        "params": {"channel": "trade", "symbol": trades},
                        "req_id": self.next_id(),
                    }
                )
            )
        return out

    async def prepare(self, session: MarketData, symbols: Sequence[str] | None = None) -> None:
        """Kraken v2 checksums are over the numbers formatted at the pair's precision, which the
        stream does not carry: take it from the venue options (``precision={"BTC/USD": (1, 8)}``)
        or from REST ``AssetPairs`` (``pair_decimals``, ``lot_decimals``)."""
        symbols = session.registry.symbols("book") if symbols is None else list(symbols)
        given: dict[str, tuple[int, int]] = dict(self.options.get("precision", {}))
        known: dict[str, tuple[int, int]] = {}
        # A recording asks for the given pairs too: replay knows a pair's precision only from the file.
        missing = [s for s in symbols if s not in given or session.capture is not None]
        if missing:
            known.update(await self._precisions(session, missing))
        known.update(given)  # the user's word over the venue's
        for s in symbols:
            if s in known:
                session.feed.set_checksum_decimals(s, *known[s])
        lacking = [s for s in symbols if s not in known]
        if lacking:
            # Without its precision a pair's every checksum fails and it is resubscribed in a loop for
            # as long as it is held: asked again in the background until the venue answers (a REST
            # host down or failing at the start, or while a pair is subscribed).
            self._lacking.update(lacking)
            if self._asking is None or self._asking.done():
                self._asking = session.background(self._precisions_later(session), "precisions")

    async def _precisions_later(self, session: MarketData) -> None:
        pause = PRECISION_RETRY_S[0]
        while self._lacking and not session.closing:
            await asyncio.sleep(pause)
            pause = min(pause * 2, PRECISION_RETRY_S[1])
            self._lacking.intersection_update(session.registry.symbols("book"))  # still held
            pairs = sorted(self._lacking)
            if not pairs:
                return
            known = await self._precisions(session, pairs)
            for s in pairs:
                if s in known:
                    session.feed.set_checksum_decimals(s, *known[s])
                    self._lacking.discard(s)
                elif known:  # the venue answered and does not list it: nothing more to ask
                    self._lacking.discard(s)

    async def _precisions(self, session: MarketData, pairs: list[str]) -> dict[str, tuple[int, int]]:
        """``AssetPairs`` for ``pairs``, asked of each endpoint with a REST URL in turn: the line's own
        may be the one that is down (a pair subscribed while the line fails over), and a pair left
        without its precision would fail every checksum for as long as it is held."""
        query = {"pair": ",".join(pairs)}
        error: Exception | None = None
        # Chosen at once: the line may connect elsewhere meanwhile, which reorders ``rest(turn)``.
        clients = [session.rest(turn) for turn in range(max(1, len(session.pool.endpoints)))]
        for http in dict.fromkeys(clients):
            try:
                body = (await http.get(ASSET_PAIRS, query=query)).raise_for_status(self.venue).body
                known = precisions(body)
            except (TickwireError, OSError, KeyError, ValueError, TypeError) as e:
                error = e
                continue
            if session.capture is not None:
                # The checksums of a recording verify only at these precisions: ``tickwire
                # replay`` reads them back from here (``apply_recorded``).
                session.capture.http(f"{http.base_url}{ASSET_PAIRS}?{urlencode(query)}", body)
            return known
        log.warning("kraken: no instrument precisions (%s); checksums may not verify", error)
        return {}

    @classmethod
    def apply_recorded(cls, feed: BookFeed, url: str, body: bytes | str) -> bool:
        if not urlsplit(url).path.endswith(ASSET_PAIRS):
            return False
        for s, decimals in precisions(body).items():
            feed.set_checksum_decimals(s, *decimals)
        return True

    def ping(self) -> bytes | None:
        return orjson.dumps({"method": "ping", "req_id": self.next_id()})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        method = msg.get("method")
        if method == "pong":
            return streams.Control("pong")
        if method in ("subscribe", "unsubscribe"):
            if msg.get("success") is False:
                return streams.Control("error", str(msg.get("error", "")))
            return streams.Control("ack")
        return None


register(Adapter)
