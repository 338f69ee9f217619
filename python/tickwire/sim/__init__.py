"""The embedded venue simulator: real WebSocket/HTTP servers on loopback speaking each venue's protocol.

The library never imports this package; it verifies signatures with its own implementation
(``tickwire.sim.auth``), independent of tickwire's Rust signers.
"""

from __future__ import annotations

from tickwire.sim.auth import ApiKey
from tickwire.sim.market import BookProcess, BookView, Instrument
from tickwire.sim.server import FAULTS, VenueServer
from tickwire.sim.simulator import Simulator
from tickwire.sim.venues import VENUES

__all__ = ["FAULTS", "VENUES", "ApiKey", "BookProcess", "BookView", "Instrument", "Simulator", "VenueServer"]
