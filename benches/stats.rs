//! Criterion bench for the latency histograms (pure Rust): what one frame's `record` costs before
//! any Python call overhead, and what a reader pays for `summary()`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tickwire::stats::{Hist, Stages};

fn stamps() -> Vec<[i64; 4]> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m) as i64
    };
    (0..4096)
        .map(|_| {
            let t0 = 1_000_000_000_000 + next(1 << 30);
            let t1 = t0 + 200 + next(3000);
            let t2 = t1 + 100 + next(2000);
            [t0, t1, t2, t2 + 50 + next(500)]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let frames = stamps();
    let mut s = Stages::new(&["decode", "apply", "callback"]).unwrap();
    let mut i = 0;
    c.bench_function("stages_record_3_plus_total", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            s.record(black_box(&frames[i])).unwrap();
        })
    });
    let mut h = Hist::new();
    let mut v = 0u64;
    c.bench_function("hist_record", |b| {
        b.iter(|| {
            v = (v + 7919) % 1_000_000;
            h.record(black_box(v));
        })
    });
    // 1e6 samples spread over 1 µs .. 1 ms: thousands of distinct buckets to walk.
    let mut full = Hist::new();
    for k in 0..1_000_000u64 {
        full.record(1_000 + k * 7919 % 999_000);
    }
    c.bench_function("hist_summary_1e6_samples", |b| b.iter(|| black_box(full.summary())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
