use super::binance::{self, Spec};
use super::*;
use crate::sign::hmac::Digest;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn key() -> HmacKey {
    HmacKey::new(SECRET.as_bytes(), Digest::Sha256).unwrap()
}

fn reference_hex(msg: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(msg);
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn text(m: u64, s: u32) -> String {
    let mut b = [0u8; 48];
    let n = decimal_text(m, s, &mut b);
    String::from_utf8(b[..n].to_vec()).unwrap()
}

fn rules(ps: u32, qs: u32, tick: u64, lot: u64) -> Rules {
    Rules { price_scale: ps, qty_scale: qs, tick, lot, ..Rules::default() }
}

#[test]
fn decimal_text_is_exact_without_trailing_zeros() {
    assert_eq!(text(4325012, 2), "43250.12");
    assert_eq!(text(4325000, 2), "43250");
    assert_eq!(text(10_000_000, 8), "0.1");
    assert_eq!(text(1, 8), "0.00000001");
    assert_eq!(text(100_000_000, 8), "1");
    assert_eq!(text(5, 3), "0.005");
    assert_eq!(text(1_499_827_319_559, 0), "1499827319559");
    assert_eq!(text(u64::MAX, 18), "18.446744073709551615");
    assert_eq!(text(u64::MAX, 0), "18446744073709551615");
    assert_eq!(text(0, 0), "0");
}

#[test]
fn published_rest_vector_through_a_generic_layout() {
    // rest-api.md "SIGNED Endpoint Examples for POST /api/v3/order".
    let mut q = Vec::new();
    Layout::lit(&mut q, b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=");
    q.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut q, b"&price=");
    q.push(Part::Slot(Slot::Price));
    Layout::lit(&mut q, b"&recvWindow=5000&timestamp=");
    q.push(Part::Slot(Slot::Timestamp));
    let mut out = q.clone();
    Layout::lit(&mut out, b"&signature=");
    out.push(Part::Slot(Slot::Signature));
    let t =
        OrderTemplate::new(Layout { out, signed: q, ..Layout::default() }, key(), rules(8, 8, 1, 1)).unwrap();
    let mut buf = Vec::new();
    t.fill(10_000_000, 100_000_000, "", 1_499_827_319_559, "", &mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf).unwrap(),
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000\
         &timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    );
}

fn spec(post_only: bool) -> Spec<'static> {
    Spec { symbol: "BTCUSDT", side: "BUY", post_only, tif: "GTC", resp_type: "FULL", recv_window: Some(5000) }
}

#[test]
fn binance_rest_is_the_whole_http_request_with_the_query_signed() {
    let l = binance::rest(
        &spec(false),
        b"POST /api/v3/order?",
        b" HTTP/1.1\r\nHost: h\r\nX-MBX-APIKEY: k\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let t = OrderTemplate::new(l, key(), rules(2, 5, 1, 10)).unwrap();
    let mut buf = Vec::new();
    t.fill(4_325_012, 1_000, "tw-abc_1", 1_700_000_000_000, "", &mut buf).unwrap();
    let q =
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&newClientOrderId=tw-abc_1&newOrderRespType=FULL\
             &timeInForce=GTC&price=43250.12&recvWindow=5000&timestamp=1700000000000";
    let want = format!(
        "POST /api/v3/order?{q}&signature={} HTTP/1.1\r\nHost: h\r\nX-MBX-APIKEY: k\r\nContent-Length: 0\r\n\r\n",
        reference_hex(q.as_bytes())
    );
    assert_eq!(std::str::from_utf8(&buf).unwrap(), want);
    assert_eq!(buf.capacity(), buf.len(), "reserved to the exact length");
}

#[test]
fn binance_post_only_is_limit_maker_without_tif() {
    let l = binance::rest(&spec(true), b"?", b"").unwrap();
    let t = OrderTemplate::new(l, key(), rules(2, 5, 1, 1)).unwrap();
    let mut buf = Vec::new();
    t.fill(1, 1, "c", 1, "", &mut buf).unwrap();
    let s = String::from_utf8(buf).unwrap();
    assert!(
        s.contains("type=LIMIT_MAKER&quantity=0.00001&newClientOrderId=c&newOrderRespType=FULL&price=0.01&")
    );
    assert!(!s.contains("timeInForce"));
}

#[test]
fn binance_ws_api_json_with_params_signed_sorted() {
    let l = binance::ws_api(&spec(false), "my-key").unwrap();
    let t = OrderTemplate::new(l, key(), rules(2, 5, 1, 1)).unwrap();
    let mut buf = Vec::new();
    t.fill(4_325_012, 1_000, "cid1", 1_700_000_000_000, "tw7", &mut buf).unwrap();
    let signed = "apiKey=my-key&newClientOrderId=cid1&newOrderRespType=FULL&price=43250.12&quantity=0.01\
                  &recvWindow=5000&side=BUY&symbol=BTCUSDT&timeInForce=GTC&timestamp=1700000000000&type=LIMIT";
    let want = format!(
        "{{\"id\":\"tw7\",\"method\":\"order.place\",\"params\":{{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\
         \"type\":\"LIMIT\",\"quantity\":\"0.01\",\"newClientOrderId\":\"cid1\",\"newOrderRespType\":\"FULL\",\
         \"timeInForce\":\"GTC\",\"price\":\"43250.12\",\"apiKey\":\"my-key\",\"timestamp\":1700000000000,\
         \"recvWindow\":5000,\"signature\":\"{}\"}}}}",
        reference_hex(signed.as_bytes())
    );
    assert_eq!(std::str::from_utf8(&buf).unwrap(), want);
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["params"]["timestamp"], 1_700_000_000_000u64);
}

#[test]
fn off_tick_off_lot_and_bounds_produce_nothing() {
    let l = binance::rest(&spec(false), b"?", b"").unwrap();
    let r = Rules { min_qty: 20, max_qty: 1000, min_notional: 10_000, ..rules(2, 5, 5, 10) };
    let t = OrderTemplate::new(l, key(), r).unwrap();
    let mut buf = b"stale".to_vec();
    let cases = [
        (1001, 100, "tick_size"),
        (1000, 105, "lot_size"),
        (1000, 10, "min_qty"),
        (1000, 1010, "max_qty"),
        (0, 100, "price"),
        (1000, 0, "qty"),
        (5, 20, "min_notional"),
    ];
    for (p, q, rule) in cases {
        let e = t.fill(p, q, "c", 1, "", &mut buf).unwrap_err();
        assert_eq!(e.rule, rule, "{p} {q}");
        assert!(buf.is_empty());
    }
    assert_eq!(t.fill(1000, 100, "bad&id", 1, "", &mut buf).unwrap_err().rule, "client_id");
    assert!(buf.is_empty());
    t.fill(1000, 100, "ok", 1, "", &mut buf).unwrap();
    assert!(!buf.is_empty());
}

#[test]
fn escaping_is_refused_at_build() {
    let bad = Spec { symbol: "BTC\"USDT", ..spec(false) };
    assert!(binance::rest(&bad, b"", b"").is_err());
    assert!(binance::ws_api(&spec(false), "k\"ey").is_err());
    let big = Rules { price_scale: 19, ..Rules::default() };
    assert!(OrderTemplate::new(Layout::default(), key(), big).is_err());
}

#[test]
fn an_unsigned_template_refuses_a_signed_layout() {
    let signed = binance::rest(&spec_for_unsigned(), b"", b"").unwrap();
    assert!(OrderTemplate::unsigned(signed, rules(1, 8, 1, 1)).is_err());
}

fn spec_for_unsigned() -> Spec<'static> {
    Spec { symbol: "X", side: "BUY", post_only: false, tif: "GTC", resp_type: "FULL", recv_window: None }
}

fn iso(ms: u64, millis: bool) -> String {
    let mut b = [0u8; 48];
    let n = iso_text(ms, millis, &mut b);
    String::from_utf8(b[..n].to_vec()).unwrap()
}

#[test]
fn iso_text_is_the_signers_calendar() {
    // OKX's documented example timestamp, and HTX's (form-encoded as its query carries it).
    assert_eq!(iso(1_607_418_537_715, true), "2020-12-08T09:08:57.715Z");
    assert_eq!(iso(1_494_515_970_000, false), "2017-05-11T15%3A19%3A30");
    for ms in [0, 951_782_400_000, 1_700_000_000_123, 4_102_444_799_999, 9_876_543_210_123] {
        assert_eq!(iso(ms, true), crate::sign::encode::iso_millis(ms));
        assert_eq!(iso(ms, false), crate::sign::encode::iso_seconds(ms).replace(':', "%3A"));
    }
}

/// A REST request with the signature and ISO timestamp in headers and a JSON body: the pieces a layout
/// cut from OKX's own request has.
fn header_signed(sig: SigText, ts: Slot) -> Layout {
    let mut l = Layout::default();
    (l.sig, l.expiry_ms) = (sig, 5000);
    Layout::lit(&mut l.out, b"POST /o HTTP/1.1\r\nT: ");
    l.out.push(Part::Slot(ts));
    Layout::lit(&mut l.out, b"\r\nS: ");
    l.out.push(Part::Slot(Slot::Signature));
    Layout::lit(&mut l.out, b"\r\nContent-Length: ");
    l.out.push(Part::Slot(Slot::BodyLen));
    Layout::lit(&mut l.out, b"\r\n\r\n");
    l.start_body();
    Layout::lit(&mut l.out, b"{\"sz\":\"");
    l.out.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut l.out, b"\",\"exp\":\"");
    l.out.push(Part::Slot(Slot::Expiry));
    Layout::lit(&mut l.out, b"\"}");
    l.signed.push(Part::Slot(ts));
    Layout::lit(&mut l.signed, b"POST/o{\"sz\":\"");
    l.signed.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut l.signed, b"\",\"exp\":\"");
    l.signed.push(Part::Slot(Slot::Expiry));
    Layout::lit(&mut l.signed, b"\"}");
    l
}

#[test]
fn body_length_base64_signature_and_expiry() {
    use base64::Engine as _;
    let t = OrderTemplate::new(header_signed(SigText::Base64, Slot::IsoMillis), key(), rules(2, 8, 1, 1))
        .unwrap();
    assert!(!t.priced());
    let mut buf = Vec::new();
    // A market order: no price slot, the price ignored.
    t.fill(0, 123_000_000, "c", 1_607_418_537_715, "", &mut buf).unwrap();
    let body = "{\"sz\":\"1.23\",\"exp\":\"1607418542715\"}";
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(format!("2020-12-08T09:08:57.715ZPOST/o{body}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    let want = format!(
        "POST /o HTTP/1.1\r\nT: 2020-12-08T09:08:57.715Z\r\nS: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(std::str::from_utf8(&buf).unwrap(), want);
    assert_eq!(buf.capacity(), buf.len(), "reserved to the exact length");
}

#[test]
fn base64_form_signature_is_form_encoded() {
    use base64::Engine as _;
    let t = OrderTemplate::new(
        header_signed(SigText::Base64Form, Slot::IsoSecondsForm),
        key(),
        rules(2, 8, 1, 1),
    )
    .unwrap();
    let mut buf = Vec::new();
    t.fill(0, 1, "c", 1_494_515_970_000, "", &mut buf).unwrap();
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(b"2017-05-11T15%3A19%3A30POST/o{\"sz\":\"0.00000001\",\"exp\":\"1494515975000\"}");
    let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    let form = sig.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    assert!(std::str::from_utf8(&buf).unwrap().contains(&format!("\r\nS: {form}\r\n")), "{form}");
}

#[test]
fn an_iso_stamp_past_year_9999_is_refused_and_nothing_is_written() {
    // A stamp in µs passed as ms: four year digits cannot write it (the signer's text would have
    // five), so the template refuses it rather than send a request the slow path would not.
    let t = OrderTemplate::new(header_signed(SigText::Base64, Slot::IsoMillis), key(), rules(2, 8, 1, 1))
        .unwrap();
    let mut buf = b"left over".to_vec();
    let e = t.fill(0, 1, "c", 1_700_000_000_000_000, "", &mut buf).unwrap_err();
    assert_eq!(e.rule, "timestamp");
    assert!(buf.is_empty());
    let last = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    t.fill(0, 1, "c", last, "", &mut buf).unwrap();
    assert!(std::str::from_utf8(&buf).unwrap().contains(&crate::sign::encode::iso_millis(last)));
    assert!(t.fill(0, 1, "c", last + 1, "", &mut buf).is_err());
}

#[test]
fn a_body_length_needs_a_body_outside_it() {
    let mut l = header_signed(SigText::Hex, Slot::Timestamp);
    l.body = None;
    assert_eq!(OrderTemplate::new(l, key(), rules(2, 8, 1, 1)).err().unwrap().rule, "layout");
    let mut l = header_signed(SigText::Hex, Slot::Timestamp);
    l.body = Some(1);
    assert!(OrderTemplate::new(l, key(), rules(2, 8, 1, 1)).is_err());
    let mut l = header_signed(SigText::Hex, Slot::Timestamp);
    l.body = Some(99);
    assert!(OrderTemplate::new(l, key(), rules(2, 8, 1, 1)).is_err());
}

#[test]
fn request_num_is_the_request_ids_digits() {
    let mut out = Vec::new();
    Layout::lit(&mut out, b"{\"req_id\":");
    out.push(Part::Slot(Slot::RequestNum));
    Layout::lit(&mut out, b"}");
    let mut l = Layout::default();
    l.out = out;
    let t = OrderTemplate::unsigned(l, rules(2, 8, 1, 1)).unwrap();
    let mut buf = Vec::new();
    t.fill(0, 1, "c", 1, "tw17", &mut buf).unwrap();
    assert_eq!(buf, b"{\"req_id\":17}");
}

/// Clarofinlore's shape: `X-Nonce` in the headers and `timestamp + nonce + METHOD + path + body` signed.
fn nonce_layout() -> Layout {
    let mut l = Layout::default();
    Layout::lit(&mut l.out, b"POST /v1/orders HTTP/1.1\r\nX-Timestamp: ");
    l.out.push(Part::Slot(Slot::Timestamp));
    Layout::lit(&mut l.out, b"\r\nX-Nonce: ");
    l.out.push(Part::Slot(Slot::Nonce));
    Layout::lit(&mut l.out, b"\r\nX-Signature: ");
    l.out.push(Part::Slot(Slot::Signature));
    Layout::lit(&mut l.out, b"\r\n\r\n");
    l.start_body();
    Layout::lit(&mut l.out, b"{\"quantity\":\"");
    l.out.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut l.out, b"\"}");
    l.signed.push(Part::Slot(Slot::Timestamp));
    Layout::lit(&mut l.signed, b"\n");
    l.signed.push(Part::Slot(Slot::Nonce));
    Layout::lit(&mut l.signed, b"\nPOST\n/v1/orders\n{\"quantity\":\"");
    l.signed.push(Part::Slot(Slot::Qty));
    Layout::lit(&mut l.signed, b"\"}");
    l
}

fn header<'a>(req: &'a str, name: &str) -> &'a str {
    let at = req.find(&format!("\r\n{name}: ")).unwrap() + name.len() + 4;
    &req[at..at + req[at..].find("\r\n").unwrap()]
}

#[test]
fn a_nonce_slot_is_fresh_random_hex_per_fill_and_signed() {
    let t = OrderTemplate::new(nonce_layout(), key(), rules(2, 3, 1, 1)).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut buf = Vec::new();
    for _ in 0..200 {
        t.fill(1, 1500, "c", 1_700_000_000_123, "", &mut buf).unwrap();
        let req = std::str::from_utf8(&buf).unwrap().to_owned();
        let nonce = header(&req, "X-Nonce");
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{nonce}");
        let signed = format!("1700000000123\n{nonce}\nPOST\n/v1/orders\n{{\"quantity\":\"1.5\"}}");
        assert_eq!(header(&req, "X-Signature"), reference_hex(signed.as_bytes()));
        assert!(seen.insert(nonce.to_owned()), "nonce repeated: {nonce}");
    }
    // Every hex digit turns up in both halves (no stuck bits in 200 draws).
    for half in [0..16, 16..32] {
        let digits: std::collections::HashSet<u8> =
            seen.iter().flat_map(|n| n.as_bytes()[half.clone()].to_vec()).collect();
        assert_eq!(digits.len(), 16);
    }
}

#[test]
fn a_given_nonce_is_used_as_it_is_and_checked() {
    let t = OrderTemplate::new(nonce_layout(), key(), rules(2, 3, 1, 1)).unwrap();
    let mut buf = Vec::new();
    let n = "0123456789abcdef0123456789abcdef";
    t.fill_with_nonce(1, 2000, "c", 7, "", Some(n), &mut buf).unwrap();
    let req = std::str::from_utf8(&buf).unwrap();
    assert_eq!(header(req, "X-Nonce"), n);
    let signed = format!("7\n{n}\nPOST\n/v1/orders\n{{\"quantity\":\"2\"}}");
    assert_eq!(header(req, "X-Signature"), reference_hex(signed.as_bytes()));
    let e = t.fill_with_nonce(1, 2000, "c", 7, "", Some("a\"b"), &mut buf).unwrap_err();
    assert_eq!(e.rule, "client_id");
    assert!(buf.is_empty());
    // A layout without a nonce slot ignores one given.
    let plain =
        OrderTemplate::new(header_signed(SigText::Hex, Slot::Timestamp), key(), rules(2, 3, 1, 1)).unwrap();
    let mut a = Vec::new();
    plain.fill_with_nonce(1, 2000, "c", 7, "", Some(n), &mut a).unwrap();
    plain.fill(1, 2000, "c", 7, "", &mut buf).unwrap();
    assert_eq!(a, buf);
}

#[test]
fn nonces_differ_across_threads() {
    let draw = || {
        let mut n = [0u8; nonce::NONCE_LEN];
        nonce::fresh(&mut n).unwrap();
        n
    };
    let here = draw();
    let there = std::thread::spawn(draw).join().unwrap();
    assert_ne!(here, there);
}

#[cfg(unix)]
#[test]
fn a_forked_child_draws_other_nonces_than_its_parent() {
    let draw = || {
        let mut n = [0u8; nonce::NONCE_LEN];
        nonce::fresh(&mut n).unwrap();
        n
    };
    draw(); // this thread's generator seeded before the fork: the child inherits its state
    let mut fds = [0i32; 2];
    // SAFETY: a pipe, a fork whose child only draws (no lock is taken), writes and _exits.
    let pid = unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::fork()
    };
    assert!(pid >= 0);
    if pid == 0 {
        let n = draw();
        // SAFETY: the child writes to its end of the pipe and leaves without running destructors.
        unsafe {
            libc::write(fds[1], n.as_ptr().cast(), n.len());
            libc::_exit(0);
        }
    }
    let parent = draw();
    let mut child = [0u8; nonce::NONCE_LEN];
    // SAFETY: reads what the child wrote, then reaps it.
    let got = unsafe {
        libc::close(fds[1]);
        let got = libc::read(fds[0], child.as_mut_ptr().cast(), child.len());
        libc::close(fds[0]);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        got
    };
    assert_eq!(got, nonce::NONCE_LEN as isize);
    assert_ne!(parent, child, "the child repeated its parent's nonce");
}

#[test]
fn a_layouts_literals_are_wiped_and_its_slots_kept() {
    // What `Drop` runs: every literal (a passphrase header, a token) overwritten, in what goes out and
    // in what is signed alike.
    let mut l = Layout::default();
    Layout::lit(&mut l.out, b"OK-ACCESS-PASSPHRASE: pass");
    Layout::lit(&mut l.out, b"phrase\r\n");
    l.out.push(Part::Slot(Slot::Price));
    Layout::lit(&mut l.signed, b"token=abc");
    l.wipe();
    let lits: Vec<&[u8]> = l
        .out
        .iter()
        .chain(&l.signed)
        .filter_map(|p| match p {
            Part::Lit(b) => Some(&b[..]),
            Part::Slot(_) => None,
        })
        .collect();
    assert_eq!(lits.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![34, 9]);
    assert!(lits.iter().all(|b| b.iter().all(|&c| c == 0)));
    assert_eq!(l.out[1], Part::Slot(Slot::Price));
}
