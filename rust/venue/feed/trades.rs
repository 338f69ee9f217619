//! The trades of the last trade frame, kept past the frame (whose bytes the caller may reuse), and,
//! while redundant lines are arbitrated, the trade ids passed on per symbol: the other line's copy
//! of a trade carries the same venue id and is dropped, whichever line brought it first.

use super::Fnv;
use crate::venue::TradeItem;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// How far below a symbol's newest passed id a trade is still told apart from a copy: ids passed in
/// that window are remembered one by one; an older one is taken for a copy.
const WINDOW: u64 = 4096;

/// A symbol's newest passed trade id and which of the `WINDOW` ids up to it were passed.
struct Passed {
    newest: u64,
    bits: [u64; (WINDOW / 64) as usize],
}

impl Passed {
    fn new(id: u64) -> Self {
        let mut p = Passed { newest: id, bits: [0; (WINDOW / 64) as usize] };
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
}

#[derive(Default)]
pub(crate) struct LastTrades {
    /// `sym` is a range of `syms`, not of the frame.
    items: Vec<TradeItem>,
    syms: Vec<u8>,
    passed: HashMap<Box<[u8]>, Passed, BuildHasherDefault<Fnv>>,
    /// Copies dropped because a line already brought that trade.
    pub(crate) duplicates: u64,
}

impl LastTrades {
    /// Keeps `batch`'s trades, symbols copied out of `frame` (or `named`, the channel's symbol,
    /// where the frame names none); a trade naming no symbol is no event. With `dedupe`, a trade
    /// whose id was already passed for its symbol (or is older than the window of ids remembered)
    /// is a copy and dropped; trades without an id always pass (the caller decides which line's to
    /// deliver).
    pub(crate) fn take(&mut self, frame: &[u8], named: Option<&[u8]>, batch: &[TradeItem], dedupe: bool) {
        self.items.clear();
        self.syms.clear();
        let mut last: (u32, u32) = (0, 0);
        for t in batch {
            let sym = match named {
                Some(s) => s,
                None => frame.get(t.sym.0 as usize..t.sym.1 as usize).unwrap_or_default(),
            };
            if sym.is_empty() {
                continue;
            }
            if let (true, Some(id)) = (dedupe, t.id) {
                let new = match self.passed.get_mut(sym) {
                    Some(p) => p.pass(id),
                    None => {
                        self.passed.insert(sym.into(), Passed::new(id));
                        true
                    }
                };
                if !new {
                    self.duplicates += 1;
                    continue;
                }
            }
            // A frame's trades are nearly always of one symbol: copied once.
            if self.items.is_empty() || self.syms[last.0 as usize..last.1 as usize] != *sym {
                let at = self.syms.len() as u32;
                self.syms.extend_from_slice(sym);
                last = (at, self.syms.len() as u32);
            }
            self.items.push(TradeItem { sym: last, ..*t });
        }
    }

    /// `(symbol, trade)` of the last trade frame, oldest first.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &TradeItem)> + '_ {
        self.items.iter().map(|t| (&self.syms[t.sym.0 as usize..t.sym.1 as usize], t))
    }
}
