//! The bus against independent references: a gateway book with its journal, published message by
//! message into a consumer `Feed` of venue "bus", must equal the gateway book (and a naive map
//! book built from the same venue messages) after every message; losses, duplicates, two gateways
//! and damaged bytes included. Restarts of the venue's numbering in `restart.rs`, the property
//! tests in `props.rs`.

use super::wire::{self, Kind, Message, HEADER_LEN, NO_VENUE_ID};
use super::*;
use crate::book::num::{parse_dec, Dec};
use crate::book::sync::{OosReason, SeqInfo, SeqRule, NO_SEQ};
use crate::book::tests::{text, update};
use crate::book::{Book, BookConfig, Outcome, RawLevel};
use crate::codec::error::DecodeError;
use crate::venue::{Feed, FeedError, FeedOptions, FrameKind, Venue};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SYM: &[u8] = b"BTC-USDT";

fn d(s: &str) -> Dec {
    parse_dec(s.as_bytes()).unwrap()
}

fn lv(ask: bool, p: &str, q: &str) -> RawLevel {
    RawLevel { ask, px: d(p), qty: d(q) }
}

fn gateway(depth: usize) -> Book {
    let mut b = Book::new(BookConfig { max_depth: depth, seq: SeqRule::PrevLinked, ..BookConfig::default() });
    b.set_journal(true);
    b
}

fn consumer() -> Feed {
    Feed::new(Venue::Bus, &FeedOptions::default())
}

/// Levels from the touch as (price, qty) mantissas, then the scales: what "equal books" means.
type Shape = (Levels, Levels, u8, u8);
type Levels = Vec<(i64, i64)>;

fn shape(b: &Book) -> Shape {
    let side = |s: &crate::book::side::Side| s.iter().map(|l| (s.price_of(l), l.qty)).collect();
    // The scales of an empty book are those of levels a consumer never saw (a snapshot's zero
    // quantities): nothing to compare.
    let empty = b.bids().is_empty() && b.asks().is_empty();
    let (ps, qs) = if empty { (0, 0) } else { (b.price_scale(), b.qty_scale()) };
    (side(b.bids()), side(b.asks()), ps, qs)
}

/// Publishes what changed in `g` into `c`; the kind sent, if any.
fn publish(g: &mut Book, tx: &mut BookTx, c: &mut Feed) -> Option<Kind> {
    let mut out = Vec::new();
    let kind = take_delta(g, tx, SYM, 7, &mut out).unwrap()?;
    c.on_frame(&out).unwrap();
    Some(kind)
}

fn take(g: &mut Book, tx: &mut BookTx) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    take_delta(g, tx, SYM, 7, &mut out).unwrap().map(|_| out)
}

#[test]
fn every_kind_round_trips() {
    let (mut g, mut tx, mut c) = (gateway(0), BookTx::default(), consumer());
    g.apply_snapshot(
        &[lv(false, "100.5", "2"), lv(true, "101", "1.25")],
        SeqInfo { last: 10, ..SeqInfo::default() },
        None,
    )
    .unwrap();
    let out = take(&mut g, &mut tx).unwrap();
    let m = Message::parse(&out).unwrap();
    assert_eq!(
        (m.header.kind, m.header.gseq, m.header.venue_last, m.header.stamp_ns),
        (Kind::Snapshot, 1, 10, 7)
    );
    assert_eq!((m.symbol, m.header.price_scale, m.header.qty_scale), (SYM, 1, 2));
    assert_eq!(m.levels(true).collect::<Vec<_>>(), vec![(1010, 125)]);
    c.on_frame(&out).unwrap();
    assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));

    // A delta: set, delete and an ask (keyed negated inside the book, a price on the wire).
    let diff = [lv(false, "100.5", "0"), lv(false, "100.4", "3"), lv(true, "101.5", "1")];
    g.apply_diff(&diff, SeqInfo { first: 11, last: 11, prev: 10 }, None).unwrap();
    let out = take(&mut g, &mut tx).unwrap();
    let m = Message::parse(&out).unwrap();
    assert_eq!(
        (m.header.kind, m.header.gseq, m.header.venue_prev, m.header.venue_last),
        (Kind::Delta, 2, 10, 11)
    );
    assert_eq!(m.levels(false).collect::<Vec<_>>(), vec![(1004, 300), (1005, 0)]);
    assert_eq!(m.levels(true).collect::<Vec<_>>(), vec![(1015, 100)]);
    assert_eq!(c.on_frame(&out).unwrap().updates, vec![(0, Outcome::Applied)]);
    assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
    assert_eq!(take(&mut g, &mut tx), None, "nothing changed since");

    // Out of sync, then a snapshot again.
    g.invalidate(OosReason::Gap);
    let out = take(&mut g, &mut tx).unwrap();
    assert_eq!(Message::parse(&out).unwrap().header.kind, Kind::OutOfSync);
    assert_eq!(c.on_frame(&out).unwrap().updates, vec![(0, Outcome::Gap)]);
    assert_eq!(c.book(SYM).unwrap().state(), crate::book::sync::SyncState::OutOfSync(OosReason::Upstream));
    assert_eq!(take(&mut g, &mut tx), None, "said once");
    g.apply_snapshot(&[lv(false, "99", "1")], SeqInfo { last: 20, ..SeqInfo::default() }, None).unwrap();
    assert_eq!(publish(&mut g, &mut tx, &mut c), Some(Kind::Snapshot));
    assert!(c.book(SYM).unwrap().is_synced());
    assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));

    // Trades and BBOs come out exactly as the venue wrote them.
    let mut out = Vec::new();
    encode_trade(SYM, (d("30316.10"), d("0.00100000")), true, None, 5, 9, &mut out).unwrap();
    let s = c.on_frame(&out).unwrap();
    assert_eq!(s.kind, FrameKind::Trade);
    let (sym, q) = c.last_quote();
    assert_eq!((sym, q.px, q.qty, q.buyer_maker), (SYM, d("30316.10"), d("0.00100000"), true));
    assert_eq!(c.last_trades().map(|(_, t)| t.id).collect::<Vec<_>>(), [None]);
    // The venue's trade id rides along; one past i64::MAX cannot, and is sent as none.
    for (id, read) in [(Some(0), Some(0)), (Some(2290000000061666327), Some(2290000000061666327))]
        .into_iter()
        .chain([(Some(u64::MAX), None)])
    {
        encode_trade(SYM, (d("1"), d("1")), false, id, 7, 9, &mut out).unwrap();
        c.on_frame(&out).unwrap();
        assert_eq!(c.last_trades().map(|(_, t)| t.id).collect::<Vec<_>>(), [read]);
    }
    let v = [d("30316.1"), d("2.5"), d("30316.25"), d("0.001")];
    encode_bbo(SYM, v, 6, 9, &mut out).unwrap();
    assert_eq!(c.on_frame(&out).unwrap().kind, FrameKind::Bbo);
    let q = c.last_quote().1;
    // One scale per message: equal values, the bid now written with the ask's decimals.
    assert_eq!(
        [q.bid_px, q.bid_qty, q.ask_px, q.ask_qty].map(|x| (x.mant, x.dec)),
        v.map(|x| (x.mant, x.dec))
    );
    let h = Message::parse(&out).unwrap().header;
    assert_eq!((h.kind, h.gseq, h.venue_last, h.stamp_ns), (Kind::Bbo, 6, NO_VENUE_ID, 9));
}

#[test]
fn a_served_snapshot_resyncs_and_the_next_delta_continues_it() {
    for ids in [true, false] {
        let (mut g, mut tx, mut c) = (gateway(0), BookTx::default(), consumer());
        let id = |i: i64| if ids { i } else { NO_SEQ };
        let lk = |i: i64| if ids { SeqInfo { first: i, last: i, prev: i - 1 } } else { SeqInfo::default() };
        g.apply_snapshot(
            &[lv(false, "10", "1"), lv(true, "11", "1")],
            SeqInfo { last: id(1), ..SeqInfo::default() },
            None,
        )
        .unwrap();
        publish(&mut g, &mut tx, &mut c);
        g.apply_diff(&[lv(false, "10", "2")], lk(2), None).unwrap();
        let lost = take(&mut g, &mut tx).unwrap();
        g.apply_diff(&[lv(false, "9", "4")], lk(3), None).unwrap();
        let next = take(&mut g, &mut tx).unwrap();
        assert_eq!(c.on_frame(&next).unwrap().updates, vec![(0, Outcome::Gap)], "ids {ids}");
        // Pending changes not yet published are in the served snapshot and in the next delta.
        g.apply_diff(&[lv(true, "11", "0"), lv(true, "12", "5")], lk(4), None).unwrap();
        let mut snap = Vec::new();
        snapshot_message(&g, &tx, SYM, 8, &mut snap).unwrap();
        c.on_snapshot(SYM, &snap).unwrap();
        assert!(c.book(SYM).unwrap().is_synced());
        assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
        // The lost delta arriving late is stale; the next one applies.
        assert_eq!(c.on_frame(&lost).unwrap().updates, vec![(0, Outcome::Stale)]);
        g.apply_diff(&[lv(false, "8", "1")], lk(5), None).unwrap();
        assert_eq!(publish(&mut g, &mut tx, &mut c), Some(Kind::Delta));
        assert_eq!(c.last_summary().updates, vec![(0, Outcome::Applied)], "ids {ids}");
        assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
        // A duplicate changes nothing.
        let dup = {
            g.apply_diff(&[lv(false, "8", "7")], lk(6), None).unwrap();
            take(&mut g, &mut tx).unwrap()
        };
        c.on_frame(&dup).unwrap();
        assert_eq!(c.on_frame(&dup).unwrap().updates, vec![(0, Outcome::Stale)]);
        assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
    }
}

#[test]
fn refusals_a_book_without_journal_or_sync_and_a_snapshot_for_another_book() {
    let (mut g, mut tx) = (gateway(0), BookTx::default());
    let mut out = Vec::new();
    assert_eq!(snapshot_message(&g, &tx, SYM, 0, &mut out), Err(EncodeError::NotSynced));
    let mut plain = Book::new(BookConfig::default());
    assert_eq!(take_delta(&mut plain, &mut tx, SYM, 0, &mut out), Err(EncodeError::NoJournal));
    g.apply_snapshot(&[lv(false, "1", "1")], SeqInfo::default(), None).unwrap();
    assert_eq!(snapshot_message(&g, &tx, b"", 0, &mut out), Err(EncodeError::Symbol(0)));
    snapshot_message(&g, &tx, SYM, 0, &mut out).unwrap();
    let mut c = consumer();
    assert!(matches!(c.on_snapshot(b"ETH-USDT", &out), Err(FeedError::SnapshotSymbol { .. })));
    assert!(c.is_empty());
    c.on_snapshot(SYM, &out).unwrap();
    assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
}

#[test]
fn malformed_messages_are_typed_errors() {
    let mut ok = Vec::new();
    encode_trade(SYM, (d("1.5"), d("2")), false, None, 1, 0, &mut ok).unwrap();
    let with = |at: usize, v: u8| {
        let mut m = ok.clone();
        m[at] = v;
        m
    };
    let bad_len = |n: u32| {
        let mut m = ok.clone();
        m[wire::OFF_N_BIDS..wire::OFF_N_BIDS + 4].copy_from_slice(&n.to_le_bytes());
        m[wire::OFF_KIND] = Kind::Delta as u8;
        m
    };
    let mut bad_utf8 = ok.clone();
    bad_utf8[HEADER_LEN] = 0xff;
    let mut no_symbol = ok.clone();
    no_symbol[wire::OFF_SYMBOL_LEN] = 0;
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (ok[..10].to_vec(), DecodeError::BusLength { needed: HEADER_LEN as u64, len: 10 }),
        (ok[..ok.len() - 1].to_vec(), DecodeError::BusLength { needed: ok.len() as u64, len: ok.len() - 1 }),
        (with(wire::OFF_MAGIC, b'{'), DecodeError::BusInvalid { what: "magic", value: b'{' as i64 }),
        (with(wire::OFF_VERSION, 2), DecodeError::BusInvalid { what: "version", value: 2 }),
        (with(wire::OFF_KIND, 9), DecodeError::BusInvalid { what: "kind", value: 9 }),
        (with(wire::OFF_PRICE_SCALE, 19), DecodeError::BusInvalid { what: "price_scale", value: 19 }),
        (with(ok.len() - 1, 2), DecodeError::BusInvalid { what: "buyer_maker", value: 2 }),
        (bad_len(u32::MAX), DecodeError::BusLength { needed: 56 + u32::MAX as u64 * 16, len: ok.len() }),
        (bad_utf8, DecodeError::BusInvalidUtf8),
        (no_symbol, DecodeError::BusInvalid { what: "symbol_len", value: 0 }),
    ];
    for (frame, want) in cases {
        let mut c = consumer();
        match c.on_frame(&frame) {
            Err(FeedError::Codec(e)) => assert_eq!(e, want),
            other => panic!("{want:?}: {other:?}"),
        }
        assert!(c.is_empty());
    }
}

#[test]
fn a_level_priced_i64_min_is_a_typed_error_and_applies_nothing() {
    // No ask key can negate it (see `Dec`): refused by the decoder, before any book sees it.
    let sym = b"BTCUSDT";
    let mut fr = vec![0u8; HEADER_LEN];
    fr[wire::OFF_MAGIC] = wire::MAGIC;
    fr[wire::OFF_VERSION] = wire::VERSION;
    fr[wire::OFF_KIND] = Kind::Snapshot as u8;
    fr[wire::OFF_SYMBOL_LEN..wire::OFF_GSEQ].copy_from_slice(&(sym.len() as u16).to_le_bytes());
    fr[wire::OFF_GSEQ..wire::OFF_VENUE_PREV].copy_from_slice(&1u64.to_le_bytes());
    fr[wire::OFF_VENUE_PREV..wire::OFF_VENUE_LAST].copy_from_slice(&wire::NO_VENUE_ID.to_le_bytes());
    fr[wire::OFF_VENUE_LAST..wire::OFF_STAMP_NS].copy_from_slice(&wire::NO_VENUE_ID.to_le_bytes());
    fr[wire::OFF_N_ASKS..HEADER_LEN].copy_from_slice(&1u32.to_le_bytes());
    fr.extend_from_slice(sym);
    fr.extend_from_slice(&i64::MIN.to_le_bytes());
    fr.extend_from_slice(&1i64.to_le_bytes());
    let mut c = consumer();
    match c.on_frame(&fr) {
        Err(FeedError::Codec(e)) => assert_eq!(e, DecodeError::BusInvalid { what: "price", value: i64::MIN }),
        other => panic!("{other:?}"),
    }
    assert!(c.is_empty());
}

#[test]
fn an_arbitrated_consumer_takes_each_trade_once_from_two_gateways() {
    let mut c = Feed::new(Venue::Bus, &FeedOptions::default());
    c.set_arbitration(Some(1_000_000), 64);
    let mut out = Vec::new();
    let mut ids = |id: u64, gseq: u64| {
        encode_trade(SYM, (d("1.5"), d("2")), false, Some(id), gseq, 0, &mut out).unwrap();
        c.on_frame(&out).unwrap();
        c.last_trades().map(|(_, t)| t.id).collect::<Vec<_>>()
    };
    // Gateway A's trade 10, B's copy of it (its own gseq), then B first with 11 and A's copy.
    assert_eq!(ids(10, 1), [Some(10)]);
    assert_eq!(ids(10, 1), []);
    assert_eq!(ids(11, 2), [Some(11)]);
    assert_eq!(ids(11, 2), []);
    assert_eq!(c.duplicate_trades(), 2);
}

// A venue restarting its numbering, followed through the bus.
mod restart;
// Consumer equals gateway equals a naive book, under random venue messages, losses and damage.
mod props;
