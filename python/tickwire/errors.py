"""The one exception hierarchy of tickwire.

The classes are created once inside the Rust extension (so Rust and Python raise the very same
types) and re-exported here. Bad input also subclasses :class:`ValueError`; a missing credential
subclasses :class:`LookupError`; connection failures subclass :class:`ConnectionError` (and time-outs
:class:`TimeoutError` too). A venue's own error answer is a :class:`VenueError` (rate limits and
refused credentials have subclasses; a venue's answer to an order request is an :class:`OrderError`).
Order input refused before sending is :class:`InvalidOrder` (a :class:`ValueError`); an order whose
fate is unknown is :class:`UnknownOutcome`; an operation a venue lacks is :class:`NotSupported` (a
:class:`NotImplementedError`). A bug in the Rust core surfaces as :class:`InternalError`,
never as a crash.
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

__all__ = [
    "AuthError",
    "BookError",
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
    "SequenceGapError",
    "SigningKeyError",
    "TickwireError",
    "TransportError",
    "UnknownOutcome",
    "ValueRangeError",
    "VenueError",
]


class MarketClosed(OrderRejected):
    """The venue refused an order because its market is closed (Tradefence 1003): nothing was
    placed, and resending before the market opens would be refused the same way, so it is not."""
