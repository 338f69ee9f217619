"""A session's keep-alive REST clients, one per endpoint, made on first use (snapshots, clock sync,
venue metadata), each exchange written to the audit log.

Apart from :mod:`tickwire.session.market` because it holds connections, not books: the session only
says which endpoint to ask (the one its first connected line streams from).
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from tickwire.audit import AuditSink
from tickwire.errors import TickwireError
from tickwire.limits import Limit, RateBudget
from tickwire.limits.budget import address_budget
from tickwire.recovery.failover import EndpointPool
from tickwire.transport.http import HttpClient


class RestClients:
    """``clients``: the REST client of each endpoint asked so far, by the endpoint's index."""

    def __init__(
        self, venue: str, pool: EndpointPool, ssl_context: ssl.SSLContext | None, audit: AuditSink
    ) -> None:
        self.venue = venue
        self.pool = pool
        self.ssl_context = ssl_context
        self.audit = audit
        self.clients: dict[int, HttpClient] = {}
        self.budgets: dict[int, RateBudget] = {}

    def get(self, endpoint: int) -> HttpClient:
        http = self.clients.get(endpoint)
        if http is None:
            ep = self.pool.endpoints[endpoint]
            if not ep.rest:
                raise TickwireError(f"{self.venue}: endpoint {ep.name} has no REST URL")
            http = HttpClient(ep.rest, ssl_context=self.ssl_context, on_exchange=self._record)
            self.clients[endpoint] = http
        return http

    def budget(self, endpoint: int, venue: str, limits: tuple[Limit, ...]) -> RateBudget | None:
        """The per-address limits of ``endpoint``'s REST host as every session of the process counts
        them (the trading sessions' there included: a venue counts an address's requests together),
        or None without ``limits``."""
        if not limits:
            return None
        rest = self.pool.endpoints[endpoint].rest or ""
        ip = urlsplit(rest).netloc or rest  # as a trading session names the address
        b = self.budgets[endpoint] = address_budget(venue, ip, limits, self.budgets.get(endpoint))
        return b

    async def close(self) -> None:
        for http in self.clients.values():
            await http.close()

    def _record(self, method: str, path: str, status: int, elapsed: float) -> None:
        self.audit.event(
            "rest", venue=self.venue, method=method, path=path, status=status, elapsed_ms=elapsed * 1e3
        )
