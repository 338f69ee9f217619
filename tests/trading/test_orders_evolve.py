"""``evolve``: the tracker's copy of an order with some fields changed, held to ``dataclasses.replace``
(the second implementation) on any order and any set of changes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickwire.trading.orders import Fee, Order, evolve

decimals = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)
maybe = st.none()
VALUES: dict[str, Any] = {
    "venue": st.sampled_from(["binance", "okx", "kraken"]),
    "symbol": st.text(min_size=1, max_size=12),
    "side": st.sampled_from(["buy", "sell"]),
    "type": st.sampled_from(["limit", "market"]),
    "qty": decimals,
    "price": maybe | decimals,
    "tif": st.sampled_from(["GTC", "IOC", "FOK"]),
    "client_id": st.text(min_size=1, max_size=36),
    "order_id": maybe | st.text(max_size=20),
    "filled": decimals,
    "avg_price": maybe | decimals,
    "status": st.sampled_from(["pending", "new", "partially_filled", "filled", "canceled", "unknown"]),
    "post_only": st.booleans(),
    "reduce_only": st.booleans(),
    "fee": decimals,
    "fee_asset": maybe | st.text(max_size=6),
    "other_fees": st.lists(st.builds(Fee, st.text(min_size=1, max_size=6), decimals), max_size=3).map(tuple),
    "created_ns": maybe | st.integers(0, 2**63),
    "updated_ns": maybe | st.integers(0, 2**63),
    "reason": st.text(max_size=30),
}


def test_every_field_of_an_order_has_values_drawn_for_it() -> None:
    assert set(VALUES) == {f.name for f in dataclasses.fields(Order)}


@given(fields=st.fixed_dictionaries(VALUES), changes=st.fixed_dictionaries({}, optional=VALUES))
def test_evolve_is_dataclasses_replace(fields: dict[str, Any], changes: dict[str, Any]) -> None:
    old = Order(**fields)
    got, want = evolve(old, changes), dataclasses.replace(old, **changes)
    assert got == want and hash(got) == hash(want) and repr(got) == repr(want)
    for f in dataclasses.fields(Order):
        assert getattr(got, f.name) is getattr(want, f.name)
    assert old == Order(**fields)  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.status = "new"  # type: ignore[misc]


def test_a_name_that_is_not_a_field_is_a_type_error_and_properties_are_not_fields() -> None:
    old = Order(venue="binance", symbol="BTCUSDT", side="buy", type="limit", qty=Decimal(1), client_id="c1")
    for name in ("nope", "is_open", "remaining", "fees"):
        with pytest.raises(TypeError):
            evolve(old, {name: 1})
        with pytest.raises(TypeError):
            dataclasses.replace(old, **{name: 1})


def test_the_generated_inits_read_as_the_dataclasses_did() -> None:
    """Tools that read ``__init__`` (pydantic, cattrs, ``inspect``) see its annotations resolve and
    its module as before the fast ``__init__``s."""
    import inspect
    import typing

    from tickwire.trading.orders import Fill, Order, OrderEvent

    for cls in (Order, Fill, OrderEvent):
        hints = typing.get_type_hints(cls.__init__)
        assert set(hints) - {"return"} == {f.name for f in dataclasses.fields(cls)}
        assert list(inspect.signature(cls, eval_str=True).parameters) == [
            f.name for f in dataclasses.fields(cls)
        ]
        assert cls.__init__.__module__ == "tickwire.trading.orders"
