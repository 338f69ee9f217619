"""The simulator as a separate process (``tickwire sim``): for the demo, benchmarks and tests that must
not share a loop, a GIL or a CPU with the client they measure."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any


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
