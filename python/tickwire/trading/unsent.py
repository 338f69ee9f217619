"""What a request's error says of whether the request went out: marked ``unsent`` when it was raised
before any byte of it was written (nothing to reconcile: the mark is the transport's,
:mod:`tickwire.transport.unsent`), and a batch refused entry by entry. Apart from
:mod:`tickwire.trading.wire`, which marks them, because every order path reads them."""

from __future__ import annotations

from tickwire.errors import TickwireError
from tickwire.transport.unsent import unsent, was_unsent

__all__ = ["by_entry", "unsent", "was_unsent"]


def by_entry(e: TickwireError) -> bool:
    """Whether ``e`` refused a batch entry by entry (OKX's code "1": each entry its own cause). A batch
    of new orders refused so for rate is neither resent nor learnt whole: its other entries were
    refused for other causes, and the venue counts each where its entry goes (OKX: per instrument).
    A batch of cancels (one instrument's) is, as any request refused for rate: a cancel must go."""
    return "_entries" in e.__dict__
