"""Test helpers for the simulator process: start it (``tickwire.sim.process``) and steer it through its
control endpoint."""

from __future__ import annotations

from typing import Any

import orjson
from tickwire.sim.process import sim_process
from tickwire.transport.http import HttpClient

__all__ = ["control", "sim_process"]


async def control(urls: dict[str, Any], path: str, body: Any = None) -> Any:
    async with HttpClient(urls["control"]) as http:
        if body is None:
            r = await http.get(path)
        else:
            r = await http.post(path, body=orjson.dumps(body), headers={"Content-Type": "application/json"})
        return r.raise_for_status().json()
