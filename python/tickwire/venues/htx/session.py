"""The trading session HTX needs until the shared session and private stream run two optional grammar
hooks themselves:

- ``setup``/``read_setup``: before the instrument rules load, ``Orders.setup`` binds the signer to the
  endpoint's hosts and the spot ``account-id`` is looked up (``GET /v1/account/accounts``), once per
  session start. In general form: what ``TradingSession.start`` would run between connecting and
  ``load_rules``.
- ``pong``: the ``/ws/v2`` socket pings in JSON (``{"action":"ping"}``) and cuts a client that does
  not answer; the private stream sends the grammar's answer back. In general form: the first thing
  ``PrivateStream.on_message`` would do.

``tickwire.trade`` picks this class from the venue module's ``Session`` meanwhile."""

from __future__ import annotations

from typing import Any

from tickwire.trading.rules import InstrumentRules
from tickwire.trading.session import TradingSession
from tickwire.trading.stream import PrivateStream

__all__ = ["Session"]


class _AnsweringStream(PrivateStream):
    def on_message(self, msg: Any) -> None:
        answer = self.grammar.pong(msg)  # type: ignore[attr-defined]
        if answer is not None:
            self.send(answer)
            return
        super().on_message(msg)


class Session(TradingSession):
    def __init__(self, grammar: Any, signer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(grammar, signer, *args, **kwargs)
        old = self.stream
        if old is not None:
            self.stream = _AnsweringStream(
                grammar,
                signer,
                old.url,
                self.tracker.apply,
                self.reconcile_open,
                connect_timeout=old.connect_timeout,
            )

    async def load_rules(self) -> dict[str, InstrumentRules]:
        grammar: Any = self.grammar
        for call in grammar.setup(self.endpoint, self.signer):
            grammar.read_setup(call, await self.send(call))
        return await super().load_rules()
