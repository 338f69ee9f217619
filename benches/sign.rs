//! Precomputed-state HMAC-SHA256 vs the `hmac` crate on a ~120-byte Binance query.
//!
//! `cargo bench --bench sign`. "fresh key" keys a new `Hmac` per message (what a naive signer does);
//! "cloned key" clones a keyed `Hmac` (the crate's best case, equivalent in work to ours).

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hint::black_box;
use tickwire::sign::hmac::{Digest, HmacKey};

const SECRET: &[u8] = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const PAYLOAD: &[u8] = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000&price=43250.12\
&recvWindow=5000&timestamp=1700000000000";

fn bench(c: &mut Criterion) {
    let ours = HmacKey::new(SECRET, Digest::Sha256).unwrap();
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    assert_eq!(
        ours.mac(PAYLOAD).as_bytes(),
        &keyed.clone().chain_update(PAYLOAD).finalize().into_bytes()[..]
    );

    let mut g = c.benchmark_group("hmac_sha256_120B");
    g.bench_function("tickwire precomputed", |b| b.iter(|| ours.mac(black_box(PAYLOAD))));
    g.bench_function("tickwire precomputed + hex", |b| b.iter(|| ours.mac(black_box(PAYLOAD)).hex()));
    g.bench_function("hmac crate, fresh key", |b| {
        b.iter(|| {
            let mut m = Hmac::<Sha256>::new_from_slice(black_box(SECRET)).unwrap();
            m.update(black_box(PAYLOAD));
            m.finalize().into_bytes()
        })
    });
    g.bench_function("hmac crate, cloned key", |b| {
        b.iter(|| {
            let mut m = keyed.clone();
            m.update(black_box(PAYLOAD));
            m.finalize().into_bytes()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
