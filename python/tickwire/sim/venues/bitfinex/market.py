"""The Bitfinex venue class: the WebSocket v2 book channel with checksums (venues.md §7).

``/ws/2``: an ``info`` event on connect; ``{"event":"conf","flags":131072}`` turns on checksums;
``{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","len":"25"}`` answers
``subscribed`` with a ``chanId``, then ``[chanId, [[price, count, amount], …]]`` (asks with negative
amounts) and updates ``[chanId, [price, count, amount]]`` (count 0 deletes: amount 1 for a bid, -1 for
an ask). With checksums on, every update is followed by ``[chanId, "cs", checksum]``: the signed CRC32
of the top 25 bids and asks interleaved ``bidPrice:bidAmount:askPrice:askAmount:…``, numbers written
as plain decimals. ``[chanId, "hb"]`` when a channel is quiet; ``{"event":"ping"}`` gets ``pong``.
"""

from __future__ import annotations

import itertools
import zlib
from typing import Any, ClassVar

import orjson

from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.ws import Conn

CHECKSUM_FLAG = 131072
LENGTHS = (1, 25, 100, 250)


def bitfinex_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """Signed CRC32 of the top 25 levels interleaved bid/ask (``amount`` text already signed)."""
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class Bitfinex(Venue):
    name = "bitfinex"
    ws_paths: ClassVar[dict[str, str]] = {"public": "/ws/2"}
    has_checksum = True
    intervals: ClassVar[dict[str, float]] = {"heartbeat": 15.0}
    default_instruments = default_instruments(
        [
            ("tBTCUSD", "0.1", "0.00000001", "60000", 100_000),
            ("tETHUSD", "0.01", "0.00000001", "3000", 1_000_000),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats(strip=True)
        self._chan = itertools.count(17)

    def _level(self, symbol: str, side: int, price: int, lots: int) -> str:
        fp, fq = self.fmt[symbol]
        if lots == 0:
            return f"[{fp(price)},0,{1 if side == BID else -1}]"
        count = 1 + lots % 5
        return f"[{fp(price)},{count},{'' if side == BID else '-'}{fq(lots)}]"

    def checksum(self, symbol: str) -> int:
        fp, fq = self.fmt[symbol]
        book = self.books[symbol]
        return bitfinex_checksum(
            [(fp(p), fq(q)) for p, q in book.bids.top(25)],
            [(fp(p), "-" + fq(q)) for p, q in book.asks.top(25)],
        )

    # WebSocket ---------------------------------------------------------------------------------

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        return None if conn.path in ("/ws/2", "/ws/2/") else (404, b"not found")

    def on_open(self, conn: Conn) -> None:
        conn.state["flags"] = 0
        conn.state["chans"] = {}  # chanId -> topic
        conn.send_text(
            orjson.dumps({"event": "info", "version": 2, "serverId": "sim", "platform": {"status": 1}})
        )

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        try:
            msg = orjson.loads(data)
            event = msg["event"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            conn.send_text(b'{"event":"error","msg":"invalid","code":10000}')
            return
        if event == "ping":
            conn.send_text(
                orjson.dumps({"event": "pong", "ts": conn.endpoint.now_ms(), "cid": msg.get("cid")})
            )
        elif event == "conf":
            conn.state["flags"] = int(msg.get("flags", 0))
            conn.send_text(orjson.dumps({"event": "conf", "status": "OK", "flags": conn.state["flags"]}))
        elif event == "subscribe" and msg.get("channel") == "book":
            self._subscribe(conn, msg)
        elif event == "unsubscribe":
            topic = conn.state["chans"].pop(msg.get("chanId"), None)
            if topic is not None:
                conn.endpoint.unsubscribe(conn, topic)
            conn.send_text(
                orjson.dumps({"event": "unsubscribed", "status": "OK", "chanId": msg.get("chanId")})
            )
        else:
            conn.send_text(orjson.dumps({"event": "error", "msg": "unknown event", "code": 10000}))

    def _subscribe(self, conn: Conn, msg: dict[str, Any]) -> None:
        symbol, prec, length = msg.get("symbol"), msg.get("prec", "P0"), int(msg.get("len", 25))
        if symbol not in self.books or prec != "P0" or length not in LENGTHS:
            err = {"event": "error", "msg": "symbol: invalid", "code": 10300, "channel": "book"}
            conn.send_text(orjson.dumps(err))
            return
        chan = next(self._chan)
        topic = f"book:{symbol}:{length}"
        conn.state["chans"][chan] = topic
        conn.state.setdefault("chan_of", {})[topic] = chan
        ack = {"event": "subscribed", "channel": "book", "chanId": chan, "symbol": symbol, "prec": prec}
        ack.update(freq=msg.get("freq", "F0"), len=str(length), pair=symbol[1:])
        conn.send_text(orjson.dumps(ack))
        view = self.view(symbol, length, True)
        book = self.books[symbol]
        levels = [self._level(symbol, BID, p, q) for p, q in book.bids.top(view.depth)]
        levels += [self._level(symbol, 1, p, q) for p, q in book.asks.top(view.depth)]
        conn.endpoint.subscribe(conn, topic)
        conn.send_text(f"[{chan},[{','.join(levels)}]]".encode())
        if conn.state["flags"] & CHECKSUM_FLAG:
            conn.send_text(f'[{chan},"cs",{self.checksum(symbol)}]'.encode())

    # publishing --------------------------------------------------------------------------------

    def on_step(self, symbol: str, step: Step) -> None:
        cs: int | None = None
        for (depth, _), view in self.views[symbol].items():
            bids, asks = view.diff(step)
            if not bids and not asks:
                continue
            topic = f"book:{symbol}:{depth}"
            if topic not in self.live:
                continue
            levels = [self._level(symbol, BID, p, q) for p, q in bids]
            levels += [self._level(symbol, 1, p, q) for p, q in asks]
            if cs is None:
                cs = self.checksum(symbol)
            for ep, subs in self.subscribers(topic):
                fault = ep.take_book_fault(symbol) if ep.book_faults else None
                if fault == "gap":
                    continue
                for c in subs:
                    chan = c.state["chan_of"][topic]
                    for lv in levels:
                        c.send_text(f"[{chan},{lv}]".encode())
                    if c.state["flags"] & CHECKSUM_FLAG:
                        bad = cs + 1 if cs < (1 << 31) - 1 else -(1 << 31)
                        c.send_text(f'[{chan},"cs",{bad if fault == "corrupt" else cs}]'.encode())

    def on_timer(self, ep: VenueServer, now: float) -> None:
        every = self.interval("heartbeat")
        for c in list(ep.conns.values()):
            if c.topics and now - c.last_tx >= every:
                for chan in c.state["chans"]:
                    c.send_text(f'[{chan},"hb"]'.encode())
                c.flush()
