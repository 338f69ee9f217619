"""The one exception hierarchy of tickwire.

The classes are created once inside the Rust extension (so Rust and Python raise the very same
types) and re-exported here. Bad input also subclasses :class:`ValueError`; a missing credential
subclasses :class:`LookupError`. A bug in the Rust core surfaces as :class:`InternalError`, never
as a crash.
"""

from tickwire._core import (
    BookError,
    ChecksumError,
    CredentialsError,
    DecodeError,
    InternalError,
    SequenceGapError,
    SigningKeyError,
    TickwireError,
    ValueRangeError,
)

__all__ = [
    "BookError",
    "ChecksumError",
    "CredentialsError",
    "DecodeError",
    "InternalError",
    "SequenceGapError",
    "SigningKeyError",
    "TickwireError",
    "ValueRangeError",
]
