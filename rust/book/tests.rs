//! Book behaviour against independent references: a naive BTreeMap book, hand-computed queries,
//! and the venue rules written out longhand.

use super::checksum::ChecksumKind;
use super::num::parse_dec;
use super::sync::{OosReason, SeqInfo, SeqRule, SyncState, NO_SEQ};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

pub(crate) fn lv(ask: bool, p: &str, q: &str) -> RawLevel {
    RawLevel { ask, px: parse_dec(p.as_bytes()).unwrap(), qty: parse_dec(q.as_bytes()).unwrap() }
}

fn seq(first: i64, last: i64) -> SeqInfo {
    SeqInfo { first, last, prev: NO_SEQ }
}

fn linked(prev: i64, last: i64) -> SeqInfo {
    SeqInfo { first: last, last, prev }
}

/// Reference book: price -> qty per side, exact integers at 4 decimals, no cleverness.
#[derive(Default, Debug)]
struct Naive {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Naive {
    fn set(&mut self, ask: bool, p: i64, q: i64) {
        let m = if ask { &mut self.asks } else { &mut self.bids };
        if q == 0 {
            m.remove(&p);
        } else {
            m.insert(p, q);
        }
    }
    fn truncate(&mut self, depth: usize) {
        while self.bids.len() > depth {
            let k = *self.bids.keys().next().unwrap();
            self.bids.remove(&k);
        }
        while self.asks.len() > depth {
            let k = *self.asks.keys().next_back().unwrap();
            self.asks.remove(&k);
        }
    }
}

fn at4(m: i64, scale: u8) -> i64 {
    // Book values at its own scale -> 4 decimals (the generator never uses more).
    if scale >= 4 {
        m / 10i64.pow((scale - 4) as u32)
    } else {
        m * 10i64.pow((4 - scale) as u32)
    }
}

fn same(book: &Book, n: &Naive) -> bool {
    let bids: Vec<(i64, i64)> =
        book.bids().iter().map(|l| (at4(l.key, book.price_scale()), at4(l.qty, book.qty_scale()))).collect();
    let asks: Vec<(i64, i64)> =
        book.asks().iter().map(|l| (at4(-l.key, book.price_scale()), at4(l.qty, book.qty_scale()))).collect();
    let nb: Vec<(i64, i64)> = n.bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
    let na: Vec<(i64, i64)> = n.asks.iter().map(|(&p, &q)| (p, q)).collect();
    bids == nb && asks == na
}

pub(crate) fn text(m: i64, dec: u32) -> String {
    let s = format!("{:0>w$}", m, w = dec as usize + 1);
    if dec == 0 {
        s
    } else {
        let (a, b) = s.split_at(s.len() - dec as usize);
        format!("{a}.{b}")
    }
}

prop_compose! {
    // Prices cluster near a touch (most traffic is there); decimals vary so the book widens.
    pub(crate) fn update()(ask in any::<bool>(), off in prop_oneof![4 => 0i64..20, 1 => 0i64..400],
                q in prop_oneof![1 => Just(0i64), 3 => 1i64..5000], pdec in 0u32..=4, qdec in 0u32..=4)
        -> (bool, i64, i64, u32, u32) {
        // Price in 4-dec units, rounded to what `pdec` decimals can express.
        let unit = 10i64.pow(4 - pdec);
        let p = if ask { 100_000 + off * 10 } else { 99_990 - off * 10 };
        let q = q / 10i64.pow(4 - qdec) * 10i64.pow(4 - qdec);
        (ask, p / unit * unit, q, pdec, qdec)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_match_naive_book(
        msgs in proptest::collection::vec(proptest::collection::vec(update(), 0..12), 1..60),
        depth in prop_oneof![Just(0usize), 3usize..30],
    ) {
        let mut book = Book::new(BookConfig { max_depth: depth, ..BookConfig::default() });
        book.apply_snapshot(&[], seq(0, 0), None).unwrap();
        let mut naive = Naive::default();
        let mut raw = Vec::new();
        for m in &msgs {
            raw.clear();
            for &(ask, p, q, pd, qd) in m {
                let ps = text(p / 10i64.pow(4 - pd), pd);
                let qs = text(q / 10i64.pow(4 - qd), qd);
                raw.push(lv(ask, &ps, &qs));
                naive.set(ask, p, q);
            }
            if depth > 0 {
                naive.truncate(depth);
            }
            prop_assert_eq!(book.apply_diff(&raw, SeqInfo::default(), None).unwrap(), Outcome::Applied);
            prop_assert!(same(&book, &naive), "book {:?}\nnaive {:?}", book.bids(), naive);
        }
    }

    #[test]
    fn corrupting_one_level_is_caught_by_the_next_checksum(
        msgs in proptest::collection::vec(proptest::collection::vec(update(), 1..8), 2..30),
        victim in any::<prop::sample::Index>(),
    ) {
        // The venue's view and ours start equal; one message reaches us with one quantity changed.
        let cfg = BookConfig { checksum: ChecksumKind::Okx, ..BookConfig::default() };
        let mut venue = Book::new(cfg.clone());
        let mut ours = Book::new(cfg);
        let snap = [lv(false, "9.9", "1"), lv(true, "10.1", "1")];
        venue.apply_snapshot(&snap, seq(0, 0), None).unwrap();
        ours.apply_snapshot(&snap, seq(0, 0), venue.checksum()).unwrap();
        let bad = victim.index(msgs.len());
        let mut raw = Vec::new();
        let mut detected = false;
        for (i, m) in msgs.iter().enumerate() {
            raw.clear();
            for &(ask, p, q, pd, qd) in m {
                raw.push(lv(ask, &text(p / 10i64.pow(4 - pd), pd), &text(q / 10i64.pow(4 - qd), qd)));
            }
            venue.apply_diff(&raw, SeqInfo::default(), None).unwrap();
            let cs = venue.checksum();
            if i == bad {
                // Change a quantity to something the venue never sent (never to zero).
                raw[0].qty = parse_dec(b"777.7777").unwrap();
            }
            let out = ours.apply_diff(&raw, SeqInfo::default(), cs).unwrap();
            if i < bad {
                prop_assert_eq!(out, Outcome::Applied);
            }
            if matches!(out, Outcome::ChecksumMismatch { .. }) {
                detected = true;
                break;
            }
        }
        // The checksum covers the top 25 levels per side: if it stayed silent, those must truly be
        // equal (the corruption went deeper, or a later update overwrote it).
        if !detected {
            let top = |b: &Book, ask: bool| {
                let mut o = [(0i64, 0i64); 25];
                let n = b.top(ask, &mut o);
                o[..n].iter().map(|&(p, q)| (at4(p, b.price_scale()), at4(q, b.qty_scale()))).collect::<Vec<_>>()
            };
            prop_assert_eq!(top(&venue, false), top(&ours, false));
            prop_assert_eq!(top(&venue, true), top(&ours, true));
        }
    }

    #[test]
    fn dropping_one_message_is_a_gap(n in 3usize..40, drop in any::<prop::sample::Index>()) {
        let d = 1 + drop.index(n - 1);
        for rule in [SeqRule::BinanceSpot, SeqRule::PrevLinked] {
            let mut b = Book::new(BookConfig { seq: rule, ..BookConfig::default() });
            b.apply_snapshot(&[lv(false, "1", "1")], seq(0, 0), None).unwrap();
            let mut gap_at = None;
            for i in 1..=n as i64 {
                if i as usize == d { continue; }
                let s = if rule == SeqRule::BinanceSpot { seq(i, i) } else { linked(i - 1, i) };
                let out = b.apply_diff(&[lv(false, "1", "2")], s, None).unwrap();
                if out == Outcome::Gap { gap_at = Some(i); break; }
                prop_assert_eq!(out, Outcome::Applied);
            }
            if d < n { prop_assert_eq!(gap_at, Some(d as i64 + 1)); }
            else { prop_assert_eq!(gap_at, None); }
        }
    }
}

#[test]
fn failed_message_leaves_book_untouched() {
    let mut b = Book::new(BookConfig { qty_decimals: Some(2), ..BookConfig::default() });
    b.apply_snapshot(&[lv(false, "10", "1"), lv(true, "11", "2")], seq(0, 5), None).unwrap();
    let before = (b.bids().levels().to_vec(), b.asks().levels().to_vec(), b.last_id());
    // Second level needs 3 quantity decimals: the first must not have been applied either.
    let msg = [lv(false, "10.5", "3"), lv(true, "11", "0.001")];
    assert!(matches!(b.apply_diff(&msg, seq(6, 6), None), Err(BookError::ScaleFixed { .. })));
    assert_eq!((b.bids().levels().to_vec(), b.asks().levels().to_vec(), b.last_id()), before);
    assert!(b.is_synced());
    let neg = [lv(false, "10.5", "-3")];
    assert_eq!(b.apply_diff(&neg, seq(6, 6), None), Err(BookError::NegativeQuantity));
    assert_eq!(b.bids().levels(), before.0);
    // Taken, a negative ask would have sorted as the best of all (keys are negated prices).
    let below_zero = [lv(false, "10.5", "1"), lv(true, "-11", "2")];
    assert_eq!(b.apply_diff(&below_zero, seq(6, 6), None), Err(BookError::NegativePrice));
    assert_eq!((b.bids().levels().to_vec(), b.asks().levels().to_vec(), b.last_id()), before);
    let snap = [lv(false, "-10", "1"), lv(true, "11", "2")];
    assert_eq!(b.apply_snapshot(&snap, seq(0, 9), None).map(|_| ()), Err(BookError::NegativePrice));
    assert_eq!((b.bids().levels().to_vec(), b.asks().levels().to_vec(), b.last_id()), before);
}

/// A book waiting for its REST snapshot refuses what a synced book would refuse (a negative
/// quantity, a value its fixed scale cannot hold) when the diff comes, keeping nothing of it: the
/// snapshot that follows syncs the book. Before, the diff was buffered and its error came back from
/// the good snapshot, which it left loaded and out of sync.
#[test]
fn a_waiting_book_refuses_at_once_what_it_could_never_apply() {
    let cfg = BookConfig {
        seq: SeqRule::BinanceSpot,
        rest_snapshot: true,
        qty_decimals: Some(2),
        ..BookConfig::default()
    };
    let mut b = Book::new(cfg);
    let neg = [lv(false, "10.5", "-3")];
    assert_eq!(b.apply_diff(&neg, seq(6, 6), None), Err(BookError::NegativeQuantity));
    let fine = [lv(false, "10.5", "0.25")];
    assert!(matches!(
        b.apply_diff(&[lv(true, "11", "0.001")], seq(6, 6), None),
        Err(BookError::ScaleFixed { .. })
    ));
    assert_eq!(b.apply_diff(&fine, seq(6, 7), None), Ok(Outcome::Buffered));
    assert_eq!(b.stats().buffered, 1);
    let snap = [lv(false, "10", "1"), lv(true, "11", "2")];
    assert_eq!(b.apply_snapshot(&snap, seq(0, 5), None), Ok(Outcome::Applied));
    assert!(b.is_synced());
    assert_eq!((b.best_bid(), b.last_id()), (Some((105, 25)), 7));
}

/// A buffered diff the snapshot's scale cannot take (widening it would overflow the snapshot's
/// levels) is an update lost to the book: a gap, the snapshot kept — not an error on the snapshot.
#[test]
fn a_buffered_diff_the_snapshot_cannot_take_is_a_gap_not_the_snapshots_error() {
    let cfg = BookConfig { seq: SeqRule::BinanceSpot, rest_snapshot: true, ..BookConfig::default() };
    let mut b = Book::new(cfg);
    assert_eq!(b.apply_diff(&[lv(false, "1.25", "1")], seq(6, 6), None), Ok(Outcome::Buffered));
    let snap = [lv(false, "900000000000000000", "1"), lv(true, "900000000000000001", "1")];
    assert_eq!(b.apply_snapshot(&snap, seq(0, 5), None), Ok(Outcome::Gap));
    assert_eq!(b.state(), SyncState::OutOfSync(OosReason::Gap));
    assert_eq!(b.best_bid(), Some((900000000000000000, 1)));
    // The next snapshot (after a diff it connects to) syncs the book.
    assert_eq!(b.apply_diff(&[lv(false, "2", "1")], seq(7, 7), None), Ok(Outcome::Buffered));
    assert_eq!(
        b.apply_snapshot(&[lv(false, "1", "1"), lv(true, "3", "1")], seq(0, 6), None),
        Ok(Outcome::Applied)
    );
    assert_eq!((b.best_bid(), b.last_id()), (Some((2, 1)), 7));
}

#[test]
fn a_spread_past_an_i64_cannot_be_built_and_the_widest_one_is_exact() {
    // The only way past an i64 was a negative bid (before stop 44 `spread` answered None for it);
    // prices below zero are refused now, so the widest spread is the whole positive range.
    let mut b = Book::new(BookConfig::default());
    let past = [lv(false, "-5e18", "1"), lv(true, "5e18", "1")];
    assert_eq!(b.apply_snapshot(&past, seq(0, 0), None).map(|_| ()), Err(BookError::NegativePrice));
    b.apply_snapshot(&[lv(false, "0", "1"), lv(true, "9223372036854775807", "1")], seq(0, 0), None).unwrap();
    assert_eq!(b.spread(), Some(i64::MAX));
    assert_eq!(b.mid(), Some(i64::MAX as f64 / 2.0));
}

#[test]
fn auto_scale_widens_and_keeps_values() {
    let mut b = Book::new(BookConfig::default());
    b.apply_snapshot(&[lv(false, "100", "1"), lv(true, "101", "2")], seq(0, 0), None).unwrap();
    assert_eq!((b.price_scale(), b.qty_scale()), (0, 0));
    b.apply_diff(&[lv(false, "100.25", "0.5")], SeqInfo::default(), None).unwrap();
    assert_eq!((b.price_scale(), b.qty_scale()), (2, 1));
    assert_eq!(b.best_bid(), Some((10025, 5)));
    assert_eq!(b.best_ask(), Some((10100, 20)));
    assert_eq!(b.stats().rescales, 1);
}

#[test]
fn gap_on_one_book_leaves_another_alone() {
    let cfg = BookConfig { seq: SeqRule::PrevLinked, ..BookConfig::default() };
    let (mut x, mut y) = (Book::new(cfg.clone()), Book::new(cfg));
    for b in [&mut x, &mut y] {
        b.apply_snapshot(&[lv(false, "1", "1")], linked(-1, 10), None).unwrap();
    }
    assert_eq!(x.apply_diff(&[lv(false, "1", "2")], linked(11, 12), None).unwrap(), Outcome::Gap);
    assert_eq!(y.apply_diff(&[lv(false, "1", "2")], linked(10, 11), None).unwrap(), Outcome::Applied);
    assert_eq!(x.state(), SyncState::OutOfSync(OosReason::Gap));
    assert!(y.is_synced());
    // Out of sync: further diffs are dropped until a snapshot.
    assert_eq!(x.apply_diff(&[lv(false, "1", "3")], linked(12, 13), None).unwrap(), Outcome::Ignored);
    x.apply_snapshot(&[lv(false, "1", "4")], linked(-1, 20), None).unwrap();
    assert!(x.is_synced());
}

#[test]
fn crossed_book_is_out_of_sync() {
    let mut b = Book::new(BookConfig { check_crossed: true, ..BookConfig::default() });
    b.apply_snapshot(&[lv(false, "10", "1"), lv(true, "11", "1")], seq(0, 0), None).unwrap();
    assert_eq!(b.apply_diff(&[lv(false, "11", "1")], seq(1, 1), None).unwrap(), Outcome::Crossed);
    assert_eq!(b.state(), SyncState::OutOfSync(OosReason::Crossed));
}

#[test]
fn queries_by_hand() {
    let mut b = Book::new(BookConfig::default());
    let snap = [
        lv(false, "99", "1"),
        lv(false, "98", "3"),
        lv(false, "97", "5"),
        lv(true, "101", "2"),
        lv(true, "102", "4"),
    ];
    b.apply_snapshot(&snap, seq(0, 0), None).unwrap();
    assert_eq!(b.spread(), Some(2));
    assert_eq!(b.mid(), Some(100.0));
    // (99*2 + 101*1) / 3
    assert!((b.microprice().unwrap() - 299.0 / 3.0).abs() < 1e-12);
    let mut out = [(0, 0); 2];
    assert_eq!(b.top(false, &mut out), 2);
    assert_eq!(out, [(99, 1), (98, 3)]);
    assert_eq!(b.depth_within(false, 98), 4);
    assert_eq!(b.depth_within(true, 101), 2);
    // Buy 4: 2 @ 101 + 2 @ 102 = 406 / 4.
    let im = b.impact(true, 4).unwrap();
    assert_eq!((im.vwap, im.worst_price, im.filled), (101.5, 102, 4));
    assert_eq!(b.impact(true, 100).unwrap().filled, 6);
    // bids 1+3 = 4, asks 2+4 = 6 over two levels.
    assert_eq!(b.imbalance(2), Some(-0.2));
}

prop_compose! {
    // Mostly valid levels; now and then one the book must refuse (negative, past an i64 at the
    // book's scale, more decimals than a fixed scale allows, or than any book holds with a huge
    // level already in it).
    fn level_or_bad()(ok in update(), which in prop_oneof![12 => Just(0u8), 1 => 1u8..=5])
        -> (bool, String, String) {
        let (ask, p, q, pd, qd) = ok;
        let (ps, qs) = (text(p / 10i64.pow(4 - pd), pd), text(q / 10i64.pow(4 - qd), qd));
        match which {
            1 => (ask, ps, "-1".into()),
            2 => (ask, ps, "9223372036854775807".into()),
            3 => (ask, ps, "0.00001".into()),
            4 => (true, "900000000000000".into(), "1".into()),
            5 => (ask, "9.12345678".into(), qs),
            _ => (ask, ps, qs),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The check step of an all-or-nothing frame refuses exactly what the apply refuses, with the
    /// same error, and a refused apply leaves every field of the book as it was.
    #[test]
    fn check_message_refuses_exactly_what_apply_refuses(
        msgs in proptest::collection::vec(
            (prop_oneof![7 => Just(false), 1 => Just(true)], prop_oneof![7 => Just(0i64), 1 => 1i64..3],
             proptest::collection::vec(level_or_bad(), 0..8)),
            1..40),
        qty_decimals in proptest::option::of(2u8..=4),
        rest_snapshot in any::<bool>(),
    ) {
        // With `rest_snapshot` the diffs after a gap are kept for the next snapshot (and checked).
        let cfg = BookConfig { seq: SeqRule::PrevLinked, qty_decimals, rest_snapshot, ..BookConfig::default() };
        let mut book = Book::new(cfg);
        let mut id = 0;
        for (snapshot, skip, levels) in &msgs {
            let raw: Vec<RawLevel> = levels.iter().map(|(a, p, q)| lv(*a, p, q)).collect();
            // A skipped id is a gap: the book stops applying diffs until a snapshot (and, unless
            // it keeps them for that snapshot, stops refusing them).
            let s = if *snapshot { linked(-1, id + 1) } else { linked(id + skip, id + skip + 1) };
            let predicted = book.check_message(&raw, s, *snapshot);
            let before = format!("{book:?}");
            let got = if *snapshot { book.apply_snapshot(&raw, s, None) } else { book.apply_diff(&raw, s, None) };
            match (predicted, got) {
                (Err(p), Err(g)) => {
                    prop_assert_eq!(p, g);
                    prop_assert_eq!(format!("{book:?}"), before);
                }
                (Ok(()), Ok(_)) => id = book.last_id(),
                (p, g) => prop_assert!(false, "check said {:?}, apply {:?}", p, g),
            }
        }
    }
}

#[test]
fn the_journal_records_set_and_cut_levels_and_wholesale_changes_replace() {
    let mut b = Book::new(BookConfig { max_depth: 2, ..BookConfig::default() });
    b.apply_snapshot(&[lv(false, "10", "1"), lv(false, "9", "1"), lv(true, "11", "1")], seq(0, 0), None)
        .unwrap();
    b.apply_diff(&[lv(false, "8", "1")], seq(1, 1), None).unwrap();
    assert!(!b.journal().is_on() && b.journal().keys(false).is_empty(), "off records nothing");
    b.set_journal(true);
    assert!(b.journal().replaced(), "the first message after turning it on is the whole book");
    b.take_journal(|_| ());
    // 11 pushes 9 past the depth; 10 is set twice; a deleted ask is recorded like a set one.
    let diff = [lv(false, "11", "2"), lv(false, "10", "3"), lv(false, "10", "4"), lv(true, "12", "0")];
    b.apply_diff(&diff, seq(2, 2), None).unwrap();
    let keys = b.take_journal(|b| (b.journal().keys(false).to_vec(), b.journal().keys(true).to_vec()));
    assert_eq!(keys, (vec![9, 10, 11], vec![-12]));
    assert!(b.journal().keys(false).is_empty() && !b.journal().replaced(), "taking clears it");
    let wholesale: [fn(&mut Book); 4] = [
        |b| drop(b.apply_diff(&[lv(false, "10.5", "1")], SeqInfo::default(), None)), // a rescale
        |b| drop(b.apply_snapshot(&[lv(false, "10", "1")], SeqInfo::default(), None)),
        |b| b.invalidate(OosReason::Gap),
        |b| b.reset(),
    ];
    for (k, change) in wholesale.iter().enumerate() {
        change(&mut b);
        assert!(b.journal().replaced() && b.journal().keys(false).is_empty(), "{k}");
        b.take_journal(|_| ());
        b.apply_snapshot(&[lv(false, "10", "1")], SeqInfo::default(), None).unwrap();
        b.take_journal(|_| ());
    }
}

// Snapshots placed against a book: buffering, stale and restart snapshots, bounded buffers; and a
// venue's snapshot out of band when it pushes none.
mod rest_fallback;
mod sync;
