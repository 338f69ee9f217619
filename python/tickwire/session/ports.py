"""What the parts of a session need from the session that owns them — narrow interfaces, so a line,
the resyncer and the upkeep loop each see a handful of public members, never ``MarketData`` with its
private attributes. ``MarketData`` implements all three."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tickwire.session.events import StatusKind

if TYPE_CHECKING:
    from tickwire.limits import RateBudget
    from tickwire.session.line import Line
    from tickwire.streams import Sub
    from tickwire.transport.http import HttpClient

# The dispatcher's summary of a frame that needs Python: (kind, ((book key, outcome), ...), value).
Summary = tuple[str, tuple[tuple[str, str], ...], Any]
# The outcomes in a summary that mean a book lost sync, and the reason its resync and status name
# (a local session's and a remote client's alike).
LOST_SYNC = {"gap": "gap", "checksum_mismatch": "checksum", "crossed": "crossed"}


@dataclass(frozen=True)
class LineSettings:
    """How a line connects and keeps its connection alive."""

    connect_timeout: float
    healthy_after: float
    ping_interval: float | None
    pong_timeout: float
    ssl_context: ssl.SSLContext | None
    proxy: str | None = field(repr=False)  # its user part may hold the proxy's password


class Reporter(Protocol):
    """Status events and the audit trail."""

    def status(
        self, kind: StatusKind, *, line: int | None = None, symbol: str | None = None, detail: str = ""
    ) -> None: ...

    def record(self, event: str, **fields: Any) -> None: ...


class LineOwner(Reporter, Protocol):
    """What a line reports to and asks of its session."""

    @property
    def closing(self) -> bool: ...

    def endpoints_in_use(self, exclude: int) -> set[int]: ...

    def live_subs(self) -> list[Sub]: ...

    def on_summary(self, line: Line, summary: Summary, payload: memoryview) -> None: ...

    def on_bad_frame(self, line: Line, error: Exception) -> None: ...

    def on_internal_error(self, line: Line, error: Exception) -> None: ...

    def on_venue_error(self, line: Line, code: str, message: str, symbols: Sequence[str]) -> None:
        """The venue's error answer on ``line`` (``symbols``: those it names, where the adapter read
        them)."""
        ...

    async def on_line_up(self, line: Line) -> None: ...

    def on_line_down(self, line: Line) -> None: ...

    def note_reconnect_delay(self, delay: float) -> None: ...

    def renew(self, line: Line) -> None:
        """``line`` replaced by a new connection before the venue's connection lifetime ends it."""
        ...


class ResyncOwner(Reporter, Protocol):
    """What the resyncer needs: the live subscriptions, a REST client, a line to send on, and how
    long a resync may take (read at each attempt: the session's attribute may be changed)."""

    resync_timeout: float

    @property
    def closing(self) -> bool: ...

    def count(self, counter: str) -> None: ...

    def live_subs(self) -> list[Sub]: ...

    def rest(self, turn: int = 0) -> HttpClient: ...

    def rest_budget(self, turn: int = 0) -> RateBudget | None: ...

    def send_first(self, msgs: Sequence[bytes]) -> None: ...

    def books_held(self) -> AbstractContextManager[object]: ...
