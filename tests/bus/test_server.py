"""nats-server processes on loopback: the ports they are given and a start on a port taken meanwhile."""

from __future__ import annotations

import socket

import pytest
from tickwire.bus import server
from tickwire.bus.server import Cluster, free_port

pytestmark = pytest.mark.usefixtures("needs_nats_server")


def test_free_ports_are_below_the_kernels_ephemeral_range() -> None:
    # Outgoing connections take ports from that range: one could take a chosen port before the
    # server binds it.
    lo, _ = server._ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert all(1024 <= p < lo for p in ports)


@pytest.mark.parametrize("which", ["port", "cluster_port"])
def test_a_node_whose_port_was_taken_meanwhile_starts_on_another_and_the_cluster_routes(which: str) -> None:
    """The client port, or the route port (which nats-server opens after the client one, so a start
    that waited for the client port alone took a server about to exit for a running one)."""
    with socket.socket() as taken:
        # Bound, not listening: what an outgoing connection's port looks like to the server's bind
        # (and nothing answers a connect, so only the server's exit tells).
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        c = Cluster(2)
        second = c.nodes[1]
        old_cluster_port = second.cluster_port
        setattr(second, which, port)  # what a collision looks like: someone has it before the node
        if which == "cluster_port":
            c.nodes[0].routes, old_cluster_port = [port], port
        try:
            c.start()
            assert second.running and getattr(second, which) != port
            # The first node's route names the second's new cluster port.
            assert c.nodes[0].routes == [second.cluster_port] != [old_cluster_port]
            # Both answer and route to each other.
            assert server._routes(c.nodes[0]) == 1 and server._routes(second) == 1
        finally:
            c.stop()


def test_a_server_that_cannot_start_says_why() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        c = Cluster(1)
        node = c.nodes[0]
        node.port = taken.getsockname()[1]
        try:
            with pytest.raises(server.NatsServerExited, match="address already in use"):
                node.start()
        finally:
            c.stop()
