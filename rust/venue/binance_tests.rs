//! The depthUpdate and bookTicker shortcuts against the general grammar, which it must never contradict: on
//! frames as Binance sends them (the real captures when ../shared is present), and on every
//! truncation and single-byte change of them, both give the same batch or the same error.

use super::*;

fn same(frame: &[u8]) {
    crate::venue::literal::same(frame, decode, general);
}

const FRAMES: &[&str] = &[
    r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1796293487825,"s":"BTCUSDT","U":538692,"u":538693,"b":[["59999.97000000","0.03100000"]],"a":[["60000.01000000","0.13390000"]]}}"#,
    r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1796293487828,"T":1796293487828,"s":"BTCUSDT","U":538691,"u":538692,"pu":538690,"b":[["59999.60","0.117"],["59999.80","0.020"]],"a":[]}}"#,
    r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#,
    r#"{"e":"depthUpdate","E":1,"T":2,"s":"BTCUSDT","U":1,"u":2,"pu":-1,"b":[],"a":[]}"#,
    r#"{"stream":"bnbbtc@depth","data":{"e":"depthUpdate","E":1,"s":"","U":1,"u":2,"b":[],"a":[]}}"#,
    r#"{"stream":"a\"b@depth","data":{"e":"depthUpdate","E":1,"s":"X\"Y","U":1,"u":2,"b":[],"a":[]}}"#,
    r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":"1","u":2,"b":[],"a":[]}} "#,
    r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
    r#"{"stream":"keepusdt@bookTicker","data":{"e":"bookTicker","u":600859995548,"s":"KEEPUSDT","b":"0.2465","B":"3218","a":"0.2466","A":"27","T":1626992757487,"E":1626992757490}}"#,
    r#"{"u":1,"s":"X","b":"1e-3","B":"2","a":"-3","A":"4.5"}"#,
    r#"{"e":"bookTicker","u":1,"s":"X","b":1.5,"B":"2","a":"3","A":"4","E":9}"#,
];

/// How many leading `FRAMES` each shortcut must take.
const DEPTH: usize = 3;
const TICKERS: std::ops::Range<usize> = 7..10;

#[test]
fn the_shortcut_takes_the_frames_binance_sends() {
    let mut b = Batch::default();
    for f in &FRAMES[..DEPTH] {
        b.clear();
        assert!(depth_update(f.as_bytes(), &mut b).is_some(), "{f}");
    }
    for f in &FRAMES[TICKERS] {
        b.clear();
        assert!(book_ticker(f.as_bytes(), &mut b).is_some(), "{f}");
        assert_eq!(b.kind, FrameKind::Bbo);
    }
}

#[test]
fn fast_depth_update_matches_the_general_grammar() {
    crate::venue::literal::same_on_every_mutation_of(FRAMES, decode, general);
}

#[test]
fn fast_depth_update_matches_the_general_grammar_on_captures() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
    for name in ["binance_spot.jsonl", "binance_usdm.jsonl"] {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            eprintln!("skipped: {name} absent (../shared/fixtures/real)");
            continue;
        };
        let (mut fast, mut tickers) = (0, 0);
        for line in text.lines() {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            let Some(t) = e["text"].as_str() else { continue };
            same(t.as_bytes());
            fast += depth_update(t.as_bytes(), &mut Batch::default()).is_some() as usize;
            tickers += book_ticker(t.as_bytes(), &mut Batch::default()).is_some() as usize;
        }
        assert!(fast > 0 && tickers > 0, "{name}: a shortcut took no frame ({fast}, {tickers})");
    }
}
