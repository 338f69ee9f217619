//! The change journal a gateway's book keeps so that it can publish only what changed (`crate::bus`).
//!
//! Off by default: then it costs one predictable branch per level applied. When on, `commit`
//! records the side key of every level it sets and `truncate` the keys it cuts off, so a delta can
//! carry each of those levels' quantity now (0: gone) and a consumer needs no depth setting of its
//! own. Whatever changes the book wholesale (a snapshot, a rescale, a reset, an invalidation) marks
//! it `replaced` instead: the next message must be the whole book, so keys stop being recorded
//! until the journal is taken.

use super::Book;

/// Keys recorded before the journal gives up on a delta and asks for a snapshot: bounds its memory
/// when nobody takes it, and a delta that long would cost as much as the snapshot anyway.
const CAP: usize = 1 << 16;

#[derive(Debug, Clone, Default)]
pub struct Journal {
    on: bool,
    replaced: bool,
    restarted: bool,
    bids: Vec<i64>,
    asks: Vec<i64>,
}

impl Journal {
    #[inline(always)]
    pub(super) fn record(&mut self, ask: bool, key: i64) {
        if !self.on || self.replaced {
            return;
        }
        if ask {
            self.asks.push(key);
        } else {
            self.bids.push(key);
        }
        if self.bids.len() + self.asks.len() > CAP {
            self.replace();
        }
    }

    /// The keys `truncate` is about to cut off (the start of the side's vector: farthest from the
    /// touch).
    #[inline]
    pub(super) fn record_cut(&mut self, ask: bool, cut: &[super::side::Level]) {
        if self.on && !self.replaced {
            for l in cut {
                self.record(ask, l.key);
            }
        }
    }

    pub(super) fn replace(&mut self) {
        if self.on {
            self.replaced = true;
            self.bids.clear();
            self.asks.clear();
        }
    }

    /// A snapshot replaced the book at or below its id: the venue restarted its numbering.
    pub(super) fn restart(&mut self) {
        self.restarted = self.on;
    }

    fn clear(&mut self) {
        self.replaced = false;
        self.restarted = false;
        self.bids.clear();
        self.asks.clear();
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The book changed wholesale since the journal was last taken: only a snapshot says what it
    /// holds.
    pub fn replaced(&self) -> bool {
        self.replaced
    }

    /// Since the journal was last taken, a snapshot replaced the book at or below its id
    /// (the venue restarted its numbering; `crate::bus` tells consumers, whose copy may be at that
    /// id with other levels). The book may have climbed back to any id since.
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    /// Side keys (asks negated, see `side`) of the levels changed since the journal was last taken:
    /// ascending and each once inside `Book::take_journal`, as recorded elsewhere.
    pub fn keys(&self, ask: bool) -> &[i64] {
        if ask {
            &self.asks
        } else {
            &self.bids
        }
    }
}

impl Book {
    /// Turns the change journal on or off. Turning it on marks the book replaced, so the first
    /// message taken from it is the whole book.
    pub fn set_journal(&mut self, on: bool) {
        self.journal.clear();
        self.journal.on = on;
        self.journal.replace();
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Sorts and deduplicates the recorded keys in place (no allocation: the journal's own vectors
    /// are reused), lets `f` read the book and its journal, then clears the journal.
    pub fn take_journal<R>(&mut self, f: impl FnOnce(&Book) -> R) -> R {
        for keys in [&mut self.journal.bids, &mut self.journal.asks] {
            keys.sort_unstable();
            keys.dedup();
        }
        let r = f(self);
        self.journal.clear();
        r
    }
}
