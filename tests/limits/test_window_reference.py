"""The Rust window (``tickwire.limits.Window``) against the longhand reference, operation by operation:
the same waits (to the bit), the same counts, the same state after every step, on random sequences of
checks, takes, takes restamped at their write, venue reports and blocks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tickwire.limits import SLOTS, Window
from window_reference import ReferenceWindow

_op = st.one_of(
    st.tuples(st.just("wait"), st.integers(0, 12), st.integers(1, 40)),
    st.tuples(st.just("take"), st.integers(0, 12), st.just(0)),
    st.tuples(st.just("used"), st.just(0), st.just(0)),
    st.tuples(st.just("observe"), st.integers(0, 40), st.sampled_from([-1, 0, 1])),
    st.tuples(st.just("report"), st.integers(0, 40), st.integers(0, 30)),
    st.tuples(st.just("block"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("restamp"), st.integers(0, 12), st.integers(0, 30)),
)


def _state(w: ReferenceWindow) -> tuple[object, ...]:
    return (w.total, w.start, w.blocked_until, w.floor, w.floor_until, w.slots)


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 40),
    window_s=st.sampled_from([0.5, 1.0, 2.1, 10.0, 60.0]),
    steps=st.lists(st.tuples(st.floats(0, 3.0), _op), min_size=1, max_size=120),
)
def test_the_rust_window_does_what_the_reference_does(
    limit: int, window_s: float, steps: list[tuple[float, tuple[str, int, int]]]
) -> None:
    rust, ref = Window(limit, window_s), ReferenceWindow(limit, window_s)
    assert (rust.limit, rust.window_s) == (ref.limit, ref.window_s)
    now = 1000.0
    takes: list[float] = []
    for dt, (op, a, b) in steps:
        now += dt
        if op == "wait":
            assert rust.wait(a, b, now) == ref.wait(a, b, now)
        elif op == "take":
            rust.take(a, now)
            ref.take(a, now)
            takes.append(now)
        elif op == "used":
            assert rust.used(now) == ref.used(now)
        elif op == "observe":
            until = None if b == 0 else now + b * window_s / 3
            rust.observe(a, now, until)
            ref.observe(a, now, until)
        elif op == "report":  # a report whose request was taken b/10 s ago
            rust.observe(a, now, None, now - b / 10)
            ref.observe(a, now, None, now - b / 10)
        elif op == "restamp":  # the newest take, if any, written only now (else one b/10 s ago)
            then = takes[-1] if takes and b % 2 else now - b / 10
            assert rust.counted(then, now) == ref.counted(then, now)
            rust.restamp(a, then, now)
            ref.restamp(a, then, now)
        else:
            rust.block(a / 10, now)
            ref.block(a / 10, now)
        assert rust.state() == _state(ref), (op, now)
    assert len(rust.state()[-1]) == SLOTS + 1


def test_a_window_refuses_a_non_positive_limit_or_length() -> None:
    for limit, window_s in ((0, 1.0), (1, 0.0), (-1, 1.0)):
        try:
            Window(limit, window_s)
        except ValueError:
            continue
        raise AssertionError(f"Window({limit}, {window_s}) was made")


def test_a_window_refuses_a_negative_weight_and_never_wraps() -> None:
    """A negative weight taken would hand back room the venue still counts; weights summing past an
    i64 would wrap to a negative count. Either way a full window then read as empty (before: ``used``
    0 and ``wait`` 0.0 after both, where the reference counts the window full)."""
    w, ref = Window(10, 1.0), ReferenceWindow(10, 1.0)
    w.take(10, 5.0)
    ref.take(10, 5.0)
    try:
        w.take(-10, 5.0)
    except ValueError:
        pass
    else:
        raise AssertionError("a negative weight was taken")
    assert w.state() == _state(ref) and w.wait(1, 10, 5.0) == ref.wait(1, 10, 5.0) > 0
    huge = 2**63 - 1
    w.take(huge, 5.1)
    ref.take(huge, 5.1)  # Python's ints do not wrap: the count is far past any cap
    assert ref.used(5.1) > huge and ref.wait(1, 10, 5.1) > 0
    assert w.used(5.1) == huge and w.wait(1, 10, 5.1) == ref.wait(1, 10, 5.1)
    # Once it all left the window, it is empty again, not below empty.
    assert w.used(7.0) == ref.used(7.0) == 0 and w.wait(10, 10, 7.0) == 0.0
