//! Trades of a venue that numbers each symbol's trades one by one (Binance), through an arbitrated
//! feed (a renewal's two connections, A/B lines): delivered in id order and each once, whichever
//! connection brings them first; what waits goes out through the same deferred release as held book
//! frames. Elsewhere (ids that only grow, no arbitration) nothing waits.

use super::*;

const HOLD_NS: i64 = 1_000;
const NONE: [u64; 0] = [];

fn trade(sym: &str, id: u64) -> String {
    format!(r#"{{"e":"trade","E":1,"s":"{sym}","t":{id},"p":"100.0","q":"1","m":true}}"#)
}

/// The ids of the trades `frame` hands on.
fn frame_ids(f: &mut Feed, frame: &str) -> Vec<u64> {
    assert_eq!(f.on_frame(frame.as_bytes()).unwrap().kind, FrameKind::Trade);
    last_ids(f)
}

fn ids(f: &mut Feed, id: u64) -> Vec<u64> {
    frame_ids(f, &trade("BTCUSDT", id))
}

fn last_ids(f: &Feed) -> Vec<u64> {
    f.last_trades().map(|(_, t)| t.id.unwrap()).collect()
}

fn arbitrated(v: Venue, deferred: bool, max_held: usize) -> Feed {
    let mut f = Feed::new(v, &FeedOptions::default());
    f.set_arbitration(Some(HOLD_NS), max_held);
    f.set_deferred_expiry(deferred);
    f.set_now(0);
    f
}

#[test]
fn trades_ahead_wait_for_the_other_connection_and_go_out_in_id_order_each_once() {
    let mut f = arbitrated(Venue::BinanceSpot, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    // The connection ahead (a renewal's successor) brings 103 and 104 (and 103 again) before the
    // one behind brought 101 and 102. Before, each went out as it came: 103, 104, 101, 102.
    assert_eq!(ids(&mut f, 103), NONE);
    assert_eq!(ids(&mut f, 104), NONE);
    assert_eq!(ids(&mut f, 103), NONE);
    assert_eq!(ids(&mut f, 101), [101]);
    assert_eq!(ids(&mut f, 102), [102, 103, 104]);
    // The copies the one behind brings next are dropped.
    for id in 101..=104 {
        assert_eq!(ids(&mut f, id), NONE);
    }
    assert_eq!(ids(&mut f, 105), [105]);
    assert_eq!(f.duplicate_trades(), 5);
    assert!(!f.held_due(i64::MAX) && f.held() == 0);
}

#[test]
fn a_trade_no_connection_fills_in_for_waits_for_release_held_then_goes_out_before_later_ones() {
    let mut f = arbitrated(Venue::BinanceSpot, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 103), NONE);
    f.set_now(500);
    assert_eq!(ids(&mut f, 105), NONE);
    assert!(!f.held_due(HOLD_NS - 1) && f.held_due(HOLD_NS));
    // The process stalled: the next frame read is stamped past the hold, and does not release it
    // (the frame bringing 101 may be waiting in the other connection's socket).
    f.set_now(1_200);
    assert_eq!(ids(&mut f, 106), NONE);
    // The caller's release once every socket was read: 103 goes out (101 and 102 given up), 105
    // still waits for 104 (its own hold runs to 1 500).
    let s = f.release_held(HOLD_NS);
    assert!(s.kind == FrameKind::Trade && s.updates.is_empty());
    assert_eq!(last_ids(&f), [103]);
    assert_eq!(f.held_trades(), (2, 1));
    assert_eq!(ids(&mut f, 104), [104, 105, 106]);
    // Given up for 103, but brought after all: late, once.
    assert_eq!(ids(&mut f, 102), [102]);
    assert_eq!(ids(&mut f, 102), NONE);
    // Nothing held: a release is a book one, its trades none.
    assert_eq!(f.release_held(i64::MAX).kind, FrameKind::Book);
}

#[test]
fn expiring_on_frames_the_next_trade_frame_releases_what_waited_before_its_own() {
    let mut f = arbitrated(Venue::BinanceSpot, false, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 103), NONE);
    f.set_now(2_000);
    assert_eq!(ids(&mut f, 104), [103, 104]);
    assert_eq!(f.held_trades(), (0, 1));
}

#[test]
fn past_max_held_a_symbols_waiting_trades_go_out_in_order() {
    let mut f = arbitrated(Venue::BinanceSpot, true, 2);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 103), NONE);
    assert_eq!(ids(&mut f, 105), NONE);
    assert_eq!(ids(&mut f, 106), [103, 105, 106]);
    assert_eq!(ids(&mut f, 104), [104]);
    assert!(!f.held_due(i64::MAX));
}

#[test]
fn symbols_wait_apart() {
    let mut f = arbitrated(Venue::BinanceUsdm, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 50)), [50]);
    assert_eq!(ids(&mut f, 102), NONE);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 51)), [51]);
    assert_eq!(ids(&mut f, 101), [101, 102]);
    // A release goes through every symbol's, each in order.
    assert_eq!(ids(&mut f, 104), NONE);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 54)), NONE);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 53)), NONE);
    f.release_held(HOLD_NS);
    let mut got: Vec<(Vec<u8>, u64)> = f.last_trades().map(|(s, t)| (s.to_vec(), t.id.unwrap())).collect();
    got.sort_by_key(|(s, _)| s.clone()); // symbols in any order, each one's in id order
    assert_eq!(got, [(b"BTCUSDT".to_vec(), 104), (b"ETHUSDT".to_vec(), 53), (b"ETHUSDT".to_vec(), 54)]);
}

#[test]
fn nothing_waits_without_arbitration_or_where_ids_are_not_consecutive() {
    // One connection (dedupe alone, or nothing): a missing id is the venue's business.
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 103), [103]);
    f.set_trade_dedupe(true);
    assert_eq!(ids(&mut f, 105), [105]);
    assert_eq!(ids(&mut f, 104), [104]);
    // OKX's trade ids are not declared consecutive: arbitrated, a trade past the next id goes out.
    assert!(!Venue::Okx.spec().consecutive_trade_ids && Venue::BinanceSbe.spec().consecutive_trade_ids);
    let mut f = arbitrated(Venue::Okx, true, 16);
    let okx = |id: u64| {
        format!(
            r#"{{"arg":{{"channel":"trades","instId":"BTC-USDT"}},"data":[{{"instId":"BTC-USDT","tradeId":"{id}","px":"3e4","sz":"0.1","side":"sell","ts":"1"}}]}}"#
        )
    };
    assert_eq!(frame_ids(&mut f, &okx(100)), [100]);
    assert_eq!(frame_ids(&mut f, &okx(103)), [103]);
    assert_eq!(frame_ids(&mut f, &okx(103)), NONE);
}

#[test]
fn the_first_trades_of_an_overlap_are_placed_against_those_one_connection_brought_before() {
    // One connection, copies told apart from the start (a line that will be renewed).
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    f.set_trade_dedupe(true);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 50)), [50]);
    // A successor connects (arbitration on): its first trades, 102 and 52, come before the old
    // connection's 101 and 51. Before, each went out as it came.
    f.set_arbitration(Some(HOLD_NS), 16);
    f.set_deferred_expiry(true);
    assert_eq!(ids(&mut f, 102), NONE);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 52)), NONE);
    assert_eq!(ids(&mut f, 101), [101, 102]);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 51)), [51, 52]);
    // Copies no longer told apart: what was passed is forgotten, not left to go stale (the next
    // overlap would hold every trade past it), and a symbol's first trade after waits for none.
    f.set_arbitration(None, 16);
    f.set_trade_dedupe(false);
    assert_eq!(ids(&mut f, 103), [103]);
    assert_eq!(ids(&mut f, 110), [110]);
    f.set_arbitration(Some(HOLD_NS), 16);
    assert_eq!(ids(&mut f, 120), [120]);
    assert_eq!(ids(&mut f, 122), NONE);
}

#[test]
fn after_every_connection_went_down_the_next_trade_waits_for_none_made_meanwhile() {
    let mut f = arbitrated(Venue::BinanceUsdm, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 102), NONE); // waits for 101
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 50)), [50]);
    // Every line went down; the trades made until one is back, none brings. Before, the first
    // trades heard after it (the venue's ids far past the last ones heard) waited their whole hold.
    f.resume_trades(None);
    assert_eq!(ids(&mut f, 100), NONE); // a copy is still told apart
                                        // What waited goes out first (101 given up), in order, then the new one at once.
    assert_eq!(ids(&mut f, 130), [102, 130]);
    assert_eq!(f.held_trades(), (0, 1));
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 70)), [70]);
    // Once resumed, ordering holds again.
    assert_eq!(ids(&mut f, 132), NONE);
    assert_eq!(ids(&mut f, 131), [131, 132]);
    assert!(!f.held_due(i64::MAX));
}

#[test]
fn a_symbols_trades_unsubscribed_resume_alone() {
    let mut f = arbitrated(Venue::BinanceUsdm, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 50)), [50]);
    f.resume_trades(Some(b"BTCUSDT"));
    assert_eq!(ids(&mut f, 140), [140]);
    // ETHUSDT still waits for the ids before its next one.
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 52)), NONE);
    // A symbol with a trade waiting keeps its state, and its next trade waits for none.
    f.resume_trades(Some(b"ETHUSDT"));
    assert_eq!(frame_ids(&mut f, &trade("ETHUSDT", 60)), [52, 60]);
}

#[test]
fn a_trade_heard_in_order_after_a_reconnect_ends_its_resumption() {
    // One connection whose copies are told apart (a line that will be renewed) went down and came
    // back: its next trade, passed in order, ends the resumption, so a later overlap's successor
    // still waits for the ids before its first trades.
    let mut f = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
    f.set_trade_dedupe(true);
    assert_eq!(ids(&mut f, 100), [100]);
    f.resume_trades(None);
    assert_eq!(ids(&mut f, 150), [150]);
    f.set_arbitration(Some(HOLD_NS), 16);
    f.set_deferred_expiry(true);
    assert_eq!(ids(&mut f, 152), NONE);
    assert_eq!(ids(&mut f, 151), [151, 152]);
}

#[test]
fn copies_the_other_line_still_brings_after_an_unsubscribe_are_dropped() {
    // A/B lines: A brought 100 and 101, then the symbol's trades were unsubscribed (on both lines)
    // and subscribed again. B, behind A, still brings its copies of them, read off the wire before
    // its unsubscribe took effect: each was delivered already, so each is dropped, and the first
    // trade of the new subscription still waits for none made meanwhile.
    let mut f = arbitrated(Venue::BinanceUsdm, true, 16);
    assert_eq!(ids(&mut f, 100), [100]);
    assert_eq!(ids(&mut f, 101), [101]);
    f.resume_trades(Some(b"BTCUSDT"));
    assert_eq!(ids(&mut f, 100), NONE, "B's copy of 100 delivered twice");
    assert_eq!(ids(&mut f, 101), NONE, "B's copy of 101 delivered twice");
    assert_eq!(ids(&mut f, 150), [150]);
    assert_eq!(f.duplicate_trades(), 2);
}
