"""Rate limits as the venues count them, checked before anything is sent (see ``budget``)."""

from tickwire.limits.budget import RESERVE, Lane, RateBudget, rate_limited, shared_window
from tickwire.limits.window import SLOTS, Limit, Window

__all__ = ["RESERVE", "SLOTS", "Lane", "Limit", "RateBudget", "Window", "rate_limited", "shared_window"]
