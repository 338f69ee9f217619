"""Kraken's names for one asset: REST answers use legacy codes (``XXBT``, ``ZUSD``, ``XETH``) and
``XBT``/``XDG`` where WebSocket v2 and everyone else say ``BTC``/``DOGE`` (support.kraken.com "API
symbols and tickers"; docs.kraken.com WebSocket v2 symbols are ``BTC/USD``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["asset", "spot_pairs", "ws_symbol"]

# Kraken's X-/Z-prefixed four-letter codes of its oldest assets (crypto X, fiat Z), as REST Balance,
# Assets and AssetPairs keys give them.
_LEGACY = {
    "XXBT": "XBT", "XETH": "ETH", "XLTC": "LTC", "XXRP": "XRP", "XXLM": "XLM", "XXMR": "XMR",
    "XZEC": "ZEC", "XETC": "ETC", "XMLN": "MLN", "XREP": "REP", "XXDG": "XDG", "XTZ": "XTZ",
    "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZJPY": "JPY", "ZCAD": "CAD", "ZAUD": "AUD",
}  # fmt: skip
_COMMON = {"XBT": "BTC", "XDG": "DOGE"}


def asset(code: str) -> str:
    """The common name of a Kraken asset code (``XXBT`` and ``XBT`` → ``BTC``, ``ZUSD`` → ``USD``);
    other codes (``USDT``, ``SOL``, ``XBT.F``) unchanged."""
    short = _LEGACY.get(code, code)
    return _COMMON.get(short, short)


def spot_pairs(result: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The ``AssetPairs`` entries of Kraken's own spot venue. Since 2026-04 an entry may name its
    ``execution_venue`` (``international`` or ``bitnomial_exchange``; Kraken's API changelog): a pair
    another venue executes could share a v2 name with the spot pair, and whichever came last would
    give that name its decimals, tick and lot. An entry naming none is the spot venue's, as before."""
    for key, pair in result.items():
        if isinstance(pair, Mapping) and pair.get("execution_venue", "international") == "international":
            yield key, pair


def ws_symbol(wsname: str) -> str:
    """``AssetPairs``' ``wsname`` (v1: ``XBT/USD``) as WebSocket v2 names the pair (``BTC/USD``)."""
    base, sep, quote = wsname.partition("/")
    return f"{asset(base)}{sep}{asset(quote)}" if sep else wsname
