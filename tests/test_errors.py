import pytest
import tickwire
from tickwire import errors


def test_hierarchy_subclasses_stdlib_where_meaning_matches() -> None:
    assert issubclass(errors.SigningKeyError, errors.TickwireError)
    assert issubclass(errors.SigningKeyError, ValueError)
    assert issubclass(errors.DecodeError, ValueError)
    assert issubclass(errors.CredentialsError, LookupError)
    assert issubclass(errors.ChecksumError, errors.BookError)
    assert errors.TickwireError.__module__ == "tickwire.errors"


def test_rust_panic_becomes_tickwire_error_not_a_crash() -> None:
    with pytest.raises(errors.InternalError, match="boom-42"):
        tickwire._core._panic_for_test("boom-42")
    # the interpreter is still usable afterwards, and it is an ordinary Exception
    with pytest.raises(Exception):  # noqa: B017
        tickwire._core._panic_for_test("again")


def test_build_info_names_the_profile() -> None:
    info = tickwire.build_info()
    assert info["profile"] in {"release", "debug"}
    assert info["version"] == tickwire.__version__


def test_connection_errors_keep_stdlib_meanings() -> None:
    # Callers' existing `except ConnectionError` / `except TimeoutError` must catch tickwire's.
    assert issubclass(errors.TransportError, ConnectionError)
    assert issubclass(errors.RequestTimeoutError, errors.TransportError)
    assert issubclass(errors.RequestTimeoutError, TimeoutError)
    assert issubclass(errors.RateLimitError, errors.VenueError)
    assert issubclass(errors.AuthError, errors.VenueError)
    for cls in (errors.TransportError, errors.VenueError, errors.RateLimitError, errors.AuthError):
        assert issubclass(cls, errors.TickwireError)
        assert not issubclass(cls, ValueError)


def test_order_entry_classes_are_in_the_one_hierarchy() -> None:
    # Created once in Rust (rust/py/errors.rs HIERARCHY) and re-exported: the very same objects.
    for name in ("OrderError", "OrderRejected", "InsufficientFunds", "DuplicateOrder", "OrderNotFound",
                 "InvalidOrder", "UnknownOutcome", "NotSupported"):  # fmt: skip
        cls = getattr(errors, name)
        assert cls is getattr(tickwire._core, name) and name in errors.__all__
        assert issubclass(cls, errors.TickwireError)
    assert issubclass(errors.InsufficientFunds, errors.OrderRejected)
    assert issubclass(errors.OrderNotFound, LookupError)
    assert issubclass(errors.InvalidOrder, ValueError)
    assert issubclass(errors.NotSupported, NotImplementedError)
