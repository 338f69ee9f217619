"""The trading session HTX needs until the shared session runs a grammar's set-up calls itself: before
the instrument rules load, ``Orders.setup`` binds the signer to the endpoint's hosts and the spot
``account-id`` is looked up (``GET /v1/account/accounts``), once per session start.

The general form (any grammar with ``setup``/``read_setup``) is what ``TradingSession.start`` would
run between connecting and ``load_rules``; ``tickwire.trade`` picks this class from the venue module's
``Session`` meanwhile."""

from __future__ import annotations

from typing import Any

from tickwire.trading.rules import InstrumentRules
from tickwire.trading.session import TradingSession

__all__ = ["Session"]


class Session(TradingSession):
    async def load_rules(self) -> dict[str, InstrumentRules]:
        grammar: Any = self.grammar
        for call in grammar.setup(self.endpoint, self.signer):
            grammar.read_setup(call, await self._send(call))
        return await super().load_rules()
