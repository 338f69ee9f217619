//! Bitfinex through the feed: the published checksum vector (venues.md §8), checksum texts written
//! out by hand for later states, channel bookkeeping, trades and tickers.

use crate::book::{Need, Outcome};
use crate::venue::{Feed, FeedError, FeedOptions, FrameKind, Venue};

const SUB: &str = r#"{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}"#;
// venues.md §8: "6000:1:6100:-3:5900:2:6200:-4" -> 1756193398.
const SNAP: &str = "[17,[[6000,1,1],[5900,3,2],[6100,2,-3],[6200,1,-4]]]";

fn signed_crc(text: &str) -> i64 {
    crc32fast::hash(text.as_bytes()) as i32 as i64
}

fn run(f: &mut Feed, frame: &str) -> (FrameKind, Vec<Outcome>) {
    let s = f.on_frame(frame.as_bytes()).unwrap();
    (s.kind, s.updates.iter().map(|u| u.1).collect())
}

fn synced_feed() -> Feed {
    let mut f = Feed::new(Venue::Bitfinex, &FeedOptions::default());
    assert_eq!(run(&mut f, SUB).0, FrameKind::Control);
    assert_eq!(run(&mut f, SNAP).1, vec![Outcome::Applied]);
    assert_eq!(run(&mut f, "[17,\"cs\",1756193398]").1, vec![Outcome::Applied]);
    f
}

#[test]
fn published_vector_verifies_through_the_feed() {
    let f = synced_feed();
    let b = f.book(b"tBTCUSD").unwrap();
    assert_eq!(b.stats().checksum_ok, 1);
    assert_eq!(b.best_bid(), Some((6000, 1)));
    assert_eq!(b.best_ask(), Some((6100, 3)));
    assert!(b.is_synced());
}

#[test]
fn updates_then_checksums_written_out_by_hand() {
    let mut f = synced_feed();
    // Delete the 5900 bid (count 0, amount 1 marks the bid side), add a finer bid and a tiny ask.
    for u in ["[17,[5900,0,1]]", "[17,[6000.5,2,0.25]]", "[17,[6150,1,-1.7e-5]]"] {
        assert_eq!(run(&mut f, u).1, vec![Outcome::Applied]);
    }
    let text = "6000.5:0.25:6100:-3:6000:1:6150:-0.000017:6200:-4";
    let cs = format!("[17,\"cs\",{}]", signed_crc(text));
    assert_eq!(run(&mut f, &cs).1, vec![Outcome::Applied]);
    assert_eq!(f.book(b"tBTCUSD").unwrap().stats().checksum_ok, 2);
    // Deleting an ask: count 0, amount -1.
    assert_eq!(run(&mut f, "[17,[6100,0,-1]]").1, vec![Outcome::Applied]);
    let cs = format!("[17,\"cs\",{}]", signed_crc("6000.5:0.25:6150:-0.000017:6000:1:6200:-4"));
    assert_eq!(run(&mut f, &cs).1, vec![Outcome::Applied]);
}

#[test]
fn a_lost_update_fails_the_next_checksum_and_asks_for_a_resubscribe() {
    let mut f = synced_feed();
    // The venue's book after two updates; the feed only sees the second.
    run(&mut f, "[17,[6050,1,-2]]");
    let cs = format!("[17,\"cs\",{}]", signed_crc("6000:1:6050:-2:5950:5:6100:-3:5900:2:6200:-4"));
    assert!(matches!(run(&mut f, &cs).1[..], [Outcome::ChecksumMismatch { .. }]));
    assert!(!f.book(b"tBTCUSD").unwrap().is_synced());
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, Need::Resubscribe)]);
    // Until the new subscription's snapshot, updates are not applied.
    assert_eq!(run(&mut f, "[17,[6000,0,1]]").1, vec![Outcome::Ignored]);
    run(&mut f, r#"{"event":"unsubscribed","status":"OK","chanId":17}"#);
    assert!(f.on_frame(b"[17,[6000,0,1]]").is_err());
    run(&mut f, &SUB.replace("17", "18"));
    assert_eq!(run(&mut f, &SNAP.replace("17", "18")).1, vec![Outcome::Applied]);
    let b = f.book(b"tBTCUSD").unwrap();
    assert!(b.is_synced());
    assert_eq!(b.stats().resyncs, 1);
    assert_eq!(f.needs().count(), 0);
}

#[test]
fn unknown_channel_and_bad_levels_are_errors_that_change_nothing() {
    let mut f = synced_feed();
    let before = f.book(b"tBTCUSD").unwrap().clone();
    for bad in [
        "[99,[6000,0,1]]",
        "[17,[6000,1,0]]",
        "[17,[6000,1]]",
        "[17,\"cs\"]",
        "[17,[[6000,1,1],[5900",
        "[17,\"zz\",1]",
    ] {
        assert!(matches!(f.on_frame(bad.as_bytes()), Err(FeedError::Json(_))), "{bad}");
    }
    let after = f.book(b"tBTCUSD").unwrap();
    assert!(after.bids().iter().eq(before.bids().iter()));
    assert!(after.asks().iter().eq(before.asks().iter()));
    assert!(after.is_synced());
}

#[test]
fn heartbeats_trades_tickers_and_depth() {
    let mut f = synced_feed();
    assert_eq!(run(&mut f, "[17,\"hb\"]").0, FrameKind::Heartbeat);
    assert_eq!(run(&mut f, r#"{"event":"pong","ts":1}"#).0, FrameKind::Heartbeat);
    run(&mut f, r#"{"event":"subscribed","channel":"trades","chanId":5,"symbol":"tETHUSD","pair":"ETHUSD"}"#);
    assert_eq!(run(&mut f, "[5,\"te\",[401597393,1574694475039,-0.005,7245.3]]").0, FrameKind::Trade);
    let (sym, q) = f.last_quote();
    assert_eq!(sym, b"tETHUSD");
    assert_eq!((q.px.mant, q.px.dec, q.qty.mant, q.qty.dec, q.buyer_maker), (72453, 1, 5, 3, true));
    assert_eq!(run(&mut f, "[5,\"tu\",[401597393,1574694475039,-0.005,7245.3]]").0, FrameKind::Other);
    run(&mut f, r#"{"event":"subscribed","channel":"ticker","chanId":6,"symbol":"tBTCUSD","pair":"BTCUSD"}"#);
    let t =
        "[6,[7616.5,31.89055171,7617.5,43.358118629999986,-550.8,-0.0674,7617.1,8314.71200815,8257.8,7500]]";
    assert_eq!(run(&mut f, t).0, FrameKind::Bbo);
    let q = f.last_quote().1;
    assert_eq!((q.bid_px.mant, q.ask_px.mant, q.ask_px.dec), (76165, 76175, 1));
    assert_eq!(f.len(), 1);
    // The subscribed `len` caps the book: only the best level survives a len-1 subscription.
    let mut g = Feed::new(Venue::Bitfinex, &FeedOptions::default());
    run(&mut g, &SUB.replace("\"25\"", "\"1\""));
    run(&mut g, SNAP);
    let b = g.book(b"tBTCUSD").unwrap();
    assert_eq!((b.bids().len(), b.asks().len()), (1, 1));
}

#[test]
fn a_refused_book_frame_names_the_channels_book_and_a_refused_trade_frame_none() {
    // The book lacks the refused update; with no checksum after it (the venue sends them only with
    // the `conf` flag, periodically) nothing else would show it.
    let mut f = synced_feed();
    let trades =
        r#"{"event":"subscribed","channel":"trades","chanId":18,"symbol":"tBTCUSD","pair":"BTCUSD"}"#;
    assert_eq!(run(&mut f, trades).0, FrameKind::Control);
    let before = (f.book(b"tBTCUSD").unwrap().best_bid(), f.book(b"tBTCUSD").unwrap().best_ask());
    // Cut short after the channel's number: perhaps its update, so named as well.
    for bad in ["[17,[9x6000,2,1]]", "[17,[6000,2,0]]", "[17,\"xx\"]", "[17,[[6000,1,1],[5900]]]", "[17"] {
        assert!(matches!(f.on_frame(bad.as_bytes()), Err(FeedError::Json(_))), "{bad}");
        assert_eq!(f.refused_symbols().collect::<Vec<_>>(), [b"tBTCUSD"], "{bad}");
        let b = f.book(b"tBTCUSD").unwrap();
        assert_eq!((b.best_bid(), b.best_ask()), before, "{bad}");
    }
    for bad in [r#"[18,"te",[1,2,"x",6000]]"#, "[99,[6000,2,1]]", "[1"] {
        assert!(f.on_frame(bad.as_bytes()).is_err(), "{bad}");
        assert_eq!(f.refused_symbols().count(), 0, "{bad}");
    }
}
