"""The one exception hierarchy of tickwire.

The classes are created once inside the Rust extension (so Rust and Python raise the very same
types) and re-exported here. Bad input also subclasses :class:`ValueError`; a missing credential
subclasses :class:`LookupError`; connection failures subclass :class:`ConnectionError` (and time-outs
:class:`TimeoutError` too). A venue's own error answer is a :class:`VenueError` (rate limits and
refused credentials have subclasses). A bug in the Rust core surfaces as :class:`InternalError`,
never as a crash.
"""

from tickwire._core import (
    AuthError,
    BookError,
    ChecksumError,
    CredentialsError,
    DecodeError,
    InternalError,
    RateLimitError,
    RequestTimeoutError,
    SequenceGapError,
    SigningKeyError,
    TickwireError,
    TransportError,
    ValueRangeError,
    VenueError,
)

__all__ = [
    "AuthError",
    "BookError",
    "ChecksumError",
    "CredentialsError",
    "DecodeError",
    "InternalError",
    "RateLimitError",
    "RequestTimeoutError",
    "SequenceGapError",
    "SigningKeyError",
    "TickwireError",
    "TransportError",
    "ValueRangeError",
    "VenueError",
]
