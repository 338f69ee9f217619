"""Trade and best-bid/ask events from the real OKX capture, checked field by field against the JSON
read here with Decimal."""

from __future__ import annotations

import json
from decimal import Decimal

from shared_files import shared_path
from tickwire import Bbo, BookFeed, Trade


def test_okx_tickers_and_trades_become_events() -> None:
    feed = BookFeed("okx")
    seen = {"tickers": 0, "trades": 0}
    for line in shared_path("fixtures", "real", "okx.jsonl").read_text().splitlines():
        ev = json.loads(line)
        if ev["kind"] != "recv":
            continue
        kind, updates, value = feed.on_frame(ev["text"])
        msg = json.loads(ev["text"])
        channel = msg.get("arg", {}).get("channel")
        if channel not in seen or not msg.get("data") or "event" in msg:
            continue
        d = msg["data"][-1]
        seen[channel] += 1
        assert updates == ()
        if channel == "tickers":
            assert kind == "bbo" and isinstance(value, Bbo)
            assert value.symbol == d["instId"]
            want = tuple(Decimal(d[k]) for k in ("bidPx", "bidSz", "askPx", "askSz"))
            assert value.exact() == want
            assert (value.bid, value.ask) == (float(want[0]), float(want[2]))
        else:
            assert kind == "trade" and isinstance(value, tuple)
            assert len(value) == len(msg["data"])  # every trade of the frame, in order
            for t, d in zip(value, msg["data"], strict=True):
                assert isinstance(t, Trade)
                assert (t.symbol, t.exact()) == (d["instId"], (Decimal(d["px"]), Decimal(d["sz"])))
                assert (t.side, t.trade_id) == (d["side"], int(d["tradeId"]))
    assert seen == {"tickers": 28, "trades": 74}


def test_okx_ticker_with_an_empty_side_is_not_an_event() -> None:
    frame = (
        '{"arg":{"channel":"tickers","instId":"X"},"data":[{"instId":"X","last":"1","askPx":"","askSz":"",'
        '"bidPx":"0.5","bidSz":"3"}]}'
    )
    assert BookFeed("okx").on_frame(frame) == ("other", (), None)
