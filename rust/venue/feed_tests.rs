//! The feed's own bookkeeping beyond one frame: books forgotten when their subscription ends, and
//! frames an A/B line held that the book refuses when they are released, and held frames whose time
//! is up left to `release_held` (deferred expiry).

use super::*;
use crate::book::sync::{OosReason, SyncState};
use crate::book::Outcome;

fn feed(v: Venue) -> Feed {
    Feed::new(v, &FeedOptions::default())
}

fn outcomes(f: &mut Feed, frame: &str) -> Vec<Outcome> {
    f.on_frame(frame.as_bytes()).unwrap().updates.iter().map(|u| u.1).collect()
}

#[test]
fn a_forgotten_book_is_empty_and_ignores_its_late_messages_until_revived() {
    let mut f = feed(Venue::Coinbase);
    let msg = |seq: i64, kind: &str, px: &str| {
        format!(
            r#"{{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":{seq},"events":[{{"type":"{kind}","product_id":"BTC-USD","updates":[{{"side":"bid","event_time":"t","price_level":"{px}","new_quantity":"1.5"}},{{"side":"offer","event_time":"t","price_level":"21921.74","new_quantity":"1.5"}}]}}]}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &msg(1, "snapshot", "21921.73")), vec![Outcome::Applied]);
    assert!(f.forget(b"BTC-USD") && !f.forget(b"ETH-USD"));
    let b = f.book(b"BTC-USD").unwrap();
    assert!(!b.is_synced() && b.bids().is_empty() && b.asks().is_empty());
    // Sent before the venue took the unsubscribe: dropped, the book stays empty.
    assert_eq!(outcomes(&mut f, &msg(2, "update", "21921.70")), vec![]);
    assert!(f.book(b"BTC-USD").unwrap().bids().is_empty());
    // One unsubscribed before its first message: what the venue sends of it after all builds nothing.
    let eth = msg(3, "snapshot", "1500.00").replace("BTC-USD", "ETH-USD");
    assert_eq!(outcomes(&mut f, &eth), vec![]);
    assert!(f.book(b"ETH-USD").is_some_and(|b| !b.is_synced() && b.bids().is_empty()));
    // Subscribed again: the venue's new snapshot builds it.
    f.revive(b"BTC-USD");
    assert_eq!(outcomes(&mut f, &msg(4, "snapshot", "21921.72")), vec![Outcome::Applied]);
    let b = f.book(b"BTC-USD").unwrap();
    assert!(b.is_synced() && b.bids().len() == 1 && b.asks().len() == 1);
}

#[test]
fn a_held_frame_the_book_refuses_on_release_resyncs_it_and_keeps_what_the_releasing_frame_did() {
    let mut f = feed(Venue::BinanceSpot);
    f.set_arbitration(Some(1_000_000_000), 16);
    f.set_now(0);
    let diff = |u: i64, qty: &str| {
        format!(r#"{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{u},"u":{u},"b":[["100.0","{qty}"]],"a":[]}}"#)
    };
    assert_eq!(outcomes(&mut f, &diff(101, "1")), vec![Outcome::Buffered]);
    let snap = r#"{"lastUpdateId":100,"bids":[["99.0","1"]],"asks":[["101.0","1"]]}"#;
    f.on_snapshot(b"BTCUSDT", snap.as_bytes()).unwrap();
    assert!(f.book(b"BTCUSDT").unwrap().is_synced());
    // 103 comes first on the faster line: held; it holds a level the book refuses.
    assert_eq!(outcomes(&mut f, &diff(103, "-1")), vec![Outcome::Held]);
    // 102 arrives: applied, and releases 103, refused — the book now lacks 103's update.
    let got = outcomes(&mut f, &diff(102, "2"));
    assert_eq!(got, vec![Outcome::Applied, Outcome::Gap]);
    let b = f.book(b"BTCUSDT").unwrap();
    assert!(!b.is_synced() && b.state() == SyncState::OutOfSync(OosReason::Gap));
}

#[test]
fn with_deferred_expiry_a_frame_after_the_hold_ran_out_leaves_the_held_frame_for_the_filling_one() {
    let diff = |u: i64, qty: &str| {
        format!(r#"{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{u},"u":{u},"b":[["100.0","{qty}"]],"a":[]}}"#)
    };
    let snap = r#"{"lastUpdateId":100,"bids":[["99.0","1"]],"asks":[["101.0","1"]]}"#;
    let synced = |deferred: bool| {
        let mut f = feed(Venue::BinanceSpot);
        f.set_arbitration(Some(1_000), 16);
        f.set_deferred_expiry(deferred);
        f.set_now(0);
        assert_eq!(outcomes(&mut f, &diff(101, "1")), vec![Outcome::Buffered]);
        f.on_snapshot(b"BTCUSDT", snap.as_bytes()).unwrap();
        // 103 comes on the line ahead: held 1 µs for 102.
        f.set_now(10);
        assert_eq!(outcomes(&mut f, &diff(103, "3")), vec![Outcome::Held]);
        f
    };
    // The process stalled: the next frame read (the line ahead's 104) is stamped past the hold.
    // Expiring on frames (as before), 103 goes to the book as a gap before 102, read next from the
    // other connection's socket, can fill the hole.
    let mut f = synced(false);
    f.set_now(5_000);
    assert!(outcomes(&mut f, &diff(104, "4")).contains(&Outcome::Gap));
    // Deferred: 104 is held too and the release is due, not done; 102 fills the hole and both
    // held frames follow it, the book in sync at 104.
    let mut f = synced(true);
    f.set_now(5_000);
    assert_eq!(outcomes(&mut f, &diff(104, "4")), vec![Outcome::Held]);
    assert!(f.held_due(5_000) && !f.held_due(1_000));
    assert_eq!(outcomes(&mut f, &diff(102, "2")), vec![Outcome::Applied; 3]);
    let b = f.book(b"BTCUSDT").unwrap();
    assert!(b.is_synced() && b.last_id() == 104 && !f.held_due(i64::MAX));
    // The hole never filled: release_held, the caller's, releases them as the gap they are.
    let mut f = synced(true);
    assert!(!f.held_due(1_000) && f.held_due(1_010));
    let got: Vec<Outcome> = f.release_held(1_010).updates.iter().map(|u| u.1).collect();
    assert_eq!(got, vec![Outcome::Gap]);
    assert!(!f.book(b"BTCUSDT").unwrap().is_synced());
}

#[test]
fn an_okx_sequence_reset_both_ab_lines_bring_leaves_the_book_in_sync_and_as_one_line_would() {
    let msg = |action: &str, prev: i64, seq: i64, px: &str, qty: &str| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":[["{px}","{qty}","0","1"]],"bids":[["100","1","0","1"]],"ts":"1","prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    };
    let opts = FeedOptions { verify_checksum: Some(false), ..FeedOptions::default() };
    // The venue's messages: a snapshot, diffs, a reset after maintenance (seqId 3 below prevSeqId
    // 16), diffs of the new numbering.
    let venue = [
        msg("snapshot", -1, 15, "101", "1"),
        msg("update", 15, 16, "102", "2"),
        msg("update", 16, 3, "103", "3"),
        msg("update", 3, 4, "104", "4"),
        msg("update", 4, 5, "102", "0"),
    ];
    let mut one = Feed::new(Venue::Okx, &opts);
    for m in &venue {
        assert_eq!(outcomes(&mut one, m), vec![Outcome::Applied], "{m}");
    }
    // A/B: line A ahead by two messages, line B's copies after them, interleaved.
    let mut ab = Feed::new(Venue::Okx, &opts);
    ab.set_arbitration(Some(1_000_000_000), 16);
    ab.set_now(0);
    let order = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (0, 3), (1, 2), (0, 4), (1, 3), (1, 4)];
    for (line, i) in order {
        let got = outcomes(&mut ab, &venue[i]);
        let b = ab.book(b"BTC-USDT").unwrap();
        // Before: line B's copy of the reset was a gap (its prevSeqId 16 no longer the book's id).
        assert!(b.is_synced(), "line {line} message {i}: {got:?}, book {:?}", b.state());
    }
    let (a, b) = (one.book(b"BTC-USDT").unwrap(), ab.book(b"BTC-USDT").unwrap());
    let levels =
        |b: &crate::book::Book| (b.last_id(), b.bids().levels().to_vec(), b.asks().levels().to_vec());
    assert_eq!(levels(a), levels(b));
}
