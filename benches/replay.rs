//! Frames per second replaying each real capture (`../shared/fixtures/real`) through a fresh
//! `Feed`: every frame of the capture in receive order (book diffs and snapshots, tickers, trades,
//! control messages; Binance's REST snapshots where they were fetched; HTX gunzipped in the feed),
//! with checksums verified as a live feed verifies them. Before timing, one pass checks that the
//! books synced and every checksum matched, so a fast replay that skipped the work cannot pass.
//!
//! `cargo bench --bench replay`; skips each capture with a printed reason when it is absent.
//! Targets (issue 13): Binance spot and USDⓈ-M >= 1 M frames/s, OKX and Kraken >= 0.5 M/s.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tickwire::venue::{Feed, FeedOptions, Venue};

enum Ev {
    Frame(Vec<u8>),
    Snapshot(Vec<u8>, Vec<u8>),
}

fn load(name: &str) -> Result<Vec<Ev>, String> {
    let path = format!("{}/../shared/fixtures/real/{name}", env!("CARGO_MANIFEST_DIR"));
    let s = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for line in s.lines() {
        let e: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{name}: {e}"))?;
        match (e["kind"].as_str(), e["text"].as_str(), e["b64"].as_str()) {
            (Some("recv"), Some(t), _) => out.push(Ev::Frame(t.as_bytes().to_vec())),
            // Binary frames stay compressed: the feed inflates them, as on a live connection.
            (Some("recv"), None, Some(b)) => {
                out.push(Ev::Frame(STANDARD.decode(b).map_err(|e| format!("{name}: {e}"))?))
            }
            (Some("http"), Some(t), _) => {
                let url = e["url"].as_str().unwrap_or_default();
                let sym = url.split("symbol=").nth(1).and_then(|s| s.split('&').next());
                let sym = sym.ok_or_else(|| format!("{name}: REST answer without a symbol: {url}"))?;
                out.push(Ev::Snapshot(sym.as_bytes().to_vec(), t.as_bytes().to_vec()));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn run(venue: Venue, evs: &[Ev]) -> Feed {
    let mut feed = Feed::new(venue, &FeedOptions::default());
    for e in evs {
        match e {
            Ev::Frame(f) => {
                let _ = black_box(feed.on_frame(f).map(|s| s.updates.len()));
            }
            Ev::Snapshot(s, p) => {
                let _ = black_box(feed.on_snapshot(s, p).map(|s| s.updates.len()));
            }
        }
    }
    feed
}

/// The replay did the work: books synced, diffs applied, every checksum the capture carries matched.
fn check(name: &str, feed: &Feed) {
    let (mut ok, mut fail, mut applied, mut synced) = (0, 0, 0, 0);
    for i in 0..feed.len() {
        let b = feed.book_at(i).expect("book index in range");
        let s = b.stats();
        (ok, fail, applied) = (ok + s.checksum_ok, fail + s.checksum_fail, applied + s.diffs_applied);
        synced += b.is_synced() as usize;
    }
    assert!(!feed.is_empty() && synced == feed.len(), "{name}: {synced} of {} books synced", feed.len());
    assert_eq!(fail, 0, "{name}: checksum mismatches");
    eprintln!("{name}: {} books synced, {applied} diffs applied, {ok} checksums verified", feed.len());
}

fn replay(c: &mut Criterion) {
    let mut g = c.benchmark_group("replay");
    for (name, venue) in [
        ("binance_spot.jsonl", Venue::BinanceSpot),
        ("binance_usdm.jsonl", Venue::BinanceUsdm),
        ("okx.jsonl", Venue::Okx),
        ("kraken.jsonl", Venue::Kraken),
        ("htx.jsonl", Venue::Htx),
    ] {
        let evs = match load(name) {
            Ok(evs) => evs,
            Err(why) => {
                eprintln!("SKIP replay/{name}: capture absent or unreadable ({why})");
                continue;
            }
        };
        check(name, &run(venue, &evs));
        g.throughput(Throughput::Elements(evs.len() as u64));
        g.bench_function(name, |b| b.iter(|| run(venue, &evs)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = replay
}
criterion_main!(benches);
