//! The cached checksum path (`level_text::Cache`, what `Book` verifies with) against references:
//! for OKX a naive book (BTreeMaps of the texts as received) hashed the obvious way, for every
//! checksum kind the uncached `checksum::compute`, which the published vectors pin.

use super::checksum::{compute, ChecksumKind, Fmt};
use super::level_text::Cache;
use super::side::Side;
use super::sync::SeqInfo;
use super::tests::{lv, text, update};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// OKX's book as its documentation describes it: price -> (price text, size text) as last
/// received, the checksum string joined from the top 25 of each side, bid then ask.
#[derive(Default)]
struct NaiveOkx {
    bids: BTreeMap<i64, (String, String)>,
    asks: BTreeMap<i64, (String, String)>,
}

impl NaiveOkx {
    fn set(&mut self, ask: bool, p: i64, px: &str, qty: &str, q: i64) {
        let m = if ask { &mut self.asks } else { &mut self.bids };
        if q == 0 {
            m.remove(&p);
        } else {
            m.insert(p, (px.to_string(), qty.to_string()));
        }
    }

    fn checksum(&self) -> i64 {
        let bids: Vec<_> = self.bids.values().rev().take(25).collect();
        let asks: Vec<_> = self.asks.values().take(25).collect();
        let mut parts = Vec::new();
        for i in 0..bids.len().max(asks.len()) {
            for side in [&bids, &asks] {
                if let Some((p, q)) = side.get(i) {
                    parts.push(format!("{p}:{q}"));
                }
            }
        }
        crc32fast::hash(parts.join(":").as_bytes()) as i32 as i64
    }
}

/// A message's levels as text (price and size in the decimals drawn) and as `RawLevel`s.
fn texts(m: &[(bool, i64, i64, u32, u32)]) -> Vec<(bool, i64, i64, String, String)> {
    m.iter()
        .map(|&(ask, p, q, pd, qd)| {
            (ask, p, q, text(p / 10i64.pow(4 - pd), pd), text(q / 10i64.pow(4 - qd), qd))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    // Deep books (levels up to 400 ticks out), deletes, the same price rewritten with other
    // decimals ("9.99" then "9.990": a new text, the same level) and scale widening mid-stream.
    #[test]
    fn okx_checksums_match_a_naive_book_of_received_texts(
        snap in proptest::collection::vec(update(), 0..80),
        msgs in proptest::collection::vec(proptest::collection::vec(update(), 0..12), 1..60),
        wrong in any::<prop::sample::Index>(),
    ) {
        let mut book = Book::new(BookConfig { checksum: ChecksumKind::Okx, ..BookConfig::default() });
        let mut naive = NaiveOkx::default();
        let snap = texts(&snap);
        for (ask, p, q, px, qty) in &snap {
            naive.set(*ask, *p, px, qty, *q);
        }
        let raw: Vec<_> = snap.iter().map(|(ask, _, _, px, qty)| lv(*ask, px, qty)).collect();
        let out = book.apply_snapshot(&raw, SeqInfo::default(), Some(naive.checksum())).unwrap();
        prop_assert_eq!(out, Outcome::Applied);
        let wrong = wrong.index(msgs.len());
        for (i, m) in msgs.iter().enumerate() {
            let m = texts(m);
            for (ask, p, q, px, qty) in &m {
                naive.set(*ask, *p, px, qty, *q);
            }
            let raw: Vec<_> = m.iter().map(|(ask, _, _, px, qty)| lv(*ask, px, qty)).collect();
            let expect = naive.checksum();
            if i == wrong {
                // The venue's value is not ours: the book must say so, with both values.
                let sent = expect ^ 0x10;
                let out = book.apply_diff(&raw, SeqInfo::default(), Some(sent)).unwrap();
                prop_assert_eq!(out, Outcome::ChecksumMismatch { expected: sent, computed: expect });
                prop_assert!(!book.is_synced());
                prop_assert_eq!(book.stats().checksum_fail, 1);
                break;
            }
            let out = book.apply_diff(&raw, SeqInfo::default(), Some(expect)).unwrap();
            prop_assert_eq!(out, Outcome::Applied, "message {}", i);
            prop_assert_eq!(book.checksum(), Some(expect));
        }
    }

    // Every kind, every depth cap: the cache gives what writing every level afresh gives, message
    // after message (texts reused, rewritten, shifted in from below the hashed levels).
    #[test]
    fn cached_checksums_equal_fresh_ones_for_every_kind(
        msgs in proptest::collection::vec(proptest::collection::vec(update(), 0..12), 1..50),
        depth in prop_oneof![Just(0usize), 3usize..40],
        kraken_decimals in any::<bool>(),
    ) {
        for kind in [ChecksumKind::Okx, ChecksumKind::Kraken, ChecksumKind::Bitfinex] {
            let mut book = Book::new(BookConfig { max_depth: depth, ..BookConfig::default() });
            if kind == ChecksumKind::Kraken && kraken_decimals {
                book.set_checksum_decimals(Some(4), Some(4));
            }
            book.apply_snapshot(&[], SeqInfo::default(), None).unwrap();
            let mut cache = Cache::default();
            for m in &msgs {
                let raw: Vec<_> = texts(m).iter().map(|(ask, _, _, px, qty)| lv(*ask, px, qty)).collect();
                book.apply_diff(&raw, SeqInfo::default(), None).unwrap();
                let f = book.fmt();
                let fresh = compute(kind, book.bids(), book.asks(), &f);
                prop_assert_eq!(cache.compute(kind, book.bids(), book.asks(), &f), fresh);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // (Main's `Memo` test, carried over when the cache replaced it.) The cache never changes a
    // checksum: after every change of a random walk (levels set and removed at and behind the
    // touch, written decimals changing, the format changing now and then), each venue's checksum
    // through the cache equals the one written from scratch.
    #[test]
    fn cached_checksums_equal_fresh_ones_over_a_walk_with_format_changes(
        ops in proptest::collection::vec((any::<bool>(), 0i64..40, 0i64..4, 0u8..3, 0u8..10), 1..120),
    ) {
        let (mut bids, mut asks) = (Side::new(false), Side::new(true));
        let mut caches = [Cache::default(), Cache::default(), Cache::default()];
        for (k, &(ask, at, qty, pw, fmt_pick)) in ops.iter().enumerate() {
            // Prices 1000.00 +- 0.40 in steps of 0.01 at scale 8; quantities 0..3 (0 removes).
            let side = if ask { &mut asks } else { &mut bids };
            let px = if ask { 100_000 + at } else { 100_000 - 1 - at } * 1_000_000;
            side.set(side.key_of(px), qty * 12_500_000, 2 + pw, 8 - pw);
            let f = Fmt {
                price_scale: 8,
                qty_scale: 8,
                price_decimals: (fmt_pick == 0).then_some(4),
                qty_decimals: (fmt_pick == 1).then_some(8),
            };
            for (c, kind) in caches.iter_mut().zip([ChecksumKind::Okx, ChecksumKind::Kraken, ChecksumKind::Bitfinex]) {
                let fresh = compute(kind, &bids, &asks, &f);
                prop_assert_eq!(c.compute(kind, &bids, &asks, &f), fresh, "{:?} step {}", kind, k);
            }
        }
    }
}

#[test]
fn a_text_too_long_for_the_cache_falls_back_to_writing_every_level() {
    // Trailing zeros are kept as written: 24 characters of text for one number, more than an entry
    // holds with its quantity.
    let long = "12345.000000000000000000";
    let mut book = Book::new(BookConfig { checksum: ChecksumKind::Okx, ..BookConfig::default() });
    // The best bid is the long one (the book is crossed; nothing checks that here).
    let snap = [lv(false, long, long), lv(false, "0.5", "2"), lv(true, "1", "3")];
    let expect = crc32fast::hash(format!("{long}:{long}:1:3:0.5:2").as_bytes()) as i32 as i64;
    assert_eq!(book.apply_snapshot(&snap, SeqInfo::default(), Some(expect)).unwrap(), Outcome::Applied);
    let diff = [lv(true, "1", "4")];
    let expect = crc32fast::hash(format!("{long}:{long}:1:4:0.5:2").as_bytes()) as i32 as i64;
    assert_eq!(book.apply_diff(&diff, SeqInfo::default(), Some(expect)).unwrap(), Outcome::Applied);
}
