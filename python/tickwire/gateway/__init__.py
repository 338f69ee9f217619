"""``tickwire gateway``: one process owns a venue's connections and accounts and serves books, trades
and order entry over NATS to any number of strategy processes (:mod:`tickwire.remote`).

    config.py     gateway.toml → :class:`GatewayConfig`
    market.py     market-data sessions → binary bus messages; snapshots on request
    orders.py     order entry for the accounts it owns (request-reply), one budget and kill per account
    events.py     order events and fills onto JetStream
    heartbeat.py  the liveness subject remote clients watch
    run.py        :class:`Gateway`: all of the above on one loop
"""

from __future__ import annotations

from tickwire.gateway.config import AccountConfig, GatewayConfig, MarketConfig, load

__all__ = ["AccountConfig", "GatewayConfig", "MarketConfig", "load"]
