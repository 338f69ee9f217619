"""What order entry puts on the bus: the trading types and tickwire's errors as JSON (orjson).

Prices and quantities travel as the exact decimal text of their ``Decimal`` (``str``: it reads back
to the same value and scale), never as JSON numbers, so nothing on the way passes through a float.
Dataclasses (``Order``, ``Fill``, ``Balance``, ``Position``, ``InstrumentRules``, ``KillReport``) are
objects of their fields; a reader rebuilds them from their field types.

An error is ``{"error": <class name in tickwire.errors>, "message": str(e), "fields": {…}}``, the
fields being the attributes the error carries (``rule``, ``nearest``, ``client_id``, ``reason``,
``code``, ``status``, ``retry_after``, …); :func:`error_from` raises it again as the same class. The
fields sit apart from ``message`` because some errors have an attribute of that name too.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import tickwire.errors as errors_mod
from tickwire.errors import InternalError, InvalidOrder, TickwireError
from tickwire.trading.kill import KillReport
from tickwire.trading.orders import Fill, Order
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.venue import Balance, Position

T = TypeVar("T")

_DEC = "$d"  # a Decimal among an error's fields: {"$d": "0.01"}
_PLAIN = frozenset({str, int, float, bool})


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def dump(obj: Any) -> Any:
    """``obj`` as JSON-ready values: dataclasses as objects, Decimals as exact text."""
    if obj is None or type(obj) in _PLAIN:  # most fields: no ABC check for them
        return obj
    if isinstance(obj, Decimal):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: dump(getattr(obj, name)) for name in _names(type(obj))}
    if isinstance(obj, Mapping):
        return {str(k): dump(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [dump(v) for v in obj]
    return obj


Reader = Callable[[Any], Any]
_READERS: dict[type, tuple[frozenset[str], dict[str, Reader]]] = {}


def _same(v: Any) -> Any:
    return v


def _reader(tp: Any) -> Reader:
    """How a field of type ``tp`` is read back (worked out once per field, not per message)."""
    if tp is Decimal:
        return lambda v: None if v is None else Decimal(v)
    args, origin = typing.get_args(tp), typing.get_origin(tp)
    if origin is tuple and args:
        item = _reader(args[0])
        return lambda v: None if v is None else tuple(item(x) for x in v)
    if args and origin is not typing.Literal:  # X | None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _reader(inner[0])
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda v: None if v is None else load(tp, v)
    return _same


def _readers(cls: type) -> tuple[frozenset[str], dict[str, Reader]]:
    """A dataclass's fields read as they are, and those with a reader."""
    got = _READERS.get(cls)
    if got is None:
        hints = typing.get_type_hints(cls)
        readers = {f.name: _reader(hints[f.name]) for f in dataclasses.fields(cls)}
        plain = frozenset(k for k, r in readers.items() if r is _same)
        got = _READERS[cls] = (plain, {k: r for k, r in readers.items() if r is not _same})
    return got


def load(cls: type[T], d: Mapping[str, Any]) -> T:
    """A ``cls`` dataclass from :func:`dump`'s object (unknown keys ignored: a newer peer's)."""
    plain, readers = _readers(cls)
    kw = {k: v for k, v in d.items() if k in plain}
    for k, read in readers.items():
        if k in d:
            kw[k] = read(d[k])
    return cls(**kw)


def load_order(d: Mapping[str, Any]) -> Order:
    return load(Order, d)


def load_fill(d: Mapping[str, Any]) -> Fill:
    return load(Fill, d)


def load_orders(xs: list[Any]) -> list[Order]:
    return [load(Order, x) for x in xs]


def load_kill(d: Mapping[str, Any]) -> KillReport:
    return load(KillReport, d)


def load_balances(d: Mapping[str, Any]) -> dict[str, Balance]:
    return {k: load(Balance, v) for k, v in d.items()}


def load_positions(d: Mapping[str, Any]) -> dict[str, Position]:
    return {k: load(Position, v) for k, v in d.items()}


def load_rules(d: Mapping[str, Any]) -> dict[str, InstrumentRules]:
    return {k: load(InstrumentRules, v) for k, v in d.items()}


# errors --------------------------------------------------------------------------------------------


def _field_out(v: Any) -> Any:
    if isinstance(v, Decimal):
        return {_DEC: str(v)}
    if isinstance(v, list | tuple):
        return [_field_out(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _field_out(x) for k, x in v.items()}
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _field_in(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {_DEC}:
            return Decimal(v[_DEC])
        return {k: _field_in(x) for k, x in v.items()}
    if isinstance(v, list):
        return tuple(_field_in(x) for x in v)
    return v


def dump_error(e: BaseException) -> dict[str, Any]:
    """An exception as the bus carries it. A tickwire error keeps its class; bad request input
    (``ValueError``, ``TypeError``, ``KeyError`` raised while reading it) is ``InvalidOrder``; anything
    else is a gateway bug, ``InternalError``."""
    if isinstance(e, TickwireError):
        name = type(e).__name__
    elif isinstance(e, ValueError | TypeError | KeyError):
        name = InvalidOrder.__name__
    else:
        name = InternalError.__name__
    fields = {k: _field_out(v) for k, v in vars(e).items() if not k.startswith("_")}
    return {"error": name, "message": str(e), "fields": fields}


def error_from(d: Mapping[str, Any]) -> TickwireError:
    """The exception :func:`dump_error` described, as the same ``tickwire.errors`` class (a name this
    side does not know is a plain ``TickwireError``)."""
    cls = getattr(errors_mod, str(d.get("error")), None)
    if not (isinstance(cls, type) and issubclass(cls, TickwireError)):
        cls = TickwireError
    e = cls(str(d.get("message", "")))
    for k, v in dict(d.get("fields") or {}).items():
        setattr(e, k, _field_in(v))
    return e
