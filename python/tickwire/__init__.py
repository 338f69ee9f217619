"""tickwire: connect trading programs to trading venues with as little latency as the machine allows.

The hot paths (signing, frame decoding, order books) live in the Rust extension ``tickwire._core``;
this package is the thin Python layer around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickwire import errors
from tickwire._core import Bbo, BookFeed, OrderBook, Trade, build_info
from tickwire.session import connect, connect_threaded, run

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession
    from tickwire.trading.threaded import ThreadedTrading


def trade(venue: str, **options: Any) -> TradingSession:
    """A trading session on one venue account (see :func:`tickwire.trading.trade.trade`)."""
    from tickwire.trading.trade import trade as _trade

    return _trade(venue, **options)


def trade_threaded(venue: str, **options: Any) -> ThreadedTrading:
    """:func:`trade` on a background thread, for synchronous bots (see
    :func:`tickwire.trading.threaded.trade_threaded`)."""
    from tickwire.trading.threaded import trade_threaded as _threaded

    return _threaded(venue, **options)


__all__ = [
    "Bbo",
    "BookFeed",
    "OrderBook",
    "Trade",
    "build_info",
    "connect",
    "connect_threaded",
    "errors",
    "run",
    "trade",
    "trade_threaded",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``tickwire.remote`` (NATS clients: an optional dependency) loaded on first use, so that the
    # one-line move from ``tickwire.connect`` to ``tickwire.remote.connect`` needs no other import.
    if name == "remote":
        import importlib

        return importlib.import_module("tickwire.remote")
    raise AttributeError(f"module 'tickwire' has no attribute {name!r}")
