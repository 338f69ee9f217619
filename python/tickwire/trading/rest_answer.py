"""A venue's answer to a signed REST request read (``Wire``'s, and a template's slow path's): the
grammar's decode or its typed error, the usage the answer's headers state fed to the rate budget, a
rate-limit refusal's wait — the venue's ``Retry-After``, the grammar's, else its reset time read
against the venue's clock — and a 2xx whose body is no JSON at all taken as a lost answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from tickwire.errors import RateLimitError, TickwireError, TransportError
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
    except (ValueError, TickwireError) as e:
        # A 2xx whose body is no JSON at all (cut short, an HTML page): the venue answered and may
        # have acted, but what it said cannot be read — as if the answer was lost, the caller
        # reconciles. (Grammars raise orjson's ValueError or their own error for it; a venue's
        # error stated in valid JSON stays what the grammar made of it.)
        if status >= 300 or _is_json(body):
            raise
        raise TransportError(
            f"{g.venue}: unreadable answer to {call.method} {call.path} (HTTP {status}): {e}"
        ) from e


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True
