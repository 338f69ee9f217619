"""The simulator as a separate process (``tickwire sim``): for the demo, benchmarks and tests that must
not share a loop, a GIL or a CPU with the client they measure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import orjson


@contextlib.contextmanager
def url_process(argv: list[str], name: str, env: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Starts ``python -m ARGV`` (a server that prints its URLs as one JSON line first), yields the
    URLs, stops it after; ``name`` is what an error calls it, ``env`` its whole environment. Its
    stdin is a pipe this process holds open while it lives: a server that reads it to the end
    (``tickwire sim --parent-pipe``) stops with this process, however that ended."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=None if env is None else dict(env),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{name} exited before printing its URLs")
        urls: dict[str, Any] = json.loads(line)
        yield urls
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sim_process(*args: str) -> Iterator[dict[str, Any]]:
    """Starts ``tickwire sim ARGS``, yields its URLs (``Simulator.urls()`` shape), stops it after."""
    with url_process(["tickwire.cli", "sim", "--parent-pipe", *args], "tickwire sim") as urls:
        yield urls


async def control(urls: dict[str, Any], path: str, body: Any = None) -> Any:
    """Steers a simulator process through its control endpoint: GET ``path``, or POST ``body`` as
    JSON; the decoded answer. (The standard library's client, off the loop: the simulator depends on
    nothing of the library it judges.)"""

    def call() -> Any:
        data = None if body is None else orjson.dumps(body)
        req = urllib.request.Request(
            urls["control"] + path, data=data, method="GET" if data is None else "POST"
        )
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return orjson.loads(r.read())

    return await asyncio.to_thread(call)
