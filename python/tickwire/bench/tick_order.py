"""Tick→order over loopback, server-measured, one tick in flight: the bench venue in its own process,
every contender (``bench/peers.py``) connected at once on its own symbol, rounds alternating between
them so the machine's noise hits each alike. The ``remote`` contender's gateway and nats-server
(``bench/tick_remote.py``) are started once, before the contenders, and kept for every round."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
from typing import Any

from tickwire.bench import tick_remote
from tickwire.bench.peers import KEY, LOCAL, SECRET, Contender
from tickwire.bench.report import Progress, Result, add_ratios
from tickwire.bench.tick_remote import Remote
from tickwire.bench.venue import SYMBOLS
from tickwire.sim.process import url_process

STAGE = "tick→order over loopback (server-measured, one tick in flight)"
INPROC = "tick→order in process (tick read → order written)"
# The same, stopped before the send syscall: the client's own work. On one host the syscall's cost
# depends on whether the venue's process is still running or must be woken (and may then preempt
# the writer), which depends on how long after the tick the order comes, not on the client's code.
READY = "tick→order in process (tick read → order's bytes handed to the write, before the syscall)"
# A round's samples come back as one JSON line: 1000 ticks of the remote contender's stamps alone are
# over asyncio's 64 KiB default line limit.
# Every contender the stage runs, in the order they are started.
CONTENDERS: tuple[type[Contender], ...] = (*LOCAL, Remote)
SAMPLES_LINE = 64 * 1024 * 1024
CALLBACK = "socket → callback in process (tick read → book updated, the strategy's code running)"


def venue_process() -> contextlib.AbstractContextManager[dict[str, Any]]:
    """The bench venue as a child process; yields its URLs."""
    return url_process(["tickwire.bench.venue"], "the bench venue")


def available() -> tuple[list[type[Contender]], list[str]]:
    """The contenders whose packages are here, and a note for each one skipped."""
    ok, notes = [], []
    for c in CONTENDERS:
        missing = [m for m in c.needs if importlib.util.find_spec(m) is None]
        why = tick_remote.missing() if c.key == "remote" else None
        if why:
            notes.append(f"{c.key} skipped: {why} (pip install 'tickwire[nats]')")
        elif missing:
            notes.append(
                f"{c.key} skipped: {', '.join(missing)} not installed (pip install 'tickwire[bench]')"
            )
        else:
            ok.append(c)
    return ok, notes


def pinned(venue_pid: int, client_pids: list[int]) -> str:
    """The bench venue's loop on the last core this process may use, the contenders' on the others
    (and this process's, which waits on the venue between rounds): on one host a client's work right
    after its write can otherwise hold the core the venue was woken on, which a venue on another
    machine would not feel. A note when it cannot be done (one core), else "" ."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "--pin: one core here, nothing pinned"
    venue, rest = {cpus[-1]}, set(cpus[:-1])
    os.sched_setaffinity(venue_pid, venue)
    for pid in client_pids:
        os.sched_setaffinity(pid, rest)
    os.sched_setaffinity(0, rest)
    return ""


async def _run(
    http: Any, symbol: str, ticks: int, gap_us: int, stamps: bool = False, venue_spin: bool = False
) -> dict[str, Any]:
    """One run at the venue: ``ns`` (tick→order per tick, -1 unanswered), how many orders were priced
    at / not at its best bid, ``late`` (unanswered ticks whose order came after the cut-off), and
    with ``stamps`` each answered tick's (written, order read) stamps. With ``venue_spin`` the venue
    polls while each tick is in flight (``Venue.run``)."""
    body = json.dumps(
        {"symbol": symbol, "ticks": ticks, "gap_us": gap_us, "stamps": stamps, "spin": venue_spin}
    )
    r = await http.post("/bench/run", body=body, headers={"Content-Type": "application/json"}, timeout=600)
    out: dict[str, Any] = r.raise_for_status().json()
    return out


class _Client:
    """One contender's process (``python -m tickwire.bench.peers``)."""

    def __init__(self, kind: type[Contender], symbol: str, urls: dict[str, Any]) -> None:
        self.key, self.name, self.symbol = kind.key, kind.name, symbol
        self.args = [sys.executable, "-m", "tickwire.bench.peers", kind.key, symbol, json.dumps(urls)]

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=SAMPLES_LINE
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"bench client {self.key} did not start")

    async def samples(self) -> dict[str, Any]:
        """The in-process times stamped since the last call: ``written`` and ``callback`` (ns), and
        whatever else the contender reports (``Contender.report``)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"samples\n")
        await self.proc.stdin.drain()
        out: dict[str, Any] = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        return out

    async def command(self, word: str) -> None:
        """``spin`` or ``rest`` (its loop polling without sleeping, or not), once it is done."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(word.encode() + b"\n")
        await self.proc.stdin.drain()
        if (await asyncio.wait_for(self.proc.stdout.readline(), 30)).strip() != b"ok":
            raise RuntimeError(f"bench client {self.key} did not take {word!r}")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def measure_async(
    quick: bool,
    progress: Progress,
    *,
    rounds: int | None = None,
    ticks: int | None = None,
    gap_us: int = 300,
    spin: bool = False,
    pin: bool = False,
    venue_spin: bool = False,
) -> tuple[list[Result], list[str]]:
    """With ``spin`` every contender's loop spins during its own rounds (``peers._spin``): the rows
    are then the hot-cache regime of a bot that owns a core, reported under ``*_spin`` stage keys.
    With ``pin`` the bench venue runs on a core of its own and the contenders on the others
    (:func:`pinned`), reported under ``*_pin`` stage keys. With ``venue_spin`` the venue polls while
    each tick is in flight, so no client's write has to wake it (``*_vspin`` stage keys): what is
    left over the floor is the client's own work."""
    from tickwire.transport.http import HttpClient

    kinds, notes = available()
    own = os.sched_getaffinity(0)  # ``pin`` moves this process too, for the stage's length
    rounds = rounds or (1 if quick else 5)
    ticks = ticks or (60 if quick else 1000)
    with venue_process() as urls, contextlib.ExitStack() as stack:
        symbols = {k.key: SYMBOLS[i] for i, k in enumerate(kinds)}
        http = HttpClient(urls["rest"])
        nats = ""
        if "remote" in symbols:
            progress("tick→order: starting nats-server and tickwire gateway for remote")
            nats = stack.enter_context(tick_remote.gateway(urls, symbols["remote"], KEY, SECRET))
        clients = [
            _Client(k, symbols[k.key], {**urls, "nats": nats} if k.key == "remote" else urls) for k in kinds
        ]
        server: dict[str, list[int]] = {c.key: [] for c in clients}
        inproc: dict[str, list[int]] = {c.key: [] for c in clients}
        ready: dict[str, list[int]] = {c.key: [] for c in clients}
        callback: dict[str, list[int]] = {c.key: [] for c in clients}
        missed: dict[str, int] = {c.key: 0 for c in clients}
        late: dict[str, int] = {c.key: 0 for c in clients}
        left_out: dict[str, int] = {c.key: 0 for c in clients}
        wrong: dict[str, int] = {c.key: 0 for c in clients}
        segments: dict[str, list[int]] = {k: [] for k, _ in tick_remote.SEGMENTS}
        errors: list[str] = []
        try:
            for c in clients:
                progress(f"tick→order: starting {c.key}")
                await c.start()
            if pin:
                pin_note = pinned(int(urls["pid"]), [c.proc.pid for c in clients])
                notes += [pin_note] if pin_note else []
                pin = not pin_note
            for c in clients:  # warm up: books synced, connections kept alive
                await _run(http, c.symbol, 30, gap_us, venue_spin=venue_spin)
                await c.samples()
            for r in range(rounds):
                order = clients[r % len(clients) :] + clients[: r % len(clients)]
                for c in order:
                    progress(f"tick→order: round {r + 1}/{rounds}, {c.key}")
                    is_remote = c.key == "remote"
                    if spin:
                        await c.command("spin")
                    got_run = await _run(http, c.symbol, ticks, gap_us, is_remote, venue_spin)
                    if spin:
                        await c.command("rest")
                    ns = got_run["ns"]
                    wrong[c.key] += got_run["not_at_best_bid"]
                    server[c.key] += [x for x in ns if x >= 0]
                    missed[c.key] += sum(1 for x in ns if x < 0)
                    late[c.key] += got_run.get("late", 0)
                    got = await c.samples()
                    inproc[c.key] += got["written"]
                    ready[c.key] += got["ready"]
                    callback[c.key] += got["callback"]
                    left_out[c.key] += got.get("left_out", 0)
                    if is_remote:
                        errors += got["errors"]
                        for k, v in tick_remote.segments(got_run["stamps"], got["segments"]).items():
                            segments[k] += v
        finally:
            os.sched_setaffinity(0, own)
            for c in clients:
                with contextlib.suppress(Exception):
                    await c.stop()
            await http.close()
    rows: list[Result] = []
    tag, sk = (", loops spinning", "_spin") if spin else ("", "")
    if pin:
        tag, sk = tag + ", venue on its own core", sk + "_pin"
    if venue_spin:
        tag, sk = tag + ", venue polling", sk + "_vspin"
    for c in clients:
        note = f"{missed[c.key]} ticks unanswered" if missed[c.key] else ""
        if late[c.key]:
            note += f" ({late[c.key]} of them answered past the cut-off, left out)"
        if c.key == "remote" and errors:
            note = "; ".join(x for x in (note, f"{len(errors)} places failed, first: {errors[0]}") if x)
        extra = {} if c.key == "floor" else {"orders off the best bid": float(wrong[c.key])}
        skey = "tick" + sk
        rows.append(
            Result.of(STAGE + tag, c.key, c.name, server[c.key], note=note, stage_key=skey, extra=extra)
        )
    notes_by_key = {
        "pure": "from the message websockets yields (its read is not visible)",
        "remote": "from the bus message nats-py hands over (the tick was read by the gateway)",
    }
    for stage, skey, got in (
        (INPROC + tag, f"tick_inproc{sk}", inproc),
        (READY + tag, f"tick_ready{sk}", ready),
        (CALLBACK + tag, f"callback{sk}", callback),
    ):
        for c in clients:
            if got[c.key]:
                note, extra = notes_by_key.get(c.key, ""), {}
                if left_out[c.key] and got is not callback:
                    # The orders written after a wait have no stamp: the row's tail is of the rest.
                    extra["ticks left out"] = float(left_out[c.key])
                    waited = "left out: orders written after a wait, unstamped in process"
                    note = "; ".join(x for x in (note, waited) if x)
                rows.append(
                    Result.of(stage, c.key, c.name, got[c.key], note=note, stage_key=skey, extra=extra)
                )
    add_ratios(rows, "floor", "pure")
    by = {(r.stage_key, r.key): r for r in rows}
    for skey in ("tick" + sk, "callback" + sk):
        local, remote = by.get((skey, "tickwire")), by.get((skey, "remote"))
        if local is not None and remote is not None and local.p50_ns > 0:
            # The remote row's one comparison: the same strategy with its books and orders local.
            remote.ratios = {"tickwire": remote.p50_ns / local.p50_ns}
    if any(segments.values()):
        for k, name in tick_remote.SEGMENTS:
            rows.append(Result.of(tick_remote.STAGE, k, name, segments[k], stage_key="tick_remote"))
    return rows, notes


def measure(quick: bool, progress: Progress) -> tuple[list[Result], list[str]]:
    from tickwire.loop import run

    out: tuple[list[Result], list[str]] = run(measure_async(quick, progress))
    return out
