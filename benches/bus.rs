//! The bus (`tickwire::bus`) per message, for a book of 20 levels a side where each venue message
//! changes 1 to 3 levels near the touch (quantities; a level deleted now comes back later):
//!
//! - `apply_journal_off` / `apply_journal_take`: the gateway applying the venue's diff without a
//!   journal, and with the journal plus `take_delta` encoding the delta. The difference is what
//!   publishing costs the gateway per message.
//! - `decode_apply`: a consumer `Feed` of venue "bus" decoding the delta and applying it (sequence
//!   check by gseq, all-or-nothing check, book update): one consumer call per message.
//! - `parse`: the header and length checks alone (`bus_header` in Python).
//!
//! `cargo bench --bench bus`. Measured on the 2-core shared VM (release, lowest criterion mean of five
//! runs under load), 1 / 2 / 3 levels changed: apply without journal 32 / 57 / 68 ns, with journal
//! and take 61 / 84 / 130 ns, consumer decode + apply 103 / 119 / 147 ns, parse 10-18 ns.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tickwire::book::num::Dec;
use tickwire::book::sync::{SeqInfo, SeqRule};
use tickwire::book::{Book, BookConfig, RawLevel};
use tickwire::bus::wire::OFF_GSEQ;
use tickwire::bus::{take_delta, BookTx, Message};
use tickwire::venue::{Feed, FeedOptions, Venue};

const DEPTH: i64 = 20;
/// Distinct venue messages cycled through (their quantities differ, so every one changes the book).
const STEPS: usize = 512;

fn level(ask: bool, i: i64, qty: i64) -> RawLevel {
    // BTC-USDT-like: prices at 2 decimals around 91 500, quantities at 8.
    let px = if ask { 9_150_001 + i } else { 9_150_000 - i };
    RawLevel { ask, px: Dec { mant: px, dec: 2, wrote: 2 }, qty: Dec { mant: qty, dec: 8, wrote: 8 } }
}

fn snapshot() -> Vec<RawLevel> {
    (0..DEPTH).flat_map(|i| [level(false, i, 100_000_000 + i), level(true, i, 200_000_000 + i)]).collect()
}

/// `STEPS` venue diffs of `changed` levels each, within the five levels nearest the touch; every
/// tenth change deletes its level, which the next change at that price puts back.
fn diffs(changed: usize) -> Vec<Vec<RawLevel>> {
    (0..STEPS)
        .map(|s| {
            (0..changed)
                .map(|m| {
                    let k = s * 3 + m;
                    let qty = if k % 10 == 9 { 0 } else { 1_000_000 + (k as i64 * 7_919) % 90_000_000 };
                    level(k % 2 == 1, (k as i64 * 7) % 5, qty)
                })
                .collect()
        })
        .collect()
}

fn gateway(journal: bool) -> Book {
    let mut b = Book::new(BookConfig { seq: SeqRule::PrevLinked, ..BookConfig::default() });
    b.set_journal(journal);
    b.apply_snapshot(&snapshot(), SeqInfo::default(), None).unwrap();
    b
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("bus");
    for changed in 1..=3 {
        let diffs = diffs(changed);
        let name = |what: &str| format!("{what}/{changed}_changed");

        let mut plain = gateway(false);
        let mut k = 0;
        g.bench_function(name("apply_journal_off"), |b| {
            b.iter(|| {
                k = (k + 1) % STEPS;
                plain.apply_diff(black_box(&diffs[k]), SeqInfo::default(), None).unwrap()
            })
        });

        // The gateway's messages for the consumer benches, taken from one pass over the diffs.
        let (mut book, mut tx, mut out) = (gateway(true), BookTx::default(), Vec::new());
        take_delta(&mut book, &mut tx, b"BTCUSDT", 0, &mut out).unwrap();
        let first = out.clone();
        let mut msgs = Vec::new();
        for d in &diffs {
            book.apply_diff(d, SeqInfo::default(), None).unwrap();
            take_delta(&mut book, &mut tx, b"BTCUSDT", 0, &mut out).unwrap().expect("a delta");
            msgs.push(out.clone());
        }
        g.bench_function(name("apply_journal_take"), |b| {
            b.iter(|| {
                k = (k + 1) % STEPS;
                book.apply_diff(black_box(&diffs[k]), SeqInfo::default(), None).unwrap();
                take_delta(&mut book, &mut tx, b"BTCUSDT", 1, &mut out).unwrap();
                out.len()
            })
        });

        let mut consumer = Feed::new(Venue::Bus, &FeedOptions::default());
        consumer.on_frame(&first).unwrap();
        let mut gseq = 1u64;
        g.bench_function(name("decode_apply"), |b| {
            b.iter(|| {
                k = (k + 1) % STEPS;
                gseq += 1;
                // Renumbered so the cycle of messages stays one contiguous sequence.
                let m = &mut msgs[k];
                m[OFF_GSEQ..OFF_GSEQ + 8].copy_from_slice(&gseq.to_le_bytes());
                consumer.on_frame(black_box(m)).unwrap().updates.len()
            })
        });
        let book = consumer.book(b"BTCUSDT").unwrap();
        assert!(book.is_synced() && book.bids().len() >= DEPTH as usize - 3, "the consumer followed");

        g.bench_function(name("parse"), |b| {
            b.iter(|| {
                k = (k + 1) % STEPS;
                Message::parse(black_box(&msgs[k])).unwrap().header.gseq
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
