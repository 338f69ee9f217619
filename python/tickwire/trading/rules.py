"""An instrument's order rules (tick, lot, min/max quantity, min notional, price band), checked before
anything is sent, and parsers from each venue's own instrument metadata.

``validate`` raises :class:`~tickwire.errors.InvalidOrder` naming the first rule broken in ``.rule``
and the nearest valid values in ``.nearest`` (prices for the price rules; quantities for the quantity
and notional rules), both also in the message. A zero tick or lot means "no grid"; a ``None`` bound
means "no bound". Grids are anchored at zero: Binance anchors them at minPrice/minQty, which is the
same thing whenever those are multiples of the step, as on every listed symbol.

The parsers take one instrument object as the venue's JSON decodes it. Numbers may be strings or
JSON numbers (HTX sends numbers): a float is read through its shortest repr, which is the literal the
venue sent. Decode with ``parse_float=Decimal`` to skip even that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Any

from tickwire.errors import MarketClosed
from tickwire.trading.codes import invalid_order, market_closed
from tickwire.trading.numbers import EXACT, format_decimal, strip_zeros, to_decimal
from tickwire.trading.orders import OrderType, Side

__all__ = [
    "InstrumentRules",
    "from_binance_exchange_info",
    "from_bybit_instrument",
    "from_coinbase_product",
    "from_htx_symbol",
    "from_kraken_asset_pair",
    "from_okx_instrument",
    "from_seed_instrument",
    "okx_rule_changes",
]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal = _ZERO
    max_qty: Decimal | None = None
    min_notional: Decimal | None = None
    max_price: Decimal | None = None
    min_price: Decimal | None = None
    market_lot_size: Decimal | None = None  # a market order's step where it differs (Binance, OKX)
    market_max_qty: Decimal | None = None
    market_min_qty: Decimal | None = None
    max_notional: Decimal | None = None
    # A post-only order's largest quantity where the venue lets it past ``max_qty`` (Bybit spot: a
    # maker order adds depth, so it may be larger than a limit order that could take).
    post_only_max_qty: Decimal | None = None
    notional_applies_to_market: bool = True  # Binance NOTIONAL applyMinToMarket
    # Orders the account may have open on the symbol (Binance MAX_NUM_ORDERS): not a rule of one
    # order's numbers — the session's risk gate (trading/risk.py) holds it.
    max_open_orders: int | None = None
    # The venue's word for the symbol's trading state when the rules were read ("" where it gives
    # none), and whether that word lets new orders in: a symbol halted, cancel-only or announced but
    # not yet listed takes none (``MarketClosed`` before anything is sent; cancels still go).
    status: str = ""
    trading: bool = True

    def validate(
        self, side: Side, type: OrderType, qty: object, price: object = None, *, ref_price: object = None
    ) -> None:
        """Raise ``InvalidOrder`` unless the order passes every rule. A market order's notional is
        checked against ``ref_price`` (e.g. the opposite best price) when one is given."""
        if side not in ("buy", "sell"):
            raise invalid_order(f"{self.symbol}: side must be 'buy' or 'sell', not {side!r}", rule="side")
        if type not in ("limit", "market"):
            raise invalid_order(f"{self.symbol}: type must be 'limit' or 'market', not {type!r}", rule="type")
        if not self.trading:
            raise self.closed()
        q = to_decimal(qty, "qty", positive=True)
        p: Decimal | None = None
        if type == "limit":
            if price is None:
                raise invalid_order(f"{self.symbol}: a limit order needs a price", rule="price")
            p = to_decimal(price, "price", positive=True)
            self._check_price(p)
        elif price is not None:
            raise invalid_order(f"{self.symbol}: a market order takes no price", rule="price")
        market = type == "market"
        self._check_qty(q, market)
        notional_price = p if p is not None else (None if ref_price is None else to_decimal(ref_price, "ref"))
        if notional_price is not None and (not market or self.notional_applies_to_market):
            self._check_notional(q, notional_price, market)

    def for_post_only(self, post_only: bool) -> InstrumentRules:
        """The rules an order is checked against: a post-only one's with its own largest quantity
        where the venue lists one."""
        if not post_only or self.post_only_max_qty is None:
            return self
        return replace(self, max_qty=self.post_only_max_qty)

    def closed(self) -> MarketClosed:
        """The refusal of a new order (or an amend) while the venue's last word says the symbol takes
        none: typed as the venue's own refusal would be, nothing sent."""
        return market_closed(
            f"{self.symbol}: not open for new orders (status {self.status!r} in the venue's instrument "
            "list; read again after the venue's next refusal or load_rules())"
        )

    def _check_price(self, p: Decimal) -> None:
        lo, hi = self.min_price or None, self.max_price or None
        if lo is not None and p < lo:
            self._fail("min_price", f"price {_f(p)} is below min_price {_f(lo)}", (lo,))
        if hi is not None and p > hi:
            self._fail("max_price", f"price {_f(p)} is above max_price {_f(hi)}", (hi,))
        if self.tick_size and EXACT.remainder(p, self.tick_size):
            near = _around(p, self.tick_size, lo or self.tick_size, hi)
            self._fail(
                "tick_size", f"price {_f(p)} is not a multiple of tick_size {_f(self.tick_size)}", near
            )

    def _check_qty(self, q: Decimal, market: bool) -> None:
        step = (self.market_lot_size or self.lot_size) if market else self.lot_size
        lo = max(self.market_min_qty or _ZERO, self.min_qty) if market else self.min_qty
        hi = (self.market_max_qty or self.max_qty) if market else self.max_qty
        if q < lo:
            self._fail("min_qty", f"qty {_f(q)} is below min_qty {_f(lo)}", (_up(lo, step),))
        if hi is not None and q > hi:
            self._fail("max_qty", f"qty {_f(q)} is above max_qty {_f(hi)}", (_down(hi, step),))
        if step and EXACT.remainder(q, step):
            near = _around(q, step, max(lo, step), hi)
            self._fail("lot_size", f"qty {_f(q)} is not a multiple of lot_size {_f(step)}", near)

    def _check_notional(self, q: Decimal, p: Decimal, market: bool) -> None:
        step = (self.market_lot_size or self.lot_size) if market else self.lot_size
        notional = EXACT.multiply(q, p)
        if self.min_notional and notional < self.min_notional:
            need = _steps(self.min_notional, p, step, ROUND_CEILING)
            what = f"notional {_f(notional)} (qty * price) is below min_notional {_f(self.min_notional)}"
            self._fail("min_notional", what, (need,))
        if self.max_notional and notional > self.max_notional:
            most = _steps(self.max_notional, p, step, ROUND_FLOOR)
            what = f"notional {_f(notional)} (qty * price) is above max_notional {_f(self.max_notional)}"
            self._fail("max_notional", what, (most,) if most > 0 else ())

    def _fail(self, rule: str, what: str, nearest: tuple[Decimal, ...]) -> None:
        nearest = tuple(strip_zeros(n) for n in nearest)
        near = ", ".join(_f(n) for n in nearest)
        hint = f" (nearest valid: {near})" if near else ""
        raise invalid_order(f"{self.symbol}: {what}{hint}", rule=rule, nearest=nearest)


def _f(d: Decimal) -> str:
    return format_decimal(d)


def _down(x: Decimal, step: Decimal) -> Decimal:
    if not step:
        return x
    return EXACT.multiply(EXACT.divide_int(x, step), step) if x >= 0 else x


def _up(x: Decimal, step: Decimal) -> Decimal:
    if not step:
        return x
    n = EXACT.divide_int(x, step)
    on_grid = EXACT.multiply(n, step)
    return on_grid if on_grid == x else EXACT.add(on_grid, step)


def _steps(notional: Decimal, price: Decimal, step: Decimal, rounding: str) -> Decimal:
    """The quantity on the ``step`` grid nearest ``notional / price`` in the ``rounding`` direction.

    Rounding the quotient at 100 digits in the same direction, then to an integer number of steps,
    gives the exact ceiling/floor: an exact quotient is not rounded, an inexact one never crosses the
    integer the true value rounds to."""
    ctx = Context(prec=100, rounding=rounding)
    if not step:
        return ctx.divide(notional, price)
    n = ctx.divide(notional, ctx.multiply(price, step)).to_integral_value(rounding=rounding)
    return EXACT.multiply(n, step)


def _around(x: Decimal, step: Decimal, lo: Decimal, hi: Decimal | None) -> tuple[Decimal, ...]:
    """The grid values just below and above ``x`` that lie within [lo, hi]."""
    out = []
    for v in (_down(x, step), _up(x, step)):
        if v >= lo and (hi is None or v <= hi) and v > 0 and v not in out:
            out.append(v)
    return tuple(out)


# -- venue metadata -------------------------------------------------------------------------------


def _num(v: Any, what: str) -> Decimal:
    if isinstance(v, float):
        v = repr(v)  # the shortest repr is the literal the JSON carried
    return to_decimal(v, what)


def _opt(obj: Mapping[str, Any], key: str) -> Decimal | None:
    """A field that may be absent, empty, or zero meaning "no limit"."""
    v = obj.get(key)
    if v is None or v == "":
        return None
    d = _num(v, key)
    return d or None


def _open(word: object, *trading: str) -> bool:
    """Whether a venue's status word lets new orders in: one of ``trading``, or none given (an older
    answer, a venue that states none)."""
    return word is None or word == "" or word in trading


def from_binance_exchange_info(symbol_json: Mapping[str, Any]) -> InstrumentRules:
    """One entry of ``GET /api/v3/exchangeInfo`` ``symbols`` (or ``/fapi/v1/exchangeInfo``).

    binance-spot-api-docs filters.md: PRICE_FILTER (minPrice, maxPrice, tickSize; 0 disables each),
    LOT_SIZE and MARKET_LOT_SIZE (minQty, maxQty, stepSize), NOTIONAL (minNotional, applyMinToMarket,
    maxNotional) or the older MIN_NOTIONAL (minNotional, applyToMarket); USDⓈ-M futures' MIN_NOTIONAL
    names the field ``notional``. MAX_NUM_ORDERS (spot ``maxNumOrders``, USDⓈ-M ``limit``): the orders
    an account may have open on the symbol. ``status``: only ``TRADING`` takes new orders (enums.md
    "Symbol status": PRE_TRADING, END_OF_DAY, HALT, BREAK, CANCEL_ONLY — the last since 2026-07-07 —
    and USDⓈ-M's PENDING_TRADING, SETTLING, CLOSE … do not)."""
    f = {flt["filterType"]: flt for flt in symbol_json.get("filters", ())}
    price = f.get("PRICE_FILTER", {})
    lot = f.get("LOT_SIZE", {})
    mlot = f.get("MARKET_LOT_SIZE", {})
    notional = f.get("NOTIONAL") or f.get("MIN_NOTIONAL") or {}
    most = f.get("MAX_NUM_ORDERS", {})
    max_open = most.get("maxNumOrders", most.get("limit"))  # spot's name, USDⓈ-M's
    min_notional = _opt(notional, "minNotional") or _opt(notional, "notional")
    applies = notional.get("applyMinToMarket", notional.get("applyToMarket", True))
    return InstrumentRules(
        symbol=str(symbol_json["symbol"]),
        tick_size=_opt(price, "tickSize") or _ZERO,
        lot_size=_opt(lot, "stepSize") or _ZERO,
        min_qty=_opt(lot, "minQty") or _ZERO,
        max_qty=_opt(lot, "maxQty"),
        min_notional=min_notional,
        max_notional=_opt(notional, "maxNotional"),
        min_price=_opt(price, "minPrice"),
        max_price=_opt(price, "maxPrice"),
        market_lot_size=_opt(mlot, "stepSize"),
        market_min_qty=_opt(mlot, "minQty"),
        market_max_qty=_opt(mlot, "maxQty"),
        notional_applies_to_market=bool(applies),
        max_open_orders=int(max_open) if max_open else None,
        status=str(symbol_json.get("status") or ""),
        trading=_open(symbol_json.get("status"), "TRADING"),
    )


def from_okx_instrument(inst: Mapping[str, Any]) -> InstrumentRules:
    """One entry of ``GET /api/v5/public/instruments`` ``data`` (okx.com/docs-v5 "Get instruments"):
    tickSz, lotSz, minSz, maxLmtSz (limit), maxMktSz (market). For SWAP/FUTURES/OPTION the sizes are
    in contracts (ctVal each), so the notional rule, which OKX does not publish, stays unset. For
    SPOT/MARGIN maxMktSz is "the quantity in USDT", not in the base currency a market order is sized in
    here (``tgtCcy=base_ccy``): no bound on a market order's quantity, the USDT cap left to the venue.

    ``state``: only ``live`` trades (``suspend``, ``rebase``, ``test`` — "can't be traded" — and
    ``preopen`` do not). Since 2025-05-06 a spot pair is listed as ``preopen`` from its announcement
    with ``tickSz``, ``lotSz`` and ``minSz`` empty until minutes before it opens (changelog "Instruments
    endpoints revamp"): such an entry is read as not trading, its grid unknown (zero)."""
    in_quote = str(inst.get("instType", "")).upper() in ("SPOT", "MARGIN")
    tick, lot = _opt(inst, "tickSz"), _opt(inst, "lotSz")
    return InstrumentRules(
        symbol=str(inst["instId"]),
        tick_size=tick or _ZERO,
        lot_size=lot or _ZERO,
        min_qty=_opt(inst, "minSz") or _ZERO,
        max_qty=_opt(inst, "maxLmtSz"),
        market_max_qty=None if in_quote else _opt(inst, "maxMktSz"),
        status=str(inst.get("state") or ""),
        trading=_open(inst.get("state"), "live") and tick is not None and lot is not None,
    )


def okx_rule_changes(inst: Mapping[str, Any]) -> list[int]:
    """When (Unix ms, OKX's clock) the changes one entry of OKX's instrument list announces take
    effect (``upcChg``, since 2025-12-22: ``param`` ``tickSz``/``minSz``/``maxMktSz``, ``newValue``,
    ``effTime``), leaving out any whose parameter already shows the new value (in force, whatever the
    list still says). An entry not in that shape is skipped: the rules themselves stand without it."""
    changes = inst.get("upcChg")
    out: list[int] = []
    for c in changes if isinstance(changes, list) else ():
        try:
            at = int(str(c["effTime"]))
            now, new = inst.get(str(c["param"])), c["newValue"]
            if now not in (None, "") and _num(now, "now") == _num(new, "newValue"):
                continue
        except (KeyError, TypeError, ValueError):  # InvalidOrder is a ValueError
            continue
        out.append(at)
    return out


def from_bybit_instrument(inst: Mapping[str, Any]) -> InstrumentRules:
    """One entry of ``GET /v5/market/instruments-info`` ``result.list`` (bybit docs
    v5/market/instrument). priceFilter.tickSize (minPrice/maxPrice on derivatives); lotSizeFilter:
    linear/inverse give qtyStep, minOrderQty, maxOrderQty, maxMktOrderQty, minNotionalValue; spot
    gives basePrecision, minOrderAmt and, since 2025-10-16, maxLimitOrderQty and maxMarketOrderQty —
    its minOrderQty and maxOrderAmt are "deprecated, no longer check[ed]" and maxOrderQty deprecated
    for those two, so a spot order is bounded by its value below and by its type's quantity above. A
    spot post-only order may be larger: "Maximum limit order size for Post-only and RPI orders",
    postOnlyMaxLimitOrderSize (2026-01-06), where it is not listed "5x maxLimitOrderQty". Linear's
    maxOrderQty bounds "Limit and PostOnly" orders alike."""
    pf = inst.get("priceFilter", {})
    lf = inst.get("lotSizeFilter", {})
    spot = "qtyStep" not in lf and "basePrecision" in lf
    step = _opt(lf, "qtyStep") or _opt(lf, "basePrecision") or _ZERO
    limit_max = _opt(lf, "maxLimitOrderQty")
    post_only_max = _opt(lf, "postOnlyMaxLimitOrderSize") or (limit_max and 5 * limit_max)
    return InstrumentRules(
        symbol=str(inst["symbol"]),
        tick_size=_num(pf["tickSize"], "tickSize"),
        lot_size=step,
        min_qty=_ZERO if spot else _opt(lf, "minOrderQty") or _ZERO,
        max_qty=limit_max or _opt(lf, "maxOrderQty"),
        min_notional=_opt(lf, "minOrderAmt") or _opt(lf, "minNotionalValue"),
        max_notional=None if spot else _opt(lf, "maxOrderAmt"),
        min_price=_opt(pf, "minPrice"),
        max_price=_opt(pf, "maxPrice"),
        market_max_qty=_opt(lf, "maxMktOrderQty") or _opt(lf, "maxMarketOrderQty"),
        post_only_max_qty=post_only_max if spot else None,
        status=str(inst.get("status") or ""),
        trading=_open(inst.get("status"), "Trading"),  # not PreLaunch, Delivering, Closed
    )


def from_kraken_asset_pair(pair: Mapping[str, Any], symbol: str | None = None) -> InstrumentRules:
    """One value of ``GET /0/public/AssetPairs`` ``result`` (docs.kraken.com "Get Tradable Asset
    Pairs"): tick_size (older answers only pair_decimals), lot_decimals, ordermin, costmin. The symbol
    is ``wsname`` unless given — v1's name ("XBT/USD"); ``tickwire.venues.kraken`` passes v2's
    ("BTC/USD")."""
    tick = _opt(pair, "tick_size")
    if tick is None:
        tick = Decimal(1).scaleb(-int(pair["pair_decimals"]))
    return InstrumentRules(
        symbol=symbol or str(pair.get("wsname") or pair["altname"]),
        tick_size=tick,
        lot_size=Decimal(1).scaleb(-int(pair["lot_decimals"])),
        min_qty=_opt(pair, "ordermin") or _ZERO,
        min_notional=_opt(pair, "costmin"),
        status=str(pair.get("status") or ""),
        # "online", "cancel_only", "post_only", "limit_only", "reduce_only": only cancel_only takes no
        # order at all (the others take some, and the venue refuses the rest).
        trading=pair.get("status") != "cancel_only",
    )


def from_coinbase_product(product: Mapping[str, Any]) -> InstrumentRules:
    """A product of Advanced Trade ``GET /api/v3/brokerage/products/{id}`` (product_id,
    price_increment, quote_increment, base_increment, base_min_size, base_max_size, quote_min_size) or
    of the Exchange API ``/products/{id}`` (id, quote_increment, min_market_funds). The price tick is
    price_increment where given (Advanced Trade), else quote_increment (Exchange). A product takes no
    new order while one of its flags ``trading_disabled``, ``cancel_only``, ``is_disabled`` or
    ``view_only`` (the official SDK's Product type: "in view only mode") is set — its status word is
    then that flag, not ``status`` (which stays "online"); ``limit_only``/``post_only`` take some."""
    flag = next((k for k in _COINBASE_CLOSED if product.get(k)), None)
    return InstrumentRules(
        symbol=str(product.get("product_id") or product["id"]),
        tick_size=_opt(product, "price_increment") or _num(product["quote_increment"], "quote_increment"),
        lot_size=_num(product["base_increment"], "base_increment"),
        min_qty=_opt(product, "base_min_size") or _ZERO,
        max_qty=_opt(product, "base_max_size"),
        min_notional=_opt(product, "quote_min_size") or _opt(product, "min_market_funds"),
        max_notional=_opt(product, "quote_max_size"),
        status=flag or str(product.get("status") or ""),
        trading=flag is None and _open(product.get("status"), "online"),
    )


_COINBASE_CLOSED = ("trading_disabled", "cancel_only", "is_disabled", "view_only")


def from_htx_symbol(sym: Mapping[str, Any]) -> InstrumentRules:
    """One entry of ``GET /v1/common/symbols`` ``data`` (huobiapi.github.io docs spot v1 "Get all
    Supported Trading Symbol"): price-precision and amount-precision (decimal places), min-order-amt,
    max-order-amt (limit orders: limit-order-min-order-amt / limit-order-max-order-amt where given),
    min-order-value (quote). The market-order limits are per side: a market sell's amount is bounded by
    sell-market-min-order-amt / sell-market-max-order-amt (the rules' market bounds); a market buy's
    amount is quote value (buy-market-max-order-value), and tickwire places no HTX market buy."""
    return InstrumentRules(
        symbol=str(sym["symbol"]),
        tick_size=Decimal(1).scaleb(-int(sym["price-precision"])),
        lot_size=Decimal(1).scaleb(-int(sym["amount-precision"])),
        min_qty=_opt(sym, "limit-order-min-order-amt") or _opt(sym, "min-order-amt") or _ZERO,
        max_qty=_opt(sym, "limit-order-max-order-amt") or _opt(sym, "max-order-amt"),
        min_notional=_opt(sym, "min-order-value"),
        market_min_qty=_opt(sym, "sell-market-min-order-amt"),
        market_max_qty=_opt(sym, "sell-market-max-order-amt"),
        status=str(sym.get("state") or ""),
        trading=_open(sym.get("state"), "online"),  # not pre-online, offline, suspend
    )


def from_seed_instrument(inst: Mapping[str, Any]) -> InstrumentRules:
    """One entry of ``GET /v1/instruments`` ``instruments`` on the seed venues (Clarofinlore,
    Tradefence). seed-venues.md publishes no instrument metadata: this is tickwire's default shape (the
    simulator's): ``tick_size``, ``lot_size``, ``min_quantity``, ``max_quantity``, ``min_notional``,
    each absent, null or "0" for "no limit"."""
    return InstrumentRules(
        symbol=str(inst["symbol"]),
        tick_size=_num(inst["tick_size"], "tick_size"),
        lot_size=_num(inst["lot_size"], "lot_size"),
        min_qty=_opt(inst, "min_quantity") or _ZERO,
        max_qty=_opt(inst, "max_quantity"),
        min_notional=_opt(inst, "min_notional"),
    )
