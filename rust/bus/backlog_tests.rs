use super::*;
use crate::bus::wire::{Header, Message, NO_VENUE_ID};

/// A queued message as the subscriber's: a payload and its arrival index.
#[derive(Debug, Clone, PartialEq)]
struct M(Vec<u8>, usize);

impl Payload for M {
    fn payload(&self) -> &[u8] {
        &self.0
    }
}

/// A valid bus message of `kind` for `symbol` (a book message without levels; a trade or BBO with
/// its body), checked by the consumer's own parser so the test speaks the real format.
fn msg(kind: Kind, symbol: &str, gseq: u64) -> Vec<u8> {
    let h = Header {
        kind,
        flags: 0,
        price_scale: 2,
        qty_scale: 0,
        gseq,
        venue_prev: if kind.is_book() { gseq as i64 - 1 } else { NO_VENUE_ID },
        venue_last: if kind.is_book() { gseq as i64 } else { NO_VENUE_ID },
        stamp_ns: 1,
        n_bids: 0,
        n_asks: 0,
    };
    let mut out = Vec::new();
    h.write(symbol.as_bytes(), &mut out);
    match kind {
        Kind::Trade => out.extend_from_slice(&[0u8; crate::bus::wire::TRADE_LEN]),
        Kind::Bbo => out.extend_from_slice(&[0u8; crate::bus::wire::BBO_LEN]),
        _ => {}
    }
    Message::parse(&out).expect("a valid bus message");
    out
}

#[test]
fn a_backlog_never_holds_more_than_its_bound_and_keeps_the_newest() {
    let mut q = Backlog::new(100);
    for i in 0..10_000 {
        q.push(M(msg(Kind::Delta, "BTCUSDT", i as u64 + 1), i));
        assert!(q.len() <= 100, "{} queued after {} pushes", q.len(), i + 1);
    }
    let mut out = Vec::new();
    let lost = q.drain_into(&mut out);
    assert_eq!(out.iter().map(|m| m.1).collect::<Vec<_>>(), (9_900..10_000).collect::<Vec<_>>());
    assert_eq!((lost.book_messages, lost.total(), q.dropped()), (9_900, 9_900, 9_900));
    assert!(q.is_empty());
}

#[test]
fn what_was_dropped_is_recorded_by_kind_and_book_once_per_drain() {
    let mut q = Backlog::new(2);
    let kinds = [
        (Kind::Delta, "BTCUSDT"),
        (Kind::Trade, "BTCUSDT"),
        (Kind::Snapshot, "ETHUSDT"),
        (Kind::Bbo, "ETHUSDT"),
        (Kind::OutOfSync, "BTCUSDT"),
        (Kind::Delta, "SOLUSDT"),
        (Kind::Trade, "SOLUSDT"),
    ];
    for (i, (k, s)) in kinds.iter().enumerate() {
        q.push(M(msg(*k, s, 1), i));
    }
    q.push(M(b"not a bus message".to_vec(), 7));
    q.push(M(msg(Kind::Delta, "XRPUSDT", 1), 8));
    q.push(M(msg(Kind::Delta, "XRPUSDT", 2), 9));
    let mut out = Vec::new();
    let lost = q.drain_into(&mut out);
    assert_eq!(out.iter().map(|m| m.1).collect::<Vec<_>>(), vec![8, 9]);
    let books: Vec<&[u8]> = lost.books.iter().map(|b| b.as_slice()).collect();
    assert_eq!(books, vec![&b"BTCUSDT"[..], b"ETHUSDT", b"SOLUSDT"]);
    assert_eq!((lost.book_messages, lost.trades, lost.bbos, lost.other), (4, 2, 1, 1));
    assert!(!lost.all_books);
    // The record is per drain: the next one starts empty, the total stays.
    q.push(M(msg(Kind::Delta, "XRPUSDT", 3), 10));
    assert!(q.drain_into(&mut out).is_empty());
    assert_eq!(q.dropped(), 8);
}

#[test]
fn too_many_holed_books_to_name_are_reported_as_all_books() {
    let mut q = Backlog::new(1);
    for i in 0..=MAX_LOST_BOOKS + 1 {
        q.push(M(msg(Kind::Delta, &format!("S{i}"), 1), i));
    }
    let lost = q.drain_into(&mut Vec::new());
    assert!(lost.all_books && lost.books.is_empty(), "{} books named", lost.books.len());
    assert_eq!(lost.book_messages, MAX_LOST_BOOKS as u64 + 1);
}

#[test]
fn a_bound_of_zero_still_keeps_the_newest_message() {
    let mut q = Backlog::new(0);
    q.push(M(msg(Kind::Trade, "BTCUSDT", 1), 0));
    q.push(M(msg(Kind::Trade, "BTCUSDT", 2), 1));
    let mut out = Vec::new();
    let lost = q.drain_into(&mut out);
    assert_eq!((q.max(), out.len(), out[0].1, lost.trades), (1, 1, 1, 1));
}
