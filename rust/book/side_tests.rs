//! `Side` against a BTreeMap: `find` and `set_near` with any hint, and every mutator in a random
//! walk. (What the mutators tell a checksum cache is tested in `cache_tests`.)

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
            let got: Vec<(i64, i64)> = s.levels().iter().map(|l| (l.key, l.qty)).collect();
            prop_assert_eq!(got, m.iter().map(|(&k, &q)| (k, q)).collect::<Vec<_>>());
            // The returned index bounds the levels above `key`.
            prop_assert!(s.levels()[hint..].iter().all(|l| l.key >= key));
            prop_assert!(s.levels()[..hint].iter().all(|l| l.key < key));
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
            let got: Vec<(i64, i64)> = s.levels().iter().map(|l| (l.key, l.qty)).collect();
            prop_assert_eq!(got, m.iter().map(|(&k, &q)| (k, q)).collect::<Vec<_>>());
            prop_assert_eq!(s.best().map(|l| l.key), m.keys().next_back().copied());
        }
    }
}

proptest! {
    // Loads as venues send snapshots (keys strictly descending, the touch first), and the same
    // bent out of that order: a zero quantity, a repeated key, two neighbours swapped. Whatever
    // path the load takes, the side holds what a map fed the levels in order holds.
    #[test]
    fn load_in_snapshot_order_or_nearly_matches_a_map(
        keys in proptest::collection::btree_set(-500i64..500, 0..300),
        qtys in proptest::collection::vec(1i64..9, 300),
        bend in 0u8..4,
        at in any::<prop::sample::Index>(),
    ) {
        let mut levels: Vec<(i64, i64)> = keys.iter().rev().zip(&qtys).map(|(&k, &q)| (k, q)).collect();
        if !levels.is_empty() {
            let i = at.index(levels.len());
            match bend {
                1 => levels[i].1 = 0,
                2 => levels.insert(i, (levels[i].0, 5)),
                3 if i + 1 < levels.len() => levels.swap(i, i + 1),
                _ => {}
            }
        }
        let mut s = Side::new(true);
        s.load(levels.iter().map(|&(key, qty)| Level { key, qty, pw: 1, qw: 2 }));
        let mut m = BTreeMap::new();
        for &(k, q) in &levels {
            m.insert(k, q);
        }
        m.retain(|_, q| *q != 0);
        let got: Vec<(i64, i64)> = s.levels().iter().map(|l| (l.key, l.qty)).collect();
        prop_assert_eq!(got, m.into_iter().collect::<Vec<_>>());
        prop_assert!(s.levels().iter().all(|l| (l.pw, l.qw) == (1, 2)));
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
        let expect = match s.levels().iter().position(|l| l.key >= key) {
            Some(i) if s.levels()[i].key == key => Ok(i),
            Some(i) => Err(i),
            None => Err(s.levels().len()),
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
            let expect = match s.levels().iter().position(|l| l.key >= key) {
                Some(i) if s.levels()[i].key == key => Ok(i),
                Some(i) => Err(i),
                None => Err(s.levels().len()),
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
    let got: Vec<(i64, i64)> = s.levels().iter().map(|l| (l.key, l.qty)).collect();
    assert_eq!(got, m.into_iter().collect::<Vec<_>>());
}

/// OKX's capped book: every level that comes in at the touch pushes one out at the far edge. The
/// far-edge deletes free slots before the levels; those must be given back, not pile up, and
/// far-edge inserts must find room there (the side stays equal to a map throughout).
#[test]
fn slack_at_the_far_edge_stays_bounded_and_the_side_exact() {
    let mut s = Side::new(false);
    let mut m = BTreeMap::new();
    for k in 0..400i64 {
        s.set(k, 1, 0, 0);
        m.insert(k, 1);
    }
    for r in 0..20_000i64 {
        // In at the touch, out at the far edge; now and then the reverse.
        let (inn, out) = if r % 7 == 0 {
            let lo = *m.keys().next().unwrap();
            let hi = *m.keys().next_back().unwrap();
            (lo - 1, hi)
        } else {
            let lo = *m.keys().next().unwrap();
            let hi = *m.keys().next_back().unwrap();
            (hi + 1, lo)
        };
        s.set(inn, 2, 0, 0);
        m.insert(inn, 2);
        s.set(out, 0, 0, 0);
        m.remove(&out);
        assert!(s.v.len() <= 2 * s.len() + 2 * LINEAR, "round {r}: {} slots for {}", s.v.len(), s.len());
    }
    let got: Vec<(i64, i64)> = s.levels().iter().map(|l| (l.key, l.qty)).collect();
    assert_eq!(got, m.into_iter().collect::<Vec<_>>());
}
