//! One side of a book: a sorted Vec with the touch at the END.
//!
//! Almost all traffic changes levels near the touch, so keeping the best level last makes those
//! inserts and deletes move only the few elements behind it, and best bid/ask is `last()`. Lookups
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
//! side's text under an unchanged stamp holds its text now. The levels are private so that no path
//! can change them without deciding on the stamp.

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
    v: Vec<Level>,
    ask: bool,
    stamp: Stamp,
}

impl Clone for Side {
    fn clone(&self) -> Self {
        // A copy goes its own way from here: its stamps must not be mistaken for the original's.
        Side { v: self.v.clone(), ask: self.ask, stamp: Stamp::fresh() }
    }
}

impl Default for Side {
    fn default() -> Self {
        Side::new(false)
    }
}

impl Side {
    pub fn new(ask: bool) -> Self {
        Side { v: Vec::new(), ask, stamp: Stamp::fresh() }
    }

    /// Changes with every change among the `WATCHED` levels nearest the touch (and maybe others).
    #[inline]
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Renews the stamp if a change at `rank` (levels from the touch) is among the watched ones.
    /// Branch-free: near-touch changes are most of the traffic, but not predictably.
    #[inline(always)]
    fn touched(&mut self, rank: usize) {
        self.stamp.gen += (rank < WATCHED) as u64;
    }

    /// The levels, ascending by key: the touch is the LAST one.
    #[inline]
    pub fn levels(&self) -> &[Level] {
        &self.v
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
        self.v.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    #[inline]
    pub fn best(&self) -> Option<&Level> {
        self.v.last()
    }

    /// Levels from the touch outwards.
    #[inline]
    pub fn iter(&self) -> std::iter::Rev<std::slice::Iter<'_, Level>> {
        self.v.iter().rev()
    }

    /// `Ok(index)` of `key`, or `Err(insertion index)`.
    ///
    /// A branch-free count over the `LINEAR` levels nearest the touch, then galloping outwards (16,
    /// 32, 64, … levels) before a binary search inside the bracket: cost grows with the distance from the
    /// touch, not with the book's size.
    #[inline]
    pub fn find(&self, key: i64) -> Result<usize, usize> {
        let v = &self.v;
        let n = v.len();
        let stop = n.saturating_sub(LINEAR);
        if n >= LINEAR {
            // Branch-free over the window: keys ascend, so the levels above `key` are a suffix and
            // counting them gives the position without a data-dependent loop exit to mispredict.
            let gt: usize = v[stop..].iter().map(|l| (l.key > key) as usize).sum();
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
        let v = &self.v;
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
        let found = match self.v.get(hint) {
            Some(l) if l.key > key && hint + LINEAR < self.v.len() => self.find_below(key, hint),
            _ => self.find(key),
        };
        let n = self.v.len();
        match found {
            Ok(i) => {
                self.touched(n - 1 - i);
                if qty == 0 {
                    self.v.remove(i);
                } else {
                    let l = &mut self.v[i];
                    l.qty = qty;
                    l.pw = pw;
                    l.qw = qw;
                }
                i
            }
            Err(i) => {
                if qty != 0 {
                    self.touched(n - i);
                    self.v.insert(i, Level { key, qty, pw, qw });
                }
                i
            }
        }
    }

    /// Keeps only the `depth` levels nearest the touch.
    #[inline]
    pub fn truncate(&mut self, depth: usize) {
        let n = self.v.len();
        if n > depth {
            // What remains is the nearest `depth`; the first level cut was at rank `depth`.
            self.touched(depth);
            self.v.drain(..n - depth);
        }
    }

    pub fn clear(&mut self) {
        self.touched(0);
        self.v.clear();
    }

    /// Multiplies every price by `fp` and quantity by `fq` (a wider scale); the caller has checked
    /// that none overflows.
    pub fn widen(&mut self, fp: i64, fq: i64) {
        self.touched(0);
        for l in &mut self.v {
            l.key *= fp;
            l.qty *= fq;
        }
    }

    /// Replaces the contents with `levels` in any order; a repeated price keeps its last entry,
    /// zero quantities are dropped.
    pub fn load(&mut self, levels: impl Iterator<Item = Level>) {
        self.touched(0);
        self.v.clear();
        self.v.extend(levels);
        // Stable, so among equal keys the later (more recent) entry stays last.
        self.v.sort_by_key(|l| l.key);
        let v = &mut self.v;
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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        // Whatever the hint (the chain of returned ones, as `Book::commit` uses them, or any other
        // index, or none), `set_near` leaves the same levels as a plain search would.
        #[test]
        fn set_near_with_any_hint_matches_a_map(
            ops in proptest::collection::vec((0i64..600, prop_oneof![1 => Just(0i64), 2 => 1i64..9], any::<Option<u16>>()), 1..400),
        ) {
            let mut s = Side::new(false);
            let mut m = BTreeMap::new();
            let mut hint = usize::MAX;
            for (key, qty, other) in ops {
                let h = other.map_or(hint, usize::from);
                hint = s.set_near(key, qty, 0, 0, h);
                if qty == 0 { m.remove(&key); } else { m.insert(key, qty); }
                let got: Vec<(i64, i64)> = s.v.iter().map(|l| (l.key, l.qty)).collect();
                prop_assert_eq!(got, m.iter().map(|(&k, &q)| (k, q)).collect::<Vec<_>>());
                // The returned index bounds the levels above `key`.
                prop_assert!(s.v[hint..].iter().all(|l| l.key >= key));
                prop_assert!(s.v[..hint].iter().all(|l| l.key < key));
            }
        }

        // Every mutator in a random walk against a map, with most edits at the two edges the way
        // a deep book drifts (OKX's 400-level book changes at its far edge in most messages),
        // cuts to a depth, and loads landing on whatever the walk left.
        #[test]
        fn walk_with_edits_at_both_edges_matches_a_map(
            ops in proptest::collection::vec(walk_op(), 1..500),
        ) {
            let mut s = Side::new(false);
            let mut m: BTreeMap<i64, i64> = BTreeMap::new();
            let mut hint = usize::MAX;
            for op in ops {
                match op {
                    Op::Set(at, off, qty) => {
                        let key = match at {
                            Edge::Far => m.keys().next().map_or(0, |k| k + off),
                            Edge::Near => m.keys().next_back().map_or(0, |k| k + off),
                            Edge::Anywhere => off * 7,
                        };
                        hint = s.set_near(key, qty, 0, 0, hint);
                        if qty == 0 { m.remove(&key); } else { m.insert(key, qty); }
                    }
                    Op::Truncate(depth) => {
                        s.truncate(depth);
                        while m.len() > depth {
                            m.pop_first();
                        }
                        hint = usize::MAX;
                    }
                    Op::Load(levels) => {
                        s.load(levels.iter().map(|&(key, qty)| Level { key, qty, pw: 0, qw: 0 }));
                        m = BTreeMap::new();
                        for (k, q) in levels {
                            m.insert(k, q);
                        }
                        m.retain(|_, q| *q != 0);
                        hint = usize::MAX;
                    }
                }
                let got: Vec<(i64, i64)> = s.v.iter().map(|l| (l.key, l.qty)).collect();
                prop_assert_eq!(got, m.iter().map(|(&k, &q)| (k, q)).collect::<Vec<_>>());
                prop_assert_eq!(s.best().map(|l| l.key), m.keys().next_back().copied());
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Edge {
        Far,
        Near,
        Anywhere,
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Edge, i64, i64),
        Truncate(usize),
        Load(Vec<(i64, i64)>),
    }

    fn walk_op() -> impl Strategy<Value = Op> {
        let qty = prop_oneof![1 => Just(0i64), 2 => 1i64..9];
        let edge = prop_oneof![Just(Edge::Far), Just(Edge::Near), Just(Edge::Anywhere)];
        prop_oneof![
            40 => (edge, -6i64..6, qty).prop_map(|(e, off, q)| Op::Set(e, off, q)),
            1 => (0usize..300).prop_map(Op::Truncate),
            1 => proptest::collection::vec((0i64..2000, 0i64..9), 0..400).prop_map(Op::Load),
        ]
    }

    #[test]
    fn find_agrees_with_linear_search_everywhere() {
        let mut s = Side::new(false);
        for p in (0..300).map(|i| i * 3) {
            s.set(p, 1, 0, 0);
        }
        for key in -2..905 {
            let expect = match s.v.iter().position(|l| l.key >= key) {
                Some(i) if s.v[i].key == key => Ok(i),
                Some(i) => Err(i),
                None => Err(s.v.len()),
            };
            assert_eq!(s.find(key), expect, "key {key}");
        }
    }

    #[test]
    fn find_agrees_with_linear_search_at_every_size_around_the_window() {
        for len in 0..3 * LINEAR {
            let mut s = Side::new(false);
            for p in (0..len as i64).map(|i| i * 2) {
                s.set(p, 1, 0, 0);
            }
            for key in -1..=2 * len as i64 + 1 {
                let expect = match s.v.iter().position(|l| l.key >= key) {
                    Some(i) if s.v[i].key == key => Ok(i),
                    Some(i) => Err(i),
                    None => Err(s.v.len()),
                };
                assert_eq!(s.find(key), expect, "len {len} key {key}");
            }
        }
    }

    #[test]
    fn asks_keep_lowest_price_at_touch() {
        let mut s = Side::new(true);
        for p in [105, 101, 103, 102] {
            s.set(s.key_of(p), 1, 0, 0);
        }
        let prices: Vec<i64> = s.iter().map(|l| s.price_of(l)).collect();
        assert_eq!(prices, vec![101, 102, 103, 105]);
        s.set(s.key_of(101), 0, 0, 0);
        assert_eq!(s.price_of(s.best().unwrap()), 102);
        s.truncate(2);
        let prices: Vec<i64> = s.iter().map(|l| s.price_of(l)).collect();
        assert_eq!(prices, vec![102, 103]);
    }

    #[test]
    fn load_dedups_keeping_last_and_matches_map() {
        let mut s = Side::new(false);
        let input = [(5, 1), (3, 2), (5, 7), (4, 0), (9, 1)];
        s.load(input.iter().map(|&(k, q)| Level { key: k, qty: q, pw: 0, qw: 0 }));
        let mut m = BTreeMap::new();
        for (k, q) in input {
            m.insert(k, q);
        }
        m.retain(|_, q| *q != 0);
        let got: Vec<(i64, i64)> = s.v.iter().map(|l| (l.key, l.qty)).collect();
        assert_eq!(got, m.into_iter().collect::<Vec<_>>());
    }
}
