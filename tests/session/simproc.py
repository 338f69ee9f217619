"""Test helpers for the simulator process: start it (``tickwire.sim.process``) and steer it through its
control endpoint."""

from __future__ import annotations

from tickwire.sim.process import control, sim_process

__all__ = ["control", "sim_process"]
