"""OKX instrument metadata: ``GET /api/v5/public/instruments?instType=SPOT[&instId=]`` in the shape of
the v5 "Get instruments" reference, every value from the simulator's instruments, which the matching
engine enforces: ``px`` off ``tickSz`` is refused with sCode 51000, ``sz`` off ``lotSz`` with 51121,
below ``minSz`` with 51020. The simulator lists spot instruments only; other ``instType`` values
answer an empty list.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tickwire.sim.accounts import split_symbol
from tickwire.sim.market import Instrument

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")
LISTED = "1606468572000"  # listTime: a fixed date, so answers compare across runs


def _s(x: Decimal) -> str:
    return f"{x.normalize():f}"


def instrument(inst: Instrument) -> dict[str, Any]:
    base, quote = split_symbol(inst.symbol)
    max_sz = _s(inst.max_qty) if inst.max_qty else "9999999999"
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": inst.symbol,
        "instType": "SPOT",
        "lever": "",
        "listTime": LISTED,
        "lotSz": _s(inst.lot),
        "maxIcebergSz": max_sz,
        "maxLmtAmt": "20000000",
        "maxLmtSz": max_sz,
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": "1000000",
        "maxTriggerSz": max_sz,
        "maxTwapSz": max_sz,
        "minSz": _s(inst.qty(inst.min_lots)),
        "optType": "",
        "quoteCcy": quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": _s(inst.tick),
        "uly": "",
    }


def instruments(insts: Mapping[str, Instrument], q: dict[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    """(code, msg, data) for ``GET /api/v5/public/instruments``."""
    kind = q.get("instType", "")
    if not kind:
        return "50014", "Parameter instType can not be empty.", []
    if kind not in INST_TYPES:
        return "51000", "Parameter instType error", []
    if kind != "SPOT":
        return "0", "", []
    inst_id = q.get("instId")
    if inst_id is not None and inst_id not in insts:
        return "51001", "Instrument ID does not exist", []
    return "0", "", [instrument(i) for s, i in insts.items() if inst_id in (None, s)]
