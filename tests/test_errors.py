import re
from typing import Any

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


_SNAP = b'{"lastUpdateId":1,"bids":[["1.0","2"],["0.9","1"]],"asks":[["2.0","3"]]}'


def _book() -> Any:
    from tickwire import BookFeed

    f = BookFeed("binance")
    f.on_snapshot("BTCUSDT", _SNAP)
    return f.book("BTCUSDT")


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: _book().levels("bid", -1), "a count must be >= 0, not -1"),
        (lambda: _book().levels_exact("ask", -2), "a count must be >= 0, not -2"),
        (lambda: _book().depth("bid", -1), "a count must be >= 0, not -1"),
        (lambda: _book().imbalance(-5), "a count must be >= 0, not -5"),
        (lambda: _feed(max_depth=-1), "a count must be >= 0, not -1"),
        (lambda: _feed(price_decimals=-1), "decimals must be within 0..=18, not -1"),
        (lambda: _feed(qty_decimals=256), "decimals must be within 0..=18, not 256"),
        (lambda: _feed(checksum_price_decimals=19), "decimals must be within 0..=18, not 19"),
        (lambda: _feed().set_checksum_decimals("X", 2, -3), "decimals must be within 0..=18, not -3"),
        (lambda: _feed().arbitrate(0.1, -1), "a count must be >= 0, not -1"),
    ],
)
def test_counts_and_decimals_out_of_range_are_value_errors_saying_what_was_expected(
    call: Any, says: str
) -> None:
    """Before stop 41 a negative or oversized one was pyo3's bare ``OverflowError`` ("can't convert
    negative int to unsigned"), which names neither the argument's meaning nor its range."""
    with pytest.raises(ValueError, match=re.escape(says)) as e:
        call()
    assert not isinstance(e.value, OverflowError)


def test_a_count_past_the_platforms_range_asks_for_everything_as_a_slice_would() -> None:
    b = _book()
    assert b.levels("bid", 2**70) == b.levels("bid", 100) == [(1.0, 2.0), (0.9, 1.0)]
    assert b.depth("bid", 2**70) == 3.0
    with pytest.raises(TypeError):
        b.levels("bid", 2.5)  # type: ignore[arg-type]


def _feed(**kw: Any) -> Any:
    from tickwire import BookFeed

    return BookFeed("binance", **kw)
