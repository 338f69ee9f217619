"""permessage-deflate (RFC 7692) through `BookFeed`, against Python's zlib as the server's compressor:
raw deflate, each message ended with a sync flush whose trailing 00 00 ff ff is stripped (§7.2.1)."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import pytest
from tickwire import BookFeed
from tickwire.errors import DecodeError

TAIL = b"\x00\x00\xff\xff"


class Server:
    """The sending side of one connection: one compressor for all messages (context takeover) or a
    fresh one per message (server_no_context_takeover)."""

    def __init__(self, window_bits: int = 15, takeover: bool = True) -> None:
        self.window_bits, self.takeover = window_bits, takeover
        self.c = zlib.compressobj(wbits=-window_bits)

    def send(self, text: str) -> bytes:
        if not self.takeover:
            self.c = zlib.compressobj(wbits=-self.window_bits)
        out = self.c.compress(text.encode()) + self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[: -len(TAIL)]


def messages(n: int, seq0: int = 1) -> list[str]:
    """A Clarofinlore snapshot then `n - 1` linked updates, all very alike (as a real feed's are)."""
    out = [
        f'{{"channel":"orderbook.btc-usdt","type":"snapshot","seq":{seq0},"prev_seq":{seq0 - 1},'
        '"bids":[["100.0","1.5"],["99.5","2"]],"asks":[["101.0","1"],["101.5","3"]]}'
    ]
    for i in range(1, n):
        s = seq0 + i
        out.append(
            f'{{"channel":"orderbook.btc-usdt","type":"update","seq":{s},"prev_seq":{s - 1},'
            f'"bids":[["{98 + i % 3}.0","{i}.25"]],"asks":[["101.0","{i + 1}"]]}}'
        )
    return out


def reference(msgs: list[str]) -> tuple[tuple[float, float], tuple[float, float]]:
    book: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for m in msgs:
        d = json.loads(m)
        if d["type"] == "snapshot":
            book = {"bids": {}, "asks": {}}
        for side in ("bids", "asks"):
            for p, q in d[side]:
                if Decimal(q) == 0:
                    book[side].pop(Decimal(p), None)
                else:
                    book[side][Decimal(p)] = Decimal(q)
    bid = max(book["bids"])
    ask = min(book["asks"])
    return (float(bid), float(book["bids"][bid])), (float(ask), float(book["asks"][ask]))


def top(feed: BookFeed) -> tuple[object, object]:
    b = feed.book("btc-usdt")
    return b.best_bid(), b.best_ask()


@pytest.mark.parametrize("window_bits", [9, 12, 15])
def test_context_takeover_across_messages(window_bits: int) -> None:
    msgs = messages(40)
    server = Server(window_bits)
    wire = [server.send(m) for m in msgs]
    # Later messages refer back into earlier ones: alone, they do not inflate.
    with pytest.raises(zlib.error):
        d = zlib.decompressobj(-15)
        d.decompress(wire[5] + TAIL)
        d.flush()
    assert sum(map(len, wire[1:])) < sum(len(m) for m in msgs[1:]) // 3
    feed = BookFeed("clarofinlore", compression="permessage-deflate", server_max_window_bits=window_bits)
    for w in wire:
        kind, updates, _ = feed.on_frame(w, None, True)
        assert (kind, updates) == ("book", (("btc-usdt", "applied"),))
    assert top(feed) == reference(msgs)


def test_no_context_takeover_and_default_rsv1_reading() -> None:
    msgs = messages(12)
    server = Server(takeover=False)
    feed = BookFeed("clarofinlore", compression="permessage-deflate", server_no_context_takeover=True)
    for i, m in enumerate(msgs):
        w = server.send(m)
        assert zlib.decompressobj(-15).decompress(w + TAIL) == m.encode()  # self-contained
        # bytes default to compressed; a str never is; compressed=False bytes are parsed as they are.
        payload = (w, m, m.encode())[i % 3]
        flag = (None, None, False)[i % 3]
        assert feed.on_frame(payload, compressed=flag)[1] == (("btc-usdt", "applied"),)
    assert top(feed) == reference(msgs)


def corrupt(w: bytes) -> bytes:
    # BTYPE 11 (reserved) in the first block header: invalid deflate whatever follows.
    return bytes([w[0] | 0x06]) + w[1:]


def test_corrupt_message_refuses_the_rest_until_reset() -> None:
    msgs = messages(20)
    server = Server()
    wire = [server.send(m) for m in msgs]
    feed = BookFeed("clarofinlore", compression="permessage-deflate")
    for w in wire[:10]:
        feed.on_frame(w, compressed=True)
    before = (top(feed), feed.stats()["book_messages"])
    assert before[0] == reference(msgs[:10])
    with pytest.raises(DecodeError, match="corrupt"):
        feed.on_frame(corrupt(wire[10]), compressed=True)
    # The shared window is lost: even the intact messages that follow are refused.
    for w in wire[10:]:
        with pytest.raises(DecodeError, match="poisoned"):
            feed.on_frame(w, compressed=True)
    assert (top(feed), feed.stats()["book_messages"]) == before
    assert feed.stats()["errors"] == 11
    # Reconnect: a new compressor, a new context, a fresh snapshot.
    feed.reset()
    assert not feed.book("btc-usdt").is_synced
    again = messages(8, seq0=500)
    server = Server()
    for m in again:
        assert feed.on_frame(server.send(m), compressed=True)[1] == (("btc-usdt", "applied"),)
    assert top(feed) == reference(again) and feed.book("btc-usdt").is_synced


def test_without_takeover_a_corrupt_message_spoils_only_itself() -> None:
    msgs = messages(6)
    server = Server(takeover=False)
    wire = [server.send(m) for m in msgs]
    feed = BookFeed("clarofinlore", compression="permessage-deflate", server_no_context_takeover=True)
    for w in wire[:3]:
        feed.on_frame(w)
    with pytest.raises(DecodeError):
        feed.on_frame(corrupt(wire[3]))
    # The lost update is a sequence gap for the book, but the stream itself decodes on.
    assert feed.on_frame(wire[4])[1] == (("btc-usdt", "gap"),)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        BookFeed("okx", compression="permessage-deflate", server_max_window_bits=16)
    with pytest.raises(ValueError):
        BookFeed("okx", compression="permessage-deflate", server_max_window_bits=7)
    with pytest.raises(ValueError):
        BookFeed("okx", server_no_context_takeover=True)
    with pytest.raises(ValueError):
        BookFeed("okx").on_frame(b"{}", compressed=True)
    # Positional use from before keeps working.
    assert BookFeed("okx").on_frame("pong", 123)[0] == "heartbeat"
