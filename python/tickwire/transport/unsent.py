"""The mark an error carries when it was raised before any byte of its request was written: the
venue cannot have what it asked for (an order is withdrawn, not reconciled). Here, below the order
paths that read it, because the transport is where the bytes go or do not: a connection that could
not be opened (refused, timed out, its TLS handshake failed) marks its error so."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


def unsent(e: E) -> E:
    """``e``, marked as raised before any byte of its request was written (the budget's wait, the kill
    switch, the order socket down, no connection to write on): the venue cannot have the order, so
    there is nothing to reconcile, and the order is withdrawn, not tracked as rejected."""
    e.__dict__["unsent"] = True
    return e


def was_unsent(e: BaseException) -> bool:
    return e.__dict__.get("unsent") is True
