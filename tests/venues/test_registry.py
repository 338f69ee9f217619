"""Venue modules register their market-data adapters, and the rules an adapter shares with the Rust
feed (resync method, redundant lines, reconnects, symbol case) are the feed's spec, read from the
extension rather than stated again in Python."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from tickwire._core import venue_names, venue_spec
from tickwire.session import adapter_for
from tickwire.session.adapter import Adapter
from tickwire.venues import adapters, binance, register

# Venues whose frames the core decodes but that have no session: BookFeed only. "bus" is a tickwire
# gateway's own format, read by remote consumers, not a venue anyone connects to.
FEED_ONLY = {"bitfinex", "bus"}


def test_every_spec_has_an_adapter_and_every_adapter_a_spec() -> None:
    assert set(adapters()) == set(venue_names()) - FEED_ONLY
    for name, cls in adapters().items():
        assert cls.venue == name == venue_spec(cls.feed_venue).name


@pytest.mark.parametrize("venue", sorted(set(venue_names()) - FEED_ONLY))
def test_adapter_rules_are_the_feed_spec(venue: str) -> None:
    cls = adapters()[venue]
    spec = venue_spec(cls.feed_venue)
    assert (cls.resync, cls.snapshot_first) == (spec.resync, spec.snapshot_first)
    assert cls.redundant_ok == spec.redundant_lines
    assert cls.reset_on_reconnect == spec.connection_numbered
    adapter = cls()
    for symbol in ("btcusdt", "BTCUSDT", "BTC-usd", "tBTCUSD"):
        assert adapter.book_key(symbol) == spec.book_key(symbol)


def test_aliases_reach_the_adapter_of_their_venue() -> None:
    assert type(adapter_for("huobi")) is adapters()["htx"]
    assert adapter_for("binance-futures").venue == "binance-usdm"


def test_a_feed_names_its_venue_as_the_sessions_and_venue_names_do() -> None:
    """``BookFeed.venue`` is the canonical name (``replay`` reports it; before: the core's type name,
    "BinanceSpot", "Okx"), an alias's too."""
    from tickwire import BookFeed

    for name in venue_names():
        assert BookFeed(name).venue == name == venue_spec(name).name
        assert repr(BookFeed(name)) == f'BookFeed(venue="{name}", books=0)'
    assert BookFeed("binance-futures").venue == "binance-usdm" and BookFeed("huobi").venue == "htx"


def test_unknown_and_feed_only_venues_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown venue 'nasdaq'; one of binance, "):
        adapter_for("nasdaq")
    with pytest.raises(ValueError, match=r"no session adapter for 'bitfinex'.*BookFeed\('bitfinex'\)"):
        adapter_for("bitfinex")


def test_an_adapter_cannot_restate_a_rule_of_the_spec() -> None:
    with pytest.raises(TypeError, match="resync"):

        class Restated(Adapter):
            venue = "okx"
            resync = "snapshot"


def test_a_second_adapter_for_a_venue_is_refused() -> None:
    class Other(binance.Adapter):
        production: ClassVar[list[dict[str, Any]]] = []

    with pytest.raises(ValueError, match="two adapters"):
        register(Other)
    assert adapters()["binance"] is binance.Adapter
