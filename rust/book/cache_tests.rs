//! The checksum cache's shortcuts against every way a book or a side changes: a side whose stamp
//! did not change is not walked, the last sum stands while neither side changed, and a side's
//! logged changes are replayed instead of walking its levels. Each test checks the cached sum
//! against `checksum::compute` (written from scratch) after every step, including steps that
//! change nothing hashed.

use super::checksum::{compute, ChecksumKind, Fmt};
use super::level_text::Cache;
use super::side::{Level, Side};
use super::sync::SeqInfo;
use super::tests::{lv, text};
use super::*;
use proptest::prelude::*;
/// One level of a step: (ask, levels from the grid's touch, quantity in quarters (0 deletes),
/// trailing zeros written after the price and quantity, between grid prices and quantities).
type StepLevel = (bool, u16, u8, u8, bool);

/// What a book lives through, for the cache to follow: every way its levels change or do not.
#[derive(Debug, Clone)]
enum Step {
    Diff(Vec<StepLevel>),
    Snapshot(Vec<StepLevel>),
    /// A depth cap, and a message with no levels that cuts to it.
    Depth(usize),
    /// The diff with a negative quantity after it: refused whole.
    Refused(Vec<StepLevel>),
    /// A frame of the diff and then a refused message for the same book, checked whole (on a copy
    /// of the book that applies the diff) and refused.
    RefusedFrame(Vec<StepLevel>),
    /// A frame of two diffs for the same book, checked on a copy and then applied.
    Frame(Vec<StepLevel>, Vec<StepLevel>),
    Reset,
}

fn step_level() -> impl Strategy<Value = StepLevel> {
    // At the touch, around the 10th and 25th level (Kraken's and OKX's last hashed ones), beyond.
    let at = prop_oneof![4 => 0u16..6, 2 => 7u16..13, 3 => 21u16..29, 2 => 29u16..90];
    let fine = prop_oneof![30 => Just(false), 1 => Just(true)];
    (any::<bool>(), at, 0u8..4, prop_oneof![6 => Just(0u8), 1 => 1u8..3], fine)
}

fn step() -> impl Strategy<Value = Step> {
    let diff = || proptest::collection::vec(step_level(), 0..4);
    prop_oneof![
        40 => diff().prop_map(Step::Diff),
        2 => proptest::collection::vec(step_level(), 0..120).prop_map(Step::Snapshot),
        // Around the hashed depths most: a cut there is the one that reaches a hashed level.
        2 => prop_oneof![Just(0usize), 5usize..40, 9usize..12, 24usize..27].prop_map(Step::Depth),
        2 => diff().prop_map(Step::Refused),
        2 => diff().prop_map(Step::RefusedFrame),
        2 => (diff(), diff()).prop_map(|(a, b)| Step::Frame(a, b)),
        1 => Just(Step::Reset),
    ]
}

/// Grid prices 1000.00 +- 0.01 per level (0.005 further out when `fine`, which widens the book's
/// scale), quantities in quarters (plus 0.001 when `fine`).
fn step_raw(&(ask, at, q, pad, fine): &StepLevel) -> RawLevel {
    let milli = if ask { 1_000_010 + 10 * at as i64 } else { 1_000_000 - 10 * at as i64 };
    let zeros = "0".repeat(pad as usize);
    let px = if fine { text(milli + if ask { 5 } else { -5 }, 3) } else { text(milli / 10, 2) } + &zeros;
    let qty = match q {
        0 => "0".to_string(),
        _ if fine => text(250 * q as i64 + 1, 3),
        _ => text(25 * q as i64, 2) + &zeros,
    };
    lv(ask, &px, &qty)
}

fn routed(lv: (usize, usize)) -> frame::Routed {
    frame::Routed {
        book: 0,
        lv: (lv.0 as u32, lv.1 as u32),
        snapshot: false,
        seq: SeqInfo::default(),
        checksum: None,
        depth: 0,
        upstream_lost: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // The checksum the book verifies with (texts reused, sides skipped, the last sum reused) equals
    // the one written from scratch after every step a book can take, whether it changed the hashed
    // levels, only levels beyond them, only the other side, or nothing (a refused message).
    #[test]
    fn cached_checksums_follow_every_way_a_book_changes(
        steps in proptest::collection::vec(step(), 1..80),
        kind in prop_oneof![Just(ChecksumKind::Okx), Just(ChecksumKind::Kraken), Just(ChecksumKind::Bitfinex)],
    ) {
        let mut books = vec![Book::new(BookConfig { checksum: kind, ..BookConfig::default() })];
        let grid: Vec<_> = (0..60).flat_map(|at| [(false, at, 1, 0, false), (true, at, 2, 0, false)]).collect();
        let raw: Vec<_> = grid.iter().map(step_raw).collect();
        books[0].apply_snapshot(&raw, SeqInfo::default(), None).unwrap();
        prop_assert_eq!(books[0].cached_checksum(), books[0].checksum());
        for (k, s) in steps.iter().enumerate() {
            let book = &mut books[0];
            let before = (book.bids().levels().to_vec(), book.asks().levels().to_vec());
            match s {
                Step::Diff(m) => {
                    let raw: Vec<_> = m.iter().map(step_raw).collect();
                    book.apply_diff(&raw, SeqInfo::default(), None).unwrap();
                }
                Step::Snapshot(m) => {
                    let raw: Vec<_> = m.iter().map(step_raw).collect();
                    book.apply_snapshot(&raw, SeqInfo::default(), None).unwrap();
                }
                Step::Depth(d) => {
                    book.set_max_depth(*d);
                    book.apply_diff(&[], SeqInfo::default(), None).unwrap();
                }
                Step::Refused(m) => {
                    let mut raw: Vec<_> = m.iter().map(step_raw).collect();
                    raw.push(lv(false, "999", "-1"));
                    prop_assert!(book.apply_diff(&raw, SeqInfo::default(), None).is_err());
                }
                Step::RefusedFrame(m) => {
                    let mut raw: Vec<_> = m.iter().map(step_raw).collect();
                    raw.push(lv(true, "1001", "-1"));
                    let routes = [routed((0, m.len())), routed((m.len(), m.len() + 1))];
                    prop_assert!(frame::check(&books, &raw, &routes).is_err());
                }
                Step::Frame(a, b) => {
                    let raw: Vec<_> = a.iter().chain(b).map(step_raw).collect();
                    let routes = [routed((0, a.len())), routed((a.len(), raw.len()))];
                    prop_assert!(frame::check(&books, &raw, &routes).is_ok());
                    for r in &routes {
                        r.apply(&mut books[0], &raw).unwrap();
                    }
                }
                Step::Reset => {
                    book.reset();
                    book.apply_snapshot(&[], SeqInfo::default(), None).unwrap();
                }
            }
            let book = &mut books[0];
            if matches!(s, Step::Refused(_) | Step::RefusedFrame(_)) {
                prop_assert_eq!((book.bids().levels().to_vec(), book.asks().levels().to_vec()), before);
            }
            prop_assert!(book.is_synced());
            let fresh = book.checksum();
            prop_assert_eq!(book.cached_checksum(), fresh, "step {}: {:?}", k, s);
        }
    }
}

// A cache that has seen one side must not take a copy of it for the side it saw, nor follow the
// copy's changes as if they were the side's: each goes its own way from the copy on.
#[test]
fn a_copy_of_a_side_is_not_mistaken_for_the_side() {
    let f = Fmt { price_scale: 2, qty_scale: 0, price_decimals: None, qty_decimals: None };
    let (mut bids, asks) = (Side::new(false), Side::new(true));
    bids.set(10_000, 1, 2, 0);
    bids.set(9_999, 1, 2, 0);
    let mut cache = Cache::default();
    cache.compute(ChecksumKind::Okx, &bids, &asks, &f);
    let mut copy = bids.clone();
    bids.set(9_999, 2, 2, 0);
    for q in 1..40 {
        // The copy changes at the touch only, and by as many changes as the side or more: replaying
        // its log onto the side's texts would leave the side's second level in the copy's.
        copy.set(10_000, q, 2, 0);
        for side in [&bids, &copy] {
            let fresh = compute(ChecksumKind::Okx, side, &asks, &f);
            assert_eq!(cache.compute(ChecksumKind::Okx, side, &asks, &f), fresh, "q {q}");
        }
    }
}

// A side remembers its last few changes: the checksum after exactly as many changes as it holds,
// and a change it does not count (beyond the hashed levels) writing where the oldest one was, must
// not replay the log (its oldest change is gone).
#[test]
fn a_full_log_is_not_replayed() {
    let f = Fmt { price_scale: 2, qty_scale: 0, price_decimals: None, qty_decimals: None };
    for (changes, beyond) in (10..20).flat_map(|c| [(c, false), (c, true)]) {
        let (mut bids, asks) = (Side::new(false), Side::new(true));
        for at in 0..40 {
            bids.set(10_000 - at, 1, 2, 0);
        }
        let mut cache = Cache::default();
        cache.compute(ChecksumKind::Okx, &bids, &asks, &f);
        for at in 0..changes {
            bids.set(10_000 - at, 2, 2, 0);
        }
        if beyond {
            bids.set(10_000 - 30, 2, 2, 0);
        }
        let fresh = compute(ChecksumKind::Okx, &bids, &asks, &f);
        assert_eq!(cache.compute(ChecksumKind::Okx, &bids, &asks, &f), fresh, "{changes} {beyond}");
    }
}

// Widening moves every level without the cache's format changing (`Book` changes the scale with
// it, which empties the cache anyway): the side alone must say its levels changed.
#[test]
fn a_widened_side_is_not_taken_for_the_side_it_was() {
    let f = Fmt { price_scale: 2, qty_scale: 0, price_decimals: None, qty_decimals: None };
    let (mut bids, asks) = (Side::new(false), Side::new(true));
    bids.set(10_000, 1, 2, 0);
    let mut cache = Cache::default();
    cache.compute(ChecksumKind::Okx, &bids, &asks, &f);
    bids.widen(10, 1);
    assert_eq!(
        cache.compute(ChecksumKind::Okx, &bids, &asks, &f),
        compute(ChecksumKind::Okx, &bids, &asks, &f)
    );
}

/// One change to a side alone (no book around it).
#[derive(Debug, Clone)]
enum SideOp {
    /// (ask, levels from the grid's touch, quantity in eighths (0 removes), price decimals written)
    Set(bool, i64, i64, u8),
    Truncate(bool, usize),
    Clear(bool),
    Load(bool, Vec<(i64, i64)>),
    Widen(bool),
}

fn side_op() -> impl Strategy<Value = SideOp> {
    let at = prop_oneof![4 => 0i64..6, 2 => 7i64..13, 3 => 21i64..29, 2 => 29i64..90];
    let depth = prop_oneof![0usize..40, 9usize..12, 24usize..27];
    let levels = proptest::collection::vec((0i64..90, 0i64..4), 0..100);
    prop_oneof![
        60 => (any::<bool>(), at, 0i64..4, 0u8..3).prop_map(|(a, at, q, pw)| SideOp::Set(a, at, q, pw)),
        2 => (any::<bool>(), depth).prop_map(|(a, d)| SideOp::Truncate(a, d)),
        1 => any::<bool>().prop_map(SideOp::Clear),
        2 => (any::<bool>(), levels).prop_map(|(a, l)| SideOp::Load(a, l)),
        1 => any::<bool>().prop_map(SideOp::Widen),
    ]
}

/// A level 1000.00 +- 0.01 per `at` at scale 8, in eighths.
fn grid_level(side: &Side, at: i64, q: i64, pw: u8) -> Level {
    let px = if side.is_ask() { 100_000 + at } else { 100_000 - 1 - at } * 1_000_000;
    Level { key: side.key_of(px), qty: q * 12_500_000, pw: 2 + pw, qw: 8 - pw }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // Every mutator of `Side`, with the format fixed (so only the sides can tell the cache what
    // changed) and checksums taken every `every` changes: from one change to more than a side's
    // log holds, near the touch, around the hashed depths and beyond them.
    #[test]
    fn cached_checksums_follow_every_side_mutator(
        ops in proptest::collection::vec(side_op(), 1..200),
        every in prop_oneof![1usize..4, 4usize..30],
    ) {
        let (mut bids, mut asks) = (Side::new(false), Side::new(true));
        for side in [&mut bids, &mut asks] {
            let grid: Vec<_> = (0..60).map(|at| grid_level(side, at, 1 + at % 3, 0)).collect();
            side.load(grid.into_iter());
        }
        let f = Fmt { price_scale: 8, qty_scale: 8, price_decimals: None, qty_decimals: None };
        let kinds = [ChecksumKind::Okx, ChecksumKind::Kraken, ChecksumKind::Bitfinex];
        let mut caches = [Cache::default(), Cache::default(), Cache::default()];
        for (k, op) in ops.iter().enumerate() {
            match op {
                SideOp::Set(ask, at, q, pw) => {
                    let side = if *ask { &mut asks } else { &mut bids };
                    let l = grid_level(side, *at, *q, *pw);
                    side.set(l.key, l.qty, l.pw, l.qw);
                }
                SideOp::Truncate(ask, d) => if *ask { asks.truncate(*d) } else { bids.truncate(*d) },
                SideOp::Clear(ask) => if *ask { asks.clear() } else { bids.clear() },
                SideOp::Load(ask, levels) => {
                    let side = if *ask { &mut asks } else { &mut bids };
                    let levels: Vec<_> = levels.iter().map(|&(at, q)| grid_level(side, at, q, 0)).collect();
                    side.load(levels.into_iter());
                }
                SideOp::Widen(ask) => {
                    let side = if *ask { &mut asks } else { &mut bids };
                    if side.levels().iter().all(|l| l.key.abs() < 1 << 50) {
                        side.widen(10, 10);
                    }
                }
            }
            if k % every == every - 1 || k == ops.len() - 1 {
                for (c, kind) in caches.iter_mut().zip(kinds) {
                    let fresh = compute(kind, &bids, &asks, &f);
                    prop_assert_eq!(c.compute(kind, &bids, &asks, &f), fresh, "{:?} after op {}", kind, k);
                }
            }
        }
    }
}
