"""A consumer process of the ``bus`` bench stage: ``python -m tickwire.bench.bus_consumer KIND NATS ID
VENUE SYMBOL GATEWAY``.

``tickwire``: a :func:`tickwire.remote.connect` session on its default engine (the extension's
async-nats subscriber); a sample is gateway stamp → inside ``on_book`` (the bus hop, the decode and
apply in Rust, the call into the strategy). ``tickwire-nats-py``: the same on ``engine="nats-py"``.
``floor``: a bare nats-py subscription to the same subject; a sample is the same stamp → inside its
callback, reading the stamp and nothing else (the engine's own floor for the same bytes). All run on
uvloop.

Prints ``{"ready": true}`` once receiving (the tickwire kind: once its book is in sync), then answers
``tw.bench.<ID>.report`` requests with the samples since the last report, its message count and its
process CPU time, when (monotonic ns) its first and last message of the period came, and starts over.
The tickwire kinds count messages as the session received them (``on_book`` is called once per
wake-up of the loop, after the last of the messages that came together: a sample each).
"""

from __future__ import annotations

import asyncio
import resource
import struct
import sys
import time
from typing import Any

import orjson

from tickwire.bus import subjects
from tickwire.bus.client import connect


def _cpu_ns() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return int((r.ru_utime + r.ru_stime) * 1e9)


class _Samples:
    def __init__(self) -> None:
        self.ns: list[int] = []
        self.messages = 0
        # The tickwire kinds: the session's message counter (several messages may make one sample).
        self.counted: Any = None
        self.counted0 = 0
        self.cpu0 = _cpu_ns()
        self.first = self.last = 0

    def note(self, lat: int) -> None:
        self.ns.append(lat)
        self.messages += 1
        self.last = time.monotonic_ns()
        if not self.first:
            self.first = self.last

    def report(self) -> bytes:
        messages = self.messages
        if self.counted is not None:
            now_count = int(self.counted())
            messages, self.counted0 = now_count - self.counted0, now_count
        body = {
            "ns": self.ns,
            "messages": messages,
            "cpu_ns": _cpu_ns() - self.cpu0,
            "first_ns": self.first,
            "last_ns": self.last,
        }
        self.ns, self.messages, self.cpu0, self.first, self.last = [], 0, _cpu_ns(), 0, 0
        return orjson.dumps(body)


async def main(kind: str, servers: str, ident: str, venue: str, symbol: str, gateway: str) -> None:
    from tickwire._core import BUS_STAMP_OFFSET

    samples = _Samples()
    nc = await connect(servers, name=f"tickwire-bench-{ident}")
    stop = asyncio.Event()
    if kind == "floor":
        stamp_at = struct.Struct("<q")
        off = BUS_STAMP_OFFSET
        now = time.time_ns
        note = samples.note

        async def on_msg(msg: Any) -> None:
            note(now() - stamp_at.unpack_from(msg.data, off)[0])

        await nc.subscribe(subjects.market(venue, symbol, "book", gateway), cb=on_msg)
        md = None
    else:
        import tickwire.remote

        now = time.time_ns
        note = samples.note

        def on_book(_book: Any) -> None:
            note(now() - md_ref.last_stamp_ns)

        engine = "nats-py" if kind == "tickwire-nats-py" else None
        md = tickwire.remote.connect(
            servers, venue, [symbol], on_book=on_book, gateway=gateway, engine=engine
        )
        md_ref = md
        await md.start(timeout=60.0)  # a loaded machine: the snapshot may queue behind a burst
        samples.counted = lambda: md_ref.counters["messages"]

    async def report(msg: Any) -> None:
        if msg.data == b"stop":
            stop.set()
        await msg.respond(samples.report())

    await nc.subscribe(f"tw.bench.{ident}.report", cb=report)
    await nc.flush()
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    await stop.wait()
    if md is not None:
        await md.close()
    await nc.close()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(*sys.argv[1:7]))
