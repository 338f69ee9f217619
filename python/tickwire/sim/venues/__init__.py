"""Simulated venues, one module each. VENUES maps a venue name to (module, class)."""

from __future__ import annotations

VENUES: dict[str, tuple[str, str]] = {
    "binance": ("binance", "BinanceSpot"),
    "binance-usdm": ("binance", "BinanceUsdm"),
    "okx": ("okx", "Okx"),
    "bybit": ("bybit", "Bybit"),
    "coinbase": ("coinbase", "Coinbase"),
    "kraken": ("kraken", "Kraken"),
    "htx": ("htx", "Htx"),
    "bitfinex": ("bitfinex", "Bitfinex"),
    "cloud9trader": ("cloud9trader", "Cloud9Trader"),
    "clarofinlore": ("clarofinlore", "Clarofinlore"),
    "tradefence": ("tradefence", "Tradefence"),
}
