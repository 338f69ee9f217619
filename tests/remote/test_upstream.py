"""What a remote client makes of its gateways' reports (``tickwire.remote.gateways.UpstreamBooks``),
fed heartbeat ids directly against a consumer book of the bus: which books it rebuilds, and which it
must leave alone."""

from __future__ import annotations

import json

from tickwire import BookFeed
from tickwire.remote.gateways import UpstreamBooks

KEY = "BTCUSDT"


def _bybit(kind: str, u: int) -> str:
    data = {"s": KEY, "b": [["99", str(u)]], "a": [["101", "1"]], "u": u, "seq": u}
    return json.dumps({"topic": f"orderbook.50.{KEY}", "type": kind, "ts": 1, "cts": 1, "data": data})


def consumer_at(u: int) -> BookFeed:
    """A consumer's bus book synced at venue id ``u`` (a gateway's snapshot of it)."""
    gw = BookFeed("bybit")
    gw.journal(True)
    gw.on_frame(_bybit("snapshot", u))
    msg = gw.take_delta(KEY, 1)
    assert msg is not None
    feed = BookFeed("bus")
    feed.on_frame(msg)
    assert feed.book(KEY).is_synced and feed.book(KEY).last_update_id == u
    return feed


class Beats:
    """Beats of several gateways (0.1 s apart) into one ``UpstreamBooks``; ``serving`` lists the live
    gateways serving the book."""

    def __init__(self, feed: BookFeed, serving: list[str]) -> None:
        self.up = UpstreamBooks()
        self.feed = feed
        self.serving = serving

    def beat(self, name: str, announced: int, at: float) -> list[str]:
        return self.up.ahead(name, {KEY: announced}, self.feed, [KEY], lambda _k: self.serving, at, 0.1)


def test_a_book_ahead_of_its_only_gateway_on_two_beats_is_rebuilt() -> None:
    """The consumer lost the restart snapshot at 5000: the gateway's ids since are 3, then 9."""
    beats = Beats(consumer_at(5000), ["gw1"])
    assert beats.beat("gw1", 3, 0.0) == []  # one beat: the deltas may have outrun it
    assert beats.beat("gw1", 9, 0.1) == [KEY]


def test_a_book_ahead_of_a_lagging_gateway_but_not_of_the_other_is_left_alone() -> None:
    """gw2 lags gw1 (A/B on ``gateway="*"``): the consumer, fed by gw1 first, is ahead of gw2's every
    beat. Not a lost restart while gw1 announces at or above the book; rebuilt once gw1 too stays
    below it (the restart was lost from both)."""
    beats = Beats(consumer_at(5000), ["gw1", "gw2"])
    for k in range(5):
        assert beats.beat("gw2", 4990 + k, 0.1 * k) == []
        assert beats.beat("gw1", 5000, 0.1 * k + 0.05) == []
    assert beats.beat("gw1", 7, 0.6) == []
    assert beats.beat("gw2", 6, 0.65) == []  # gw2 below the book all along; gw1 once so far
    assert beats.beat("gw1", 12, 0.7) == [KEY]


def test_beats_handled_back_to_back_do_not_count_as_two() -> None:
    """The loop was held up: two beats queued meanwhile are handled within microseconds, after the
    deltas that outran them (on their own connection). They are stale by then: one look, not two."""
    beats = Beats(consumer_at(5000), ["gw1"])
    assert beats.beat("gw1", 4990, 1.0) == []
    assert beats.beat("gw1", 4995, 1.0001) == []
    assert beats.beat("gw1", 5000, 1.1) == []  # the next beat has caught up: nothing to rebuild
    assert beats.beat("gw1", 5001, 1.2) == []


def test_a_book_that_moves_between_beats_is_not_stuck() -> None:
    feed = consumer_at(5000)
    beats = Beats(feed, ["gw1"])
    assert beats.beat("gw1", 4990, 0.0) == []
    beats.feed = consumer_at(5010)  # fed meanwhile
    assert beats.beat("gw1", 5005, 0.1) == []
    assert beats.beat("gw1", 5008, 0.2) == [KEY]  # ...and then stuck at 5010 while the gateway moves


def test_a_book_no_live_gateway_serves_is_not_rebuilt_from_the_beats() -> None:
    beats = Beats(consumer_at(5000), [])
    assert beats.beat("gw1", 3, 0.0) == []
    assert beats.beat("gw1", 9, 0.1) == []


def test_a_book_behind_two_beats_of_one_gateway_is_resynced_whatever_another_announces_between() -> None:
    """gw2 lost its copy of the book at 4990 (its beats keep announcing that id); gw1's announce 5001,
    which the consumer's book, at 5000, lost. Each gateway's beats are compared with its own: gw2's in
    between must not undo what gw1's said. before: they did, and the book was never resynced."""
    feed = consumer_at(5000)
    up = UpstreamBooks()
    assert up.behind("gw1", {KEY: 5001}, feed, [KEY]) == []  # one beat: the delta may be on its way
    assert up.behind("gw2", {KEY: 4990}, feed, [KEY]) == []
    assert (late := up.behind("gw1", {KEY: 5001}, feed, [KEY])) == [KEY], f"not resynced: {late}"
