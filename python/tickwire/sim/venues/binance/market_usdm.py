"""The Binance USDⓈ-M futures venue class (venues.md §1.6): spot's (``market.py``) with the futures
hosts' paths, intervals, instruments and depth limits; its orders in ``futures.py``."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from tickwire.sim.market import Fmt, Instrument, default_instruments
from tickwire.sim.venues.binance.market import BinanceSpot


class BinanceUsdm(BinanceSpot):
    name = "binance-usdm"
    sets_grid = True  # its order entry (futures.py) and exchangeInfo (metadata.py) follow set_grid
    ws_paths: ClassVar[dict[str, str]] = {
        "ws": "/ws",
        "stream": "/stream",
        "public": "/public/stream",
        "private": "/private/ws",  # + "?listenKey=<key>&events=…"
        "ws_api": "/ws-fapi/v1",
    }
    intervals: ClassVar[dict[str, float]] = {
        "ping_interval": 180.0,
        "pong_timeout": 600.0,
        "partial_depth": 0.25,
        "lifetime": 86400.0,
        "weight_window": 60.0,
        "ban": 120.0,
        "conn_window": 300.0,
        "listen_key_ttl": 3600.0,
    }
    default_instruments = default_instruments(
        [
            ("BTCUSDT", "0.10", "0.001", "60000", 1),
            ("ETHUSDT", "0.01", "0.001", "3000", 10),
        ],
        {  # min_qty, max_qty, min_notional as the venue lists them
            "BTCUSDT": ("0.001", "1000", "100"),
            "ETHUSDT": ("0.001", "10000", "20"),
        },
    )
    futures = True
    leverage = Decimal(20)  # Binance's default for BTCUSDT perpetuals
    rest_prefix = "/fapi/v1"
    ws_api_path = "/ws-fapi/v1"
    max_incoming_per_s = 10
    depth_limits = (5, 10, 20, 50, 100, 500, 1000)
    default_limit = 500
    max_limit = 1000

    def _formats(self, inst: Instrument) -> tuple[Fmt, Fmt]:
        return Fmt(inst.tick, inst.price_decimals), Fmt(inst.lot, inst.qty_decimals)
