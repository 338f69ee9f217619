"""BookFeed("binance-sbe") on frames from the simulator's own SBE writer (tickwire.sim), which shares
no code with the Rust decoder."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from tickwire import Bbo, BookFeed, errors
from tickwire.sim.venues.binance import sbe

INST = SimpleNamespace(
    symbol="BTCUSDT", price_decimals=2, qty_decimals=5, tick=Decimal("0.01"), lot=Decimal("0.00001")
)
SCALE = sbe.SbeScale(INST)  # type: ignore[arg-type]
REST = '{"lastUpdateId":100,"bids":[["60000.00","0.50000"]],"asks":[["60001.00","0.25000"]]}'


def test_sbe_diffs_follow_the_spot_sync_and_events_carry_exact_values() -> None:
    feed = BookFeed("binance-sbe")
    # Ticks of 0.01 and lots of 0.00001.
    first = sbe.depth_diff(SCALE, 1, 99, 101, [(6_000_050, 30_000)], [])
    assert feed.on_frame(first)[1] == (("BTCUSDT", "buffered"),)
    assert feed.needs() == (("BTCUSDT", "snapshot"),)
    assert feed.on_snapshot("BTCUSDT", REST)[1] == (("BTCUSDT", "applied"),)
    book = feed.book("BTCUSDT")
    assert book.best_bid_exact() == (Decimal("60000.50"), Decimal("0.30000"))
    nxt = sbe.depth_diff(SCALE, 2, 102, 102, [(6_000_050, 0)], [(6_000_090, 1)])
    assert feed.on_frame(memoryview(nxt))[1] == (("BTCUSDT", "applied"),)
    assert (book.best_bid(), book.best_ask()) == ((60000.0, 0.5), (60000.9, 0.00001))
    assert feed.on_frame(sbe.depth_diff(SCALE, 3, 110, 111, [], []))[1] == (("BTCUSDT", "gap"),)
    kind, _, ev = feed.on_frame(sbe.best_bid_ask(SCALE, 4, 112, (6_000_000, 50_000, 6_000_100, 25_000)))
    assert kind == "bbo" and isinstance(ev, Bbo)
    assert ev.exact() == (Decimal("60000.00"), Decimal("0.50000"), Decimal("60001.00"), Decimal("0.25000"))
    # Subscription replies arrive as text frames on the same connection.
    assert feed.on_frame('{"result":null,"id":1}')[0] == "control"
    before = book.levels_exact("bid", 10)
    with pytest.raises(errors.DecodeError):
        feed.on_frame(nxt[:-3])
    assert book.levels_exact("bid", 10) == before
