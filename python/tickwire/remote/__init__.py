"""Strategies fed by a gateway over NATS (:mod:`tickwire.gateway`): the same objects and callbacks
as the local :func:`tickwire.connect` / :func:`tickwire.trade`, so moving a strategy is one line.

    md = tickwire.remote.connect("nats://127.0.0.1:4222", "binance", ["BTCUSDT"])
"""

from __future__ import annotations

from tickwire.remote.market import RemoteMarketData, connect

__all__ = ["RemoteMarketData", "connect"]
