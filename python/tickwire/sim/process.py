"""The simulator as a separate process (``tickwire sim``): for the demo, benchmarks and tests that must
not share a loop, a GIL or a CPU with the client they measure."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import orjson


@contextlib.contextmanager
def sim_process(*args: str) -> Iterator[dict[str, Any]]:
    """Starts ``tickwire sim ARGS``, yields its URLs (``Simulator.urls()`` shape), stops it after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tickwire.cli", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("tickwire sim exited before printing its URLs")
        urls: dict[str, Any] = json.loads(line)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def control(urls: dict[str, Any], path: str, body: Any = None) -> Any:
    """Steers a simulator process through its control endpoint: GET ``path``, or POST ``body``."""
    from tickwire.transport.http import HttpClient

    async with HttpClient(urls["control"]) as http:
        if body is None:
            r = await http.get(path)
        else:
            r = await http.post(path, body=orjson.dumps(body), headers={"Content-Type": "application/json"})
        return r.raise_for_status().json()
