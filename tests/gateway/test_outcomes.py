"""The gateway's kept replies (``tickwire.gateway.outcomes``): kept ``KEEP_S`` for the ``outcome``
question and at most ``KEEP_MAX``, whatever runs long beside them."""

from __future__ import annotations

import asyncio

import pytest
from tickwire.gateway import outcomes
from tickwire.gateway.outcomes import Outcomes


def test_a_request_that_runs_long_does_not_hold_back_the_pruning_of_the_replies_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request still running from the start, then 50 an hour later, each replied at once, then
    50 two hours later: the replies past ``KEEP_S`` are gone (before, pruning stopped at the oldest
    entry while it ran: all 100 kept, and at any rate for as long as it ran), the running one is
    still answered ``again`` with its future, and the fresh ones kept."""
    clock = [0.0]
    monkeypatch.setattr(outcomes.time, "monotonic", lambda: clock[0])

    async def body() -> None:
        kept = Outcomes()
        _, long = kept.begin(("s", "long"))
        assert long is not None
        for hour in (1, 2):
            clock[0] = hour * 3600.0
            for i in range(50):
                state, fut = kept.begin(("s", f"{hour}-{i}"))
                assert state == "new" and fut is not None
                fut.set_result({"ok": True})
        assert len(kept.replies) == 1 + 50, len(kept.replies)
        assert kept.begin(("s", "long")) == ("again", long)
        assert all(kept.begin(("s", f"2-{i}"))[0] == "again" for i in range(50))
        state, again = kept.begin(("s", "1-0"))
        assert state == "new" and again is not None  # forgotten: a request under it is new
        again.set_result({"ok": True})
        long.set_result({"ok": True})
        clock[0] = 3 * 3600.0
        kept.begin(("s", "last"))
        assert list(kept.replies) == [("s", "last")]

    asyncio.run(body())


def test_the_count_cap_holds_while_a_request_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``KEEP_MAX`` (made 20) caps the replies kept within ``KEEP_S`` too, a running one in front."""
    monkeypatch.setattr(outcomes, "KEEP_MAX", 20)

    async def body() -> None:
        kept = Outcomes()
        _, long = kept.begin(("s", "long"))
        for i in range(100):
            _, fut = kept.begin(("s", str(i)))
            assert fut is not None
            fut.set_result({})
        assert len(kept.replies) <= 21, len(kept.replies)
        assert ("s", "long") in kept.replies and ("s", "99") in kept.replies
        assert long is not None and not long.done()

    asyncio.run(body())
