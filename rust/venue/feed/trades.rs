//! The trades of the last trade frame, kept past the frame (whose bytes the caller may reuse), and,
//! while redundant lines are arbitrated, the newest trade id passed on per symbol: the other line's
//! copy of a trade carries the same venue id and is dropped, whichever line brought it first.

use super::Fnv;
use crate::venue::TradeItem;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

#[derive(Default)]
pub(crate) struct LastTrades {
    /// `sym` is a range of `syms`, not of the frame.
    items: Vec<TradeItem>,
    syms: Vec<u8>,
    newest: HashMap<Box<[u8]>, u64, BuildHasherDefault<Fnv>>,
    /// Copies dropped because a line already brought that trade.
    pub(crate) duplicates: u64,
}

impl LastTrades {
    /// Keeps `batch`'s trades, symbols copied out of `frame` (or `named`, the channel's symbol,
    /// where the frame names none). With `dedupe`, a trade whose id is not above the newest its
    /// symbol passed is a copy and dropped; trades without an id always pass (the caller decides
    /// which line's to deliver).
    pub(crate) fn take(&mut self, frame: &[u8], named: Option<&[u8]>, batch: &[TradeItem], dedupe: bool) {
        self.items.clear();
        self.syms.clear();
        let mut last: (u32, u32) = (0, 0);
        for t in batch {
            let sym = match named {
                Some(s) => s,
                None => frame.get(t.sym.0 as usize..t.sym.1 as usize).unwrap_or_default(),
            };
            if let (true, Some(id)) = (dedupe, t.id) {
                match self.newest.get_mut(sym) {
                    Some(n) if id <= *n => {
                        self.duplicates += 1;
                        continue;
                    }
                    Some(n) => *n = id,
                    None => {
                        self.newest.insert(sym.into(), id);
                    }
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
