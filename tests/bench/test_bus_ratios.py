"""The ``bus`` stage's ratios: the ``tickwire`` kind's ``remote.connect`` coalesces (``on_book`` once
per wake-up, stamped with the newest of the messages that came together), so under the fan-out's
burst it gave 28 samples for 8000 messages — the newest of each batch, the least queued — against
the floor's 8000 (every message, the most queued included), and the table said "0.591x floor". Only
rows that sampled every message they were delivered are compared now; the other says why."""

from __future__ import annotations

from tickwire.bench import bus
from tickwire.bench.report import Result


def _row(kind: str, samples: int, ns: float) -> Result:
    return Result.of(bus.FANOUT, kind, kind, [ns] * samples, stage_key="bus_fanout")


def test_a_row_sampling_only_the_newest_of_each_batch_gets_no_ratio() -> None:
    rows = [_row("floor", 8000, 14.6e6), _row("tickwire", 28, 8.6e6), _row("tickwire-nats-py", 8000, 26.2e6)]
    delivered = {("bus_fanout", k): 8000 for k in bus.KINDS}
    bus.ratios(rows, delivered)
    floor, tw, nats_py = rows
    assert tw.ratios == {} and "28 samples for 8000 messages" in tw.note
    assert tw.extra["messages per sample"] == 8000 / 28
    assert set(floor.ratios) == {"tickwire-nats-py"} and set(nats_py.ratios) == {"floor"}


def test_rows_sampling_every_message_are_compared_as_before() -> None:
    rows = [_row("floor", 456, 108e3), _row("tickwire", 451, 105e3), _row("tickwire-nats-py", 454, 116e3)]
    rows = [Result(**{**r.__dict__, "stage_key": "bus1"}) for r in rows]
    bus.ratios(rows, {("bus1", "floor"): 456, ("bus1", "tickwire"): 452, ("bus1", "tickwire-nats-py"): 454})
    assert set(rows[1].ratios) == {"floor", "tickwire-nats-py"} and rows[1].note == ""
