//! The trades of the last trade frame, kept past the frame (whose bytes the caller may reuse), and,
//! while redundant lines are arbitrated, the trade ids passed on per symbol: the other line's copy
//! of a trade carries the same venue id and is dropped, whichever line brought it first.
//!
//! Where the venue numbers a symbol's trades one by one (`VenueSpec::consecutive_trade_ids`), an
//! arbitrated feed also delivers them in id order (`Hold`): a connection that is ahead (a renewal's
//! successor, the A/B line that did not miss them) may bring newer trades before the other one
//! brought the ones before them, and a user keeping a tape or a VWAP would see time go backwards.
//! Such a trade waits, as a book frame ahead of its book does, until the ids before it came or its
//! time ran out (then it goes out, the ones before it missing, as a book reports a gap).

use super::Fnv;
use crate::venue::TradeItem;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// How far below a symbol's newest passed id a trade is still told apart from a copy: ids passed in
/// that window are remembered one by one; an older one is taken for a copy.
const WINDOW: u64 = 4096;

/// Trades held for the ids before them: when the frame came, how long a trade may wait (the
/// arbiter's hold), and how many may wait at once (past that the oldest go out, in order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hold {
    pub(crate) now_ns: i64,
    pub(crate) hold_ns: i64,
    pub(crate) max_held: usize,
}

/// A trade waiting for the ids before it (`TradeItem::sym` unused: the symbol is its `Passed`'s).
struct Held {
    item: TradeItem,
    id: u64,
    deadline_ns: i64,
}

/// A symbol's newest passed trade id and which of the `WINDOW` ids up to it were passed.
struct Passed {
    newest: u64,
    bits: [u64; (WINDOW / 64) as usize],
    /// By id, every one past `newest + 1`. Empty (and unallocated) unless trades are ordered.
    held: Vec<Held>,
    /// No connection listened for a while since `newest` (every line went down): the next trade
    /// past `newest + 1` waits for none.
    resumed: bool,
}

impl Passed {
    fn new(id: u64) -> Self {
        let mut p =
            Passed { newest: id, bits: [0; (WINDOW / 64) as usize], held: Vec::new(), resumed: false };
        p.flip(id, true);
        p
    }

    fn slot(id: u64) -> (usize, u64) {
        let k = id % WINDOW;
        ((k / 64) as usize, 1 << (k % 64))
    }

    fn flip(&mut self, id: u64, on: bool) {
        let (w, bit) = Self::slot(id);
        if on {
            self.bits[w] |= bit;
        } else {
            self.bits[w] &= !bit;
        }
    }

    /// Whether `id` is a trade not passed yet (then it is marked passed): above the newest, or in
    /// the window below it and not passed. The other line brings every trade, but a line may miss
    /// some (a reconnect, a lost frame) and bring newer ones first: those it missed still pass when
    /// the other line brings them.
    fn pass(&mut self, id: u64) -> bool {
        if id > self.newest {
            if id - self.newest >= WINDOW {
                self.bits = [0; (WINDOW / 64) as usize];
            } else {
                // The slots of the ids the window moves past are reused by the new ones.
                for i in self.newest + 1..id {
                    self.flip(i, false);
                }
            }
            self.newest = id;
            self.flip(id, true);
            return true;
        }
        let (w, bit) = Self::slot(id);
        if self.newest - id >= WINDOW || self.bits[w] & bit != 0 {
            return false;
        }
        self.bits[w] |= bit;
        true
    }

    /// Whether `id` was passed, is too old to tell, or waits already: a copy.
    fn seen(&self, id: u64) -> bool {
        if id <= self.newest {
            let (w, bit) = Self::slot(id);
            return self.newest - id >= WINDOW || self.bits[w] & bit != 0;
        }
        self.held.binary_search_by_key(&id, |h| h.id).is_ok()
    }

    /// Passes the held trades up to `through` (whose time ran out: the ids before them that are
    /// still missing are given up), then those the ids passed now continue: (how many went out,
    /// how many of them with ids given up).
    fn release(&mut self, through: u64, sym: &[u8], out: &mut Out) -> (usize, usize) {
        let mut held = std::mem::take(&mut self.held);
        let gave_up = held.partition_point(|h| h.id <= through);
        let mut k = 0;
        while k < held.len() && (k < gave_up || Some(held[k].id) == self.newest.checked_add(1)) {
            self.pass(held[k].id);
            out.push(sym, &held[k].item);
            k += 1;
        }
        held.drain(..k);
        self.held = held;
        (k, gave_up)
    }
}

/// The trades handed on for the last frame (or release), their symbols copied once per run.
#[derive(Default)]
struct Out {
    /// `sym` is a range of `syms`, not of the frame.
    items: Vec<TradeItem>,
    syms: Vec<u8>,
    run: (u32, u32),
}

impl Out {
    fn clear(&mut self) {
        self.items.clear();
        self.syms.clear();
    }

    fn push(&mut self, sym: &[u8], t: &TradeItem) {
        // A frame's trades are nearly always of one symbol: copied once.
        if self.items.is_empty() || self.syms[self.run.0 as usize..self.run.1 as usize] != *sym {
            let at = self.syms.len() as u32;
            self.syms.extend_from_slice(sym);
            self.run = (at, self.syms.len() as u32);
        }
        self.items.push(TradeItem { sym: self.run, ..*t });
    }
}

type PassedBySymbol = HashMap<Box<[u8]>, Passed, BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub(crate) struct LastTrades {
    out: Out,
    passed: PassedBySymbol,
    /// Copies dropped because a line already brought that trade.
    pub(crate) duplicates: u64,
    /// Trades held now, of every symbol, and the earliest time one of them is due.
    held: usize,
    earliest_ns: i64,
    /// Held trades that went out because their hold ran out (or too many waited), not because the
    /// ids before them came.
    pub(crate) released_as_gap: u64,
}

impl LastTrades {
    /// Keeps `batch`'s trades, symbols copied out of `frame` (or `named`, the channel's symbol,
    /// where the frame names none); a trade naming no symbol is no event. With `dedupe`, a trade
    /// whose id was already passed for its symbol (or is older than the window of ids remembered)
    /// is a copy and dropped; trades without an id always pass (the caller decides which line's to
    /// deliver). With `hold` (dedupe too), a trade past its symbol's next id waits for the ones
    /// before it, and those it waited for go out behind the trade that brought the last of them.
    /// The first trade of a symbol seen since `dedupe` is on waits for none: telling copies apart
    /// from the first connection on is what places a second one's first trades.
    pub(crate) fn take(
        &mut self,
        frame: &[u8],
        named: Option<&[u8]>,
        batch: &[TradeItem],
        dedupe: bool,
        hold: Option<Hold>,
    ) {
        self.out.clear();
        for t in batch {
            let sym = match named {
                Some(s) => s,
                None => frame.get(t.sym.0 as usize..t.sym.1 as usize).unwrap_or_default(),
            };
            if sym.is_empty() {
                continue;
            }
            if let (true, Some(id)) = (dedupe, t.id) {
                match hold {
                    Some(h) => self.ordered(sym, t, id, h),
                    None => self.deduped(sym, t, id),
                }
                continue;
            }
            self.out.push(sym, t);
        }
    }

    /// Copies are told apart no longer (one connection): what was passed would go stale, and a
    /// second connection later be placed against it. Kept while trades wait (they need it).
    pub(crate) fn forget_passed(&mut self) {
        if self.held == 0 {
            self.passed.clear();
        }
    }

    /// Every connection went down (or `sym`'s trades were unsubscribed): the trades made meanwhile
    /// no connection will bring, so each symbol's next trade waits for none of them — it would
    /// otherwise wait its whole hold for ids that never come. What is known of the ids passed stays,
    /// for an unsubscribed symbol too: the line behind still brings its copies of trades the one
    /// ahead delivered, read before its unsubscribe took effect, and a symbol forgotten here would
    /// take the first of them for a first trade and deliver them all again (its memory goes with
    /// the others' when copies are told apart no longer, `forget_passed`).
    pub(crate) fn resume(&mut self, sym: Option<&[u8]>) {
        match sym {
            Some(sym) => {
                if let Some(p) = self.passed.get_mut(sym) {
                    p.resumed = true;
                }
            }
            None => self.passed.values_mut().for_each(|p| p.resumed = true),
        }
    }

    fn deduped(&mut self, sym: &[u8], t: &TradeItem, id: u64) {
        let new = match self.passed.get_mut(sym) {
            // Heard in order (no hold), so no later trade waits for those made meanwhile.
            Some(p) => {
                let new = p.pass(id);
                p.resumed &= !new;
                new
            }
            None => {
                self.passed.insert(sym.into(), Passed::new(id));
                true
            }
        };
        if new {
            self.out.push(sym, t);
        } else {
            self.duplicates += 1;
        }
    }

    fn ordered(&mut self, sym: &[u8], t: &TradeItem, id: u64, h: Hold) {
        let Some(p) = self.passed.get_mut(sym) else {
            // The first trade seen of a symbol has no trade before it to wait for.
            self.passed.insert(sym.into(), Passed::new(id));
            self.out.push(sym, t);
            return;
        };
        if p.seen(id) {
            self.duplicates += 1;
            return;
        }
        if std::mem::take(&mut p.resumed) && id > p.newest.saturating_add(1) {
            // The first trade heard since no connection listened: those still waiting go out
            // before it (the ids they waited for given up), and it waits for none.
            let (n, gaps) = p.release(id - 1, sym, &mut self.out);
            p.pass(id);
            self.out.push(sym, t);
            let (more, _) = p.release(0, sym, &mut self.out);
            self.released(n + more, gaps);
            return;
        }
        if id > p.newest.saturating_add(1) {
            let at = p.held.partition_point(|x| x.id < id);
            let deadline_ns = h.now_ns.saturating_add(h.hold_ns);
            p.held.insert(at, Held { item: *t, id, deadline_ns });
            self.held += 1;
            self.earliest_ns = if self.held == 1 { deadline_ns } else { self.earliest_ns.min(deadline_ns) };
            if self.held > h.max_held {
                // Bounded memory: the symbol's trades up to this one go out now, in order.
                let (n, gaps) = p.release(id, sym, &mut self.out);
                self.released(n, gaps);
            }
            return;
        }
        // The next id, or one a line missed below the newest (its wait over: late, but once).
        p.pass(id);
        self.out.push(sym, t);
        if id == p.newest && !p.held.is_empty() {
            let (n, _) = p.release(0, sym, &mut self.out);
            self.released(n, 0);
        }
    }

    /// `n` held trades went out, `gaps` of them with ids before them missing.
    fn released(&mut self, n: usize, gaps: usize) {
        if n == 0 {
            return;
        }
        self.held -= n;
        self.released_as_gap += gaps as u64;
        self.earliest_ns =
            self.passed.values().flat_map(|p| &p.held).map(|h| h.deadline_ns).min().unwrap_or(0);
    }

    /// Trades held now (for the ids before them).
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether a held trade's time is up at `now_ns`.
    #[inline]
    pub(crate) fn due(&self, now_ns: i64) -> bool {
        self.held > 0 && now_ns >= self.earliest_ns
    }

    /// The held trades whose time is up at `now_ns` go out, each symbol's in id order (with those
    /// of higher ids the ones they waited for continue), appended to the trades handed on; `clear`:
    /// in place of the last frame's. Whether any went out.
    pub(crate) fn release_due(&mut self, now_ns: i64, clear: bool) -> bool {
        if !self.due(now_ns) {
            return false;
        }
        if clear {
            self.out.clear();
        }
        let (mut n, mut gaps) = (0, 0);
        for (sym, p) in &mut self.passed {
            if let Some(through) = p.held.iter().filter(|h| h.deadline_ns <= now_ns).map(|h| h.id).max() {
                let (k, g) = p.release(through, sym, &mut self.out);
                (n, gaps) = (n + k, gaps + g);
            }
        }
        self.released(n, gaps);
        n > 0
    }

    /// `(symbol, trade)` of the last trade frame, oldest first.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &TradeItem)> + '_ {
        let out = &self.out;
        out.items.iter().map(move |t| (&out.syms[t.sym.0 as usize..t.sym.1 as usize], t))
    }
}
