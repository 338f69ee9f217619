"""A venue's answer to a signed REST request read (``Wire``'s, and a template's slow path's): the
grammar's decode or its typed error, the usage the answer's headers state fed to the rate budget, a
rate-limit refusal's wait — the venue's ``Retry-After``, the grammar's, else its reset time read
against the venue's clock — and an answer the grammar cannot read (no JSON, a shape it does not know, a
2xx naming no venue code) a typed ``TransportError``: as if the answer was lost, the caller
reconciles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickwire.errors import RateLimitError, TickwireError, TransportError, UnknownOutcome
from tickwire.limits import RateBudget
from tickwire.trading.venue import Call, OrderGrammar
from tickwire.transport.http_conn import retry_after_s


def read_answer(
    grammar: OrderGrammar,
    budget: RateBudget,
    reset_clock: Callable[[], float],
    status: int,
    body: bytes,
    headers: dict[str, str],
    call: Call,
    age: float | None = None,
) -> Any:
    """A REST answer to ``call`` decoded by ``grammar`` (or its typed error raised), the usage its
    headers state fed to ``budget`` (``age``: seconds since the request went out, see
    ``RateBudget.observe``); ``reset_clock``: the venue's clock a reset time is read against
    (``Wire.reset_clock``)."""
    g: Any = grammar
    if hasattr(g, "read_usage"):  # usage of the limits ``call`` counts against
        budget.observe(g.read_usage(headers, call), age)
    try:
        return g.read_answer(status, body)
    except RateLimitError as e:
        # The Retry-After header's wait, else the one the grammar read from the answer (Bybit's
        # 403: 10 min), else the venue's reset time (Bybit's X-Bapi-Limit-Reset-Timestamp).
        wait = retry_after_s(headers.get("retry-after"))
        if wait is None:
            wait = getattr(e, "retry_after", None)
        if wait is None and hasattr(g, "read_reset"):
            # The reset time is on the venue's clock: read against ours, a venue 20 s ahead (or
            # our clock stepped 20 s back) blocked a one-second limit for 21 s.
            wait = g.read_reset(headers, reset_clock())
        e.__dict__["retry_after"] = wait
        raise
    except TickwireError as e:
        # A typed refusal of a status past 2xx, or a venue's error stated with its code, stays what the
        # grammar made of it. A 2xx naming no venue code (a bare number, ``null``: a proxy's, a body
        # cut at a value) is unread: the venue answered and may have acted — as if the answer was
        # lost, the caller reconciles (taken for a refusal, the order was recorded rejected).
        if status >= 300 or venue_said(e):
            raise
        raise unreadable(g.venue, f"{call.method} {call.path} (HTTP {status})", e) from e
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, ArithmeticError) as e:
        # No JSON at all (cut short, an HTML page), or JSON of a shape the grammar does not know (a
        # number where a list goes): typed, never a bare error escaping into the order path, and
        # unread — the caller reconciles.
        raise unreadable(g.venue, f"{call.method} {call.path} (HTTP {status})", e) from e


def venue_said(e: TickwireError) -> bool:
    """``e`` (a grammar's reading of an answer, REST or the order socket's) is the venue's own word —
    an answer with its code, or one the grammar took for an unknown outcome — not a reader's failure
    to find one."""
    return isinstance(e, UnknownOutcome) or getattr(e, "code", None) is not None


def unreadable(venue: str, what: str, e: BaseException) -> TransportError:
    """The answer to ``what`` could not be read: what the caller reconciles, as a lost answer."""
    return TransportError(f"{venue}: unreadable answer to {what}: {type(e).__name__}: {e}")
