//! Criterion benches for the book engine (pure Rust, no Python).
//!
//! * `level_update`: one level set on a 1000-level side, touch-at-end Vec vs a BTreeMap baseline,
//!   with realistic traffic (mostly near the touch: 70% top 10, 20% top 100, 10% deeper; 60%
//!   modify, 20% insert, 20% delete, size kept near 1000).
//! * `binance_frame`: decode + apply of a raw 40-level Binance combined-stream depthUpdate frame,
//!   and decode alone: the hand scanner vs sonic-rs lazy iteration vs a serde_json DOM parse.
//! * `usdm_frame_40_levels`: the same frames written as USDⓈ-M writes them (2-decimal prices,
//!   3-decimal quantities).
//! * `number_scan`: one number of each shape venues send (padded, short, integer, bare, exponent,
//!   long), read from a run of them.
//! * `okx_two_updates_one_book`: two 5-level updates of a 400-level OKX book sent as two frames vs
//!   as one frame of two `data` entries, which the all-or-nothing check meets with a copy of the book.
//!
//! Replaying the real captures is `benches/replay.rs`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tickwire::book::side::Side;
use tickwire::venue::{Batch, Feed, FeedOptions, Venue};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Levels = Vec<(i64, i64)>;

/// Initial bids, initial asks, and (ask, price, qty) updates generated against a reference map so
/// deletes hit real levels. `deep` = whether 10% of updates go anywhere in the book.
fn workload(n: usize, deep: bool) -> (Levels, Levels, Vec<(bool, i64, i64)>) {
    let mut r = Rng(0x9E3779B97F4A7C15);
    // Prices on an even grid so inserts can land between levels.
    let bids0: Vec<(i64, i64)> = (0..1000).map(|i| (1_000_000 - 2 * i, 1 + i)).collect();
    let asks0: Vec<(i64, i64)> = (0..1000).map(|i| (1_000_002 + 2 * i, 1 + i)).collect();
    let mut bids: BTreeMap<i64, i64> = bids0.iter().copied().collect();
    let mut asks: BTreeMap<i64, i64> = asks0.iter().copied().collect();
    let mut ups = Vec::with_capacity(n);
    for _ in 0..n {
        let ask = r.below(2) == 1;
        let m = if ask { &mut asks } else { &mut bids };
        let d = match r.below(10) {
            0..=6 => r.below(10),
            7 | 8 => r.below(100),
            _ if deep => r.below(m.len() as u64 - 1),
            _ => r.below(10),
        } as usize;
        let price = if ask { *m.keys().nth(d).unwrap() } else { *m.keys().nth_back(d).unwrap() };
        let op = r.below(10);
        let (p, q) = if op < 6 {
            (price, 1 + r.below(1000) as i64)
        } else if op < 8 || m.len() < 990 {
            let p = if ask { price + 1 } else { price - 1 };
            (p, 1 + r.below(1000) as i64)
        } else {
            (price, 0)
        };
        if q == 0 {
            m.remove(&p);
        } else {
            m.insert(p, q);
        }
        ups.push((ask, p, q));
    }
    (bids0, asks0, ups)
}

fn level_update_with(c: &mut Criterion, name: &str, deep: bool) {
    const N: usize = 20_000;
    let (b0, a0, ups) = workload(N, deep);
    let mut vb = Side::new(false);
    let mut va = Side::new(true);
    for &(p, q) in &b0 {
        vb.set(vb.key_of(p), q, 0, 0);
    }
    for &(p, q) in &a0 {
        va.set(va.key_of(p), q, 0, 0);
    }
    let tb: BTreeMap<i64, i64> = b0.iter().copied().collect();
    let ta: BTreeMap<i64, i64> = a0.iter().copied().collect();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("vec_touch_at_end", |b| {
        b.iter_batched(
            || (vb.clone(), va.clone()),
            |(mut bids, mut asks)| {
                for &(ask, p, q) in &ups {
                    let s = if ask { &mut asks } else { &mut bids };
                    s.set(s.key_of(p), q, 0, 0);
                }
                black_box((bids.best().copied(), asks.best().copied()))
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("btreemap", |b| {
        b.iter_batched(
            || (tb.clone(), ta.clone()),
            |(mut bids, mut asks)| {
                for &(ask, p, q) in &ups {
                    let m = if ask { &mut asks } else { &mut bids };
                    if q == 0 {
                        m.remove(&p);
                    } else {
                        m.insert(p, q);
                    }
                }
                black_box((bids.last_key_value().map(|x| *x.1), asks.first_key_value().map(|x| *x.1)))
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn level_update(c: &mut Criterion) {
    // 70% top 10, 20% top 100, 10% anywhere in the 1000 levels.
    level_update_with(c, "level_update", true);
    // The same without the deep tail: 90% top 10 (as the first message of a diff usually is).
    level_update_with(c, "level_update_near_touch", false);
}

fn px(ticks: i64) -> String {
    format!("{}.{:08}", ticks / 10_000, (ticks % 10_000) * 10_000)
}

/// How a venue writes a level's numbers: Binance spot pads both to 8 decimals; USDⓈ-M writes the
/// instrument's precision (BTCUSDT: 2-decimal prices, 3-decimal quantities).
#[derive(Clone, Copy)]
enum Shape {
    Spot,
    Usdm,
}

impl Shape {
    fn level(self, p: i64, q: u64) -> String {
        match self {
            Shape::Spot => format!("[\"{}\",\"{q}.00000000\"]", px(p)),
            Shape::Usdm => {
                format!("[\"{}.{:02}\",\"{}.{:03}\"]", 43_000 + p / 100, p % 100, q / 1000, q % 1000)
            }
        }
    }
}

fn binance_frames(n: usize, shape: Shape) -> (String, Vec<String>) {
    let mut r = Rng(7);
    let level = |p: i64, q: u64| shape.level(p, q);
    let bids: Vec<String> = (0..1000).map(|i| level(3500 - i, 100 + i as u64)).collect();
    let asks: Vec<String> = (0..1000).map(|i| level(3501 + i, 100 + i as u64)).collect();
    let snap =
        format!("{{\"lastUpdateId\":1000,\"bids\":[{}],\"asks\":[{}]}}", bids.join(","), asks.join(","));
    let mut frames = Vec::with_capacity(n);
    for k in 0..n as i64 {
        let side = |base: i64, dir: i64, r: &mut Rng| {
            (0..20)
                .map(|_| {
                    let q = if r.below(5) == 0 { 0 } else { 1 + r.below(5000) };
                    level(base + dir * r.below(40) as i64, q)
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let (b, a) = (side(3500, -1, &mut r), side(3501, 1, &mut r));
        frames.push(format!(
            "{{\"stream\":\"bnbbtc@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1672515782136,\
             \"s\":\"BNBBTC\",\"U\":{},\"u\":{},\"b\":[{b}],\"a\":[{a}]}}}}",
            1001 + 3 * k,
            1003 + 3 * k
        ));
    }
    (snap, frames)
}

fn decode_and_apply(c: &mut Criterion, group: &str, shape: Shape) {
    let (snap, frames) = binance_frames(512, shape);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_and_apply", |b| {
        let mut feed = Feed::new(Venue::BinanceSpot, &FeedOptions::default());
        // Frames carry consecutive update ids, so each applies once; the snapshot reload after
        // every pass over them is kept out of the timing, and timing is per run of frames so the
        // clock's own cost does not count per frame.
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                feed.on_snapshot(b"BNBBTC", snap.as_bytes()).unwrap();
                let n = left.min(frames.len());
                let t = Instant::now();
                for f in &frames[..n] {
                    let s = feed.on_frame(black_box(f.as_bytes())).unwrap();
                    black_box(s.updates.len());
                }
                total += t.elapsed();
                left -= n;
            }
            total
        })
    });
    g.bench_function("decode_only_scanner", |b| {
        let mut batch = Batch::default();
        let mut k = 0;
        b.iter(|| {
            batch.clear();
            tickwire::venue::binance::decode(black_box(frames[k & 511].as_bytes()), &mut batch).unwrap();
            k += 1;
            black_box(batch.levels.len())
        })
    });
    g.finish();
}

fn binance_frame(c: &mut Criterion) {
    decode_and_apply(c, "binance_frame_40_levels", Shape::Spot);
    decode_and_apply(c, "usdm_frame_40_levels", Shape::Usdm);
    let (_, frames) = binance_frames(512, Shape::Spot);
    let mut g = c.benchmark_group("binance_frame_40_levels");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_only_sonic_rs_lazy", |b| {
        // sonic-rs lazy iteration (SIMD skipping), numbers parsed by the same exact parser.
        use sonic_rs::JsonValueTrait;
        let mut batch = Batch::default();
        let mut k = 0;
        b.iter(|| {
            batch.clear();
            let f = frames[k & 511].as_bytes();
            let data = sonic_rs::get_from_slice(black_box(f), ["data"]).unwrap();
            for kv in sonic_rs::to_object_iter(data.as_raw_str()) {
                let (key, v) = kv.unwrap();
                match &*key {
                    "U" | "u" => {
                        black_box(v.as_i64());
                    }
                    "b" | "a" => {
                        let ask = &*key == "a";
                        for lvl in sonic_rs::to_array_iter(v.as_raw_str()) {
                            let lvl = lvl.unwrap();
                            let mut it = sonic_rs::to_array_iter(lvl.as_raw_str());
                            let p = it.next().unwrap().unwrap();
                            let q = it.next().unwrap().unwrap();
                            let p = tickwire::book::num::parse_dec(p.as_str().unwrap().as_bytes()).unwrap();
                            let q = tickwire::book::num::parse_dec(q.as_str().unwrap().as_bytes()).unwrap();
                            batch.levels.push(tickwire::book::RawLevel { ask, px: p, qty: q });
                        }
                    }
                    _ => {}
                }
            }
            k += 1;
            black_box(batch.levels.len())
        })
    });
    g.bench_function("decode_only_serde_json_dom", |b| {
        let mut k = 0;
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(frames[k & 511].as_bytes())).unwrap();
            k += 1;
            black_box(v)
        })
    });
    g.finish();
}

/// One number of each shape venues write, scanned from a run of them as a frame holds them.
fn numbers(c: &mut Criterion) {
    let shapes: [(&str, &[&str], bool); 6] = [
        ("spot_8_decimals", &["43250.10000000", "0.35180000", "5881.00000000", "0.00100000"], true),
        ("short_decimals", &["43250.1", "0.001", "5.158", "30243.56"], true),
        ("integers", &["30261", "903107", "4", "452"], true),
        ("bare_json_numbers", &["30316.5", "0.00265859", "17", "2.5"], false),
        ("exponent_forms", &["1.7e-05", "5.2E+3", "1e-8", "9.121E-7"], true),
        ("long_digit_runs", &["1234567.123456789", "0.0000000012345678", "123456789012345678"], true),
    ];
    let mut g = c.benchmark_group("number_scan");
    for (name, nums, quoted) in shapes {
        let text: Vec<String> = (0..1024)
            .map(|k| nums[k % nums.len()])
            .map(|n| if quoted { format!("\"{n}\"") } else { n.to_owned() })
            .collect();
        let text = format!("{}]", text.join(","));
        g.throughput(Throughput::Elements(1024));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut cur = tickwire::codec::json::Cur::new(black_box(text.as_bytes()));
                let mut sum = 0i64;
                for _ in 0..1024 {
                    let d = cur.dec().unwrap();
                    sum = sum.wrapping_add(d.mant ^ d.dec as i64);
                    cur.i += 1;
                }
                sum
            })
        });
    }
    g.finish();
}

fn okx_two_updates_one_book(c: &mut Criterion) {
    let level = |p: i64, q: i64| format!("[\"{}\",\"{q}\",\"0\",\"1\"]", px(p));
    let side = |from: i64, dir: i64, n: i64, q: i64| {
        (0..n).map(|i| level(from + dir * i, q + i)).collect::<Vec<_>>().join(",")
    };
    let frame = |action: &str, entries: &[String]| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"X"}},"action":"{action}","data":[{}]}}"#,
            entries.join(",")
        )
    };
    let entry = |b: String, a: String| format!(r#"{{"asks":[{a}],"bids":[{b}],"ts":"1"}}"#);
    let snap = frame("snapshot", &[entry(side(3500, -1, 400, 1), side(3501, 1, 400, 1))]);
    let (u1, u2) =
        (entry(side(3500, -1, 5, 7), side(3501, 1, 5, 8)), entry(side(3499, -1, 5, 9), String::new()));
    let two = [frame("update", std::slice::from_ref(&u1)), frame("update", std::slice::from_ref(&u2))];
    let one = [frame("update", &[u1, u2])];
    let mut g = c.benchmark_group("okx_two_updates_one_book");
    for (name, frames) in [("two_frames", &two[..]), ("one_frame_of_two", &one[..])] {
        g.bench_function(name, |b| {
            let mut feed = Feed::new(Venue::Okx, &FeedOptions::default());
            feed.on_frame(snap.as_bytes()).unwrap();
            b.iter(|| {
                for f in frames {
                    black_box(feed.on_frame(black_box(f.as_bytes())).unwrap().updates.len());
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = level_update, binance_frame, numbers, okx_two_updates_one_book
}
criterion_main!(benches);
