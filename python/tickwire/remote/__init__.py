"""Strategies fed by a gateway over NATS (:mod:`tickwire.gateway`) instead of venue sockets: the same
objects and callbacks as the local :func:`tickwire.connect` / :func:`tickwire.trade`, so a strategy
moves from local to remote by changing one line.

    md = tickwire.remote.connect("nats://127.0.0.1:4222", "binance", ["BTCUSDT"])
    tr = tickwire.remote.trade("nats://127.0.0.1:4222", "binance", "fund-a", strategy="mm1")
"""

from __future__ import annotations

from tickwire.remote.market import RemoteMarketData, connect
from tickwire.remote.trade import RemoteTrading, trade

__all__ = ["RemoteMarketData", "RemoteTrading", "connect", "trade"]
