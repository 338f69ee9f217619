"""Market-data sessions: :func:`connect` and what it builds.

async with tickwire.connect("okx", symbols=["BTC-USDT"], channels=["book", "trades"]) as md:
    md.book("BTC-USDT").best_bid()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tickwire.session.adapter import Adapter
from tickwire.session.events import StatusEvent
from tickwire.session.handoff import QUEUE_MAX
from tickwire.streams import Channel, Endpoint
from tickwire.venues import adapter_class

if TYPE_CHECKING:
    from tickwire.session.market import MarketData


def __getattr__(name: str) -> Any:
    # Venue modules import ``session.adapter``; the session machinery (transport, audit, histograms)
    # loads only when a session is made, so signing alone stays a light import.
    if name == "MarketData":
        from tickwire.session.market import MarketData

        return MarketData
    raise AttributeError(name)


__all__ = [
    "Endpoint",
    "MarketData",
    "StatusEvent",
    "adapter_for",
    "connect",
    "connect_threaded",
    "run",
]


def adapter_for(venue: str, options: Mapping[str, Any] | None = None) -> Adapter:
    """A new adapter for ``venue``, from the class its venue module registered."""
    return adapter_class(venue)(options)


def connect(
    venue: str,
    symbols: Iterable[str],
    *,
    channels: Iterable[Channel] = ("book",),
    endpoints: Sequence[Endpoint | Mapping[str, Any]] | None = None,
    credentials: Any = None,
    venue_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> MarketData:
    """A market-data session for ``venue``: ``async with connect(...) as md`` connects every line,
    subscribes, and returns once every book is in sync (``wait=False`` semantics: use
    ``await md.start(wait=False)`` instead of ``async with``).

    ``endpoints``: an ordered list (failover order) of ``{"ws": {label: url}, "rest": url}`` — the
    shape of ``tickwire.sim.Simulator.urls()[venue]`` — defaulting to the venue's production hosts.
    ``credentials``: a venue ``Signer`` where the stream needs one (Cloud9Trader upgrade headers,
    Coinbase JWTs). ``venue_options``: adapter settings (e.g. ``{"depth": 25}``, ``{"category":
    "linear"}``, ``{"token": ...}``). Other keyword options are :class:`MarketData`'s.
    """
    from tickwire.session.market import MarketData

    opts = dict(venue_options or {})
    if credentials is not None:
        opts.setdefault("signer", credentials)
    return MarketData(adapter_for(venue, opts), symbols, channels=channels, endpoints=endpoints, **options)


def connect_threaded(
    venue: str,
    symbols: Iterable[str],
    *,
    dispatch: Any = "thread",
    start_timeout: float | None = None,
    queue_max: int = QUEUE_MAX,
    **kwargs: Any,
) -> Any:
    """:func:`connect` on a background thread with its own (uv)loop, for synchronous bots; returns
    a started :class:`~tickwire.session.threaded.ThreadedMarketData` once the books are in sync.
    ``queue_max``: with ``dispatch="queue"``, how many events may wait for ``md.get()``."""
    from tickwire.session.threaded import ThreadedMarketData

    md = ThreadedMarketData(connect(venue, symbols, **kwargs), dispatch, queue_max)
    return md.start(start_timeout)


def run(main: Any) -> Any:
    """``tickwire.run(main())``: ``asyncio.run`` on uvloop where installed."""
    from tickwire.loop import run as _run

    return _run(main)
