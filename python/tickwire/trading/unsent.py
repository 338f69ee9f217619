"""What a request's error says of whether the request went out: marked ``unsent`` when it was raised
before any byte of it was written (nothing to reconcile), and a batch refused entry by entry. Apart
from :mod:`tickwire.trading.wire`, which marks them, because every order path reads them."""

from __future__ import annotations

from typing import TypeVar

from tickwire.errors import TickwireError

E = TypeVar("E", bound=BaseException)


def unsent(e: E) -> E:
    """``e``, marked as raised before any byte of its request was written (the budget's wait, the kill
    switch, the order socket down): the venue cannot have the order, so there is nothing to reconcile,
    and the order is withdrawn, not tracked as rejected."""
    e.__dict__["unsent"] = True
    return e


def was_unsent(e: BaseException) -> bool:
    return e.__dict__.get("unsent") is True


def by_entry(e: TickwireError) -> bool:
    """Whether ``e`` refused a batch entry by entry (OKX's code "1": each entry its own cause). A batch
    of new orders refused so for rate is neither resent nor learnt whole: its other entries were
    refused for other causes, and the venue counts each where its entry goes (OKX: per instrument).
    A batch of cancels (one instrument's) is, as any request refused for rate: a cancel must go."""
    return "_entries" in e.__dict__
