//! Coinbase Advanced Trade `level2` on the shapes venues.md documents: the connection-wide
//! `sequence_num`, its gaps, and refused frames that must leave the sequence as it was.

use super::tests::{feed, kind, outcomes};
use super::*;
use crate::book::Outcome;

#[test]
fn coinbase_level2_and_connection_gap() {
    let mut f = feed(Venue::Coinbase);
    let snap = r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":1,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.74","new_quantity":"1.5"}]}]}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    let eth = snap.replace("BTC-USD", "ETH-USD").replace("\"sequence_num\":1", "\"sequence_num\":2");
    assert_eq!(outcomes(&mut f, &eth), vec![Outcome::Applied]);
    let upd = r#"{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":3,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"21921.73","new_quantity":"0"}]}]}"#;
    assert_eq!(outcomes(&mut f, upd), vec![Outcome::Applied]);
    assert_eq!(f.book(b"BTC-USD").unwrap().best_bid(), None);
    // Heartbeats share the connection sequence; skipping 5 loses a message of unknown product.
    let hb = r#"{"channel":"heartbeats","client_id":"","timestamp":"t","sequence_num":4,"events":[{"current_time":"t","heartbeat_counter":"3"}]}"#;
    assert_eq!(kind(&mut f, hb), FrameKind::Heartbeat);
    let s = f.on_frame(upd.replace("\"sequence_num\":3", "\"sequence_num\":6").as_bytes()).unwrap();
    assert!(s.conn_gap);
    assert!(!f.book(b"ETH-USD").unwrap().is_synced());
    assert!(!f.book(b"BTC-USD").unwrap().is_synced());
}

#[test]
fn coinbase_connection_gap_reports_every_book_it_unsynced() {
    let mut f = feed(Venue::Coinbase);
    let snap = |seq: i64, product: &str| {
        format!(
            r#"{{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":{seq},"events":[{{"type":"snapshot","product_id":"{product}","updates":[{{"side":"bid","event_time":"t","price_level":"100","new_quantity":"1"}},{{"side":"offer","event_time":"t","price_level":"101","new_quantity":"1"}}]}}]}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &snap(1, "BTC-USD")), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &snap(2, "ETH-USD")), vec![Outcome::Applied]);
    let upd = r#"{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":5,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"99","new_quantity":"2"}]}]}"#;
    let s = f.on_frame(upd.as_bytes()).unwrap();
    assert!(s.conn_gap);
    // Both books lost sync, ETH-USD without a message of its own in the frame: the outcomes are all
    // a session reads (before: only BTC-USD's "ignored", and neither book was ever resynced).
    let updates = s.updates.clone();
    let gaps: Vec<&[u8]> =
        updates.iter().filter(|u| u.1 == Outcome::Gap).map(|u| f.symbol_at(u.0 as usize).unwrap()).collect();
    assert_eq!(gaps, [&b"BTC-USD"[..], &b"ETH-USD"[..]]);
    // A second loss, seen by a heartbeat, reports them again (their resync may be what was lost),
    // but not a book no longer subscribed.
    f.forget(b"ETH-USD");
    let btc = f.index_of(b"BTC-USD").unwrap() as u32;
    let hb = r#"{"channel":"heartbeats","client_id":"","timestamp":"t","sequence_num":9,"events":[]}"#;
    let s = f.on_frame(hb.as_bytes()).unwrap();
    assert!(s.conn_gap);
    assert_eq!(s.updates, [(btc, Outcome::Gap)]);
}

#[test]
fn coinbase_a_sequence_at_i64_max_then_any_other_is_a_gap_not_a_panic() {
    let mut f = feed(Venue::Coinbase);
    let hb = |seq: &str| format!(r#"{{"channel":"heartbeats","sequence_num":{seq},"events":[]}}"#);
    assert!(!f.on_frame(hb("9223372036854775807").as_bytes()).unwrap().conn_gap);
    assert!(f.on_frame(hb("0").as_bytes()).unwrap().conn_gap, "nothing follows i64::MAX");
    assert!(!f.on_frame(hb("1").as_bytes()).unwrap().conn_gap, "and the count goes on from 0");
}

/// A Coinbase feed whose BTC-USD book took its snapshot (`sequence_num` 1).
fn coinbase_synced() -> Feed {
    let mut f = feed(Venue::Coinbase);
    let snap = r#"{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":1,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"t","price_level":"21921.74","new_quantity":"1.5"}]}]}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    f
}

/// A Coinbase update of one bid; `product` is the event's `,"product_id":…` part (empty: none).
fn coinbase_bid(seq: i64, product: &str, qty: &str) -> String {
    format!(
        r#"{{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":{seq},"events":[{{"type":"update"{product},"updates":[{{"side":"bid","event_time":"t","price_level":"21921.70","new_quantity":"{qty}"}}]}}]}}"#
    )
}

const BTC_USD: &str = r#","product_id":"BTC-USD""#;

#[test]
fn coinbase_a_refused_frame_leaves_the_sequence_so_the_next_shows_the_gap() {
    let mut f = coinbase_synced();
    // Refused whole (a negative quantity): nothing applied, and the number not taken either...
    assert!(f.on_frame(coinbase_bid(2, BTC_USD, "-1").as_bytes()).is_err());
    assert!(f.book(b"BTC-USD").unwrap().is_synced());
    // ... so the next frame shows that an update is missing (before: applied, the book "synced").
    let s = f.on_frame(coinbase_bid(3, BTC_USD, "2").as_bytes()).unwrap();
    assert!(s.conn_gap);
    assert!(!f.book(b"BTC-USD").unwrap().is_synced());
}

#[test]
fn coinbase_a_refused_frame_past_a_lost_one_unsyncs_nothing_and_the_next_shows_the_gap() {
    let mut f = coinbase_synced();
    // Number 2 lost; 3 is refused (an event naming no product) after its number showed the loss.
    assert!(f.on_frame(coinbase_bid(3, "", "2").as_bytes()).is_err());
    let b = f.book(b"BTC-USD").unwrap();
    assert!(b.is_synced() && b.stats().gaps == 0);
    assert_eq!(f.stats().conn_gaps, 0);
    let s = f.on_frame(coinbase_bid(4, BTC_USD, "2").as_bytes()).unwrap();
    assert!(s.conn_gap);
    assert!(!f.book(b"BTC-USD").unwrap().is_synced());
}
