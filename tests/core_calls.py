"""Counting the calls Python makes into the Rust core (``tickwire._core``) while a test drives traffic:
the hot paths' rule is one such call per market-data frame and one per order (README: "one
Python→Rust call"), and nothing else guards it.

``CoreCalls`` (``sys.setprofile``) sees every call of a ``_core`` function or method made on this
thread, with the Python line that made it. It does not see a property read (``obj.pending``: the
getter runs without a call event) nor a special method taken from the type (``with lock:``'s
``__enter__``): ``Spy`` stands in for a core object the library holds and counts what is read of it.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

CORE = "tickwire._core"


def core_name(fn: Any) -> str | None:
    """``Class.method`` or ``function`` when ``fn`` belongs to ``tickwire._core``, else None."""
    if getattr(fn, "__module__", None) == CORE:  # a function of the module
        return str(getattr(fn, "__qualname__", fn))
    owner = getattr(fn, "__self__", None)
    cls = owner if isinstance(owner, type) else type(owner)
    if owner is not None and cls.__module__ == CORE:  # a method (or a static one) of a core class
        return f"{cls.__name__}.{getattr(fn, '__name__', '?')}"
    return None


class CoreCalls:
    """``with CoreCalls() as c:`` every ``_core`` call made on this thread meanwhile, by name and by
    where it was made (``tickwire/…:line``, or the file's name outside the package): in ``calls``
    those made while no other one runs, in ``within`` those made while one does — from Python the
    core called back (``on_book`` and what it calls, a quote rule's ``on_sent``): a frame's
    ``Dispatcher.on_frame`` is in ``calls``, an order ``on_book`` sends in ``within``. Calls made
    from a file whose path contains one of ``skip`` are left out: the simulator's (it is the venue,
    not the client), and a test's own (its ``on_book`` reading the book, as any strategy does)."""

    def __init__(self, skip: Iterable[str] = ()) -> None:
        self.calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self.within: collections.Counter[tuple[str, str]] = collections.Counter()
        self._skip = ("tickwire/sim/", *skip)
        self._running: list[Any] = []  # the core calls under way, innermost last

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            name = core_name(arg)
            if name is None:
                return
            path = frame.f_code.co_filename
            if any(s in path for s in self._skip):
                return
            at = path.rfind("/tickwire/")
            where = path[at + 1 :] if at >= 0 else Path(path).name
            (self.within if self._running else self.calls)[(name, f"{where}:{frame.f_lineno}")] += 1
            self._running.append(arg)
        elif event in ("c_return", "c_exception") and self._running and self._running[-1] is arg:
            self._running.pop()

    def __enter__(self) -> CoreCalls:
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


def count(calls: collections.Counter[tuple[str, str]], name: str) -> int:
    """Calls of ``name`` (``Class.method``) in ``calls``, wherever made."""
    return sum(n for (k, _), n in calls.items() if k == name)


def besides(calls: collections.Counter[tuple[str, str]], *names: str) -> dict[tuple[str, str], int]:
    """The calls in ``calls`` of anything but ``names``, by (name, where)."""
    return {k: n for k, n in calls.items() if k[0] not in names}


class Spy:
    """Stands in for ``obj`` (a core object the library reads properties of), counting every attribute
    read of it by name in ``reads``; hashed and compared as ``obj`` is, so it may key what ``obj``
    keys. Not for an object handed to Rust (its type is checked there)."""

    def __init__(self, obj: Any, reads: collections.Counter[str]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, name: str) -> Any:
        self._reads[name] += 1
        return getattr(self._obj, name)

    def __hash__(self) -> int:
        return hash(self._obj)

    def __eq__(self, other: object) -> bool:
        return other is self._obj or other is self
