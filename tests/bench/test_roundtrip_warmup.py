"""The ``roundtrip`` stage times each contender's orders from its first: the first order of every
round (a session or connection just opened, caches cold) measured 1.6 to 7.3 times that round's median in an
instrumented run (raw REST 880 µs against 120 µs), and with ``--quick``'s 10 orders it *was* the p99
and p99.9. One untimed order of each contender's round is a warm-up now, for every contender alike."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import tickwire
from tickwire.bench import roundtrip

N = 4


class _Http:
    """``HttpClient`` as ``_raw`` uses it, counting the orders placed."""

    placed = 0

    def __init__(self, *a: Any, **kw: Any) -> None:
        pass

    async def __aenter__(self) -> _Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        if method == "POST":
            _Http.placed += 1
        return SimpleNamespace(raise_for_status=lambda: SimpleNamespace(json=lambda: {"orderId": 1}))


class _Trade:
    """``tickwire.trade(...)`` as ``_tickwire`` uses it, counting the orders placed."""

    placed = 0

    async def __aenter__(self) -> _Trade:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def place_order(self, *a: Any, **kw: Any) -> Any:
        _Trade.placed += 1
        return SimpleNamespace(client_id="c")

    async def cancel_order(self, *a: Any, **kw: Any) -> None:
        pass

    def template(self, *a: Any) -> Any:
        return SimpleNamespace(send=self.place_order)


@pytest.mark.parametrize("key", ["raw", "rest", "template_rest"])
def test_every_contender_places_one_untimed_order_before_its_timed_ones(monkeypatch, key: str) -> None:  # type: ignore[no-untyped-def]
    import tickwire.transport.http as http

    monkeypatch.setattr(http, "HttpClient", _Http)
    monkeypatch.setattr(tickwire, "trade", lambda *a, **kw: _Trade())
    _Http.placed = _Trade.placed = 0
    ep = {"rest": "http://127.0.0.1:1"}
    got = asyncio.run(roundtrip._raw(ep, N) if key == "raw" else roundtrip._tickwire(ep, N, key))
    assert len(got) == N
    assert (_Http.placed if key == "raw" else _Trade.placed) == N + 1, "no warm-up order"
