"""The event loops the HTTP client is tested on: every test taking ``run`` runs once per loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from http_scripted import LOOPS, Runner, uvloop


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Runner:
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def go(coro: Coroutine[Any, Any, None]) -> None:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(coro)

    return go
