//! One side of a book: a sorted Vec with the touch at the END.
//!
//! Almost all traffic changes levels near the touch, so keeping the best level last makes those
//! inserts and deletes move only the few elements behind it, and best bid/ask is `last()`. The
//! levels start `head` slots into the Vec: a change nearer the far edge than the touch moves the
//! levels on the far side into or out of that slack instead (OKX's 400-level book loses a level at
//! its far edge for every one that comes in, and each such delete moved the whole side). Lookups
//! count, without branching, the levels above the key among the 16 nearest the touch (no loop exit
//! to mispredict), then gallop and binary-search for deeper levels. `benches/book.rs`
//! compares this against a BTreeMap.
//!
//! Levels are ordered by `key`, which is the price for bids and the negated price for asks, so both
//! sides share one ascending order and one search routine.
//!
//! A checksum hashes only the levels nearest the touch, and most messages change none of them (OKX
//! edits its 400-level book at the far edge as often as at the touch), so each side carries a
//! `Stamp` that every change among its `WATCHED` nearest levels renews: a checksum cache holding a
//! side's text under an unchanged stamp holds its text now. The side also remembers the last few
//! of those changes (`changes_since`), so such a cache can follow them instead of comparing every
//! level. The levels are private so that no path can change them without logging the change.

use std::sync::atomic::{AtomicU64, Ordering};

/// A price level. `pw`/`qw` are the decimals the venue wrote the price and quantity with, kept only
/// so checksums can rebuild the exact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    pub key: i64,
    pub qty: i64,
    pub pw: u8,
    pub qw: u8,
}

/// How many levels from the touch are counted branch-free before galloping outwards.
const LINEAR: usize = 16;

/// How many levels from the touch a change renews the stamp for: the most any checksum hashes.
pub const WATCHED: usize = 25;

/// How many watched changes a side remembers. More between two checksums than a message usually
/// makes near the touch; a reader further behind compares levels instead.
const LOG: usize = 16;

/// A change among a side's watched levels, by rank (levels from the touch, before the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The level at the rank took a new quantity or written decimals.
    Set(usize),
    /// A level came in at the rank: the levels from there on moved one further out.
    Insert(usize),
    /// The level at the rank went: the ones behind it moved one nearer.
    Remove(usize),
    /// Every level from the rank on went, or may have changed (a load, a clear, a rescale: 0).
    Cut(usize),
}

const SET: u8 = 0 << 6;
const INSERT: u8 = 1 << 6;
const REMOVE: u8 = 2 << 6;
const CUT: u8 = 3 << 6;

impl Change {
    fn decode(c: u8) -> Self {
        let rank = (c & 63) as usize;
        match c & CUT {
            SET => Change::Set(rank),
            INSERT => Change::Insert(rank),
            REMOVE => Change::Remove(rank),
            _ => Change::Cut(rank),
        }
    }
}

/// Names the state of a side's `WATCHED` levels nearest the touch: two reads of one side under the
/// same stamp saw the same levels there. `id` is fresh for every side made or cloned, so stamps of
/// different sides never meet, whatever each did since; `gen` counts the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    id: u64,
    gen: u64,
}

impl Stamp {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Stamp { id: NEXT.fetch_add(1, Ordering::Relaxed), gen: 0 }
    }
}

#[derive(Debug)]
pub struct Side {
    /// The levels are `v[head..]`; the slots before `head` are slack.
    v: Vec<Level>,
    head: usize,
    ask: bool,
    stamp: Stamp,
    /// Watched change `k` (the one that took `stamp.gen` past `k`) is at `log[k % LOG]`.
    log: [u8; LOG],
}

impl Clone for Side {
    fn clone(&self) -> Self {
        // A copy goes its own way from here: its stamps must not be mistaken for the original's.
        Side { v: self.live().to_vec(), head: 0, ask: self.ask, stamp: Stamp::fresh(), log: self.log }
    }
}

impl Default for Side {
    fn default() -> Self {
        Side::new(false)
    }
}

impl Side {
    pub fn new(ask: bool) -> Self {
        Side { v: Vec::new(), head: 0, ask, stamp: Stamp::fresh(), log: [0; LOG] }
    }

    /// Changes with every change among the `WATCHED` levels nearest the touch (and maybe others).
    #[inline]
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// The watched changes since the side had stamp `s`, oldest first; `None` if `s` is not one
    /// of this side's or too old for the log.
    #[inline]
    pub fn changes_since(&self, s: Stamp) -> Option<impl Iterator<Item = Change> + '_> {
        // Strictly fewer than LOG: `touched` writes the slot after the newest change even when it
        // does not count it, which is the oldest change's slot.
        if s.id != self.stamp.id || self.stamp.gen.wrapping_sub(s.gen) >= LOG as u64 {
            return None;
        }
        Some((s.gen..self.stamp.gen).map(|k| Change::decode(self.log[k as usize % LOG])))
    }

    /// Logs a change of `kind` at `rank` (levels from the touch) and renews the stamp, if the rank
    /// is a watched one. Branch-free: near-touch changes are most of the traffic, but not
    /// predictably.
    #[inline(always)]
    fn touched(&mut self, kind: u8, rank: usize) {
        self.log[self.stamp.gen as usize % LOG] = kind | (rank as u8 & 63);
        self.stamp.gen += (rank < WATCHED) as u64;
    }

    /// The levels, ascending by key: the touch is the LAST one.
    #[inline]
    pub fn levels(&self) -> &[Level] {
        self.live()
    }

    #[inline(always)]
    fn live(&self) -> &[Level] {
        // `head <= v.len()`: every method that moves `head` keeps it so.
        &self.v[self.head..]
    }

    #[inline]
    pub fn is_ask(&self) -> bool {
        self.ask
    }

    /// The sort key of a price on this side.
    #[inline]
    pub fn key_of(&self, price: i64) -> i64 {
        if self.ask {
            -price
        } else {
            price
        }
    }

    /// The price of a level on this side.
    #[inline]
    pub fn price_of(&self, l: &Level) -> i64 {
        if self.ask {
            -l.key
        } else {
            l.key
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.v.len() - self.head
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn best(&self) -> Option<&Level> {
        self.live().last()
    }

    /// Levels from the touch outwards.
    #[inline]
    pub fn iter(&self) -> std::iter::Rev<std::slice::Iter<'_, Level>> {
        self.live().iter().rev()
    }

    /// `Ok(index)` of `key`, or `Err(insertion index)`.
    ///
    /// A branch-free count over the `LINEAR` levels nearest the touch, then galloping outwards (16,
    /// 32, 64, … levels) before a binary search inside the bracket: cost grows with the distance from the
    /// touch, not with the book's size.
    #[inline]
    pub fn find(&self, key: i64) -> Result<usize, usize> {
        let v = self.live();
        let n = v.len();
        let stop = n.saturating_sub(LINEAR);
        if n >= LINEAR {
            // Branch-free over the window: keys ascend, so the levels above `key` are a suffix and
            // counting them gives the position without a data-dependent loop exit to mispredict.
            let mut gt = 0;
            // An index loop: the iterator's sum compiled to slower code here (criterion
            // `level_update_near_touch`).
            #[allow(clippy::needless_range_loop)]
            for j in stop..n {
                gt += (v[j].key > key) as usize;
            }
            if gt < LINEAR {
                let i = n - gt; // v[i - 1].key <= key < v[i].key
                return if v[i - 1].key == key { Ok(i - 1) } else { Err(i) };
            }
        }
        // Only a side shorter than the window gets here with levels left to scan.
        let mut j = if n >= LINEAR { stop } else { n };
        while j > stop {
            let k = v[j - 1].key;
            if k == key {
                return Ok(j - 1);
            }
            if k < key {
                return Err(j);
            }
            j -= 1;
        }
        // Every key in v[hi..] is > key.
        let mut hi = stop;
        let mut step = LINEAR;
        while hi > 0 {
            let lo = hi.saturating_sub(step);
            if hi - lo == LINEAR && v[lo].key <= key {
                // The first bracket past the window: counted like the window (independent loads)
                // rather than searched (a chain of dependent ones).
                let gt: usize = v[lo..hi].iter().map(|l| (l.key > key) as usize).sum();
                let i = hi - gt; // > lo, since v[lo].key <= key
                return if v[i - 1].key == key { Ok(i - 1) } else { Err(i) };
            }
            if lo == 0 || v[lo].key <= key {
                return Self::search_bracket(v, key, lo, hi);
            }
            hi = lo;
            step *= 2;
        }
        Err(0)
    }

    /// `find`'s answer for `key` once a gallop has bracketed it in `v[lo..hi]`.
    #[inline(always)]
    fn search_bracket(v: &[Level], key: i64, lo: usize, hi: usize) -> Result<usize, usize> {
        match v[lo..hi].binary_search_by(|l| l.key.cmp(&key)) {
            Ok(i) => Ok(lo + i),
            Err(i) => Err(lo + i),
        }
    }

    /// `find` for a key below every level from `hi` up (`v[hi..]` all have larger keys): galloping
    /// down from `hi` (4, 8, 16, … levels), then a binary search inside the bracket, so the cost
    /// grows with the distance from `hi`.
    #[inline]
    fn find_below(&self, key: i64, mut hi: usize) -> Result<usize, usize> {
        let v = self.live();
        if hi >= LINEAR {
            // The window below `hi` counted like the one at the touch (independent loads, no exit
            // to mispredict): OKX's next level is often within it, and a gallop there is a chain
            // of dependent steps.
            let lo = hi - LINEAR;
            if v[lo].key <= key {
                let gt: usize = v[lo..hi].iter().map(|l| (l.key > key) as usize).sum();
                let i = hi - gt; // > lo, since v[lo].key <= key
                return if v[i - 1].key == key { Ok(i - 1) } else { Err(i) };
            }
            hi = lo;
        }
        let mut step = 4;
        loop {
            let lo = hi.saturating_sub(step);
            if lo == 0 || v[lo].key <= key {
                return Self::search_bracket(v, key, lo, hi);
            }
            hi = lo;
            step *= 2;
        }
    }

    /// Sets the quantity at `key`; 0 removes the level (absent is fine: venues send deletes for
    /// levels a client may never have seen).
    #[inline]
    pub fn set(&mut self, key: i64, qty: i64, pw: u8, qw: u8) {
        self.set_near(key, qty, pw, qw, usize::MAX);
    }

    /// `set` given where the previous level of a message went: venues list a side's levels from
    /// the touch outwards, so the next key lies below the index `set_near` returned for the last
    /// one, usually a few levels down; the search gallops from there instead of from the touch.
    /// Any `hint` is correct (one that does not hold, one inside the window next to the touch, or
    /// `usize::MAX`, searches from the touch).
    #[inline]
    pub fn set_near(&mut self, key: i64, qty: i64, pw: u8, qw: u8, hint: usize) -> usize {
        // Within the window next to the touch, `find`'s branch-free count is the faster search.
        let found = match self.live().get(hint) {
            Some(l) if l.key > key && hint + LINEAR < self.len() => self.find_below(key, hint),
            _ => self.find(key),
        };
        let n = self.len();
        match found {
            Ok(i) => {
                self.touched(if qty == 0 { REMOVE } else { SET }, n - 1 - i);
                if qty == 0 {
                    self.remove_at(i, n);
                } else {
                    let l = &mut self.v[self.head + i];
                    l.qty = qty;
                    l.pw = pw;
                    l.qw = qw;
                }
                i
            }
            Err(i) => {
                if qty != 0 {
                    self.touched(INSERT, n - i);
                    self.insert_at(i, n, Level { key, qty, pw, qw });
                }
                i
            }
        }
    }

    /// Removes the level at index `i` of `n`, moving whichever part of the side is shorter: the
    /// levels nearer the touch down, or those nearer the far edge up into the slack.
    #[inline(always)]
    fn remove_at(&mut self, i: usize, n: usize) {
        let h = self.head;
        if i < n / 2 {
            self.v.copy_within(h..h + i, h + 1);
            self.head = h + 1;
        } else {
            self.v.remove(h + i);
        }
    }

    /// Inserts `l` at index `i` of `n`, moving whichever part of the side is shorter (see
    /// `remove_at`).
    #[inline(always)]
    fn insert_at(&mut self, i: usize, n: usize, l: Level) {
        if i < n / 2 {
            if self.head == 0 {
                self.make_slack(n);
            }
            let h = self.head;
            self.v.copy_within(h..h + i, h - 1);
            self.head = h - 1;
            self.v[h - 1 + i] = l;
        } else {
            if self.head > n.max(LINEAR) {
                // Slack that only grows (levels leave at the far edge, arrive at the touch): given
                // back once it outnumbers the levels, so each level moves once per that many changes.
                self.v.drain(..self.head);
                self.head = 0;
            }
            self.v.insert(self.head + i, l);
        }
    }

    /// Room before the levels for the next far-edge inserts: one move of the side for a quarter
    /// of its length of them.
    #[cold]
    fn make_slack(&mut self, n: usize) {
        let k = (n / 4).max(LINEAR);
        self.v.splice(0..0, std::iter::repeat_n(Level::default(), k));
        self.head = k;
    }

    /// Keeps only the `depth` levels nearest the touch.
    #[inline]
    pub fn truncate(&mut self, depth: usize) {
        let n = self.len();
        if n > depth {
            // What remains is the nearest `depth`; the first level cut was at rank `depth`. The
            // cut levels become slack.
            self.touched(CUT, depth);
            self.head += n - depth;
        }
    }

    pub fn clear(&mut self) {
        self.touched(CUT, 0);
        self.v.clear();
        self.head = 0;
    }

    /// Gives back the memory of levels no longer held.
    pub fn shrink(&mut self) {
        self.v.drain(..self.head);
        self.head = 0;
        self.v.shrink_to_fit();
    }

    /// Multiplies every price by `fp` and quantity by `fq` (a wider scale); the caller has checked
    /// that none overflows.
    pub fn widen(&mut self, fp: i64, fq: i64) {
        self.touched(CUT, 0);
        for l in &mut self.v[self.head..] {
            l.key *= fp;
            l.qty *= fq;
        }
    }

    /// Replaces the contents with `levels` in any order; a repeated price keeps its last entry,
    /// zero quantities are dropped.
    pub fn load(&mut self, levels: impl Iterator<Item = Level>) {
        self.touched(CUT, 0);
        self.v.clear();
        self.head = 0;
        self.v.extend(levels);
        // Venues list a snapshot's side from the touch outwards, so its keys arrive strictly
        // descending: reversed, they are the side, with no sort (whose scratch buffer is an
        // allocation per snapshot), no duplicates to drop and, without zero quantities, nothing
        // to filter.
        let v = &mut self.v;
        let ordered = v.windows(2).fold(true, |ok, w| ok & (w[0].key > w[1].key));
        if ordered && v.iter().fold(true, |ok, l| ok & (l.qty != 0)) {
            v.reverse();
            return;
        }
        // Stable, so among equal keys the later (more recent) entry stays last.
        v.sort_by_key(|l| l.key);
        let mut w = 0;
        for r in 0..v.len() {
            if w > 0 && v[w - 1].key == v[r].key {
                v[w - 1] = v[r];
            } else {
                v[w] = v[r];
                w += 1;
            }
        }
        v.truncate(w);
        v.retain(|l| l.qty != 0);
    }
}

#[cfg(test)]
#[path = "side_tests.rs"]
mod tests;
