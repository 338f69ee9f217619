"""What a venue's parts (order entry, auth, user data, webhooks …) may use of their venue.

A part gets a ``VenueContext`` rather than the venue object, so it never imports its venue's module:
imports go one way, venue package → parts → shared simulator modules, and a part's reach is what
the context lists. What only one part needs (a key store, a message builder of another part) is an
argument of that part's constructor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickwire.sim.engine import Engine
from tickwire.sim.market import BookProcess, Fmt, Instrument, Step

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.grid import Grids
    from tickwire.sim.venues.private import PrivateFaults
    from tickwire.sim.ws import Conn

Subscribers = Callable[[str], Iterable[tuple["VenueServer", set["Conn"]]]]


@dataclass(frozen=True)
class VenueContext:
    books: Mapping[str, BookProcess]
    instruments: Mapping[str, Instrument]
    fmt: Mapping[str, tuple[Fmt, Fmt]]  # per symbol, (price, size) formatters as the venue prints them
    engine: Engine  # the matching engine; its ledger holds balances and positions
    profile: Mapping[str, Any]  # VenueConfig.profile
    interval: Callable[[str], float]  # a venue interval in seconds, time_scale applied
    # Publish a book step a user's order made (as market data, with its trades).
    publish: Callable[[str, Step], None]
    # Per server, the connections subscribed to a topic (Venue.subscribers).
    subscribers: Subscribers
    # The venue's servers; filled in by the simulator after the venue is built.
    servers: Sequence[VenueServer]
    # What the venue's private streams do wrong on request (duplicates, reordering), one per venue.
    private_faults: PrivateFaults
    # symbol -> what trades on it now, where not everything does (``Simulator.set_status``):
    # "cancel_only" (cancels, no new order) or "closed" (nothing). The venue's instrument list says so in
    # its own words, and its order entry refuses as it does.
    status: Mapping[str, str]
    # The grids the venue lists and enforces where a test changed them (``Simulator.set_grid``).
    grids: Grids
