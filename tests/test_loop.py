"""``tickwire.loop.LoopThread``: a call without a time-out waits for its result however long, and ends
with ``LoopStopped`` when the thread stops first — a synchronous caller is never left blocked for good."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from tickwire.loop import LoopNotRunning, LoopStopped, LoopThread


async def _nothing() -> None:
    return None


def test_a_call_without_a_time_out_waits_and_ends_when_the_thread_stops() -> None:
    t = LoopThread("test-loop", _nothing, _nothing)
    t.start(5.0)

    async def slow() -> str:
        await asyncio.sleep(0.3)
        return "done"

    assert t.call(slow(), None) == "done"  # longer than a poll's half second is fine too

    async def forever() -> None:
        await asyncio.Event().wait()

    stopper = threading.Timer(0.2, t.stop)
    stopper.start()
    started = time.monotonic()
    with pytest.raises(LoopStopped, match="stopped while the call was running"):
        t.call(forever(), None)
    assert time.monotonic() - started < 3.0  # before: blocked for good
    stopper.join()  # stop() returns once the thread has ended
    with pytest.raises(LoopStopped, match="not running"):
        t.call(_nothing(), None)


@pytest.mark.parametrize("loop_kind", ["uvloop", "asyncio"])
def test_a_call_queued_as_the_loop_ends_gets_its_result_or_a_typed_refusal(
    monkeypatch: pytest.MonkeyPatch, loop_kind: str
) -> None:
    """Another thread's call is queued while the service's close takes its last step, as the loop
    ends: the caller is answered at once — the call's result if it ran, else ``LoopNotRunning``
    (nothing of it ran). Before: its future was never resolved (the loop stopped with the call's
    callback, or its result's, still queued): the caller waited out its whole time-out and got a bare
    ``TimeoutError``, or with no time-out ``LoopStopped`` — "the outcome is unknown" of a call whose
    outcome was known."""
    if loop_kind == "asyncio":
        monkeypatch.setattr("tickwire.loop.new_event_loop", asyncio.new_event_loop)
    queued = threading.Event()
    real = asyncio.run_coroutine_threadsafe

    def spy(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
        fut = real(coro, loop)
        queued.set()
        return fut

    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", spy)
    ran: list[str] = []

    async def work() -> str:
        ran.append("ran")
        return "ran"

    out: list[object] = []

    def caller() -> None:
        try:
            out.append(t.call(work(), 60.0))
        except BaseException as e:
            out.append(e)

    calling = threading.Thread(target=caller, daemon=True)

    async def close() -> None:  # its last step: the call is queued meanwhile, from another thread
        calling.start()
        assert queued.wait(10.0)

    t = LoopThread("test-loop", _nothing, close)
    t.start(5.0)
    t.stop(10.0)
    calling.join(10.0)
    assert not calling.is_alive(), "the caller still waits for a call the loop will never answer"
    if ran:
        assert out == ["ran"], out
    else:
        assert len(out) == 1 and isinstance(out[0], LoopNotRunning), out
