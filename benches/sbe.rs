//! SBE decode of Binance stream frames. `cargo bench --bench sbe`.
//!
//! Measured on the 2-core shared VM (release, criterion means): depth diff with 40 levels (20 + 20):
//! decode 27 ns, decode + read every level 53 ns; 80 levels: 28 ns / 84 ns.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tickwire::codec::sbe::encode::{encode_to_vec, DepthDiffMsg, EncodeOptions, OwnedMessage};
use tickwire::codec::sbe::{decode, Message};

fn diff_frame(per_side: i64) -> Vec<u8> {
    let m = DepthDiffMsg {
        event_time_us: 1_763_700_000_123_456,
        first_update_id: 70_000_000_001,
        last_update_id: 70_000_000_040,
        price_exponent: -2,
        qty_exponent: -8,
        bids: (0..per_side).map(|i| (9_150_000 - i, 12_345_678 + i)).collect(),
        asks: (0..per_side).map(|i| (9_150_001 + i, if i % 7 == 0 { 0 } else { 87_654_321 })).collect(),
        symbol: "BTCUSDT".into(),
    };
    encode_to_vec(&OwnedMessage::DepthDiff(m), &EncodeOptions::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    for per_side in [20, 40] {
        let frame = diff_frame(per_side);
        let name = format!("depth_diff_{}_levels", per_side * 2);
        c.bench_function(&format!("sbe_decode/{name}"), |b| {
            b.iter(|| match decode(black_box(&frame)) {
                Ok(Message::DepthDiff(d)) => d.last_update_id,
                _ => unreachable!(),
            })
        });
        // Decode plus reading every level, which is what applying the diff to a book will do.
        c.bench_function(&format!("sbe_decode_and_iterate/{name}"), |b| {
            b.iter(|| match decode(black_box(&frame)) {
                Ok(Message::DepthDiff(d)) => {
                    let mut acc = 0i64;
                    for (p, q) in d.bids.iter().chain(d.asks.iter()) {
                        acc = acc.wrapping_add(p ^ q);
                    }
                    acc
                }
                _ => unreachable!(),
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
