"""tickwire's objects fed from NATS instead of venue sockets: ``trade`` (order entry through the
gateway that owns the account) — a strategy moves from local to remote by changing one line."""

from tickwire.remote.trade import RemoteTrading, trade

__all__ = ["RemoteTrading", "trade"]
