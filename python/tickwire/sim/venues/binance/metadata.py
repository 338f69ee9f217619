"""Binance instrument metadata: spot ``GET /api/v3/exchangeInfo`` (optional ``symbol`` or ``symbols``,
a JSON array) and USDⓈ-M ``GET /fapi/v1/exchangeInfo``, in the shapes of the public spot
``filters`` / ``exchangeInfo`` reference and the futures "Exchange Information" page.

Every value comes from the simulator's instruments (tick, lot, minimum and maximum size, minimum
notional), the same ones the matching engine enforces: a price off ``tickSize`` is refused with -1013
``Filter failure: PRICE_FILTER``, a size off ``stepSize`` or outside ``minQty``..``maxQty`` with
``LOT_SIZE`` (``MARKET_LOT_SIZE`` for market orders), a value under ``minNotional`` with ``NOTIONAL``.
A grid changed by ``Simulator.set_grid`` is listed (and enforced) from then on, spot and USDⓈ-M alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.accounts import split_symbol
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import Instrument
from tickwire.sim.venues.binance.auth import err
from tickwire.sim.venues.binance.trade import interval, max_open_orders, order_window_s

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

# What the simulator's engine takes; exchangeInfo lists no order type it would refuse.
SPOT_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]
FUTURES_ORDER_TYPES = ["LIMIT", "MARKET"]
MAX_PRICE = Decimal(1_000_000)

# enums.md "Symbol status" (CANCEL_ONLY since 2026-07-07).
_SPOT_STATUS = {"cancel_only": "CANCEL_ONLY", "closed": "HALT"}


def _d(x: Decimal, places: int = 8) -> str:
    """A decimal as Binance prints filter values: fixed ``places`` decimals."""
    return f"{x:.{places}f}"


class ExchangeInfo:
    def __init__(self, ctx: VenueContext, futures: bool, order_limits: tuple[int, int]) -> None:
        self.ctx = ctx
        self.futures = futures
        self.order_limits = order_limits  # new orders per 10 s, per day (what the venue counts)

    def route(self, ep: VenueServer, req: Request, weight: WeightLimiter) -> Response:
        q = req.query
        names = list(self.ctx.instruments)
        if "symbol" in q and "symbols" in q:
            return err(-1128, "Combination of optional parameters invalid.")
        if "symbol" in q:
            names = [q["symbol"]]
        elif "symbols" in q:
            try:
                names = [str(s) for s in orjson.loads(q["symbols"])]
            except (orjson.JSONDecodeError, TypeError):
                return err(-1100, "Illegal characters found in parameter 'symbols'.")
        unknown = [s for s in names if s not in self.ctx.instruments]
        if unknown and not self.futures:
            return err(-1121, "Invalid symbol.")
        now = ep.now_ms()
        symbols = [self.symbol(self.ctx.grids.listed(s, now)) for s in names if s not in unknown]
        per_10s, per_day = self.order_limits
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": interval(weight.window_s)[0],
                "intervalNum": interval(weight.window_s)[1],
                "limit": weight.limit,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": order_window_s(self.ctx.profile),
                "limit": per_10s,
            },
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": per_day},
        ]
        body: dict[str, Any] = {"timezone": "UTC", "serverTime": ep.now_ms(), "rateLimits": limits}
        most = self.ctx.profile.get("exchange_max_open_orders")
        body["exchangeFilters"] = (
            [{"filterType": "EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders": int(most)}]
            if most and not self.futures
            else []
        )
        if self.futures:
            body.update(futuresType="U_MARGINED", assets=self._assets(), symbols=symbols)
        else:
            body.update(symbols=symbols, sors=[])
        return json_response(body)

    def _assets(self) -> list[dict[str, Any]]:
        quotes = sorted({split_symbol(s)[1] for s in self.ctx.instruments})
        return [{"asset": a, "marginAvailable": True, "autoAssetExchange": "0"} for a in quotes]

    def filters(self, inst: Instrument) -> list[dict[str, Any]]:
        places = 8 if not self.futures else max(inst.price_decimals, inst.qty_decimals)
        fp = inst.price_decimals if self.futures else places
        max_qty = inst.max_qty or Decimal(9_000_000)
        lot = {
            "minQty": _d(inst.qty(inst.min_lots), places),
            "maxQty": _d(max_qty, places),
            "stepSize": _d(inst.lot, places),
        }
        most = max_open_orders(self.ctx.profile)
        price = {"minPrice": _d(inst.tick, fp), "maxPrice": _d(MAX_PRICE, fp), "tickSize": _d(inst.tick, fp)}
        out: list[dict[str, Any]] = [
            {"filterType": "PRICE_FILTER", **price},
            {"filterType": "LOT_SIZE", **lot},
            {"filterType": "MARKET_LOT_SIZE", **lot},
            # Spot names the count maxNumOrders, USDⓈ-M limit.
            {"filterType": "MAX_NUM_ORDERS", "limit" if self.futures else "maxNumOrders": most},
        ]
        if self.futures:
            out.append({"filterType": "MIN_NOTIONAL", "notional": f"{inst.min_notional:f}"})
        else:
            out.append(
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _d(inst.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": _d(Decimal(9_000_000)),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                }
            )
        return out

    def symbol(self, inst: Instrument) -> dict[str, Any]:
        base, quote = split_symbol(inst.symbol)
        if self.futures:
            return {
                "symbol": inst.symbol,
                "pair": inst.symbol,
                "contractType": "PERPETUAL",
                "status": "TRADING" if inst.symbol not in self.ctx.status else "SETTLING",
                "baseAsset": base,
                "quoteAsset": quote,
                "marginAsset": quote,
                "pricePrecision": inst.price_decimals,
                "quantityPrecision": inst.qty_decimals,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "filters": self.filters(inst),
                "orderTypes": FUTURES_ORDER_TYPES,
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        return {
            "symbol": inst.symbol,
            "status": _SPOT_STATUS.get(self.ctx.status.get(inst.symbol, ""), "TRADING"),
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": SPOT_ORDER_TYPES,
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": False,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": True,
            "pegInstructionsAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": self.filters(inst),
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }
