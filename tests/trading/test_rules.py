"""InstrumentRules.validate against exact rational arithmetic, and each venue parser on a sample of
the venue's documented instrument JSON (field names and shapes as in the venues' docs examples)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickwire.errors import InvalidOrder, MarketClosed, OrderRejected
from tickwire.trading.rules import (
    InstrumentRules,
    from_binance_exchange_info,
    from_bybit_instrument,
    from_coinbase_product,
    from_htx_symbol,
    from_kraken_asset_pair,
    from_okx_instrument,
    from_seed_instrument,
)

D = Decimal


def refusal(rules: InstrumentRules, *args: object, **kw: object) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as e:
        rules.validate(*args, **kw)  # type: ignore[arg-type]
    return e.value


steps = st.sampled_from(["0.01", "0.5", "0.25", "5", "0.00001", "1", "0.1"])


@given(tick=steps, cents=st.integers(1, 10**9))
def test_tick_rule_agrees_with_rational_arithmetic(tick: str, cents: int) -> None:
    price = Fraction(cents, 1000)
    rules = InstrumentRules("X", D(tick), D(0))
    text = str(D(cents) / 1000)
    on_grid = (price / Fraction(tick)).denominator == 1
    if on_grid:
        rules.validate("buy", "limit", "1", text)
        return
    err = refusal(rules, "buy", "limit", "1", text)
    assert err.rule == "tick_size"
    lo, hi = (
        (Fraction(str(n)) for n in err.nearest)
        if len(err.nearest) == 2
        else (None, Fraction(str(err.nearest[0])))
    )
    assert (
        hi is not None
        and hi > price
        and hi - price < Fraction(tick)
        and (hi / Fraction(tick)).denominator == 1
    )
    if lo is not None:
        assert lo < price and price - lo < Fraction(tick) and (lo / Fraction(tick)).denominator == 1
    for n in err.nearest:
        rules.validate("buy", "limit", "1", n)  # every suggestion is itself valid
        assert str(n) in str(err)


@given(lot=steps, qty_milli=st.integers(1, 10**7), price=st.sampled_from(["0.3", "7", "1234.5"]))
def test_min_notional_nearest_is_the_smallest_valid_quantity(lot: str, qty_milli: int, price: str) -> None:
    rules = InstrumentRules("X", D(0), D(lot), min_notional=D("10"))
    qty = str(D(qty_milli) / 1000)
    if (Fraction(qty) / Fraction(lot)).denominator != 1:
        assert refusal(rules, "sell", "limit", qty, price).rule == "lot_size"
        return
    if Fraction(qty) * Fraction(price) >= 10:
        rules.validate("sell", "limit", qty, price)
        return
    err = refusal(rules, "sell", "limit", qty, price)
    assert err.rule == "min_notional"
    (need,) = err.nearest
    rules.validate("sell", "limit", need, price)
    assert (Fraction(str(need)) - Fraction(lot)) * Fraction(price) < 10  # one lot less would not do


def test_each_rule_names_itself() -> None:
    r = InstrumentRules(
        "BTCUSDT",
        D("0.01"),
        D("0.001"),
        D("0.001"),
        D("100"),
        D("5"),
        max_price=D("1000000"),
        min_price=D("0.01"),
    )
    assert refusal(r, "buy", "limit", "0.0005", "100").rule == "min_qty"
    assert refusal(r, "buy", "limit", "101", "100").nearest == (D(100),)
    assert refusal(r, "buy", "limit", "101", "100").rule == "max_qty"
    assert refusal(r, "buy", "limit", "1", "2000000").rule == "max_price"
    assert refusal(r, "buy", "limit", "1", "0.001").rule == "min_price"
    assert refusal(r, "buy", "limit", "1", None).rule == "price"
    assert refusal(r, "buy", "market", "1", "5").rule == "price"
    assert refusal(r, "hold", "limit", "1", "5").rule == "side"
    assert refusal(r, "buy", "limit", 1.0, "5").rule is None  # a float is refused before any rule
    # market orders: notional only with a reference price
    r.validate("buy", "market", "0.001")
    assert refusal(r, "buy", "market", "0.001", ref_price="100").rule == "min_notional"


BINANCE_SPOT = """{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
 {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
 {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
 {"filterType":"ICEBERG_PARTS","limit":10},
 {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"114.20454166","stepSize":"0.00000000"},
 {"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,
  "minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000},
 {"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5",
  "askMultiplierDown":"0.2","avgPriceMins":5},
 {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000",
  "applyMaxToMarket":false,"avgPriceMins":5},
 {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},{"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}]}"""

BINANCE_USDM = """{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","filters":[
 {"filterType":"PRICE_FILTER","maxPrice":"4529764","minPrice":"556.80","tickSize":"0.10"},
 {"filterType":"LOT_SIZE","maxQty":"1000","minQty":"0.001","stepSize":"0.001"},
 {"filterType":"MARKET_LOT_SIZE","maxQty":"120","minQty":"0.001","stepSize":"0.001"},
 {"filterType":"MAX_NUM_ORDERS","limit":200},{"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
 {"filterType":"MIN_NOTIONAL","notional":"100"},
 {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"}]}"""


def test_binance_spot_exchange_info() -> None:
    r = from_binance_exchange_info(json.loads(BINANCE_SPOT))
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty, r.max_qty) == (
        "BTCUSDT",
        D("0.01"),
        D("0.00001"),
        D("0.00001"),
        9000,
    )
    assert (r.min_notional, r.max_notional, r.min_price, r.max_price) == (5, 9000000, D("0.01"), 1000000)
    assert r.market_lot_size is None and r.market_max_qty == D("114.20454166")  # stepSize 0 = no own step
    r.validate("buy", "limit", "0.001", "65000.01")
    assert refusal(r, "buy", "limit", "0.001", "65000.015").rule == "tick_size"
    assert refusal(r, "buy", "market", "200", ref_price="65000").rule == "max_qty"  # MARKET_LOT_SIZE maxQty


def test_binance_usdm_exchange_info_min_notional_is_named_notional() -> None:
    r = from_binance_exchange_info(json.loads(BINANCE_USDM))
    assert (r.tick_size, r.lot_size, r.min_notional, r.min_price) == (D("0.1"), D("0.001"), 100, D("556.8"))
    assert refusal(r, "sell", "limit", "0.001", "60000").rule == "min_notional"
    assert refusal(r, "sell", "limit", "0.001", "60000").nearest == (D("0.002"),)


OKX_INSTRUMENT = """{"instType":"SPOT","instId":"BTC-USDT","uly":"","instFamily":"","baseCcy":"BTC",
        "quoteCcy":"USDT","settleCcy":"","ctVal":"","ctMult":"","ctValCcy":"","optType":"","stk":"","listTime":"1606468572000",
        "expTime":"","lever":"10","tickSz":"0.1","lotSz":"0.00000001","minSz":"0.00001","ctType":"",
        "alias":"","state":"live","maxLmtSz":"9999999999","maxMktSz":"1000000","maxTwapSz":"9999999999",
        "maxIcebergSz":"9999999999","maxTriggerSz":"9999999999","maxStopSz":"1000000"}"""


def test_okx_instrument() -> None:
    r = from_okx_instrument(json.loads(OKX_INSTRUMENT))
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty) == ("BTC-USDT", D("0.1"), D("1E-8"), D("0.00001"))
    # maxMktSz is USDT on SPOT (see the PEPE case below): no bound on a market order's base quantity
    assert (r.max_qty, r.market_max_qty, r.min_notional) == (9999999999, None, None)
    assert refusal(r, "buy", "limit", "0.000001", "60000").rule == "min_qty"


def test_okx_spot_market_order_size_is_not_bounded_by_maxmktsz_which_is_usdt() -> None:
    """OKX "Get instruments": maxMktSz is "the maximum order quantity of a single market order ... If
    it is SPOT/MARGIN, the value is the quantity in USDT" (maxLmtSz, lotSz and minSz: in base
    currency). tickwire's OKX market orders are sized in the base currency (``tgtCcy=base_ccy``), so a
    market sell of 2,000,000 PEPE, 20 USDT at 0.00001, is far inside a 1,000,000 USDT cap: taken, not
    refused as above a max_qty of 1,000,000 PEPE (before: refused, max_qty)."""
    inst = json.loads(
        """{"instType":"SPOT","instId":"PEPE-USDT","baseCcy":"PEPE","quoteCcy":"USDT","tickSz":"0.00000001",
        "lotSz":"1","minSz":"100000","maxLmtSz":"100000000000","maxMktSz":"1000000","maxLmtAmt":"20000000",
        "maxMktAmt":"1000000","state":"live"}"""
    )  # fmt: skip
    qty, price, cap_usdt = D(2_000_000), D("0.00001"), D(inst["maxMktSz"])
    assert qty * price == 20 < cap_usdt and qty > cap_usdt  # in USDT inside the cap; as a count above it
    r = from_okx_instrument(inst)
    r.validate("sell", "market", qty)
    r.validate("buy", "market", qty)
    assert refusal(r, "sell", "limit", D(100_000_000_001), "0.00001").rule == "max_qty"  # maxLmtSz: base
    swap = from_okx_instrument({**inst, "instType": "SWAP", "instId": "PEPE-USDT-SWAP"})
    assert swap.market_max_qty == 1_000_000  # contracts there: a count
    assert refusal(swap, "sell", "market", qty).rule == "max_qty"


def test_bybit_spot_and_linear_instruments() -> None:
    spot = json.loads(
        """{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT","innovation":"0","status":"Trading",
        "marginTrading":"both","lotSizeFilter":{"basePrecision":"0.000001","quotePrecision":"0.00000001",
        "minOrderQty":"0.000048","maxOrderQty":"71.73956243","minOrderAmt":"1","maxOrderAmt":"2000000"},
        "priceFilter":{"tickSize":"0.01"},"riskParameters":{"limitParameter":"0.05","marketParameter":"0.05"}}"""
    )
    r = from_bybit_instrument(spot)
    # minOrderQty and maxOrderAmt are listed and no longer checked (docs v5/market/instrument): an
    # order is bounded by its value (minOrderAmt) below; maxOrderQty where no maxLimitOrderQty is listed.
    assert (r.tick_size, r.lot_size, r.min_qty, r.max_qty) == (D("0.01"), D("0.000001"), 0, D("71.73956243"))
    assert (r.min_notional, r.max_notional) == (1, None)
    r.validate("buy", "limit", "0.00002", "60000")  # below minOrderQty, 1.2 USDT: Bybit takes it
    assert refusal(r, "buy", "limit", "0.00001", "60000").rule == "min_notional"
    # Since 2025-10-16 (changelog): maxLimitOrderQty and maxMarketOrderQty, by the order's type.
    lots = {**spot["lotSizeFilter"], "maxLimitOrderQty": "50", "maxMarketOrderQty": "10"}
    typed = from_bybit_instrument({**spot, "lotSizeFilter": lots})
    assert (typed.max_qty, typed.market_max_qty) == (50, 10)
    assert refusal(typed, "buy", "limit", "60", "60000").rule == "max_qty"
    assert refusal(typed, "buy", "market", "20").rule == "max_qty"
    # "For post-only and retail price improvement (RPI) orders, the maximum limit order quantity is 5x
    # maxLimitOrderQty"; since 2026-01-06 listed as postOnlyMaxLimitOrderSize, which then wins.
    assert typed.post_only_max_qty == 250 and typed.for_post_only(False) is typed
    assert typed.for_post_only(True).max_qty == 250 and typed.for_post_only(True).market_max_qty == 10
    typed.for_post_only(True).validate("buy", "limit", "240", "60000")
    assert refusal(typed.for_post_only(True), "buy", "limit", "260", "60000").rule == "max_qty"
    listed = from_bybit_instrument({**spot, "lotSizeFilter": {**lots, "postOnlyMaxLimitOrderSize": "120"}})
    assert listed.post_only_max_qty == 120 and listed.for_post_only(True).max_qty == 120
    # Neither listed (before 2025-10-16): no allowance known, the limit order's bound holds.
    assert r.post_only_max_qty is None and r.for_post_only(True) is r
    linear = json.loads(
        """{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC",
        "quoteCoin":"USDT","priceScale":"2","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00",
        "leverageStep":"0.01"},"priceFilter":{"minPrice":"0.10","maxPrice":"199999.80","tickSize":"0.10"},
        "lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001",
        "postOnlyMaxOrderQty":"1190.000","maxMktOrderQty":"500.000","minNotionalValue":"5"},
        "unifiedMarginTrade":true,"fundingInterval":480,"settleCoin":"USDT"}"""
    )
    r = from_bybit_instrument(linear)
    assert (r.tick_size, r.lot_size, r.min_notional, r.max_price) == (D("0.1"), D("0.001"), 5, D("199999.8"))
    assert r.market_max_qty == 500
    assert refusal(r, "buy", "market", "600").rule == "max_qty"
    # Linear's maxOrderQty is "Maximum quantity for Limit and PostOnly order" (postOnlyMaxOrderQty
    # "deprecated, please use maxOrderQty"): a post-only order has no bound of its own there.
    assert r.post_only_max_qty is None and r.for_post_only(True).max_qty == 1190


def test_kraken_asset_pair() -> None:
    result = json.loads(
        """{"XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD","aclass_base":"currency","base":"XXBT",
        "aclass_quote":"currency","quote":"ZUSD","lot":"unit","cost_decimals":5,"pair_decimals":1,
        "lot_decimals":8,"lot_multiplier":1,"leverage_buy":[2,3,4,5],"leverage_sell":[2,3,4,5],
        "fees":[[0,0.4],[50000,0.24]],"fees_maker":[[0,0.25],[50000,0.14]],"fee_volume_currency":"ZUSD",
        "margin_call":80,"margin_stop":40,"ordermin":"0.0001","costmin":"0.5","tick_size":"0.1",
        "status":"online"}}"""
    )
    r = from_kraken_asset_pair(result["XXBTZUSD"])
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty, r.min_notional) == (
        "XBT/USD",
        D("0.1"),
        D("1E-8"),
        D("0.0001"),
        D("0.5"),
    )
    older = dict(result["XXBTZUSD"], tick_size=None)  # answers before tick_size existed: pair_decimals
    assert from_kraken_asset_pair(older, "BTC/USD").tick_size == D("0.1")
    assert from_kraken_asset_pair(older, "BTC/USD").symbol == "BTC/USD"


def test_coinbase_products_advanced_trade_and_exchange() -> None:
    adv = json.loads(
        """{"product_id":"BTC-USD","price":"140.21","price_percentage_change_24h":"9.43",
        "volume_24h":"1908432","volume_percentage_change_24h":"9.43","base_increment":"0.00000001",
        "quote_increment":"0.01","quote_min_size":"1","quote_max_size":"150000000",
        "base_min_size":"0.00000001","base_max_size":"3400","base_name":"Bitcoin","quote_name":"US Dollar",
        "watched":true,"is_disabled":false,"new":false,"status":"online","cancel_only":false,
        "limit_only":false,"post_only":false,"trading_disabled":false,"auction_mode":false,
        "product_type":"SPOT","quote_currency_id":"USD","base_currency_id":"BTC","price_increment":"0.01"}"""
    )
    r = from_coinbase_product(adv)
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty, r.max_qty) == (
        "BTC-USD",
        D("0.01"),
        D("1E-8"),
        D("1E-8"),
        3400,
    )
    assert (r.min_notional, r.max_notional) == (1, 150000000)
    exch = json.loads(
        """{"id":"BTC-USD","base_currency":"BTC","quote_currency":"USD","quote_increment":"0.01000000",
        "base_increment":"0.00000001","display_name":"BTC/USD","min_market_funds":"1","margin_enabled":false,
        "post_only":false,"limit_only":false,"cancel_only":false,"status":"online","status_message":"",
        "auction_mode":false}"""
    )
    r = from_coinbase_product(exch)
    assert (r.symbol, r.tick_size, r.min_notional) == ("BTC-USD", D("0.01"), 1)


HTX = """{"base-currency":"btc","quote-currency":"usdt","price-precision":2,"amount-precision":6,
 "symbol-partition":"main","symbol":"btcusdt","state":"online","value-precision":8,"min-order-amt":0.0001,
 "max-order-amt":1000,"min-order-value":5,"limit-order-min-order-amt":0.0001,"limit-order-max-order-amt":1000,
 "sell-market-min-order-amt":0.0001,"sell-market-max-order-amt":100,"buy-market-max-order-value":1000000,
 "leverage-ratio":5,"super-margin-leverage-ratio":3,"api-trading":"enabled","tags":""}"""


@pytest.mark.parametrize("parse_float", [float, Decimal])
def test_htx_symbol_with_json_numbers(parse_float: type) -> None:
    r = from_htx_symbol(json.loads(HTX, parse_float=parse_float))
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty, r.max_qty, r.min_notional) == (
        "btcusdt",
        D("0.01"),
        D("0.000001"),
        D("0.0001"),
        1000,
        5,
    )
    r.validate("buy", "limit", "0.0001", "60000.01")
    assert refusal(r, "buy", "limit", "0.0000015", "60000").rule == "min_qty"


@pytest.mark.parametrize("parse_float", [float, Decimal])
def test_htx_market_sell_is_bounded_by_the_sell_market_amounts(parse_float: type) -> None:
    """HTX states a market sell's own bounds, ``sell-market-min-order-amt``/``-max-order-amt`` (100 BTC
    here, where a limit order may be 1000): a market sell of 500 is refused with max_qty before
    anything is sent, one of exactly 100 taken, one of 100.000001 refused; limit orders keep their
    1000 (before: the market sell of 500 passed, to be refused by the venue)."""
    raw = json.loads(HTX, parse_float=parse_float)
    most = Decimal(str(raw["sell-market-max-order-amt"]))
    least = Decimal(str(raw["sell-market-min-order-amt"]))
    assert (most, least) == (100, D("0.0001"))
    r = from_htx_symbol(raw)
    e = refusal(r, "sell", "market", "500")
    assert (e.rule, e.nearest) == ("max_qty", (most,))
    r.validate("sell", "market", str(most))
    assert refusal(r, "sell", "market", str(most + D("0.000001"))).rule == "max_qty"
    r.validate("sell", "limit", "500", "60000")
    stricter = from_htx_symbol({**raw, "sell-market-min-order-amt": "0.01"})
    assert refusal(stricter, "sell", "market", "0.001").rule == "min_qty"
    stricter.validate("sell", "limit", "0.001", "60000")


def test_clarofinlore_instrument_zero_means_no_limit() -> None:
    """The simulator's default shape (seed-venues.md publishes no instrument metadata)."""
    r = from_seed_instrument(
        {"symbol": "btc-usdt", "tick_size": "0.01", "lot_size": "0.00001", "min_quantity": "0.00001",
         "max_quantity": "0", "min_notional": "0"}
    )  # fmt: skip
    assert (r.symbol, r.tick_size, r.lot_size, r.min_qty) == (
        "btc-usdt",
        D("0.01"),
        D("0.00001"),
        D("0.00001"),
    )
    assert r.max_qty is None and r.min_notional is None
    with pytest.raises(InvalidOrder) as e:
        r.validate("buy", "limit", "0.000015", "60000")
    assert e.value.rule == "lot_size"


# -- whether a symbol takes new orders (each venue's own status words) -----------------------------


def closed_refusal(rules: InstrumentRules) -> MarketClosed:
    with pytest.raises(MarketClosed) as e:
        rules.validate("buy", "limit", "1", "1")
    return e.value


@pytest.mark.parametrize(
    "word,trading",
    [("TRADING", True), ("CANCEL_ONLY", False), ("HALT", False), ("BREAK", False), ("END_OF_DAY", False)],
)
def test_binance_symbol_status_decides_whether_new_orders_go(word: str, trading: bool) -> None:
    """enums.md "Symbol status" (CANCEL_ONLY since 2026-07-07): only TRADING takes new orders."""
    r = from_binance_exchange_info({**json.loads(BINANCE_SPOT), "status": word})
    assert (r.status, r.trading) == (word, trading)
    if trading:
        r.validate("buy", "limit", "0.001", "65000.01")
    else:
        e = closed_refusal(r)
        assert isinstance(e, OrderRejected) and word in str(e) and "BTCUSDT" in str(e)


def test_an_instrument_that_states_no_status_trades() -> None:
    r = from_binance_exchange_info({k: v for k, v in json.loads(BINANCE_SPOT).items() if k != "status"})
    assert (r.status, r.trading) == ("", True)


def test_okx_pair_announced_and_not_listed_is_read_not_trading_its_grid_unknown() -> None:
    """OKX changelog 2025-05-06 ("Instruments endpoints revamp"): from its announcement a spot pair is
    listed with ``state`` preopen and every field but instType, instId, listTime and state empty. Read
    before as a number, the empty ``tickSz`` refused the whole instrument list: no session started."""
    inst = {k: "" for k in json.loads(OKX_INSTRUMENT)}
    inst.update(instType="SPOT", instId="NEW-USDT", listTime="1790000000000", state="preopen")
    r = from_okx_instrument(inst)
    assert (r.symbol, r.status, r.trading, r.tick_size, r.lot_size, r.min_qty) == (
        "NEW-USDT",
        "preopen",
        False,
        0,
        0,
        0,
    )
    assert "preopen" in str(closed_refusal(r))


@pytest.mark.parametrize(
    "state,trading", [("live", True), ("suspend", False), ("test", False), ("rebase", False)]
)
def test_okx_instrument_state(state: str, trading: bool) -> None:
    r = from_okx_instrument({**json.loads(OKX_INSTRUMENT), "state": state})
    assert (r.status, r.trading, r.tick_size) == (state, trading, D("0.1"))


def test_other_venues_status_words() -> None:
    """Bybit ``status`` (Trading, PreLaunch, Delivering, Closed); Kraken AssetPairs ``status`` (online,
    cancel_only, post_only, limit_only, reduce_only: only cancel_only takes no order at all); Coinbase's
    ``trading_disabled``/``cancel_only``/``is_disabled`` flags; HTX ``state`` (online, pre-online,
    offline, suspend)."""
    bybit = {
        "symbol": "BTCUSDT",
        "priceFilter": {"tickSize": "0.01"},
        "lotSizeFilter": {"basePrecision": "0.000001"},
    }
    assert from_bybit_instrument({**bybit, "status": "Trading"}).trading
    assert not from_bybit_instrument({**bybit, "status": "PreLaunch"}).trading
    kraken = {"wsname": "XBT/USD", "pair_decimals": 1, "lot_decimals": 8, "ordermin": "0.0001"}
    assert from_kraken_asset_pair({**kraken, "status": "post_only"}).trading
    assert not from_kraken_asset_pair({**kraken, "status": "cancel_only"}).trading
    coinbase = {
        "product_id": "BTC-USD",
        "price_increment": "0.01",
        "base_increment": "0.00000001",
        "status": "online",
    }
    assert from_coinbase_product({**coinbase, "trading_disabled": False, "cancel_only": False}).trading
    assert not from_coinbase_product({**coinbase, "cancel_only": True}).trading
    # Each flag closes it, and is the word a refusal names (status stays "online").
    for flag in ("trading_disabled", "cancel_only", "is_disabled", "view_only"):
        closed = from_coinbase_product({**coinbase, flag: True, "limit_only": False})
        assert not closed.trading and closed.status == flag, flag
    assert from_coinbase_product({**coinbase, "limit_only": True, "view_only": False}).trading
    assert not from_coinbase_product({**coinbase, "status": "offline"}).trading
    htx = {"symbol": "btcusdt", "price-precision": 2, "amount-precision": 6}
    assert from_htx_symbol({**htx, "state": "online"}).trading
    assert not from_htx_symbol({**htx, "state": "pre-online"}).trading
