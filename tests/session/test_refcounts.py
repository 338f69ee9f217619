"""The subscription registry's reference counts (``session/registry.py``): an unsubscribe naming one
symbol not subscribed changes nothing (before: the others were dropped and left streaming)."""

from __future__ import annotations

import pytest
from tickwire.session.registry import Registry
from tickwire.streams import Sub


def test_an_unsubscribe_with_an_unknown_symbol_drops_nothing() -> None:
    r = Registry()
    a, b = Sub("book", "A"), Sub("book", "B")
    assert r.add([a, a]) == [a]
    with pytest.raises(KeyError, match="not subscribed: book B"):
        r.remove([a, b])
    assert r.live() == [a]
    with pytest.raises(KeyError):
        r.remove([a, a, a])  # three references asked back, two held
    assert r.remove([a]) == [] and r.remove([a]) == [a] and r.live() == []
