"""Which refusals say the session's instrument rules may be out of date: the one place that decides
whether a refused order (a place, a template's send, a batch entry, an amend) has the session read the
venue's instrument list again (``RulesRecheck.after``).

Two kinds: a closed market (``MarketClosed``: the venue's own word, or this session's from a status it
read), and a refusal that names the instrument's grid — price tick, quantity step, minimum or maximum
size, minimum value — by the venue's documented code or message. Venues change a grid at times they
announce on no stream tickwire reads (OKX lists them ahead in ``upcChg``: ``rules_recheck`` reads the
list again then), and the session checks each order against the grid it read: an order the old grid
allows is refused by the venue, and one the new grid allows is refused here, until the list is read
again. The refusal keeps its class (``codes.error_for``'s: ``OrderRejected`` for all of these); this
only adds the read, rate-limited there.

Sources, per venue (only codes found documented are listed):

- Binance spot: binance-spot-api-docs errors.md — -1013 INVALID_MESSAGE "the request is rejected by
  the API", its messages in "Filter failures": ``PRICE_FILTER`` ("not following the tick size rule"),
  ``LOT_SIZE``/``MARKET_LOT_SIZE`` ("step size rule", min/max quantity), ``MIN_NOTIONAL``,
  ``NOTIONAL``. ``PERCENT_PRICE`` (a band around the average price) is no grid.
- Binance USDⓈ-M: developers.binance.com derivatives/usds-margined-futures "Error Codes" (40xx
  "Filters and other Issues"): -4002 PRICE_GREATER_THAN_MAX_PRICE, -4004 QTY_LESS_THAN_MIN_QTY,
  -4005 QTY_GREATER_THAN_MAX_QTY, -4013 PRICE_LESS_THAN_MIN_PRICE, -4014
  PRICE_NOT_INCREASED_BY_TICK_SIZE, -4023 QTY_NOT_INCREASED_BY_STEP_SIZE, -4164 MIN_NOTIONAL, -5029
  MODIFICATION_MIN_NOTIONAL; and -1111 BAD_PRECISION "Precision is over the maximum defined for this
  asset.", a price or quantity with more places than the listed ``pricePrecision``/
  ``quantityPrecision`` (users' reports: ccxt/node-binance-api#577, Binance-docs/
  Binance_Futures_python#135) — a step or tick made coarser comes back so, not as -4014/-4023; a
  malformed number read as a grid change costs one read of the list.
- OKX: docs-v5 "Error Code" (trade 51xxx) as ccxt's okx exception map quotes it — 51020 "Order amount
  should be greater than the min available amount" (``minSz``), 51120 "Order quantity is less than
  {0}", 51121 "Order count should be the integer multiples of the lot size" (``lotSz``), 51202
  "Market - order amount exceeds the max amount" (``maxMktSz``), 51203 "Order amount exceeds the
  limit {0}" (``maxLmtSz``). OKX lists no tick-size code: a ``px`` off ``tickSz`` comes back as 51000
  "Parameter px error" (``Parameter {param0} error``), so 51000 counts only when it names px or sz —
  a malformed number read as a grid change costs one read of the list.
- Bybit: v5 "Error Code", Spot Trade: 170132 order price too high, 170133 lower than the minimum,
  170134 price decimal too long, 170136 lower than the minimum, 170137 volume decimal too long,
  170140 transaction amount lower than the minimum, 170148 market order amount decimal too long;
  170381 and 170382 "Order quantity too large." (bybit-exchange/docs 2025-10-03, "remove retCode
  170135 and add 170381,170382"), 170135 kept for an answer in the older words.
- Kraken: docs.kraken.com "Spot Error Messages" / support.kraken.com "API error messages":
  ``EOrder:Tick size check failed``, ``EOrder:Order minimum not met``, ``EOrder:Cost minimum not met``.
- Coinbase Advanced Trade: the create order's ``NewOrderFailureReason``/``PreviewFailureReason``
  (coinbase-advanced-py types): ``INVALID_PRICE_PRECISION``, ``INVALID_LIMIT_PRICE_PRECISION``,
  ``INVALID_SIZE_PRECISION`` and the ``PREVIEW_`` precision and size-bound reasons; the edit's
  ``INVALID_EDITED_SIZE``/``INVALID_EDITED_PRICE`` are left out (they also cover a size below the
  filled one).
- HTX: huobiapi.github.io docs/spot/v1 "Error Code": ``order-orderprice-precision-error``,
  ``order-orderamount-precision-error``, ``order-limitorder-amount-min-error``/``-max-error``,
  ``order-marketorder-amount-min-error``, ``order-value-min-error``.
"""

from __future__ import annotations

from collections.abc import Mapping

from tickwire.errors import InvalidOrder, MarketClosed

__all__ = ["LOCAL_GRID_RULES", "grid_codes", "names_grid", "rules_may_be_stale"]

_BINANCE_FILTERS = (
    "filter failure: price_filter",
    "filter failure: lot_size",
    "filter failure: market_lot_size",
    "filter failure: min_notional",
    "filter failure: notional",
)

# The rules by which this session refuses, before sending, an order a changed grid may let in: a
# finer tick, a smaller step, a lower minimum or a higher maximum shows first as orders refused here
# (prices read off the venue's own book among them), which the venue would take — and which never
# reach it to be refused there. The list is read again (at most once every ``RECHECK_S``), the
# refusal raised as it is.
LOCAL_GRID_RULES = frozenset({"tick_size", "lot_size", "min_qty", "max_qty", "min_notional"})

# venue -> codes that name the grid whatever their text.
_CODES: Mapping[str, frozenset[str]] = {
    "binance-usdm": frozenset(
        {"-1111", "-4002", "-4004", "-4005", "-4013", "-4014", "-4023", "-4164", "-5029"}
    ),
    "okx": frozenset({"51020", "51120", "51121", "51202", "51203"}),
    "bybit": frozenset(
        {"170132", "170133", "170134", "170135", "170136", "170137", "170140", "170148", "170381", "170382"}
    ),
    "kraken": frozenset(
        {"EOrder:Tick size check failed", "EOrder:Order minimum not met", "EOrder:Cost minimum not met"}
    ),
    "coinbase": frozenset(
        {
            "INVALID_PRICE_PRECISION",
            "INVALID_LIMIT_PRICE_PRECISION",
            "INVALID_SIZE_PRECISION",
            "PREVIEW_INVALID_PRICE_PRECISION",
            "PREVIEW_INVALID_SIZE_PRECISION",
            "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
            "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
            "PREVIEW_INVALID_QUOTE_SIZE_PRECISION",
            "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
            "PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE",
        }
    ),
    "htx": frozenset(
        {
            "order-orderprice-precision-error",
            "order-orderamount-precision-error",
            "order-limitorder-amount-min-error",
            "order-limitorder-amount-max-error",
            "order-marketorder-amount-min-error",
            "order-value-min-error",
        }
    ),
}
# venue -> (codes, lower-case fragments of the message): codes whose text tells a grid refusal apart.
_MESSAGES: Mapping[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "binance": (frozenset({"-1013"}), _BINANCE_FILTERS),
    # USDⓈ-M lists -1013 INVALID_MESSAGE too, and its users report spot's filter-failure texts with
    # it (51bitquant/binance_grid_trader#4, "Filter failure: PRICE_FILTER" on binance_future).
    "binance-usdm": (frozenset({"-1013"}), _BINANCE_FILTERS),
    "okx": (frozenset({"51000"}), ("parameter px error", "parameter sz error")),
}


def grid_codes(venue: str) -> frozenset[str]:
    """The venue's codes that name the grid whatever their text (``codes`` types the ones its own
    table leaves out)."""
    return _CODES.get(venue, frozenset())


def names_grid(venue: str, code: object, message: str) -> bool:
    """Whether the venue's refusal ``code``/``message`` names the instrument's grid or size bounds."""
    key = "" if code is None else str(code).strip()
    if not key:
        return False
    codes = _CODES.get(venue, frozenset())
    # Kraken puts detail after a further colon ("EOrder:Order minimum not met:volume").
    if key in codes or any(key.startswith(c + ":") for c in codes if ":" in c):
        return True
    worded = _MESSAGES.get(venue)
    if worded is None or key not in worded[0]:
        return False
    low = message.lower()
    return any(fragment in low for fragment in worded[1])


def rules_may_be_stale(e: BaseException) -> bool:
    """Whether refusal ``e`` of an order says the session's instrument rules may be out of date: a
    closed market, a venue's word naming the grid (``names_grid``, from the ``venue``, ``code`` and
    ``message`` ``codes.error_for`` sets on the error), or this session's own refusal by a grid rule
    (``LOCAL_GRID_RULES``)."""
    if isinstance(e, MarketClosed):
        return True
    attrs = e.__dict__
    if isinstance(e, InvalidOrder):
        return attrs.get("rule") in LOCAL_GRID_RULES
    return names_grid(str(attrs.get("venue") or ""), attrs.get("code"), str(attrs.get("message") or ""))
