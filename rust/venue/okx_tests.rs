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
