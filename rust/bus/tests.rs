//! The bus against independent references: a gateway book with its journal, published message by
//! message into a consumer `Feed` of venue "bus", must equal the gateway book (and a naive map
//! book built from the same venue messages) after every message; losses, duplicates, two gateways
//! and damaged bytes included.

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

/// A Bybit-like book: `u` only grows, and a pushed snapshot applies whatever its id (Bybit sends
/// one at `u = 1` after its service restarted).
fn increasing_gateway() -> Book {
    let mut b = Book::new(BookConfig { seq: SeqRule::Increasing, ..BookConfig::default() });
    b.set_journal(true);
    b
}

fn u(u: i64) -> SeqInfo {
    SeqInfo { first: u, last: u, prev: NO_SEQ }
}

/// (kind, restart flag, venue_prev, venue_last) of a message.
fn head(msg: &[u8]) -> (Kind, bool, i64, i64) {
    let h = Message::parse(msg).unwrap().header;
    (h.kind, h.flags & wire::FLAG_RESTART != 0, h.venue_prev, h.venue_last)
}

/// Sends `msg` to `c`; what it did, and whether `c`'s book is synced and equal to the gateway's.
fn deliver(c: &mut Feed, msg: &[u8], g: &Book) -> (Vec<(u32, Outcome)>, bool) {
    let out = c.on_frame(msg).unwrap().updates.clone();
    let cb = c.book(SYM).unwrap();
    (out, cb.is_synced() && shape(cb) == shape(g))
}

#[test]
fn a_venue_that_restarts_its_numbering_is_followed_through_the_bus() {
    let (mut g, mut tx, mut c) = (increasing_gateway(), BookTx::default(), consumer());
    g.apply_snapshot(&[lv(false, "99", "1"), lv(false, "98", "2"), lv(true, "101", "1")], u(100), None)
        .unwrap();
    publish(&mut g, &mut tx, &mut c);
    g.apply_diff(&[lv(false, "99", "3")], u(101), None).unwrap();
    publish(&mut g, &mut tx, &mut c);
    assert_eq!(c.book(SYM).unwrap().last_id(), 101);

    // The venue restarts at u = 1: the gateway's book takes the pushed snapshot, and the message
    // says where the numbering restarted from. Before, the consumer dropped it (1 is below 101) and
    // every delta after it, keeping the old book in sync.
    assert_eq!(
        g.apply_snapshot(&[lv(false, "97", "5"), lv(true, "101", "1")], u(1), None),
        Ok(Outcome::Applied)
    );
    let restart = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&restart), (Kind::Snapshot, true, 101, 1));
    assert_eq!(deliver(&mut c, &restart, &g), (vec![(0, Outcome::Applied)], true));
    assert_eq!(c.book(SYM).unwrap().last_id(), 1);
    g.apply_diff(&[lv(false, "97", "6")], u(2), None).unwrap();
    let next = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&next), (Kind::Delta, false, 1, 2));
    assert_eq!(deliver(&mut c, &next, &g), (vec![(0, Outcome::Applied)], true));
    let mut served = Vec::new();
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    assert_eq!(head(&served), (Kind::Snapshot, false, 2, 2), "published: an ordinary snapshot");

    // Restarted again, and the new numbering is back at the consumer's id before the gateway
    // publishes: same id, other levels.
    g.apply_snapshot(&[lv(false, "96", "1"), lv(true, "101", "1")], u(1), None).unwrap();
    g.apply_diff(&[lv(false, "96", "2")], u(2), None).unwrap();
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    assert_eq!(head(&served), (Kind::Snapshot, true, 2, 2), "served before it is published");
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 2, 2));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Applied)], true));

    // The gateway's venue connection drops (its out-of-sync message lost on the way) and the new
    // connection numbers from 1.
    g.reset();
    assert_eq!(take(&mut g, &mut tx).map(|m| head(&m).0), Some(Kind::OutOfSync));
    g.apply_snapshot(&[lv(false, "95", "1"), lv(true, "101", "2")], u(1), None).unwrap();
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 2, 1));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Applied)], true));

    // A consumer that lost the last delta before a restart cannot place it (it might be an A/B
    // line's late copy of a restart already taken): out of sync, until a served snapshot.
    g.apply_diff(&[lv(false, "95", "3")], u(40), None).unwrap();
    publish(&mut g, &mut tx, &mut c);
    g.apply_diff(&[lv(false, "95", "4")], u(41), None).unwrap();
    let _lost = take(&mut g, &mut tx).unwrap();
    g.apply_snapshot(&[lv(false, "94", "1"), lv(true, "101", "2")], u(1), None).unwrap();
    let msg = take(&mut g, &mut tx).unwrap();
    assert_eq!(head(&msg), (Kind::Snapshot, true, 41, 1));
    assert_eq!(deliver(&mut c, &msg, &g), (vec![(0, Outcome::Gap)], false));
    assert_eq!(c.needs().collect::<Vec<_>>(), vec![(0, crate::book::Need::Snapshot)]);
    g.apply_diff(&[lv(false, "94", "2")], u(2), None).unwrap();
    let buffered = take(&mut g, &mut tx).unwrap();
    assert_eq!(c.on_frame(&buffered).unwrap().updates, vec![(0, Outcome::Buffered)]);
    snapshot_message(&g, &tx, SYM, 0, &mut served).unwrap();
    c.on_snapshot(SYM, &served).unwrap();
    let cb = c.book(SYM).unwrap();
    assert!(cb.is_synced() && shape(cb) == shape(&g) && cb.last_id() == 2);
    assert_eq!(cb.stats().resyncs, 1);
}

#[test]
fn a_restart_flag_anywhere_but_on_a_restart_snapshot_is_a_decode_error() {
    let mut g = increasing_gateway();
    let mut tx = BookTx::default();
    g.apply_snapshot(&[lv(false, "1", "1")], u(10), None).unwrap();
    let snap = take(&mut g, &mut tx).unwrap();
    g.apply_diff(&[lv(false, "1", "2")], u(11), None).unwrap();
    let delta = take(&mut g, &mut tx).unwrap();
    let flagged = |m: &[u8], prev: i64| {
        let mut m = m.to_vec();
        m[wire::OFF_FLAGS] = wire::FLAG_RESTART | 0x80;
        m[wire::OFF_VENUE_PREV..wire::OFF_VENUE_LAST].copy_from_slice(&prev.to_le_bytes());
        m
    };
    // Above (or at) its id: a restart snapshot; the reserved bit is ignored.
    assert_eq!(head(&flagged(&snap, 11)), (Kind::Snapshot, true, 11, 10));
    assert_eq!(head(&flagged(&snap, 10)), (Kind::Snapshot, true, 10, 10));
    let bad = DecodeError::BusInvalid { what: "flags", value: (wire::FLAG_RESTART | 0x80) as i64 };
    for m in [flagged(&snap, 9), flagged(&snap, NO_VENUE_ID), flagged(&delta, 12)] {
        assert_eq!(Message::parse(&m).unwrap_err(), bad);
        let mut c = consumer();
        assert!(matches!(c.on_frame(&m), Err(FeedError::Codec(e)) if e == bad));
        assert!(c.is_empty());
    }
}

#[test]
fn a_lagging_gateways_older_snapshot_does_not_replace_a_newer_book() {
    for arbitrated in [false, true] {
        let (mut ga, mut gb) = (gateway(0), gateway(0));
        let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
        let mut c = consumer();
        if arbitrated {
            c.set_arbitration(Some(1_000_000_000), 1024);
        }
        let linked = |i: i64| SeqInfo { first: i, last: i, prev: i - 1 };
        let first = [lv(false, "10", "1"), lv(true, "11", "1")];
        for (g, tx) in [(&mut ga, &mut ta), (&mut gb, &mut tb)] {
            g.apply_snapshot(&first, SeqInfo { last: 10, ..SeqInfo::default() }, None).unwrap();
            let m = take(g, tx).unwrap();
            c.on_frame(&m).unwrap();
            g.apply_diff(&[lv(false, "10", "2")], linked(11), None).unwrap();
            let m = take(g, tx).unwrap();
            c.on_frame(&m).unwrap();
        }
        for i in 12..=14 {
            ga.apply_diff(&[lv(false, "9", &i.to_string())], linked(i), None).unwrap();
            let m = take(&mut ga, &mut ta).unwrap();
            assert_eq!(deliver(&mut c, &m, &ga), (vec![(0, Outcome::Applied)], true));
        }
        // Line B loses its book at the venue and resyncs with a snapshot at 12: newer than what B
        // published (no restart), older than the consumer's book.
        gb.invalidate(OosReason::Gap);
        let oos = take(&mut gb, &mut tb).unwrap();
        assert!(deliver(&mut c, &oos, &ga).1, "B's loss is behind the book: {arbitrated}");
        gb.apply_snapshot(
            &[lv(false, "10", "2"), lv(false, "9", "12"), lv(true, "11", "1")],
            linked(12),
            None,
        )
        .unwrap();
        let late = take(&mut gb, &mut tb).unwrap();
        assert_eq!(head(&late), (Kind::Snapshot, false, 12, 12));
        let want = if arbitrated { Outcome::Duplicate } else { Outcome::Stale };
        assert_eq!(deliver(&mut c, &late, &ga), (vec![(0, want)], true), "arbitrated {arbitrated}");
        assert_eq!(c.book(SYM).unwrap().last_id(), 14);
        // A then continues the book; B's late deltas change nothing.
        ga.apply_diff(&[lv(true, "11", "0"), lv(true, "12", "3")], linked(15), None).unwrap();
        let m = take(&mut ga, &mut ta).unwrap();
        assert_eq!(deliver(&mut c, &m, &ga), (vec![(0, Outcome::Applied)], true));
        gb.apply_diff(&[lv(false, "9", "13")], linked(13), None).unwrap();
        let m = take(&mut gb, &mut tb).unwrap();
        assert!(deliver(&mut c, &m, &ga).1);
        assert_eq!(c.book(SYM).unwrap().stats().gaps, 0);
    }
}

#[test]
fn two_gateways_through_a_venue_restart_take_it_once_and_never_roll_the_book_back() {
    let (mut ga, mut gb) = (increasing_gateway(), increasing_gateway());
    let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
    let mut c = consumer();
    let hold = 1_000;
    c.set_arbitration(Some(hold), 1024);
    let both = |ga: &mut Book, gb: &mut Book, snapshot: bool, ls: &[RawLevel], id: i64| {
        for g in [ga, gb] {
            let r = if snapshot { g.apply_snapshot(ls, u(id), None) } else { g.apply_diff(ls, u(id), None) };
            assert_eq!(r, Ok(Outcome::Applied));
        }
    };
    let at = |c: &mut Feed, now: i64, m: &[u8], g: &Book| {
        c.set_now(now);
        deliver(c, m, g)
    };
    both(&mut ga, &mut gb, true, &[lv(false, "99", "1"), lv(true, "101", "1")], 100);
    for (g, tx) in [(&mut ga, &mut ta), (&mut gb, &mut tb)] {
        let m = take(g, tx).unwrap();
        assert!(at(&mut c, 0, &m, g).1);
    }

    // The venue's last update before it restarts, then the restart: A's messages come first, B's
    // copies late (B's last update after A's restart), but within the hold time.
    both(&mut ga, &mut gb, false, &[lv(false, "99", "2")], 101);
    let (la, lb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 5, &la, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, true, &[lv(false, "97", "5"), lv(true, "101", "1")], 1);
    let (ra, rb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!((head(&ra), head(&rb)), ((Kind::Snapshot, true, 101, 1), (Kind::Snapshot, true, 101, 1)));
    assert_eq!(at(&mut c, 10, &ra, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "97", "6")], 2);
    let (da, db) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 20, &da, &ga), (vec![(0, Outcome::Applied)], true));
    // B's last update of the old numbering looks ahead of the new one: held, then dropped with
    // B's restart copy (released, it would have been a gap).
    assert_eq!(at(&mut c, 25, &lb, &ga), (vec![(0, Outcome::Held)], true));
    assert_eq!(at(&mut c, 30, &rb, &ga), (vec![(0, Outcome::Duplicate)], true), "B's copy");
    assert_eq!(c.arbiter_stats().map(|(_, held)| held), Some(0));
    assert_eq!(at(&mut c, 40, &db, &ga), (vec![(0, Outcome::Duplicate)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "96", "1")], 50);
    let (da, db) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 50, &db, &gb), (vec![(0, Outcome::Applied)], true), "B is as good a line");
    assert_eq!(at(&mut c, 60, &da, &ga), (vec![(0, Outcome::Duplicate)], true));

    // Again, with B's copy later than the hold time: the consumer cannot tell it from a restart
    // after a loss, and says it is not synced rather than roll back to B's older book.
    both(&mut ga, &mut gb, true, &[lv(false, "95", "5"), lv(true, "101", "1")], 1);
    let (ra, rb) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(head(&rb), (Kind::Snapshot, true, 50, 1));
    assert_eq!(at(&mut c, 10_000, &ra, &ga), (vec![(0, Outcome::Applied)], true));
    both(&mut ga, &mut gb, false, &[lv(false, "95", "6")], 2);
    let (da, _) = (take(&mut ga, &mut ta).unwrap(), take(&mut gb, &mut tb).unwrap());
    assert_eq!(at(&mut c, 10_010, &da, &ga), (vec![(0, Outcome::Applied)], true));
    let (out, _) = at(&mut c, 10_010 + hold, &rb, &ga);
    assert_eq!(out, vec![(0, Outcome::Gap)]);
    assert!(!c.book(SYM).unwrap().is_synced());
    let mut served = Vec::new();
    snapshot_message(&ga, &ta, SYM, 0, &mut served).unwrap();
    c.on_snapshot(SYM, &served).unwrap();
    let cb = c.book(SYM).unwrap();
    assert!(cb.is_synced() && shape(cb) == shape(&ga));
    c.release_held(i64::MAX);
    assert_eq!(c.book(SYM).unwrap().stats().gaps, 1, "only the copy it could not place");
}

/// A venue message for the property tests: levels in 4-decimal units, with their written decimals.
#[derive(Debug, Clone)]
enum Op {
    Diff(Vec<(bool, i64, i64, u32, u32)>),
    Snapshot(Vec<(bool, i64, i64, u32, u32)>),
    /// A snapshot at id 1: the venue restarted its numbering (Bybit's `u = 1`).
    Restart(Vec<(bool, i64, i64, u32, u32)>),
    /// The gateway's book loses sync (a gap at the venue).
    Lose,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => proptest::collection::vec(update(), 0..8).prop_map(Op::Diff),
        1 => proptest::collection::vec(update(), 0..20).prop_map(Op::Snapshot),
        1 => proptest::collection::vec(update(), 0..20).prop_map(Op::Restart),
        1 => Just(Op::Lose),
    ]
}

fn raw(ls: &[(bool, i64, i64, u32, u32)]) -> Vec<RawLevel> {
    let t = |v: i64, dec: u32| text(v / 10i64.pow(4 - dec), dec);
    ls.iter().map(|&(ask, p, q, pd, qd)| lv(ask, &t(p, pd), &t(q, qd))).collect()
}

/// The reference: price -> qty per side at 4 decimals, cut to `depth` after every message.
#[derive(Default, Debug, PartialEq)]
struct Naive {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    synced: bool,
}

impl Naive {
    fn apply(&mut self, ls: &[(bool, i64, i64, u32, u32)], depth: usize) {
        for &(ask, p, q, ..) in ls {
            let m = if ask { &mut self.asks } else { &mut self.bids };
            if q == 0 {
                m.remove(&p);
            } else {
                m.insert(p, q);
            }
        }
        while depth > 0 && self.bids.len() > depth {
            self.bids.pop_first();
        }
        while depth > 0 && self.asks.len() > depth {
            self.asks.pop_last();
        }
    }

    fn shape(&self, ps: u8, qs: u8) -> (Levels, Levels) {
        let at =
            |v: i64, s: u8| if s >= 4 { v * 10i64.pow(s as u32 - 4) } else { v / 10i64.pow(4 - s as u32) };
        let b = self.bids.iter().rev().map(|(&p, &q)| (at(p, ps), at(q, qs))).collect();
        let a = self.asks.iter().map(|(&p, &q)| (at(p, ps), at(q, qs))).collect();
        (b, a)
    }
}

/// Applies one venue message to a gateway book (venue ids `id` when `ids`) and to the reference.
fn venue_step(g: &mut Book, n: &mut Naive, op: &Op, id: &mut i64, ids: bool, depth: usize) {
    *id += 1;
    let seq =
        |last: i64, prev: i64| if ids { SeqInfo { first: last, last, prev } } else { SeqInfo::default() };
    match op {
        Op::Diff(ls) => {
            let o = g.apply_diff(&raw(ls), seq(*id, *id - 1), None).unwrap();
            if n.synced {
                assert_eq!(o, Outcome::Applied);
                n.apply(ls, depth);
            }
        }
        Op::Snapshot(ls) | Op::Restart(ls) => {
            if matches!(op, Op::Restart(_)) {
                *id = 1;
            }
            g.apply_snapshot(&raw(ls), seq(*id, NO_SEQ), None).unwrap();
            (n.bids, n.asks, n.synced) = (BTreeMap::new(), BTreeMap::new(), true);
            n.apply(ls, depth);
        }
        Op::Lose => {
            g.invalidate(OosReason::Gap);
            n.synced = false;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn consumer_equals_gateway_after_every_message(
        ops in proptest::collection::vec((op(), prop_oneof![4 => Just(true), 1 => Just(false)]), 1..60),
        first in proptest::collection::vec(update(), 0..20),
        depth in prop_oneof![Just(0usize), 2usize..12],
        ids in any::<bool>(),
    ) {
        let (mut g, mut tx, mut c, mut n) = (gateway(depth), BookTx::default(), consumer(), Naive::default());
        let mut id = 100;
        let steps = std::iter::once((Op::Snapshot(first), true)).chain(ops);
        for (op, take_now) in steps {
            venue_step(&mut g, &mut n, &op, &mut id, ids, depth);
            if !take_now {
                continue; // the gateway publishes several venue messages as one
            }
            publish(&mut g, &mut tx, &mut c);
            let cb = c.book(SYM).unwrap();
            prop_assert_eq!(cb.is_synced(), n.synced);
            if n.synced {
                prop_assert_eq!(shape(cb), shape(&g));
                let (ps, qs) = (g.price_scale(), g.qty_scale());
                prop_assert_eq!((shape(cb).0, shape(cb).1), n.shape(ps, qs));
                if ids {
                    // Where the last message left it (a diff that changed nothing sends none).
                    prop_assert_eq!(cb.last_id(), tx.venue_id);
                }
            }
        }
    }

    #[test]
    fn a_dropped_message_is_a_gap_and_a_served_snapshot_heals_it(
        ops in proptest::collection::vec(proptest::collection::vec(update(), 1..6), 2..30),
        drop in any::<prop::sample::Index>(),
        ids in any::<bool>(),
    ) {
        let (mut g, mut tx, mut c, mut n) = (gateway(0), BookTx::default(), consumer(), Naive::default());
        let mut id = 0;
        // A level at 4 decimals from the start: no diff widens the scale (a rescale is a snapshot).
        venue_step(&mut g, &mut n, &Op::Snapshot(vec![(false, 50_001, 1, 4, 4)]), &mut id, ids, 0);
        publish(&mut g, &mut tx, &mut c);
        // Never the last: a loss shows when the next message arrives.
        let drop = drop.index(ops.len() - 1);
        for (k, ls) in ops.iter().enumerate() {
            venue_step(&mut g, &mut n, &Op::Diff(ls.clone()), &mut id, ids, 0);
            let Some(msg) = take(&mut g, &mut tx) else { continue };
            if k == drop {
                continue;
            }
            let out = c.on_frame(&msg).unwrap().updates.clone();
            let want = if k == drop + 1 { Outcome::Gap } else if k > drop { Outcome::Buffered } else { Outcome::Applied };
            prop_assert_eq!(out, vec![(0, want)]);
        }
        prop_assert!(!c.book(SYM).unwrap().is_synced());
        let mut snap = Vec::new();
        snapshot_message(&g, &tx, SYM, 0, &mut snap).unwrap();
        c.on_snapshot(SYM, &snap).unwrap();
        prop_assert!(c.book(SYM).unwrap().is_synced());
        prop_assert_eq!(shape(c.book(SYM).unwrap()), shape(&g));
    }

    #[test]
    fn two_gateways_interleaved_into_one_arbitrated_consumer_give_the_same_book(
        ops in proptest::collection::vec(proptest::collection::vec(update(), 0..6), 1..40),
        b_takes in proptest::collection::vec(any::<bool>(), 40),
        b_drops in proptest::collection::vec(prop_oneof![4 => Just(false), 1 => Just(true)], 40),
        order in proptest::collection::vec(any::<bool>(), 80),
    ) {
        // Line A publishes after every venue message; line B (another gseq) coalesces some and
        // loses some. Every venue id is on A, so the consumer never needs a snapshot.
        let (mut ga, mut gb) = (gateway(0), gateway(0));
        let (mut ta, mut tb) = (BookTx::default(), BookTx { gseq: 5000, ..BookTx::default() });
        let (mut na, mut nb) = (Naive::default(), Naive::default());
        let (mut ia, mut ib) = (0, 0);
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        let snap = Op::Snapshot(vec![(false, 99_990, 10_000, 2, 0), (true, 100_000, 5_000, 1, 1)]);
        venue_step(&mut ga, &mut na, &snap, &mut ia, true, 0);
        venue_step(&mut gb, &mut nb, &snap, &mut ib, true, 0);
        la.extend(take(&mut ga, &mut ta));
        lb.extend(take(&mut gb, &mut tb));
        for (k, ls) in ops.iter().enumerate() {
            venue_step(&mut ga, &mut na, &Op::Diff(ls.clone()), &mut ia, true, 0);
            venue_step(&mut gb, &mut nb, &Op::Diff(ls.clone()), &mut ib, true, 0);
            la.extend(take(&mut ga, &mut ta));
            if b_takes[k] || k + 1 == ops.len() {
                if let Some(m) = take(&mut gb, &mut tb) {
                    if !b_drops[k] {
                        lb.push(m);
                    }
                }
            }
        }
        let mut c = consumer();
        c.set_arbitration(Some(1_000_000_000), 1024);
        c.set_now(0);
        let (mut a, mut b) = (la.iter(), lb.iter());
        let mut pick = order.iter().cycle();
        loop {
            let next = if *pick.next().unwrap() { a.next().or_else(|| b.next()) } else { b.next().or_else(|| a.next()) };
            let Some(m) = next else { break };
            let s = c.on_frame(m).unwrap();
            prop_assert!(s.updates.iter().all(|(_, o)| !matches!(o, Outcome::Gap)), "{:?}", s.updates);
        }
        c.release_held(i64::MAX);
        let cb = c.book(SYM).unwrap();
        prop_assert!(cb.is_synced());
        prop_assert_eq!(shape(cb), shape(&ga));
        prop_assert_eq!(cb.stats().gaps, 0);
    }

    #[test]
    fn damaged_bytes_never_panic_and_a_refused_message_changes_nothing(
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..4),
        which in 0usize..5,
    ) {
        let (mut g, mut tx, mut c) = (gateway(0), BookTx::default(), consumer());
        g.apply_snapshot(&raw(&[(false, 99_990, 10_000, 2, 0), (true, 100_000, 5_000, 1, 1)]), SeqInfo::default(), None).unwrap();
        publish(&mut g, &mut tx, &mut c);
        g.apply_diff(&raw(&[(false, 99_980, 20_000, 2, 0)]), SeqInfo::default(), None).unwrap();
        let mut msgs = vec![take(&mut g, &mut tx).unwrap()];
        let mut m = Vec::new();
        snapshot_message(&g, &tx, SYM, 0, &mut m).unwrap();
        msgs.push(m.clone());
        encode_trade(SYM, (d("1.5"), d("2")), false, None, 1, 0, &mut m).unwrap();
        msgs.push(m.clone());
        encode_bbo(SYM, [d("1"), d("2"), d("3"), d("4")], 1, 0, &mut m).unwrap();
        msgs.push(m.clone());
        g.invalidate(OosReason::Gap);
        msgs.push(take(&mut g, &mut tx).unwrap());
        let mut frame = msgs[which].clone();
        let mut truncated = false;
        for (at, v, cut) in &cuts {
            if frame.is_empty() {
                break;
            }
            let i = at.index(frame.len());
            if *cut {
                frame.truncate(i);
                truncated = true;
            } else {
                frame[i] ^= v | 1;
            }
        }
        let before = (shape(c.book(SYM).unwrap()), c.book(SYM).unwrap().state(), c.book(SYM).unwrap().last_id(), c.len());
        let r = c.on_frame(&frame).map(|_| ());
        if truncated {
            prop_assert!(r.is_err());
        }
        if r.is_err() {
            let after = (shape(c.book(SYM).unwrap()), c.book(SYM).unwrap().state(), c.book(SYM).unwrap().last_id(), c.len());
            prop_assert_eq!(before, after);
        }
    }
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
