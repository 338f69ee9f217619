//! A message's levels for one side applied together, each untouched level moved at most once.
//!
//! Applied one at a time, every insert or removal moves all the levels nearer the touch (the touch
//! is at the end of `Side::v`). Deep books get many of them far from the touch: OKX's 400-level
//! `books` channel drops and adds levels at its far edge in most messages, so each of those moved
//! the whole side, and the moves were ~9% of the OKX replay. When the levels come from the touch
//! outwards with distinct prices (what every venue sends), the runs of untouched levels between
//! them are moved once each, straight to where they end up, and the new levels written after.

use super::side::{Level, Side};

/// Scratch kept between messages so that applying allocates nothing once warm.
#[derive(Debug, Clone, Default)]
pub struct Merge {
    /// Per level, in the order given: its index in the side before the message, and whether the
    /// price was there.
    at: Vec<(usize, bool)>,
}

impl Side {
    /// Sets each of `levels` as `set_near` would, in order (quantity 0 removes).
    pub fn apply_from_touch(&mut self, levels: &[Level], m: &mut Merge) {
        // Out of order or a repeated price: the order between levels matters, so one at a time.
        if levels.len() < 2 || levels.windows(2).any(|w| w[1].key >= w[0].key) {
            let mut hint = usize::MAX;
            for l in levels {
                hint = self.set_near(l.key, l.qty, l.pw, l.qw, hint);
            }
            return;
        }
        let n = self.v.len();
        m.at.clear();
        // What one at a time would move, and where the farthest insert or removal is.
        let (mut hint, mut moves, mut total, mut far) = (usize::MAX, 0, 0isize, n);
        for l in levels {
            let (i, found) = match self.locate(l.key, hint) {
                Ok(i) => (i, true),
                Err(i) => (i, false),
            };
            hint = i;
            let d = grows(found, l.qty);
            if d != 0 {
                (moves, total, far) = (moves + n - i, total + d, i);
            }
            m.at.push((i, found));
        }
        // The merge moves each level once but costs a pass over the levels: not worth it when
        // one at a time moves little more.
        if moves <= 2 * (n - far) + 64 {
            // Each level lies below the ones set before it, so their moves left its index as found.
            for (l, &(i, found)) in levels.iter().zip(&m.at) {
                match (found, l.qty != 0) {
                    (true, false) => drop(self.v.remove(i)),
                    (true, true) => self.v[i] = *l,
                    (false, true) => self.v.insert(i, *l),
                    (false, false) => {}
                }
            }
            return;
        }
        if total > 0 {
            self.v.resize(n + total as usize, Level::default());
        }
        // Runs of untouched levels move by the inserts less the removals below them. Those moving
        // towards the touch go nearest first, those moving away farthest first, so none lands on
        // a run not yet moved; a new level is written once the runs that held its place moved.
        let (mut shift, mut above) = (total, n);
        for (l, &(i, found)) in levels.iter().zip(&m.at) {
            let end = i + found as usize;
            if shift > 0 && end < above {
                self.v.copy_within(end..above, end + shift as usize);
            }
            shift -= grows(found, l.qty);
            if shift >= 0 && l.qty != 0 {
                self.v[i + shift as usize] = *l;
            }
            above = i;
        }
        let mut shift = 0isize;
        for (k, (l, &(i, found))) in levels.iter().zip(&m.at).enumerate().rev() {
            if shift < 0 && l.qty != 0 {
                self.v[i - shift.unsigned_abs()] = *l;
            }
            shift += grows(found, l.qty);
            let end = i + found as usize;
            let above = if k == 0 { n } else { m.at[k - 1].0 };
            if shift < 0 && end < above {
                self.v.copy_within(end..above, end - shift.unsigned_abs());
            }
        }
        if total < 0 {
            self.v.truncate(n - total.unsigned_abs());
        }
    }
}

/// How a level changes the side's length: an insert 1, a removal -1.
#[inline(always)]
fn grows(found: bool, qty: i64) -> isize {
    (!found && qty != 0) as isize - (found && qty == 0) as isize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn level(key: i64, qty: i64) -> Level {
        Level { key, qty, pw: (key % 7) as u8, qw: (qty % 5) as u8 }
    }

    proptest! {
        // The same levels (quantities and written decimals) as setting them one at a time with
        // `set`, and as a map: messages from the touch outwards (the merge), and in any order or
        // with repeated prices (one at a time), on sides of any size, bids and asks.
        #[test]
        fn merge_matches_one_at_a_time_and_a_map(
            ask in any::<bool>(),
            book in proptest::collection::btree_map(0i64..500, 1i64..9, 0..200),
            msgs in proptest::collection::vec(
                (proptest::collection::vec((0i64..520, prop_oneof![1 => Just(0i64), 2 => 1i64..9]), 0..40), any::<bool>()),
                1..12),
        ) {
            let sign = if ask { -1 } else { 1 };
            let (mut merged, mut single) = (Side::new(ask), Side::new(ask));
            let mut map = BTreeMap::new();
            for (&k, &q) in &book {
                let l = level(sign * k, q);
                merged.set(l.key, l.qty, l.pw, l.qw);
                single.set(l.key, l.qty, l.pw, l.qw);
                map.insert(l.key, l);
            }
            let mut m = Merge::default();
            for (mut msg, from_touch) in msgs {
                if from_touch {
                    // Keys descending, distinct: from the touch outwards.
                    msg.sort_by_key(|&(k, _)| std::cmp::Reverse(sign * k));
                    msg.dedup_by_key(|l| l.0);
                }
                let levels: Vec<Level> = msg.iter().map(|&(k, q)| level(sign * k, q)).collect();
                merged.apply_from_touch(&levels, &mut m);
                for l in &levels {
                    single.set(l.key, l.qty, l.pw, l.qw);
                    if l.qty == 0 { map.remove(&l.key); } else { map.insert(l.key, *l); }
                }
                prop_assert_eq!(&merged.v, &single.v);
                prop_assert_eq!(&merged.v, &map.values().copied().collect::<Vec<_>>());
            }
        }
    }
}
