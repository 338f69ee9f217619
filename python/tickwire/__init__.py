"""tickwire: connect trading programs to trading venues with as little latency as the machine allows.

The hot paths (signing, frame decoding, order books) live in the Rust extension ``tickwire._core``;
this package is the thin Python layer around it.
"""

from tickwire import errors
from tickwire._core import BookFeed, OrderBook, build_info

__all__ = ["BookFeed", "OrderBook", "build_info", "errors"]
__version__ = "0.1.0"
