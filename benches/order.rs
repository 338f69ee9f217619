//! Order template fill + sign (Binance spot REST, the whole HTTP/1.1 request) against building the same
//! request with `format!` and the `hmac` crate (a cloned pre-keyed `Hmac`, its best case).
//!
//! Clarofinlore's request with its nonce signed: the nonce drawn in `fill` (ChaCha20) against one from
//! the OS per order and a fixed one.
//!
//! Coinbase's request with its JWT (ES256 and EdDSA keys): written and signed in `fill` against the
//! signer's own `rest_jwt` (header and claims built as `String`s, a nonce from the OS) put into the
//! request with `format!`, and the signature alone (what neither can avoid); the template against that
//! peer also in alternating rounds, their ratio printed (`alternating`).
//!
//! `cargo bench --bench order`. Python's own path (query built in Python + stdlib `hmac`) and
//! `place_order` are measured in `benches/bench_template.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt::Write as _;
use std::hint::black_box;
use tickwire::order::jwt::JwtSlot;
use tickwire::order::{binance, Layout, OrderTemplate, Part, Rules, SigText, Slot};
use tickwire::sign::hmac::{Digest, HmacKey};
use tickwire::sign::venues::coinbase::CoinbaseSigner;

const SECRET: &[u8] = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const HEAD: &[u8] = b"POST /api/v3/order?";
const TAIL: &[u8] = b" HTTP/1.1\r\nHost: api.binance.com\r\nUser-Agent: tickwire\r\nX-MBX-APIKEY: \
vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\r\nContent-Length: 0\r\n\r\n";

fn naive(keyed: &Hmac<Sha256>, price: u64, qty: u64, cid: &str, ts: u64) -> Vec<u8> {
    let mut q = String::with_capacity(256);
    write!(
        q,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity={}.{:05}&newClientOrderId={cid}&newOrderRespType=FULL\
         &timeInForce=GTC&price={}.{:02}&recvWindow=5000&timestamp={ts}",
        qty / 100_000,
        qty % 100_000,
        price / 100,
        price % 100
    )
    .unwrap();
    let mut m = keyed.clone();
    m.update(q.as_bytes());
    let tag = m.finalize().into_bytes();
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(q.as_bytes());
    out.extend_from_slice(b"&signature=");
    for b in tag {
        write!(q, "{b:02x}").unwrap();
    }
    out.extend_from_slice(&q.as_bytes()[q.len() - 64..]);
    out.extend_from_slice(TAIL);
    out
}

fn bench(c: &mut Criterion) {
    let spec = binance::Spec {
        symbol: "BTCUSDT",
        side: "BUY",
        post_only: false,
        tif: "GTC",
        resp_type: "FULL",
        recv_window: Some(5000),
    };
    let rules = Rules { price_scale: 2, qty_scale: 5, tick: 1, lot: 1, ..Rules::default() };
    let key = HmacKey::new(SECRET, Digest::Sha256).unwrap();
    let rest = OrderTemplate::new(binance::rest(&spec, HEAD, TAIL).unwrap(), key.clone(), rules).unwrap();
    let ws = OrderTemplate::new(
        binance::ws_api(&spec, "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A").unwrap(),
        key,
        rules,
    )
    .unwrap();
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    let (price, qty, cid, ts) = (4_325_012u64, 1_234u64, "tw-0123456789abcdef", 1_700_000_000_000u64);
    let mut buf = Vec::new();
    rest.fill(price, qty, cid, ts, "", &mut buf).unwrap();
    assert_eq!(buf, naive(&keyed, price, qty, cid, ts), "the bench compares equal requests");

    let mut g = c.benchmark_group("order_request_binance_spot");
    g.bench_function("template fill+sign, REST (buffer reused)", |b| {
        b.iter(|| rest.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "", &mut buf))
    });
    g.bench_function("template fill+sign, WS API (buffer reused)", |b| {
        b.iter(|| ws.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "tw1", &mut buf))
    });
    g.bench_function("template fill+sign, REST (fresh buffer)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            rest.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "", &mut out).unwrap();
            out
        })
    });
    g.bench_function("format! + hmac crate (cloned key)", |b| {
        b.iter(|| naive(&keyed, black_box(price), black_box(qty), black_box(cid), black_box(ts)))
    });
    g.finish();
}

/// OKX `POST /api/v5/trade/order` as the template cut from the slow path lays it out: ISO timestamp
/// and base64 signature in headers, `Content-Length` of the JSON body, the body signed after
/// `timestamp + POST + path`.
fn okx_rest() -> Layout {
    let mut l = Layout::default();
    l.sig = SigText::Base64;
    let o = &mut l.out;
    Layout::lit(o, b"POST /api/v5/trade/order HTTP/1.1\r\nHost: www.okx.com\r\nUser-Agent: tickwire\r\n");
    Layout::lit(o, b"OK-ACCESS-KEY: 9b8c6a4e-2f6d-4c1b-9a0e-5d3f7b2c1a90\r\nOK-ACCESS-SIGN: ");
    o.push(Part::Slot(Slot::Signature));
    Layout::lit(o, b"\r\nOK-ACCESS-TIMESTAMP: ");
    o.push(Part::Slot(Slot::IsoMillis));
    Layout::lit(o, b"\r\nOK-ACCESS-PASSPHRASE: pass phrase\r\nContent-Type: application/json\r\n");
    Layout::lit(o, b"Content-Length: ");
    o.push(Part::Slot(Slot::BodyLen));
    Layout::lit(o, b"\r\n\r\n");
    l.start_body();
    let body = |parts: &mut Vec<Part>| {
        Layout::lit(
            parts,
            b"{\"instId\":\"BTC-USDT\",\"tdMode\":\"cash\",\"side\":\"buy\",\"ordType\":\"limit\",\"sz\":\"",
        );
        parts.push(Part::Slot(Slot::Qty));
        Layout::lit(parts, b"\",\"clOrdId\":\"");
        parts.push(Part::Slot(Slot::ClientId));
        Layout::lit(parts, b"\",\"px\":\"");
        parts.push(Part::Slot(Slot::Price));
        Layout::lit(parts, b"\"}");
    };
    body(&mut l.out);
    l.signed.push(Part::Slot(Slot::IsoMillis));
    Layout::lit(&mut l.signed, b"POST/api/v5/trade/order");
    body(&mut l.signed);
    l
}

fn bench_okx(c: &mut Criterion) {
    let rules = Rules { price_scale: 1, qty_scale: 8, tick: 1, lot: 1, ..Rules::default() };
    let key = HmacKey::new(SECRET, Digest::Sha256).unwrap();
    let rest = OrderTemplate::new(okx_rest(), key, rules).unwrap();
    let (price, qty, cid, ts) = (432_501u64, 1_234_000u64, "tw0123456789abcdef", 1_700_000_000_000u64);
    let mut buf = Vec::new();
    let mut g = c.benchmark_group("order_request_okx");
    g.bench_function("template fill+sign, REST (ISO time, base64, Content-Length)", |b| {
        b.iter(|| rest.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "", &mut buf))
    });
    g.finish();
}

/// Clarofinlore `POST /v1/orders` with the nonce signed (the composition `timestamp, nonce, method, path,
/// query, body` joined by `\n`): the fresh nonce drawn in `fill` (ChaCha20) against one drawn from the
/// OS per order (`OsRng`, the `getrandom` call) and given, and against a fixed one (no draw at all).
fn claro_rest() -> Layout {
    let mut l = Layout::default();
    let o = &mut l.out;
    Layout::lit(o, b"POST /v1/orders HTTP/1.1\r\nHost: api.clarofinlore.example\r\nUser-Agent: tickwire\r\n");
    Layout::lit(o, b"X-API-Key: claro-key\r\nX-Timestamp: ");
    o.push(Part::Slot(Slot::Timestamp));
    Layout::lit(o, b"\r\nX-Nonce: ");
    o.push(Part::Slot(Slot::Nonce));
    Layout::lit(o, b"\r\nX-Signature: ");
    o.push(Part::Slot(Slot::Signature));
    Layout::lit(
        o,
        b"\r\nContent-Type: application/json\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x\r\n",
    );
    Layout::lit(o, b"Content-Length: ");
    o.push(Part::Slot(Slot::BodyLen));
    Layout::lit(o, b"\r\n\r\n");
    l.start_body();
    let body = |parts: &mut Vec<Part>| {
        Layout::lit(parts, b"{\"symbol\":\"btc-usdt\",\"side\":\"buy\",\"quantity\":\"");
        parts.push(Part::Slot(Slot::Qty));
        Layout::lit(parts, b"\",\"type\":\"limit\",\"price\":\"");
        parts.push(Part::Slot(Slot::Price));
        Layout::lit(parts, b"\",\"client_order_id\":\"");
        parts.push(Part::Slot(Slot::ClientId));
        Layout::lit(parts, b"\"}");
    };
    body(&mut l.out);
    l.signed.push(Part::Slot(Slot::Timestamp));
    Layout::lit(&mut l.signed, b"\n");
    l.signed.push(Part::Slot(Slot::Nonce));
    Layout::lit(&mut l.signed, b"\nPOST\n/v1/orders\n\n");
    body(&mut l.signed);
    l
}

fn bench_claro(c: &mut Criterion) {
    use rand_core::{OsRng, RngCore};
    let rules = Rules { price_scale: 2, qty_scale: 5, tick: 1, lot: 1, ..Rules::default() };
    let key = HmacKey::new(SECRET, Digest::Sha256).unwrap();
    let rest = OrderTemplate::new(claro_rest(), key, rules).unwrap();
    let (price, qty, cid, ts) = (4_325_012u64, 1_000u64, "tw0123456789abcdef", 1_700_000_000_000u64);
    let mut buf = Vec::new();
    let mut g = c.benchmark_group("order_request_clarofinlore");
    g.bench_function("template fill+sign, fresh nonce (ChaCha20 in fill)", |b| {
        b.iter(|| rest.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "", &mut buf))
    });
    g.bench_function("template fill+sign, nonce from OsRng per order", |b| {
        b.iter(|| {
            let mut raw = [0u8; 16];
            OsRng.fill_bytes(&mut raw);
            let mut hex = [0u8; 32];
            tickwire::sign::encode::hex_into(&raw, &mut hex);
            let nonce = std::str::from_utf8(&hex).unwrap();
            rest.fill_with_nonce(black_box(price), black_box(qty), cid, ts, "", Some(nonce), &mut buf)
        })
    });
    g.bench_function("template fill+sign, fixed nonce (no draw)", |b| {
        let nonce = Some("0123456789abcdef0123456789abcdef");
        b.iter(|| rest.fill_with_nonce(black_box(price), black_box(qty), cid, ts, "", nonce, &mut buf))
    });
    g.finish();
}

/// Coinbase `POST /api/v3/brokerage/orders` with `Authorization: Bearer <jwt>` (limit GTC).
fn coinbase_rest() -> Layout {
    let mut l = Layout::default();
    let o = &mut l.out;
    Layout::lit(
        o,
        b"POST /api/v3/brokerage/orders HTTP/1.1\r\nHost: api.coinbase.com\r\nUser-Agent: tickwire\r\n",
    );
    Layout::lit(o, b"Authorization: Bearer ");
    o.push(Part::Slot(Slot::Jwt));
    Layout::lit(o, b"\r\nContent-Type: application/json\r\nContent-Length: ");
    o.push(Part::Slot(Slot::BodyLen));
    Layout::lit(o, b"\r\n\r\n");
    l.start_body();
    Layout::lit(&mut l.out, b"{\"client_order_id\":\"");
    l.out.push(Part::Slot(Slot::ClientId));
    Layout::lit(&mut l.out, b"\",\"product_id\":\"BTC-USD\",\"side\":\"BUY\",\"order_configuration\":");
    Layout::lit(&mut l.out, b"{\"limit_limit_gtc\":{\"base_size\":\"");
    l.out.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut l.out, b"\",\"limit_price\":\"");
    l.out.push(Part::Slot(Slot::Price));
    Layout::lit(&mut l.out, b"\",\"post_only\":false}}}");
    l
}

const CB_NAME: &str =
    "organizations/0c4f7e2a-5b1d-4e8f-9a3c-6d2b1e0f7a95/apiKeys/8e1d2c3b-4a5f-6e7d-8c9b-0a1f2e3d4c5b";
const CB_PATH: &str = "/api/v3/brokerage/orders";

/// The peer: the signer's `rest_jwt` (its `String`s, a nonce from the OS) and the request by `format!`.
fn naive_coinbase(signer: &CoinbaseSigner, price: u64, cid: &str, ts: u64) -> Vec<u8> {
    let jwt = signer.rest_jwt("POST", "api.coinbase.com", CB_PATH, ts / 1000, None);
    let body = format!(
        "{{\"client_order_id\":\"{cid}\",\"product_id\":\"BTC-USD\",\"side\":\"BUY\",\
         \"order_configuration\":{{\"limit_limit_gtc\":{{\"base_size\":\"0.00001\",\
         \"limit_price\":\"{}.{:02}\",\"post_only\":false}}}}}}",
        price / 100,
        price % 100
    );
    format!(
        "POST {CB_PATH} HTTP/1.1\r\nHost: api.coinbase.com\r\nUser-Agent: tickwire\r\n\
         Authorization: Bearer {jwt}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `a` (the template) and `b` (its peer) timed in alternating rounds, which goes first alternating
/// too: the median per-call times and the median of the rounds' ratios, printed (criterion's groups
/// run one after the other, and this shared machine's load drifts between them).
fn alternating<A, B>(what: &str, mut a: impl FnMut() -> A, mut b: impl FnMut() -> B) {
    const ROUNDS: usize = 21;
    const CALLS: u32 = 100;
    fn time(f: &mut dyn FnMut()) -> f64 {
        let t = std::time::Instant::now();
        for _ in 0..CALLS {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS)
    }
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut fa = || drop(black_box(a()));
        let mut fb = || drop(black_box(b()));
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut fa);
            (x, time(&mut fb))
        } else {
            let y = time(&mut fb);
            (time(&mut fa), y)
        };
        ta.push(x);
        tb.push(y);
        ratio.push(x / y);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!(
        "{what}: template {:.1} µs, peer {:.1} µs, template/peer {:.2} (median of {ROUNDS} alternating rounds)",
        median(&mut ta),
        median(&mut tb),
        median(&mut ratio)
    );
}

fn bench_coinbase(c: &mut Criterion) {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let es = p256::SecretKey::from_slice(&[7u8; 32]).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
    let keys =
        [("ES256", es.to_string()), ("EdDSA", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".to_owned())];
    let rules = Rules { price_scale: 2, qty_scale: 8, tick: 1, lot: 1, ..Rules::default() };
    let (price, qty, cid, ts) = (4_325_012u64, 1_000u64, "tw0123456789abcdef", 1_700_000_000_000u64);
    let mut buf = Vec::new();
    let mut g = c.benchmark_group("order_request_coinbase");
    for (alg, pem) in keys {
        let signer = CoinbaseSigner::new(CB_NAME, &pem).unwrap();
        let slot = JwtSlot::coinbase(&signer, "POST", "api.coinbase.com", CB_PATH).unwrap();
        let rest = OrderTemplate::with_jwt(coinbase_rest(), slot, rules).unwrap();
        let mut fill =
            || rest.fill(black_box(price), black_box(qty), black_box(cid), black_box(ts), "", &mut buf);
        alternating(alg, &mut fill, || naive_coinbase(&signer, black_box(price), cid, black_box(ts)));
        g.bench_function(format!("{alg} template fill+JWT, fresh nonce (ChaCha20 in fill)"), |b| {
            b.iter(&mut fill)
        });
        g.bench_function(format!("{alg} rest_jwt (OsRng nonce) + format! request"), |b| {
            b.iter(|| naive_coinbase(&signer, black_box(price), cid, black_box(ts)))
        });
        g.bench_function(format!("{alg} signature alone (the signing input given)"), |b| {
            let input = [b'x'; 400];
            b.iter(|| signer.key.sign(black_box(&input)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_okx, bench_claro, bench_coinbase);
criterion_main!(benches);
