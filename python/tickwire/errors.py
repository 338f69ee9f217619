"""The one exception hierarchy of tickwire.

The classes are created once inside the Rust extension (so Rust and Python raise the very same
types) and re-exported here. Bad input also subclasses :class:`ValueError`; a missing credential
subclasses :class:`LookupError`; connection failures subclass :class:`ConnectionError` (and time-outs
:class:`TimeoutError` too). A venue's own error answer is a :class:`VenueError` (rate limits and
refused credentials have subclasses; a venue's answer to an order request is an :class:`OrderError`).
Order input refused before sending is :class:`InvalidOrder` (a :class:`ValueError`); an order whose
fate is unknown is :class:`UnknownOutcome`; an operation a venue lacks is :class:`NotSupported` (a
:class:`NotImplementedError`). A bug in the Rust core surfaces as :class:`InternalError`,
never as a crash. A frame a book refused (:class:`BookError`, or :class:`ValueRangeError` for a
number past its scale) names that book in ``symbol``, and every book of a refused frame of several
in ``symbols``.

:class:`TradingHalted` — new orders refused because the session's kill switch was thrown (until
``resume()``) — and :class:`RiskLimitExceeded` — a new order that could pass a risk limit — are
defined here in Python: they are the session's own state, never raised by the core.
"""

from tickwire._core import (
    AuthError,
    BookError,
    ChecksumError,
    CredentialsError,
    DecodeError,
    DuplicateOrder,
    InsufficientFunds,
    InternalError,
    InvalidOrder,
    NotSupported,
    OrderError,
    OrderNotFound,
    OrderRejected,
    RateLimitError,
    RequestTimeoutError,
    SequenceGapError,
    SigningKeyError,
    TickwireError,
    TransportError,
    UnknownOutcome,
    ValueRangeError,
    VenueError,
)


class TradingHalted(TickwireError):
    """A new order or amend refused, nothing sent: the session's kill switch was thrown
    (``TradingSession.kill``) and it has not been resumed. ``reason``: the kill's reason."""

    reason: str = ""


class RiskLimitExceeded(TickwireError):
    """A new order refused, nothing sent: it could take the session past one of its risk limits on
    ``symbol`` (``limit``: ``max_open_orders`` — the user's or the venue's announced one —,
    ``max_position``, ``max_order_qty`` or ``max_order_notional``; see
    :mod:`tickwire.trading.risk`). Sending it again changes nothing until an order ends or fills."""

    symbol: str = ""
    limit: str = ""


class CaptureFormatError(DecodeError):
    """A capture file's line that is no event of its format (``tickwire replay``: cut mid-line, not an
    object, bad base64, no payload, not UTF-8); ``line`` is its number, from 1."""

    line: int = 0


__all__ = [
    "AuthError",
    "BookError",
    "CaptureFormatError",
    "ChecksumError",
    "CredentialsError",
    "DecodeError",
    "DuplicateOrder",
    "InsufficientFunds",
    "InternalError",
    "InvalidOrder",
    "MarketClosed",
    "NotSupported",
    "OrderError",
    "OrderNotFound",
    "OrderRejected",
    "RateLimitError",
    "RequestTimeoutError",
    "RiskLimitExceeded",
    "SequenceGapError",
    "SigningKeyError",
    "TickwireError",
    "TradingHalted",
    "TransportError",
    "UnknownOutcome",
    "ValueRangeError",
    "VenueError",
]


class MarketClosed(OrderRejected):
    """The order's market takes no new orders: the venue refused it so (Tradefence 1003, Binance's
    "Market is closed.", Kraken's cancel-only mode), or tickwire did before sending because the venue's
    instrument list says so (``InstrumentRules.trading``: a symbol halted, cancel-only, or announced
    and not yet listed). Nothing was placed, and resending before the market opens would be refused
    the same way, so it is not; the session reads the venue's instrument list again after such a
    refusal (at most every few seconds), so its next order goes as soon as the market reopens."""
