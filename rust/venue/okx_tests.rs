//! The books, trade and ticker shortcuts against the general grammar, which it must never contradict: on frames as
//! OKX sends them (the real capture when ../shared is present), and on every truncation and
//! single-byte change of them, both give the same batch or the same error.

use super::*;

fn same(frame: &[u8]) {
    crate::venue::literal::same(frame, decode, general);
}

const FRAMES: &[&str] = &[
    r#"{"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{"asks":[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.6","452","0","1"]],"ts":"1652459225464","checksum":-914047754}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#,
    r#"{"arg":{"channel":"books-l2-tbt","instId":"ETH-USDT"},"action":"update","data":[{"asks":[],"bids":[["1.5e3","0.001","0","1"]],"ts":"1","checksum":7,"prevSeqId":123456,"seqId":123457}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":1},{"asks":[],"bids":[["1","1"]],"ts":"2","checksum":2}]}"#,
    r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[["1","2","0","1"]],"bids":[["0.5","1","0","1"]],"ts":"1"},{"asks":[],"bids":[["0.4","3","0","1"]],"ts":"1","prevSeqId":-1,"seqId":0}]}"#,
    // Not the books shortcut's: no action (books5), a seqId without prevSeqId, no data object,
    // space, keys in another order, an escaped symbol, tickers, trades (the first two the trade
    // shortcut's; then an empty price, two trades, a field more), events, pong.
    r#"{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["1","2","0","1"]],"bids":[],"instId":"BTC-USDT","ts":"1","seqId":3}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":1,"seqId":3}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":1}]} "#,
    r#"{"arg":{"instId":"BTC-USDT","channel":"books"},"action":"update","data":[{"bids":[],"asks":[["2","1","0","1"]],"checksum":1,"ts":"1"}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC\"USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":1}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"30000","askPx":"30000.1","askSz":"1","bidPx":"29999.9","bidSz":"2","ts":"1"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USD-220527"},"data":[{"instId":"BTC-USD-220527","tradeId":"7849","px":"30218.8","sz":"1","side":"buy","ts":"1652459199958"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"3e4","sz":"0.1","side":"sell","ts":"1"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"","sz":"0.1","side":"sell","ts":"1"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"2","side":"buy","ts":"1"},{"instId":"BTC-USDT","tradeId":"2","px":"3","sz":"4","side":"sell","ts":"2"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"2","side":"buy","ts":"1","count":"3"}]}"#,
    r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#,
    "pong",
    // Tickers: the first three the ticker shortcut's (as OKX sends them; an empty bid side; no
    // field after bidSz but ts); then a key the general grammar reads after the touch (twice: a
    // price it parses, a checksum it refuses), no lastSz, two data objects, a byte after the end.
    r#"{"arg":{"channel":"tickers","instId":"BTC-USD-220527"},"data":[{"instType":"FUTURES","instId":"BTC-USD-220527","last":"30218.8","lastSz":"1","askPx":"30220.1","askSz":"3","bidPx":"30210.4","bidSz":"4","open24h":"29571.4","high24h":"31003.3","low24h":"27930.8","sodUtc0":"28935.3","sodUtc8":"30320.5","volCcy24h":"2620.289","vol24h":"779573","ts":"1652459223003"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"UNI-USD-SWAP"},"data":[{"instType":"SWAP","instId":"UNI-USD-SWAP","last":"5.123","lastSz":"100","askPx":"5.142","askSz":"25","bidPx":"","bidSz":"","ts":"1652459223143"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"1e1","askSz":"0.5","bidPx":"0.9","bidSz":"7","ts":"1"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"1","askSz":"1","bidPx":"0.9","bidSz":"7","px":"3","ts":"1"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"1","askSz":"1","bidPx":"0.9","bidSz":"7","checksum":"x","ts":"1"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","askPx":"1","askSz":"1","bidPx":"0.9","bidSz":"7","ts":"1"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"1","askSz":"1","bidPx":"0.9","bidSz":"7","ts":"1"},{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"2","askSz":"1","bidPx":"0.9","bidSz":"7","ts":"2"}]}"#,
    r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","lastSz":"2","askPx":"1","askSz":"1","bidPx":"0.9","bidSz":"7","ts":"1"}]}}"#,
    // Trades both refuse: a trade without its side, then the second of two without its side.
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"2","ts":"1"}]}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"2","side":"sell","ts":"1"},{"instId":"BTC-USDT","tradeId":"2","px":"3","sz":"4","ts":"2"}]}"#,
];

/// How many leading `FRAMES` the books shortcut must take.
const TAKEN: usize = 5;
/// The `FRAMES` the trade shortcut must take: two plain trades.
const TRADES: [usize; 2] = [12, 13];
/// The `FRAMES` the ticker shortcut must take.
const TICKERS: [usize; 3] = [19, 20, 21];

#[test]
fn the_shortcuts_take_the_frames_okx_sends() {
    for (i, f) in FRAMES.iter().enumerate() {
        let mut b = Batch::default();
        assert_eq!(books(f.as_bytes(), &mut b).is_some(), i < TAKEN, "{f}");
        assert_eq!(trade(f.as_bytes(), &mut b).is_some(), TRADES.contains(&i), "{f}");
        assert_eq!(ticker(f.as_bytes(), &mut b).is_some(), TICKERS.contains(&i), "{f}");
    }
}

#[test]
fn books_shortcut_matches_the_general_grammar() {
    crate::venue::literal::same_on_every_mutation_of(FRAMES, decode, general);
}

#[test]
fn books_shortcut_matches_the_general_grammar_on_the_capture() {
    let Some(texts) = crate::venue::literal::capture_texts("okx.jsonl") else { return };
    let (mut books_seen, mut fast, mut trades_seen, mut trades) = (0, 0, 0, 0);
    let (mut tickers_seen, mut tickers) = (0, 0);
    for t in &texts {
        same(t.as_bytes());
        books_seen += t.contains("\"action\"") as usize;
        fast += books(t.as_bytes(), &mut Batch::default()).is_some() as usize;
        trades_seen += t.starts_with(r#"{"arg":{"channel":"trades""#) as usize;
        trades += trade(t.as_bytes(), &mut Batch::default()).is_some() as usize;
        tickers_seen += t.starts_with(r#"{"arg":{"channel":"tickers""#) as usize;
        tickers += ticker(t.as_bytes(), &mut Batch::default()).is_some() as usize;
    }
    let took = tickers > 0 && tickers == tickers_seen;
    assert!(took, "the shortcut took {tickers} of {tickers_seen} tickers");
    assert!(fast > 0 && fast == books_seen, "the shortcut took {fast} of {books_seen} book frames");
    assert!(trades > 0 && trades == trades_seen, "the shortcut took {trades} of {trades_seen} trades");
}

/// `GET /api/v5/market/books`' answer: one snapshot at its `seqId` (no `prevSeqId`: not a pushed
/// snapshot's -1), levels as the stream writes them. An error answer, or one without `seqId`, is
/// refused: without the id nothing could tell the stale buffered updates from the others.
#[test]
fn the_rest_book_answer_is_a_snapshot_at_its_seq_id() {
    let rest = r#"{"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"]],"bids":[["41006.3","0.30178218","0","2"],["41006.2","1","0","1"]],"ts":"1629966436396","seqId":3082193570}]}"#;
    let mut b = Batch::default();
    decode(rest.as_bytes(), &mut b).unwrap();
    assert_eq!((b.kind, b.msgs.len(), b.levels.len()), (FrameKind::Book, 1, 3));
    let m = b.msgs[0];
    assert!(m.snapshot);
    assert_eq!(m.seq, SeqInfo { first: 3082193570, last: 3082193570, prev: NO_SEQ });
    assert_eq!(m.sym, (0, 0));
    for (bad, why) in [
        (r#"{"code":"51001","msg":"Instrument ID does not exist","data":[]}"#, "error code"),
        (r#"{"code":"0","msg":"","data":[{"asks":[],"bids":[["1","1","0","1"]],"ts":"1"}]}"#, "seqId"),
        (r#"{"code":"0","msg":"","data":[]}"#, "exactly one book"),
    ] {
        let e = decode(bad.as_bytes(), &mut Batch::default()).unwrap_err();
        assert!(e.to_string().contains(why), "{bad}: {e}");
    }
}

#[test]
fn a_book_subscription_event_names_its_book() {
    let mut b = Batch::default();
    let ack =
        r#"{"id":"1","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
    decode(ack.as_bytes(), &mut b).unwrap();
    assert_eq!(
        (b.kind, &ack.as_bytes()[b.subscribed.0 as usize..b.subscribed.1 as usize]),
        (FrameKind::Control, &b"BTC-USDT"[..])
    );
    for other in [
        r#"{"event":"unsubscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#,
        r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}"#,
        r#"{"event":"subscribe","arg":{"channel":"books5","instId":"BTC-USDT"}}"#,
    ] {
        decode(other.as_bytes(), &mut b).unwrap();
        assert_eq!((b.kind, b.subscribed), (FrameKind::Control, (0, 0)), "{other}");
    }
}

/// The whole route: OKX confirms the subscription and sends updates only; the book keeps them,
/// asks for a snapshot, and the REST answer (its seqId inside the third update's span) syncs it.
#[test]
fn a_feed_whose_books_come_without_a_snapshot_syncs_from_the_rest_answer() {
    use crate::book::{Need, Outcome};
    use crate::venue::tests::{feed, outcomes};
    use crate::venue::Venue;
    let mut f = feed(Venue::Okx);
    let upd = |prev: i64, seq: i64, px: &str| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[["9","1","0","1"]],"bids":[["{px}","1","0","1"]],"ts":"1","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    };
    f.on_frame(br#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#).unwrap();
    for (prev, seq, px) in [(1, 5, "1"), (5, 8, "2"), (8, 12, "3")] {
        assert_eq!(outcomes(&mut f, &upd(prev, seq, px)), vec![Outcome::Buffered]);
    }
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, Need::Snapshot)]);
    let rest = r#"{"code":"0","msg":"","data":[{"asks":[["9","2","0","1"]],"bids":[["2","5","0","1"],["1","5","0","1"]],"ts":"1","seqId":10}]}"#;
    let s = f.on_snapshot(b"BTC-USDT", rest.as_bytes()).unwrap();
    assert_eq!(s.updates, vec![(0, Outcome::Applied)]);
    let b = f.book(b"BTC-USDT").unwrap();
    assert_eq!((b.is_synced(), b.last_id(), b.best_bid(), b.stats().stale), (true, 12, Some((3, 1)), 2));
    assert_eq!(b.depth_qty(false, 3), 11);
    assert_eq!(outcomes(&mut f, &upd(12, 13, "4")), vec![Outcome::Applied]);
    // A gap of that book is kept for the next REST snapshot, not resubscribed.
    assert_eq!(outcomes(&mut f, &upd(20, 21, "5")), vec![Outcome::Gap]);
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, Need::Snapshot)]);
}

/// A REST answer is no answer of the stream: a book that takes its snapshots from REST, whose
/// subscription is confirmed again (a reconnect, or the other A/B line's) while its REST snapshot is
/// in flight, stays out of band when that snapshot lands before the stream's next message — which
/// alone says whether OKX pushes snapshots. Its next gap is kept for REST, not resubscribed.
#[test]
fn a_rest_answer_after_a_confirmed_resubscription_does_not_turn_the_book_to_stream() {
    use crate::book::{Need, Outcome};
    use crate::venue::tests::{feed, outcomes};
    use crate::venue::Venue;
    let mut f = feed(Venue::Okx);
    let upd = |prev: i64, seq: i64, px: &str| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[["9","1","0","1"]],"bids":[["{px}","1","0","1"]],"ts":"1","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    };
    let ack = br#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#;
    f.on_frame(ack).unwrap();
    assert_eq!(outcomes(&mut f, &upd(1, 5, "1")), vec![Outcome::Buffered]);
    f.on_frame(ack).unwrap(); // confirmed again before the REST answer came
    let rest = r#"{"code":"0","msg":"","data":[{"asks":[["9","2","0","1"]],"bids":[["2","5","0","1"]],"ts":"1","seqId":3}]}"#;
    assert_eq!(f.on_snapshot(b"BTC-USDT", rest.as_bytes()).unwrap().updates, vec![(0, Outcome::Applied)]);
    assert!(f.book(b"BTC-USDT").unwrap().out_of_band());
    assert_eq!(outcomes(&mut f, &upd(5, 6, "3")), vec![Outcome::Applied]);
    assert_eq!(outcomes(&mut f, &upd(9, 10, "4")), vec![Outcome::Gap]);
    assert_eq!(f.needs().collect::<Vec<_>>(), vec![(0, Need::Snapshot)]);
}
