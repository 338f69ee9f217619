"""Simulated venues, one package each (``binance``, ``okx`` …). VENUES maps a venue name to (package,
class); each package's ``__init__`` says what it serves and from which document.

Shared by the packages: ``base.py`` (the Venue class every venue extends, its config), ``context.py``
(the VenueContext a venue's parts get instead of the venue object) and ``private.py`` (the fan-out of
private order events).
"""

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
