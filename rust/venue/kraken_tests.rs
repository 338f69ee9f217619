//! The v2 book shortcut against the general grammar, which it must never contradict: on frames as
//! Kraken sends them (and the v1 capture when ../shared is present), and on every truncation and
//! single-byte change of them, both give the same batch or the same error.

use super::*;

const FRAMES: &[&str] = &[
    // The shortcut's: an update as the simulator (and Kraken) writes it, a snapshot without a
    // timestamp, two data objects, a quoted number the level reader takes.
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[{"price":60000.4,"qty":0.11538081}],"checksum":3933033793,"timestamp":"2026-12-04T15:36:45.910000Z"}]}"#,
    r#"{"channel":"book","type":"snapshot","data":[{"symbol":"MATIC/USD","bids":[{"price":0.5666,"qty":4831.75496356},{"price":0.5665,"qty":6658.22734739}],"asks":[{"price":0.5668,"qty":4410.79769741},{"price":0.5669,"qty":4655.40412487}],"checksum":2439117997}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"A/B","bids":[{"price":1.5,"qty":0}],"asks":[],"checksum":7,"timestamp":"t"},{"symbol":"C/D","bids":[],"asks":[{"price":2,"qty":1e-3}],"checksum":0}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1.5","qty":2}],"asks":[],"checksum":1,"timestamp":"t"}]}"#,
    // Not the shortcut's: a quoted checksum, keys in another order, a space, an escaped symbol, an
    // extra key, no data object, another type, a byte after the end, a trade, a heartbeat, v1.
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":"12","timestamp":"t"}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","asks":[],"bids":[{"price":1,"qty":1}],"checksum":1}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum": 1}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC\/USD","bids":[],"asks":[],"checksum":1}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":1,"timestamp":"t","x":1}]}"#,
    r#"{"channel":"book","type":"update","data":[]}"#,
    r#"{"channel":"book","type":"partial","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":1}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":1}]}]"#,
    r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":2,"ord_type":"market","trade_id":1,"timestamp":"t"}]}"#,
    r#"{"channel":"heartbeat"}"#,
    r#"[336,{"a":[["5541.30000","2.50700000","1534614248.456738"]],"c":"974942666"},"book-10","XBT/USD"]"#,
];

/// How many leading `FRAMES` the shortcut must take.
const TAKEN: usize = 4;

#[test]
fn the_shortcut_takes_the_frames_kraken_sends() {
    for (i, f) in FRAMES.iter().enumerate() {
        assert_eq!(v2_book(f.as_bytes(), &mut Batch::default()).is_some(), i < TAKEN, "{f}");
    }
}

#[test]
fn v2_book_shortcut_matches_the_general_grammar() {
    crate::venue::literal::same_on_every_mutation_of(FRAMES, decode, general);
}

#[test]
fn v2_book_shortcut_matches_the_general_grammar_on_the_v1_capture() {
    let Some(texts) = crate::venue::literal::capture_texts("kraken.jsonl") else { return };
    for t in &texts {
        crate::venue::literal::same(t.as_bytes(), decode, general);
    }
    assert!(texts.len() > 1000, "{} frames", texts.len());
}
