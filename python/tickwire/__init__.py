"""tickwire: connect trading programs to trading venues with as little latency as the machine allows.

The hot paths (signing, frame decoding, order books) live in the Rust extension ``tickwire._core``;
this package is the thin Python layer around it.
"""

from tickwire import errors
from tickwire._core import Bbo, BookFeed, OrderBook, Trade, build_info
from tickwire.session import connect, connect_threaded, run

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
]
__version__ = "0.1.0"
