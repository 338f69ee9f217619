//! The three seed venues (seed-venues.md): Clarofinlore, Tradefence, Cloud9Trader book shapes,
//! their `seq`/`prev_seq` chain, trades and quotes.

use super::tests::{feed, kind, outcomes};
use super::*;
use crate::book::Outcome;

#[test]
fn seed_venue_shapes_and_gap() {
    let mut f = feed(Venue::Clarofinlore);
    let m = |typ: &str, seq: i64, prev: i64| {
        format!(
            r#"{{"channel":"orderbook.btc-usdt","type":"{typ}","seq":{seq},"prev_seq":{prev},"ts":1,"bids":[["100.5","2"]],"asks":[["101","1.25"]]}}"#
        )
    };
    assert_eq!(outcomes(&mut f, &m("snapshot", 7, 6)), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &m("update", 8, 7)), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &m("update", 10, 9)), vec![Outcome::Gap]);
    assert_eq!(outcomes(&mut f, &m("snapshot", 20, 19)), vec![Outcome::Applied]);
    assert!(f.book(b"btc-usdt").unwrap().is_synced());
    let mut t = feed(Venue::Tradefence);
    let tf = r#"{"type":"book","symbol":"AAPL","action":"snapshot","seq":1,"prev_seq":0,"bids":[["189.50","100"]],"asks":[["189.52","300"]]}"#;
    assert_eq!(outcomes(&mut t, tf), vec![Outcome::Applied]);
    assert_eq!(t.book(b"AAPL").unwrap().spread(), Some(2));
    assert_eq!(
        kind(&mut t, r#"{"type":"trade","symbol":"AAPL","price":"189.51","size":"5"}"#),
        FrameKind::Trade
    );
}

/// An update without `prev_seq` cannot show the loss of the one before it: refused, so the next
/// linked update finds the gap.
#[test]
fn seed_update_without_its_chain_fields_is_refused() {
    let mut f = feed(Venue::Clarofinlore);
    let snap = r#"{"channel":"orderbook.btc-usdt","type":"snapshot","seq":7,"prev_seq":6,"bids":[["100.5","2"]],"asks":[["101","1"]]}"#;
    assert_eq!(outcomes(&mut f, snap), vec![Outcome::Applied]);
    // Update 8 lost; 9 comes without prev_seq, then 10 without seq.
    for bad in [
        r#"{"channel":"orderbook.btc-usdt","type":"update","seq":9,"bids":[["100.5","3"]],"asks":[]}"#,
        r#"{"channel":"orderbook.btc-usdt","type":"update","prev_seq":9,"bids":[["100.5","4"]],"asks":[]}"#,
    ] {
        assert!(f.on_frame(bad.as_bytes()).is_err(), "{bad}");
        assert_eq!(f.book(b"btc-usdt").unwrap().last_id(), 7);
    }
    let next =
        r#"{"channel":"orderbook.btc-usdt","type":"update","seq":10,"prev_seq":9,"bids":[],"asks":[]}"#;
    assert_eq!(outcomes(&mut f, next), vec![Outcome::Gap]);
}

#[test]
fn cloud9trader_book_channels_use_the_clarofinlore_shape() {
    let mut f = feed(Venue::Cloud9trader);
    let m = |typ: &str, seq: i64| {
        format!(
            r#"{{"channel":"book.EURUSD","type":"{typ}","seq":{seq},"prev_seq":{},"ts":1,"bids":[["1.0841","2"]],"asks":[["1.0843","1"]]}}"#,
            seq - 1
        )
    };
    assert_eq!(outcomes(&mut f, &m("snapshot", 4)), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &m("update", 6)), vec![Outcome::Gap]);
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, crate::book::Need::Resubscribe)]);
    let tr = r#"{"channel":"trades.EURUSD","type":"trades","ts":1,"trades":[{"id":1,"price":"1.0842","qty":"1","side":"buy"}]}"#;
    assert_eq!(kind(&mut f, tr), FrameKind::Trade);
}

#[test]
fn seed_venue_trades_and_quotes_are_events() {
    let mut c = feed(Venue::Clarofinlore);
    let tr = r#"{"channel":"trades.btc-usdt","ts":1,"trades":[{"id":1,"price":"100.5","qty":"2","side":"buy"},{"id":2,"price":"100.4","qty":"0.5","side":"sell"}]}"#;
    assert_eq!(kind(&mut c, tr), FrameKind::Trade);
    let (sym, q) = c.last_quote();
    assert_eq!((sym, q.px.mant, q.px.dec, q.qty.mant, q.buyer_maker), (&b"btc-usdt"[..], 1004, 1, 5, true));
    let mut t = feed(Venue::Tradefence);
    let tr = r#"{"type":"trade","symbol":"AAPL","id":7,"ts":1,"price":"189.51","quantity":"5","side":"BUY"}"#;
    assert_eq!(kind(&mut t, tr), FrameKind::Trade);
    assert_eq!((t.last_quote().0, t.last_quote().1.buyer_maker), (&b"AAPL"[..], false));
    let qt = r#"{"type":"quote","symbol":"AAPL","ts":1,"bid":"189.50","bid_size":"100","ask":"189.52","ask_size":"300"}"#;
    assert_eq!(kind(&mut t, qt), FrameKind::Bbo);
    let q = t.last_quote().1;
    // Trailing zeros are dropped from the mantissa ("189.50" is 1895 at 1 decimal).
    assert_eq!(
        (q.bid_px.mant, q.bid_px.dec, q.bid_qty.mant, q.ask_px.mant, q.ask_qty.mant),
        (1895, 1, 100, 18952, 300)
    );
    let mut n = feed(Venue::Cloud9trader);
    let tr = r#"{"channel":"trades.EURUSD","type":"trades","ts":1,"trades":[]}"#;
    assert_eq!(kind(&mut n, tr), FrameKind::Trade);
    assert!(n.last_quote().0.is_empty());
}
