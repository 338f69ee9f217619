"""The message bus tickwire scales out on: NATS (a real, clustered broker; tickwire adds no broker
logic). ``server`` starts pinned nats-server binaries on loopback (tests, ``tickwire gateway
--embedded``); ``subjects`` is the one subject layout gateways and remote clients share."""
