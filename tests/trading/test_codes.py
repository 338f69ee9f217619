"""Venue order-error codes against the venues' documented tables and the simulator's own venue maps."""

from __future__ import annotations

import pytest
from tickwire import errors
from tickwire.sim.venues.binance.futures import ERRORS as SIM_BINANCE_USDM
from tickwire.sim.venues.binance.futures import GRID_ERRORS as SIM_USDM_GRID
from tickwire.sim.venues.binance.trade import GRID_FILTERS as SIM_BINANCE_GRID
from tickwire.sim.venues.bybit.trade import BYBIT_ERRORS as SIM_BYBIT
from tickwire.sim.venues.coinbase.trade import EDIT_GRID_FAILURES as SIM_COINBASE_EDIT_GRID
from tickwire.sim.venues.coinbase.trade import GRID_FAILURES as SIM_COINBASE_GRID
from tickwire.sim.venues.htx.trade import GRID_ERRORS as SIM_HTX_GRID
from tickwire.sim.venues.kraken.trade import GRID_ERRORS as SIM_KRAKEN_GRID
from tickwire.sim.venues.okx.trade import GRID_CODES as SIM_OKX_GRID
from tickwire.sim.venues.okx.trade import OKX_CODES as SIM_OKX
from tickwire.trading.client_ids import FORMATS
from tickwire.trading.codes import (
    CODES,
    error_for,
    invalid_order,
    is_unknown_outcome,
    market_closed,
    unknown_outcome,
)
from tickwire.trading.stale_rules import names_grid, rules_may_be_stale


def test_order_classes_sit_where_callers_catch_them() -> None:
    e = errors
    assert issubclass(e.OrderError, e.VenueError) and issubclass(e.OrderError, e.TickwireError)
    for cls in (e.InsufficientFunds, e.DuplicateOrder):
        assert issubclass(cls, e.OrderRejected) and issubclass(cls, e.OrderError)
    assert issubclass(e.OrderNotFound, e.OrderError) and issubclass(e.OrderNotFound, LookupError)
    assert not issubclass(e.OrderNotFound, e.OrderRejected)
    assert issubclass(e.InvalidOrder, ValueError) and not issubclass(e.InvalidOrder, e.VenueError)
    assert issubclass(e.UnknownOutcome, e.TickwireError) and not issubclass(e.UnknownOutcome, e.VenueError)
    assert issubclass(e.NotSupported, NotImplementedError) and issubclass(e.NotSupported, e.TickwireError)
    for cls in (e.OrderError, e.InvalidOrder, e.UnknownOutcome, e.NotSupported):
        assert cls.__module__ == "tickwire.errors"


def test_every_venue_with_client_ids_has_a_code_map() -> None:
    assert set(CODES) >= set(FORMATS)


@pytest.mark.parametrize("venue", sorted(FORMATS))
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_an_unknown_outcome_everywhere(venue: str, status: int) -> None:
    # Binance rest-api.md: 5XX "execution status is UNKNOWN and could have been a success"; the same
    # holds for any venue: the request may have reached the engine.
    err = error_for(venue, None, "Bad Gateway", http_status=status, client_id="c1")
    assert isinstance(err, errors.UnknownOutcome) and is_unknown_outcome(venue, None, status)
    assert err.client_id == "c1" and err.status == status  # type: ignore[attr-defined]


# (venue, code, message as the venue documents or sends it, class it must be)
DOCUMENTED = [
    ("binance", -2010, "Account has insufficient balance for requested action.", errors.InsufficientFunds),
    ("binance", -2010, "Duplicate order sent.", errors.DuplicateOrder),
    ("binance", -2010, "Order would immediately match and take.", errors.OrderRejected),
    ("binance", -2011, "Unknown order sent.", errors.OrderNotFound),
    ("binance", -2013, "Order does not exist.", errors.OrderNotFound),
    ("binance", -2038, "Order amend (quantity increase) is not supported.", errors.OrderRejected),
    ("binance", -2038, "Unknown order sent.", errors.OrderNotFound),
    ("binance", -1013, "Filter failure: LOT_SIZE", errors.OrderRejected),
    ("binance", -1007, "Timeout waiting for response from backend server. Send status unknown; execution "
     "status unknown.", errors.UnknownOutcome),
    ("binance", -1006, "An unexpected response was received from the message bus. Execution status unknown.",
     errors.UnknownOutcome),
    ("binance", -1003, "Too much request weight used", errors.RateLimitError),
    ("binance", -2015, "Invalid API-key, IP, or permissions for action.", errors.AuthError),
    ("binance-usdm", -4116, "ClientOrderId is duplicated.", errors.DuplicateOrder),
    ("binance-usdm", -2019, "Margin is insufficient.", errors.InsufficientFunds),
    ("okx", "51008", "Order failed. Insufficient balance", errors.InsufficientFunds),
    ("okx", "51016", "Duplicated clOrdId", errors.DuplicateOrder),
    ("okx", "51603", "Order does not exist", errors.OrderNotFound),
    ("okx", "51000", "Parameter sz error", errors.OrderRejected),
    ("okx", "50004", "API endpoint request timeout", errors.UnknownOutcome),
    # OKX's general table: 50001 "Service temporarily unavailable" (HTTP 503), 50026 "System error"
    # (HTTP 500). Over REST the 5xx says the request may have reached the engine; an order socket's
    # answer has no HTTP status, so the code alone has to say it (passed here with a 400).
    ("okx", "50001", "Service temporarily unavailable, please try again later.", errors.UnknownOutcome),
    ("okx", "50026", "System error, please try again later.", errors.UnknownOutcome),
    ("okx", "50011", "Rate limit reached", errors.RateLimitError),
    ("bybit", 110001, "Order does not exist.", errors.OrderNotFound),
    ("bybit", 110007, "ab not enough for new order", errors.InsufficientFunds),
    ("bybit", 110072, "OrderLinkedID is duplicate", errors.DuplicateOrder),
    ("bybit", 20006, "duplicate reqId", errors.DuplicateOrder),
    ("bybit", 10001, "params error", errors.OrderRejected),
    ("bybit", 10006, "Too many visits!", errors.RateLimitError),
    # bybit-exchange.github.io/docs/v5/error: UTA "10000 Server Timeout" (the request may have reached
    # the engine, as Binance's -1007), "10018 Exceeded the IP Rate Limit."; WS OE "20003 Too frequent
    # requests under the same session".
    ("bybit", 10000, "Server Timeout", errors.UnknownOutcome),
    ("bybit", 10018, "Exceeded the IP Rate Limit.", errors.RateLimitError),
    ("bybit", 20003, "Too frequent requests under the same session", errors.RateLimitError),
    # UTA "429 The trading service is experiencing a high server load. Please retry if you encounter
    # this issue." (a body code, HTTP 200): refused for load, not a rejection of the order.
    ("bybit", 429, "The trading service is experiencing a high server load.", errors.RateLimitError),
    ("kraken", "EOrder:Insufficient funds", "", errors.InsufficientFunds),
    ("kraken", "EOrder:Unknown order", "", errors.OrderNotFound),
    ("kraken", "EOrder:Invalid price", "", errors.OrderRejected),
    ("kraken", "EGeneral:Invalid arguments:volume", "", errors.OrderRejected),  # detail after the code
    ("kraken", "EAPI:Invalid nonce", "", errors.AuthError),
    ("coinbase", "INSUFFICIENT_FUND", "Insufficient balance in source account", errors.InsufficientFunds),
    ("coinbase", "INVALID_LIMIT_PRICE_PRECISION", "", errors.OrderRejected),
    ("coinbase", "UNKNOWN_CANCEL_ORDER", "", errors.OrderNotFound),
    ("htx", "order-accountbalance-error", "account balance insufficient", errors.InsufficientFunds),
    ("htx", "account-frozen-balance-insufficient-error", "trade account balance is not enough",
     errors.InsufficientFunds),
    # Cancelling a filled or cancelled order (ccxt's map: OrderNotFound): the order is not open.
    ("htx", "order-orderstate-error", "Incorrect order state", errors.OrderNotFound),
    ("htx", "gateway-internal-error", "Failed to load data. Try again later.", errors.UnknownOutcome),
    ("tradefence", 1001, "invalid credentials", errors.AuthError),
    ("tradefence", 1002, "insufficient funds", errors.InsufficientFunds),
    ("tradefence", 1003, "market closed", errors.MarketClosed),  # an OrderRejected, never resent
    ("tradefence", 1004, "invalid symbol", errors.OrderRejected),
    ("tradefence", 2001, "rate limit exceeded", errors.RateLimitError),
    ("clarofinlore", 1001, "insufficient margin", errors.InsufficientFunds),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "code", "message", "cls"), DOCUMENTED)
def test_documented_codes(venue: str, code: int | str, message: str, cls: type) -> None:
    err = error_for(venue, code, message, http_status=400)
    assert type(err) is cls
    assert err.venue == venue and err.code == code and err.message == message  # type: ignore[attr-defined]
    assert str(code) in str(err) and message in str(err)
    assert is_unknown_outcome(venue, code, 400) == (cls is errors.UnknownOutcome)


def test_the_same_code_means_different_things_per_venue() -> None:
    # seed-venues.md: "Clarofinlore and Tradefence both use code 1001 with different meanings"
    assert isinstance(error_for("clarofinlore", 1001, "insufficient margin"), errors.InsufficientFunds)
    assert isinstance(error_for("tradefence", 1001, "invalid credentials"), errors.AuthError)


SIM_KIND = {  # the simulator's engine refusal kinds, and what each must surface as
    "funds": errors.InsufficientFunds,
    "duplicate": errors.DuplicateOrder,
    "unknown": errors.OrderNotFound,
    "closed": errors.MarketClosed,
    "closed_amend": errors.MarketClosed,  # USDⓈ-M -5024: an amend on a symbol not trading
    "not_live": errors.MarketClosed,
    "preopen": errors.MarketClosed,
}


@pytest.mark.parametrize(
    ("venue", "table"), [("okx", SIM_OKX), ("bybit", SIM_BYBIT), ("binance-usdm", SIM_BINANCE_USDM)]
)
def test_the_simulators_venue_answers_map_to_the_right_class(
    venue: str, table: dict[str, tuple[object, str]]
) -> None:
    # The simulator was written separately from these maps: its codes for each refusal kind are a
    # second reading of the same venue documentation.
    for kind, (code, message) in table.items():
        err = error_for(venue, code, message, http_status=400)  # type: ignore[arg-type]
        assert isinstance(err, SIM_KIND.get(kind, errors.OrderRejected)), (kind, code)
        assert isinstance(err, errors.MarketClosed) == (SIM_KIND.get(kind) is errors.MarketClosed), kind


def test_unmapped_codes_fall_back_on_the_http_status() -> None:
    assert type(error_for("okx", "59999", "?", http_status=404)) is errors.OrderNotFound
    assert type(error_for("okx", "59999", "?", http_status=429)) is errors.RateLimitError
    assert type(error_for("okx", "59999", "?", http_status=401)) is errors.AuthError
    assert type(error_for("okx", "59999", "?", http_status=400)) is errors.OrderRejected
    assert type(error_for("okx", "59999", "?")) is errors.OrderError
    assert type(error_for("no-such-venue", 1, "?")) is errors.OrderError


def test_helpers_carry_their_attributes() -> None:
    e = invalid_order("price off the tick", rule="tick_size", nearest=(1, 2))
    assert (e.rule, e.nearest) == ("tick_size", (1, 2))  # type: ignore[attr-defined]
    u = unknown_outcome("c9", "socket lost", venue="okx")
    assert u.client_id == "c9" and "socket lost" in str(u)  # type: ignore[attr-defined]


def test_htx_symbol_trade_disabled_is_a_closed_market() -> None:
    """Review: HTX's ``base-symbol-trade-disabled`` ("the symbol is forbidden to trade", its answer
    to an order on a suspended or offline symbol) is ``MarketClosed``, as Binance's "Market is
    closed." and Kraken's cancel-only mode are — so the session reads the instrument list again;
    before it was a plain ``OrderRejected``."""
    from tickwire.errors import MarketClosed
    from tickwire.trading.codes import error_for

    assert isinstance(error_for("htx", "base-symbol-trade-disabled", "trade disabled"), MarketClosed)


# (venue, code, message as the venue documents or sends it): refusals that name the instrument's grid
# or size bounds — the session reads its instrument list again after one (``stale_rules``).
GRID = [
    # binance-spot-api-docs errors.md, "Filter failures" (sent with -1013 INVALID_MESSAGE).
    ("binance", -1013, "Filter failure: PRICE_FILTER"),
    ("binance", -1013, "Filter failure: LOT_SIZE"),
    ("binance", -1013, "Filter failure: MARKET_LOT_SIZE"),
    ("binance", -1013, "Filter failure: MIN_NOTIONAL"),
    ("binance", -1013, "Filter failure: NOTIONAL"),
    # developers.binance.com derivatives/usds-margined-futures "Error Codes", 40xx.
    ("binance-usdm", -4014, "Price not increased by tick size."),
    ("binance-usdm", -4023, "Qty not increased by step size."),
    ("binance-usdm", -4004, "Quantity less than min quantity."),
    ("binance-usdm", -4005, "Quantity greater than max quantity."),
    ("binance-usdm", -4013, "Price less than min price."),
    ("binance-usdm", -4002, "Price greater than max price."),
    ("binance-usdm", -4164, "Order's notional must be no smaller than 5.0 (unless you choose reduce only)"),
    ("binance-usdm", -5029, "Order's notional must be no smaller than 5"),
    # OKX docs-v5 trade error codes; an off-tick px as the simulator (and OKX) answers it.
    ("okx", "51121", "Order count should be the integer multiples of the lot size"),
    ("okx", "51020", "Order amount should be greater than the min available amount"),
    ("okx", "51120", "Order quantity is less than 0.001, please try again"),
    ("okx", "51202", "Market - order amount exceeds the max amount"),
    ("okx", "51203", "Order amount exceeds the limit 100"),
    ("okx", "51000", "Parameter px error"),
    ("okx", "51000", "Parameter sz error"),
    # Bybit v5 error codes, Spot Trade.
    ("bybit", 170134, "Order price decimal too long."),
    ("bybit", 170137, "Order volume decimal too long"),
    ("bybit", 170136, "Order quantity lower than the minimum."),
    ("bybit", 170135, "Order quantity too large."),
    ("bybit", 170140, "Transaction amount lower than the minimum."),
    ("bybit", 170148, "Market order amount decimal too long"),
    ("kraken", "EOrder:Tick size check failed", ""),
    ("kraken", "EOrder:Order minimum not met:volume", ""),  # detail after the code
    ("kraken", "EOrder:Cost minimum not met", ""),
    ("coinbase", "INVALID_PRICE_PRECISION", ""),
    ("coinbase", "INVALID_SIZE_PRECISION", ""),
    ("coinbase", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", ""),
    ("htx", "order-orderprice-precision-error", "order price precision error"),
    ("htx", "order-orderamount-precision-error", "order amount precision error"),
    ("htx", "order-limitorder-amount-min-error", "limit order amount error, min: 0.001"),
    ("htx", "order-value-min-error", "order total cannot be lower than: 5"),
]  # fmt: skip
# Refused for something else: the rules read are not in question (a band around the market, funds,
# the same code with another text, an order already gone).
NOT_GRID = [
    ("binance", -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"),
    ("binance", -1013, "Filter failure: MAX_NUM_ORDERS"),
    ("binance", -2010, "Account has insufficient balance for requested action."),
    ("binance-usdm", -4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit"),
    ("okx", "51006", "Order price is not within the price limit"),
    ("okx", "51000", "Parameter tdMode error"),
    ("okx", "51008", "Order failed. Insufficient balance"),
    ("bybit", 110003, "Order price is out of permissible range"),
    ("kraken", "EOrder:Insufficient funds", ""),
    ("coinbase", "INSUFFICIENT_FUND", ""),
    ("htx", "order-limitorder-price-min-error", "limit order price error"),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "code", "message"), GRID)
def test_a_refusal_naming_the_grid_is_a_rejection_that_reads_the_rules_again(
    venue: str, code: int | str, message: str
) -> None:
    for status in (400, 200, None):  # REST's 4xx, a body code on HTTP 200, an order socket's answer
        err = error_for(venue, code, message, http_status=status)
        assert type(err) is errors.OrderRejected, (venue, code, status, type(err))
        assert rules_may_be_stale(err) and names_grid(venue, code, message)


@pytest.mark.parametrize(("venue", "code", "message"), NOT_GRID)
def test_other_refusals_do_not_read_the_rules_again(venue: str, code: int | str, message: str) -> None:
    err = error_for(venue, code, message, http_status=400)
    assert not rules_may_be_stale(err) and not names_grid(venue, code, message)


def test_a_closed_market_reads_the_rules_again_whoever_said_it() -> None:
    assert rules_may_be_stale(error_for("binance", -2010, "Market is closed."))
    assert rules_may_be_stale(market_closed("BTCUSDT: not open for new orders"))  # this session's own


def test_a_refusal_here_reads_the_rules_again_only_by_a_grid_rule() -> None:
    # A finer tick or a lower minimum shows only as orders refused here (none of the old grid is
    # refused by the venue); a bad side, a missing price or a closed session's refusal says nothing
    # of the grid.
    for rule in ("tick_size", "lot_size", "min_qty", "max_qty", "min_notional"):
        assert rules_may_be_stale(invalid_order(f"BTCUSDT: off {rule}", rule=rule)), rule
    for rule in ("side", "price", "type", "qty", None):
        assert not rules_may_be_stale(invalid_order("BTCUSDT: bad", rule=rule)), rule


def test_the_simulators_grid_refusals_read_the_rules_again() -> None:
    # The simulator's own answers to an order off a grid it was told to change (``set_grid``).
    for off, (code, message) in SIM_OKX_GRID.items():
        assert rules_may_be_stale(error_for("okx", code, message)), off
    for name in SIM_BINANCE_GRID.values():
        assert rules_may_be_stale(error_for("binance", -1013, f"Filter failure: {name}", http_status=400))
    for off, (code, message) in SIM_USDM_GRID.items():
        assert rules_may_be_stale(error_for("binance-usdm", code, message, http_status=400)), off
    for off, (code, message) in SIM_BYBIT.items():
        if off.startswith("grid_"):
            assert rules_may_be_stale(error_for("bybit", code, message)), off
    for off, word in SIM_KRAKEN_GRID.items():
        assert rules_may_be_stale(error_for("kraken", word, word)), off
    for off, reason in (*SIM_COINBASE_GRID.items(), *SIM_COINBASE_EDIT_GRID.items()):
        assert rules_may_be_stale(error_for("coinbase", reason, reason)), off
    for off, (code, message) in SIM_HTX_GRID.items():
        assert rules_may_be_stale(error_for("htx", code, message)), off


# (venue, code, message as the venue documents it): the instrument takes no new order now. Official:
# binance-spot-api-docs errors.md ("Market is closed.", whose table -1013 points at too);
# developers.binance.com USDⓈ-M "Error Codes"; bybit-exchange/docs error.mdx; huobiapi.github.io
# spot "Error Code"; Coinbase's NewOrderFailureReason / PreviewFailureReason enums; OKX's table (its
# Chinese copy; the English words as ccxt's okx map quotes them, third-party).
CLOSED = [
    ("binance", -2010, "Market is closed."),
    ("binance", -1013, "Market is closed."),
    ("binance-usdm", -2010, "Market is closed."),
    ("binance-usdm", -1122, "Invalid symbol status."),
    ("binance-usdm", -4140, "Invalid symbol status for opening position"),
    ("binance-usdm", -4141, "Symbol is closed"),
    ("okx", "51021", "Contract to be listed"),
    ("okx", "51022", "Contract suspended."),
    ("okx", "51027", "Contract expired"),
    ("okx", "51028", "Contract under delivery"),
    ("okx", "51029", "Contract is being settled"),
    ("okx", "51030", "Funding fee is being settled"),
    ("bybit", 170151, "The trading pair is not open yet"),
    ("bybit", 170157, "The trading pair is not available for api trading"),
    ("bybit", 110074, "This contract is not live"),
    ("bybit", 110066, "Trading is currently not allowed."),
    ("bybit", 110063, "Settlement in progress! BTCUSDT not available for trading."),
    ("bybit", 30228, "No new positions during delisting"),
    ("htx", "base-symbol-trade-disabled", "The symbol is disabled for trading"),
    ("htx", "order-disabled", "The symbol is pending and not allowed to place order"),
    ("htx", "forbidden-trade-for-open-protect",
     "The current protection phase is open. You can place orders after the protection period ends"),
    ("coinbase", "UNTRADABLE_PRODUCT", ""),
    ("coinbase", "PREVIEW_UNTRADABLE_PRODUCT", ""),
    ("kraken", "EService:Market in cancel_only mode", ""),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "code", "message"), CLOSED)
def test_a_closed_market_in_each_venues_words_is_market_closed(
    venue: str, code: int | str, message: str
) -> None:
    for status in (400, 200, None):  # REST's 4xx, a body code on HTTP 200, an order socket's answer
        err = error_for(venue, code, message, http_status=status)
        assert type(err) is errors.MarketClosed, (venue, code, status, type(err))
        assert isinstance(err, errors.OrderRejected) and rules_may_be_stale(err)


# Codes one venue's table means otherwise than the table it inherits, and the ones around closed
# markets that stay what they were (an open market refusing one kind of order).
OTHERS = [
    # Spot -2026 ORDER_ARCHIVED: the order existed and was closed unfilled over 90 days ago.
    ("binance", -2026, "Order was canceled or expired with no executed qty over 90 days ago and has been "
     "archived.", errors.OrderNotFound),
    # USDⓈ-M -2026 REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED: not spot's meaning, though the table inherits.
    ("binance-usdm", -2026, "This OrderType is not supported when reduceOnly.", errors.OrderRejected),
    ("binance-usdm", -1121, "Invalid symbol.", errors.OrderRejected),  # unknown, not closed
    ("okx", "51001", "Instrument ID does not exist", errors.OrderError),  # unknown, not closed
    ("kraken", "EService:Market in post_only mode", "", errors.OrderRejected),
    ("coinbase", "ORDER_ENTRY_DISABLED", "", errors.OrderRejected),  # may be the account's
]  # fmt: skip


@pytest.mark.parametrize(("venue", "code", "message", "cls"), OTHERS)
def test_codes_next_to_closed_markets_keep_their_meaning(
    venue: str, code: int | str, message: str, cls: type
) -> None:
    err = error_for(venue, code, message)
    assert type(err) is cls, (venue, code, type(err))
    assert not isinstance(err, errors.MarketClosed)


def test_okx_order_timed_out_is_an_unknown_outcome_over_rest_and_socket() -> None:
    # 51149 (HTTP 500) "Order timed out, please try again later (does not mean the request succeeded
    # or failed, please check the result)": an order socket's answer carries the code alone.
    text = "Order timed out, please try again later"
    for status in (500, None):
        assert type(error_for("okx", "51149", text, http_status=status)) is errors.UnknownOutcome
    assert is_unknown_outcome("okx", "51149")


@pytest.mark.parametrize("code", [170381, 170382])
def test_bybits_newer_too_large_quantity_codes_name_the_grid(code: int) -> None:
    # bybit-exchange/docs 2025-10-03 "remove retCode 170135 and add 170381,170382": "Order quantity
    # too large." — a size over the instrument's bound, so the list is read again.
    err = error_for("bybit", code, "Order quantity too large.", http_status=200)
    assert type(err) is errors.OrderRejected and rules_may_be_stale(err) and names_grid("bybit", code, "")
