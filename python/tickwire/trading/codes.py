"""Each venue's documented order-error codes, mapped onto the one exception hierarchy.

``error_for(venue, code, message, http_status=...)`` picks the class and returns the exception (the
caller raises it); ``is_unknown_outcome`` says whether the order may exist after all (reconcile, never
blindly resend). The classes come from the Rust core without declared attributes, so, as
``HttpResponse.raise_for_status`` does for ``VenueError``, the attributes are set on the instance:
``venue``, ``code`` (as the venue sent it), ``message`` (the venue's text, verbatim), ``status`` (HTTP,
or None), ``client_id`` (or None), ``retry_after`` (None). ``InvalidOrder`` carries ``rule`` and
``nearest``; ``UnknownOutcome`` carries ``client_id``.

Precedence: an HTTP 5xx or a venue's "outcome unknown" code is ``UnknownOutcome`` whatever else the
answer says (Binance: 5xx "execution status is UNKNOWN and could have been a success"); then the
venue's code; then, for codes whose text distinguishes cases (Binance -2010), the message; then the
HTTP status as the venue reads it (Binance's 403 is its WAF, a rate limit), else as HTTP does (429/418
rate limit, 401/403 credentials, 404 not found, other 4xx a rejection); else a plain ``OrderError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from tickwire.errors import (
    AuthError,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    NotSupported,
    OrderError,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    TickwireError,
    UnknownOutcome,
)
from tickwire.trading.codes_coinbase import COINBASE
from tickwire.trading.stale_rules import grid_codes

__all__ = [
    "CODES",
    "VenueCodes",
    "error_for",
    "invalid_order",
    "is_unknown_outcome",
    "not_supported",
    "unknown_outcome",
]

Code = int | str
ErrorClass = type[TickwireError]
_E = TypeVar("_E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class VenueCodes:
    """One venue's map. Codes are compared as text (``-2010`` and ``"-2010"`` are the same code)."""

    codes: Mapping[str, ErrorClass]
    unknown: frozenset[str] = frozenset()
    # (codes, lower-case fragment of the message, class): refines a code whose text tells cases apart.
    messages: tuple[tuple[frozenset[str], str, ErrorClass], ...] = ()
    # Kraken codes carry detail after a further colon ("EGeneral:Invalid arguments:volume").
    colon_detail: bool = False
    # HTTP statuses the venue gives its own meaning, over ``_by_status``'s (Binance's 403: its WAF).
    statuses: Mapping[int, ErrorClass] = field(default_factory=dict)


def _c(table: Mapping[int, ErrorClass] | Mapping[str, ErrorClass], venue: str = "") -> dict[str, ErrorClass]:
    """``table`` by code text; with ``venue``, its grid refusals (``stale_rules``: a price or size
    off the instrument's grid, under or over its bounds) that ``table`` leaves out typed
    ``OrderRejected`` — the venue judged the order's numbers invalid, nothing was placed."""
    return {**dict.fromkeys(grid_codes(venue), OrderRejected), **{str(k): v for k, v in table.items()}}


# Binance spot: binance-spot-api-docs errors.md ("10xx General Server or Network issues", "11xx",
# "20xx", and "Messages for -1010 ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, and -2011
# CANCEL_REJECTED"); venues.md 1.2 (5xx) and 9 (-1007).
_BINANCE: dict[int, ErrorClass] = {
    -1003: RateLimitError,  # TOO_MANY_REQUESTS
    -1015: RateLimitError,  # TOO_MANY_ORDERS
    -1002: AuthError,  # UNAUTHORIZED
    -1022: AuthError,  # INVALID_SIGNATURE
    -2014: AuthError,  # BAD_API_KEY_FMT
    -2015: AuthError,  # REJECTED_MBX_KEY
    -1013: OrderRejected,  # filter failure: the venue judged the order invalid; nothing was placed
    -1021: OrderRejected,  # INVALID_TIMESTAMP (outside recvWindow): refused before the engine
    -1100: OrderRejected,  # ILLEGAL_CHARS
    -1102: OrderRejected,  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1111: OrderRejected,  # BAD_PRECISION
    -1115: OrderRejected,  # INVALID_TIF
    -1116: OrderRejected,  # INVALID_ORDER_TYPE
    -1117: OrderRejected,  # INVALID_SIDE
    -1121: OrderRejected,  # BAD_SYMBOL
    -1010: OrderRejected,  # ERROR_MSG_RECEIVED (refined by message)
    -2010: OrderRejected,  # NEW_ORDER_REJECTED (refined by message)
    -2011: OrderNotFound,  # CANCEL_REJECTED: "Unknown order sent." — the order is not open
    -2013: OrderNotFound,  # NO_SUCH_ORDER "Order does not exist."
    # ORDER_ARCHIVED: "canceled or expired with no executed qty over 90 days ago and has been
    # archived" (order queries): the order existed and is gone, unfilled.
    -2026: OrderNotFound,
    -2038: OrderRejected,  # ORDER_AMEND_REJECTED (refined by message)
}
_BINANCE_MESSAGES = (
    (frozenset({"-1010", "-2010"}), "insufficient balance", InsufficientFunds),
    (frozenset({"-1010", "-2010"}), "duplicate order sent", DuplicateOrder),
    (frozenset({"-1010", "-2010"}), "unknown order sent", OrderNotFound),
    # errors.md: "Market is closed." — "The symbol is not trading." (HALT, BREAK, CANCEL_ONLY …), in
    # the "Failures during order placement" table, which -1013 INVALID_MESSAGE also points at.
    # The same table is -2011 CANCEL_REJECTED's (and -2038's): a cancel refused on a symbol not
    # trading (CHANGELOG 2019-03-12: "-1013 OR -2011 if the symbol's status isn't TRADING") is no
    # proof the order is not open.
    (frozenset({"-1010", "-2010", "-1013", "-2011", "-2038"}), "market is closed", MarketClosed),
    (frozenset({"-2038"}), "unknown order sent", OrderNotFound),  # amend of a missing or closed order
)
# Unknown outcome: -1006 UNEXPECTED_RESP "Execution status unknown", -1007 TIMEOUT "Send status
# unknown; execution status unknown".
_BINANCE_UNKNOWN = frozenset({"-1006", "-1007"})
# venues.md 1.2: "403: a WAF rule was violated (a rate limit or a security block)" (rest-api.md "HTTP
# Return Codes": "used when the WAF Limit (Web Application Firewall) has been violated"); the WS API's
# status 403 is the same (venues.md 1.3). A limit to back off from, not refused credentials (those are
# -2015 / -1022 with a 401).
_BINANCE_STATUSES: dict[int, ErrorClass] = {403: RateLimitError}
# USDⓈ-M futures: developers.binance.com derivatives "Error Codes" (-2018 BALANCE_NOT_SUFFICIENT,
# -2019 MARGIN_NOT_SUFFICIEN, -2022 REDUCE_ONLY_REJECT, -4116 DUPLICATED_CLIENT_TRAN_ID
# "ClientOrderId is duplicated", -4164
# MIN_NOTIONAL, -5022 GTX order rejected (post-only would take)).
_BINANCE_USDM: dict[int, ErrorClass] = {
    **_BINANCE,
    -2018: InsufficientFunds,
    -2019: InsufficientFunds,
    -2022: OrderRejected,  # REDUCE_ONLY_REJECT: the order would not reduce the position
    -4116: DuplicateOrder,
    -4164: OrderRejected,
    -5022: OrderRejected,
    # Not spot's ORDER_ARCHIVED: REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED "This OrderType is not supported
    # when reduceOnly."
    -2026: OrderRejected,
    # The symbol takes no new order: -1122 INVALID_SYMBOL_STATUS, -4140 INVALID_OPENING_POSITION_STATUS
    # "Invalid symbol status for opening position", -4141 SYMBOL_ALREADY_CLOSED (which status gives
    # which is not documented).
    -1122: MarketClosed,
    -4140: MarketClosed,
    -4141: MarketClosed,
    # MOVE_ORDER_NOT_ALLOWED_SYMBOL_REASON "Symbol is not in trading status. Order amendment is not
    # permitted.": an amend refused for the symbol's status — a closed market (the list read again).
    -5024: MarketClosed,
}

# OKX v5: okx.com/docs-v5 "Error Code" (REST/WS public 50xxx, trade 51xxx); the per-order sCode of a
# batch/WS answer is passed as the code. 50004 "API endpoint request timeout (does not mean that the
# request was successful or failed, please check the request result)".
_OKX: dict[int, ErrorClass] = {
    50011: RateLimitError,  # rate limit reached
    50061: RateLimitError,  # sub-account order rate limit
    # REST 401s (50101 to 50114) and the WS log-in's refusals (60005 to 60031): the credentials refused.
    50101: AuthError,  # APIKey does not match the current environment (demo vs live)
    50102: AuthError,  # timestamp request expired
    50103: AuthError,  # OK-ACCESS-KEY header empty
    50104: AuthError,  # OK-ACCESS-PASSPHRASE header empty
    50105: AuthError,  # wrong OK-ACCESS-PASSPHRASE
    50106: AuthError,  # OK-ACCESS-SIGN header empty
    50107: AuthError,  # OK-ACCESS-TIMESTAMP header empty
    50110: AuthError,  # the address is not on the APIKey's allow-list
    50111: AuthError,  # invalid OK-ACCESS-KEY
    50112: AuthError,  # invalid OK-ACCESS-TIMESTAMP
    50113: AuthError,  # invalid sign
    50114: AuthError,  # invalid authorization
    60005: AuthError,  # invalid apiKey
    60006: AuthError,  # timestamp request expired
    60007: AuthError,  # invalid sign
    60009: AuthError,  # login failure
    60024: AuthError,  # wrong passphrase
    60031: AuthError,  # API key doesn't exist
    60013: OrderRejected,  # Invalid args (WS)
    50014: OrderRejected,  # "Parameter {param0} can not be empty." (an order socket's op without instIdCode)
    51000: OrderRejected,  # parameter error
    51008: InsufficientFunds,  # order failed, insufficient balance
    51016: DuplicateOrder,  # duplicated clOrdId
    # The instrument trades nothing now (docs' table, read in its Chinese copy; English per ccxt):
    # 51021 "Contract to be listed" (pairs too: 币对或合约待上线), 51022 "Contract suspended.", 51027
    # expired, 51028 under delivery, 51029 being settled, 51030 "Funding fee is being settled" —
    # seconds, but MarketClosed holds a quoting loop off and reads the list once, which is right.
    51021: MarketClosed,
    51022: MarketClosed,
    51027: MarketClosed,
    51028: MarketClosed,
    51029: MarketClosed,
    51030: MarketClosed,
    51400: OrderNotFound,  # cancellation failed: order filled, canceled or does not exist
    51503: OrderNotFound,  # modification failed: order filled, canceled or does not exist
    51603: OrderNotFound,  # order does not exist
}
# 50004, and the two server failures OKX answers over REST with a 5xx (50001 "Service temporarily
# unavailable" 503, 50026 "System error" 500): an order socket's answer carries no HTTP status, so the
# code alone says the request may have reached the engine.
# 51149 "Order timed out, please try again later (does not mean the request succeeded or failed,
# please check the result)".
_OKX_UNKNOWN = frozenset({"50004", "50001", "50026", "51149"})

# Bybit v5: bybit-exchange/docs docs/v5/error.mdx; venues.md 3.4 (20006 duplicate reqId, 10016/10019
# service restarting).
_BYBIT: dict[int, ErrorClass] = {
    10001: OrderRejected,  # params error
    10003: AuthError,  # API key invalid
    10004: AuthError,  # error sign
    10005: AuthError,  # permission denied
    10006: RateLimitError,  # too many visits
    10018: RateLimitError,  # exceeded the IP rate limit
    10403: RateLimitError,  # over the IP limit
    10429: RateLimitError,  # system frequency protection
    429: RateLimitError,  # UTA: "the trading service is experiencing a high server load. Please retry"
    20003: RateLimitError,  # too frequent requests under the same (trade socket) session
    10019: OrderRejected,  # trade service restarting: new requests are not accepted
    20006: DuplicateOrder,  # duplicate reqId on the trade WebSocket
    110001: OrderNotFound,  # order does not exist
    110004: InsufficientFunds,  # wallet balance insufficient
    110007: InsufficientFunds,  # available balance insufficient ("ab not enough for new order")
    110012: InsufficientFunds,  # insufficient available balance
    110072: DuplicateOrder,  # OrderLinkedID is duplicate
    170131: InsufficientFunds,  # spot: insufficient balance
    170213: OrderNotFound,  # spot: order does not exist
    # The symbol takes no new order: spot 170151 "The trading pair is not open yet", 170157 "… not
    # available for api trading"; derivatives 110074 "This contract is not live", 110066 "Trading is
    # currently not allowed.", 110063 "Settlement in progress!", 30228 "No new positions during
    # delisting".
    170151: MarketClosed,
    170157: MarketClosed,
    110074: MarketClosed,
    110066: MarketClosed,
    110063: MarketClosed,
    30228: MarketClosed,
}
# Internal/server error and "10000 Server Timeout" (docs/v5/error): the request may have reached the engine.
_BYBIT_UNKNOWN = frozenset({"10000", "10016"})

# Kraken: support.kraken.com "API error messages" and docs.kraken.com "Error messages"; WS v2 answers
# carry the same strings in "error". Codes match with any ":detail" after them stripped
# ("EGeneral:Invalid arguments:volume").
_KRAKEN: dict[str, ErrorClass] = {
    "EOrder:Insufficient funds": InsufficientFunds,
    "EOrder:Insufficient margin": InsufficientFunds,
    "EOrder:Margin allowance exceeded": InsufficientFunds,
    "EOrder:Unknown order": OrderNotFound,  # cancel/amend of an order that is not open
    "EOrder:Invalid order": OrderNotFound,  # QueryOrders of a txid it does not hold
    "EOrder:Invalid price": OrderRejected,
    "EOrder:Order minimum not met": OrderRejected,
    "EOrder:Cost minimum not met": OrderRejected,
    "EOrder:Tick size check failed": OrderRejected,
    "EOrder:Orders limit exceeded": OrderRejected,  # too many open orders on the pair
    "EOrder:Post only order": OrderRejected,  # not found in the docs' list; kept from earlier research
    "EOrder:Rate limit exceeded": RateLimitError,
    "EOrder:Domain rate limit exceeded": RateLimitError,
    "EAPI:Rate limit exceeded": RateLimitError,
    "EGeneral:Temporary lockout": RateLimitError,  # too many failed calls / bad nonces: ~15 min
    "EGeneral:Too many requests": RateLimitError,
    "EGeneral:Invalid arguments": OrderRejected,
    "EQuery:Unknown asset pair": OrderRejected,
    # docs.kraken.com "Spot Error Messages" lists these two under SystemStatus (the exchange's mode);
    # no pair-level answer is documented, so a pair in cancel_only is taken to answer the same.
    "EService:Market in cancel_only mode": MarketClosed,  # no new order until the pair reopens
    "EService:Market in post_only mode": OrderRejected,
    "EService:Market in limit_only mode": OrderRejected,  # third-party code only, not Kraken's list
    "EAPI:Invalid key": AuthError,
    "EAPI:Invalid signature": AuthError,
    "EAPI:Invalid nonce": AuthError,
    "EGeneral:Permission denied": AuthError,
}
# Kraken cannot say whether it acted: "EGeneral:Internal error", "EService:Deadline elapsed" (the
# request's deadline passed), "EService:Unavailable" (matching engine or API offline) and
# "EService:Busy". The service errors may mean the order never reached the engine, but the docs do not
# promise it: reconcile rather than assume.
_KRAKEN_UNKNOWN = frozenset(
    {"EGeneral:Internal error", "EService:Deadline elapsed", "EService:Unavailable", "EService:Busy"}
)

# HTX: huobiapi.github.io/docs/spot/v1 "Error Code" and the err-codes of the order endpoints
# (err-code strings); ccxt's htx exception map, which quotes the venue's answers, for the ones the docs
# list without a meaning. Not verified against a live answer: base-not-found and order-update-error.
_HTX: dict[str, ErrorClass] = {
    "order-accountbalance-error": InsufficientFunds,
    "account-frozen-balance-insufficient-error": InsufficientFunds,  # "trade account balance is not enough"
    "insufficient-balance": InsufficientFunds,
    # "Incorrect order state": a cancel of a filled or cancelled order — the order is not open.
    "order-orderstate-error": OrderNotFound,
    "order-queryorder-invalid": OrderNotFound,  # querying an order that does not exist
    "base-record-invalid": OrderNotFound,  # "record invalid": getClientOrder of an unknown client id
    "base-not-found": OrderNotFound,  # a batchcancel entry naming no order (not verified)
    "order-value-min-error": OrderRejected,
    "order-limitorder-amount-min-error": OrderRejected,
    "order-limitorder-amount-max-error": OrderRejected,
    "order-marketorder-amount-min-error": OrderRejected,
    "order-limitorder-price-min-error": OrderRejected,
    "order-limitorder-price-max-error": OrderRejected,
    "order-orderprice-precision-error": OrderRejected,
    "order-orderamount-precision-error": OrderRejected,
    "order-holding-limit-failed": OrderRejected,
    "base-symbol-error": OrderRejected,
    # "The symbol is forbidden to trade" (suspended, offline): no new order until it reopens.
    "base-symbol-trade-disabled": MarketClosed,
    "order-disabled": MarketClosed,  # "The symbol is pending and not allowed to place order"
    # "The current protection phase is open. You can place orders after the protection period ends"
    "forbidden-trade-for-open-protect": MarketClosed,
    "invalid-parameter": OrderRejected,
    "invalid-amount": OrderRejected,
    "bad-request": OrderRejected,
    "too-many-requests": RateLimitError,
    "api-signature-not-valid": AuthError,
    "api-signature-check-failed": AuthError,
    "api-key-invalid": AuthError,
    "api-key-permission-invalid": AuthError,
    "api-key-ip-invalid": AuthError,
    "login-required": AuthError,
    # A refused /ws/v2 auth answers a numeric code; these two are the simulator's (invalid auth state,
    # auth failed): HTX's v2 code list was not checked.
    "2002": AuthError,
    "2003": AuthError,
}
# "Failed to load data. Try again later." from the gateway, and the undocumented order-update-error:
# HTX cannot say whether the order reached the engine.
_HTX_UNKNOWN = frozenset({"gateway-internal-error", "order-update-error"})

# Seed venues: ../shared/specs/seed-venues.md and the seed documents (per venue: both use 1001).
_TRADEFENCE: dict[int, ErrorClass] = {
    1001: AuthError,  # invalid credentials → re-authenticate
    1002: InsufficientFunds,  # insufficient funds → check balance
    1003: MarketClosed,  # market closed → retry during market hours (no resend now)
    1004: OrderRejected,  # invalid symbol → verify the format
    2001: RateLimitError,  # rate limit exceeded → back off
}
_CLAROFINLORE: dict[int, ErrorClass] = {1001: InsufficientFunds}  # "1001 insufficient margin"

CODES: dict[str, VenueCodes] = {
    "binance": VenueCodes(_c(_BINANCE), _BINANCE_UNKNOWN, _BINANCE_MESSAGES, statuses=_BINANCE_STATUSES),
    "binance-usdm": VenueCodes(
        _c(_BINANCE_USDM, "binance-usdm"), _BINANCE_UNKNOWN, _BINANCE_MESSAGES, statuses=_BINANCE_STATUSES
    ),
    "okx": VenueCodes(_c(_OKX, "okx"), _OKX_UNKNOWN),
    "bybit": VenueCodes(_c(_BYBIT, "bybit"), _BYBIT_UNKNOWN),
    "kraken": VenueCodes(_c(_KRAKEN), _KRAKEN_UNKNOWN, colon_detail=True),
    "coinbase": VenueCodes(_c(COINBASE)),
    "htx": VenueCodes(_c(_HTX), _HTX_UNKNOWN),
    "clarofinlore": VenueCodes(_c(_CLAROFINLORE)),
    "tradefence": VenueCodes(_c(_TRADEFENCE)),
}
_NONE = VenueCodes({})


def _key(code: Code | None) -> str:
    return "" if code is None else str(code).strip()


def _lookup(vc: VenueCodes, key: str, table: Mapping[str, ErrorClass] | frozenset[str]) -> str | None:
    """The entry of ``table`` that ``key`` names; Kraken keys match with their detail stripped."""
    while key:
        if key in table:
            return key
        if not vc.colon_detail or key.count(":") < 2:
            return None
        key = key.rsplit(":", 1)[0]
    return None


def is_unknown_outcome(venue: str, code: Code | None, http_status: int | None = None) -> bool:
    """Whether the order may exist although the answer was not a success: reconcile before resending."""
    if http_status is not None and 500 <= http_status <= 599:
        return True
    vc = CODES.get(venue, _NONE)
    return _lookup(vc, _key(code), vc.unknown) is not None


def error_for(
    venue: str,
    code: Code | None,
    message: str,
    *,
    http_status: int | None = None,
    client_id: str | None = None,
) -> TickwireError:
    """The exception for a venue's answer to an order request (returned, not raised)."""
    vc = CODES.get(venue, _NONE)
    key = _key(code)
    cls: ErrorClass
    if is_unknown_outcome(venue, code, http_status):
        cls = UnknownOutcome
    else:
        hit = _lookup(vc, key, vc.codes)
        if hit is not None:
            cls = vc.codes[hit]
        elif http_status is not None and http_status in vc.statuses:
            cls = vc.statuses[http_status]
        else:
            cls = _by_status(http_status)
        low = message.lower()
        for codes, fragment, refined in vc.messages:
            if key in codes and fragment in low:
                cls = refined
                break
    where = f"{venue} {key}" if key else venue
    text = f"{where}: {message}" if message else where
    if http_status is not None:
        text += f" (HTTP {http_status})"
    return _make(
        cls,
        text,
        venue=venue,
        code=code,
        message=message,
        status=http_status,
        client_id=client_id,
        retry_after=None,
    )


def _by_status(status: int | None) -> ErrorClass:
    if status in (429, 418):
        return RateLimitError
    if status in (401, 403):
        return AuthError
    if status == 404:
        return OrderNotFound
    if status is not None and 400 <= status <= 499:
        return OrderRejected
    return OrderError


def invalid_order(message: str, *, rule: str | None = None, nearest: tuple[object, ...] = ()) -> InvalidOrder:
    """Bad order input caught before sending; ``rule``/``nearest`` where an instrument rule applies."""
    return _make(InvalidOrder, message, rule=rule, nearest=nearest)


def market_closed(message: str) -> MarketClosed:
    """A new order refused before sending: its symbol takes none, by the venue's last-read status."""
    return _make(MarketClosed, message, venue="", code=None, message=message, status=None, client_id=None)


def unknown_outcome(
    client_id: str, message: str, *, venue: str = "", code: Code | None = None, status: int | None = None
) -> UnknownOutcome:
    """The order ``client_id`` may or may not exist; it is being reconciled."""
    return _make(
        UnknownOutcome,
        f"{client_id}: {message}",
        client_id=client_id,
        venue=venue,
        code=code,
        message=message,
        status=status,
    )


def not_supported(venue: str, operation: str) -> NotSupported:
    return _make(NotSupported, f"{venue} has no {operation}", venue=venue, operation=operation)


def _make(cls: type[_E], text: str, **attrs: object) -> _E:
    err = cls(text)
    err.__dict__.update(attrs)
    return err
