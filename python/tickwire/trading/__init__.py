"""The venue-independent core of order entry: order types, exact number intake, instrument rules,
client ids, the order tracker and the venues' order-error codes. Sessions that send orders build on it.
The kill switch's report (``KillReport``) and the health monitor that throws it (``Watch``) too, and
the pre-trade risk limits (``RiskLimits``).
"""

from tickwire.trading.client_ids import FORMATS, ClientIdFormat, ClientIds
from tickwire.trading.codes import error_for, is_unknown_outcome
from tickwire.trading.kill import KillReport
from tickwire.trading.numbers import Mantissa, format_decimal, to_decimal
from tickwire.trading.orders import TERMINAL, Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.risk import RiskLimits
from tickwire.trading.rules import InstrumentRules
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.venue import Balance, Position
from tickwire.trading.watch import Watch

__all__ = [
    "FORMATS",
    "TERMINAL",
    "Balance",
    "ClientIdFormat",
    "ClientIds",
    "Fill",
    "InstrumentRules",
    "KillReport",
    "Mantissa",
    "Order",
    "OrderEvent",
    "OrderTracker",
    "OrderType",
    "Position",
    "RiskLimits",
    "Side",
    "Status",
    "Tif",
    "Watch",
    "error_for",
    "format_decimal",
    "is_unknown_outcome",
    "to_decimal",
]
