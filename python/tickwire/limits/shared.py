"""The rate-limit state every budget of the process shares: one window per limit and scope (an address
or a key), whichever session counts in it, the lock they are counted under, and what the venues
announced or refused. :mod:`tickwire.limits.budget` builds each session's budget on it."""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from tickwire import _core
from tickwire.limits.window import Limit, Window

if TYPE_CHECKING:
    from tickwire.limits.budget import RateBudget

# Each window is counted this much longer than the venue's: requests admitted a window apart here can
# arrive closer together there (connection set-up, queues, the network's jitter).
JITTER_S = 0.1

# Sessions of one process may run on several loops and threads; re-entrant because a keyed limit's
# window is made (``shared_window``) while a budget holds the lock to check and take. In Rust so an
# order template's one call takes it without a Python call (``threading.RLock``'s interface).
_lock = _core.BudgetLock()
_windows: dict[tuple[str, str, str], Window] = {}
# Every budget alive, so a shared window made again reaches each one counting on the old one.
_budgets: weakref.WeakSet[RateBudget] = weakref.WeakSet()
# The per-address limits a venue announced (``exchangeInfo``) to a session of the process, by (venue,
# address): what a budget of the address alone (a market-data session's REST snapshots) counts in.
_announced: dict[tuple[str, str], tuple[Limit, ...]] = {}
# (when, seconds) of the last block for a refusal that named no one window (``refused``), by account:
# the sessions on a key block the same windows, so the block doubles whichever of them is refused
# (kept per session, refusals met in turn by two never grew past the shortest window).
_unsure: dict[tuple[str, str], tuple[float, float]] = {}
# When the request went out whose reported usage a window's floor holds, by window (hashed by identity):
# answers come back out of order, and an older request's report is as of before the
# newer one's — a smaller count in it is no news (``RateBudget.observe``).
# Only windows a budget can still observe are kept (``_forget_replaced``): a window made again
# leaves every budget, and its entry would otherwise pin it for the process's life.
_reported: dict[Window, float] = {}


def shared_window(
    venue: str, limit: Limit, scope: str, *, announced: bool = False, now: float | None = None
) -> Window:
    """The process-wide window of ``limit`` for ``scope`` (an address or a key). A limit declared
    again with other numbers takes the stricter of the two — unless the venue ``announced`` it
    (``exchangeInfo``), which replaces what was documented. What was counted and blocked carries over."""
    key = (venue, limit.name, scope)
    with _lock:
        w = _windows.get(key)
        if w is not None and (w.limit, w.window_s) == (limit.limit, limit.window_s + JITTER_S):
            return w
        if w is None or announced or limit.limit / limit.window_s < w.limit / w.window_s:
            fresh = Window(limit.limit, limit.window_s + JITTER_S)
            if w is not None:
                now = time.monotonic() if now is None else now
                fresh.inherit(w, now)
                # The sessions counting on the old one count on this one from now: two windows for
                # one limit would each admit the limit.
                for b in list(_budgets):
                    b.swap(w, fresh)
                _forget_replaced(w, fresh)
            w = _windows[key] = fresh
        return w


def _forget_replaced(old: Window, new: Window) -> None:
    """``old`` made again as ``new`` (under the lock): the report time ``old`` held goes to ``new``,
    which inherited its floor. Entries of windows no budget can observe any more — neither shared
    nor counted on by a budget alive — go too: every session start that declares a limit again with
    other numbers (documented, then announced) makes such windows, and a bot runs for days."""
    at = _reported.pop(old, None)
    if at is not None:
        _reported[new] = max(at, _reported.get(new, at))
    live = {id(w) for w in _windows.values()}
    for b in list(_budgets):
        live.update(id(w) for w in (*b.windows.values(), *b.keyed.values()))
    live.add(id(new))
    for w in [w for w in _reported if id(w) not in live]:
        del _reported[w]


def _carry(old: Window, new: Window, now: float) -> None:
    """``new`` (another scope's window of the same limit) counts at least what ``old`` counted, for a
    whole window, and keeps ``old``'s block. The larger of the two, not their sum: a rotation undone
    (back to the old key) or two sessions moving to one new key would count the same orders twice —
    and a daily limit counted twice blocks for a day. A new key is unused, so the larger is the sum."""
    if old is new:
        return
    used = old.used(now)
    if used > new.used(now):
        new.observe(used, now, now + max(old.window_s, new.window_s))
    blocked_until = old.state()[2]
    if blocked_until > now:
        new.block(blocked_until - now, now)
