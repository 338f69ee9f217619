"""One module per venue. Each defines ``Signer`` (built once per credential) with the venue's signature
methods (direct calls into the Rust core) and builders of the complete auth headers/params, and the
venue's market-data ``Adapter`` classes, which it registers here (:func:`register`) so that
``tickwire.connect(venue, ...)`` finds them with no list of venues to keep.

Common to every signer: ``Signer.from_env()`` reads the credentials from ``<VENUE>_API_KEY`` etc.
(see :class:`tickwire.auth.Credentials`); ``clock=`` injects the time source (Unix ms); REST signers
have ``sign_request(method, path, params, body, *, timestamp=None) -> SignedRequest``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from tickwire._core import venue_names, venue_spec

if TYPE_CHECKING:
    from tickwire.session.adapter import Adapter

_adapters: dict[str, type[Adapter]] = {}
_all_imported = False


def register(*adapters: type[Adapter]) -> None:
    """Makes each adapter class the one ``tickwire.connect`` uses for its ``venue``. Called at the
    bottom of each venue module."""
    for cls in adapters:
        known = _adapters.get(cls.venue)
        # The same class again is a module reloaded; another one is a second adapter for the venue.
        if known is not None and _where(known) != _where(cls):
            raise ValueError(f"venue {cls.venue!r} has two adapters: {_where(known)}, {_where(cls)}")
        _adapters[cls.venue] = cls


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def adapters() -> Mapping[str, type[Adapter]]:
    """Every registered adapter class by venue name, in the core's venue order. The first call imports
    every venue module of this package (each registers itself on import)."""
    global _all_imported
    if not _all_imported:
        for m in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{m.name}")
        _all_imported = True
    order = {name: i for i, name in enumerate(venue_names())}
    return MappingProxyType(dict(sorted(_adapters.items(), key=lambda kv: order.get(kv[0], len(order)))))


def adapter_class(venue: str) -> type[Adapter]:
    """The adapter class of ``venue`` (a name or alias the core knows: ``"huobi"`` is ``"htx"``)."""
    known = adapters()
    try:
        name = venue_spec(venue).name
    except ValueError:
        raise ValueError(f"unknown venue {venue!r}; one of {', '.join(known)}") from None
    try:
        return known[name]
    except KeyError:
        raise ValueError(
            f"no session adapter for {name!r}, only its book feed (BookFeed({name!r})); "
            f"sessions connect to {', '.join(known)}"
        ) from None
