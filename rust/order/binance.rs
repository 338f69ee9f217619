//! Binance spot `POST /api/v3/order` as a template, byte for byte what the slow path sends
//! (`tickwire.venues.binance.orders.Orders.new_order` signed by `Signer.sign_request`, or framed by
//! `BinanceGrammar.ws_request` with `Signer.ws_signed_params`):
//!
//! - REST: `symbol, side, type, quantity, newClientOrderId, newOrderRespType[, timeInForce], price`
//!   then `[recvWindow&]timestamp`, the query signed as sent and `&signature=<hex>` appended; the request
//!   line's start and the headers after the query are given by the caller (its HTTP client's).
//! - WS API: `{"id":…,"method":"order.place","params":{…, "apiKey", "timestamp"[, "recvWindow"],
//!   "signature"}}` in that insertion order, the signature over every param but itself sorted by name
//!   as `k=v&…`. Numbers the slow path passes as ints (`timestamp`, `recvWindow`) are JSON numbers.

use super::{Layout, Part, Slot};

/// What one Binance spot new-order template places.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub symbol: &'a str,
    /// `BUY` or `SELL`.
    pub side: &'a str,
    /// `true`: `LIMIT_MAKER` (no time in force).
    pub post_only: bool,
    /// `GTC`, `IOC` or `FOK`.
    pub tif: &'a str,
    /// `newOrderRespType`.
    pub resp_type: &'a str,
    pub recv_window: Option<u64>,
}

enum Val<'a> {
    Str(&'a str),
    Int(u64),
    Slot(Slot, bool),
}

fn params<'a>(s: &Spec<'a>) -> Vec<(&'static str, Val<'a>)> {
    let mut p = vec![
        ("symbol", Val::Str(s.symbol)),
        ("side", Val::Str(s.side)),
        ("type", Val::Str(if s.post_only { "LIMIT_MAKER" } else { "LIMIT" })),
        ("quantity", Val::Slot(Slot::Qty, true)),
        ("newClientOrderId", Val::Slot(Slot::ClientId, true)),
        ("newOrderRespType", Val::Str(s.resp_type)),
    ];
    if !s.post_only {
        p.push(("timeInForce", Val::Str(s.tif)));
    }
    p.push(("price", Val::Slot(Slot::Price, true)));
    p
}

fn value(parts: &mut Vec<Part>, v: &Val<'_>, json: bool) {
    match v {
        Val::Str(t) if json => {
            Layout::lit(parts, b"\"");
            Layout::lit(parts, t.as_bytes());
            Layout::lit(parts, b"\"");
        }
        Val::Str(t) => Layout::lit(parts, t.as_bytes()),
        Val::Int(n) => Layout::lit(parts, n.to_string().as_bytes()),
        Val::Slot(s, quoted) => {
            if json && *quoted {
                Layout::lit(parts, b"\"");
            }
            parts.push(Part::Slot(*s));
            if json && *quoted {
                Layout::lit(parts, b"\"");
            }
        }
    }
}

fn query(parts: &mut Vec<Part>, p: &[(&str, Val<'_>)]) {
    for (i, (k, v)) in p.iter().enumerate() {
        if i > 0 {
            Layout::lit(parts, b"&");
        }
        Layout::lit(parts, k.as_bytes());
        Layout::lit(parts, b"=");
        value(parts, v, false);
    }
}

/// Symbols, sides and the like go into the request unescaped: refuse anything that would need it.
pub fn plain(what: &str, text: &str) -> Result<(), super::OrderError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(())
    } else {
        Err(super::OrderError { rule: "template", message: format!("{what} {text:?} is not plain ASCII") })
    }
}

fn checked(s: &Spec<'_>) -> Result<(), super::OrderError> {
    plain("symbol", s.symbol)?;
    plain("side", s.side)?;
    plain("tif", s.tif)?;
    plain("resp_type", s.resp_type)
}

/// The REST request: `head` is the request line up to and including `?` (`POST /api/v3/order?`),
/// `tail` the rest after the query (` HTTP/1.1\r\n`, headers, blank line).
pub fn rest(s: &Spec<'_>, head: &[u8], tail: &[u8]) -> Result<Layout, super::OrderError> {
    checked(s)?;
    let mut p = params(s);
    if let Some(w) = s.recv_window {
        p.push(("recvWindow", Val::Int(w)));
    }
    p.push(("timestamp", Val::Slot(Slot::Timestamp, false)));
    let mut l = Layout::default();
    query(&mut l.signed, &p);
    Layout::lit(&mut l.out, head);
    query(&mut l.out, &p);
    Layout::lit(&mut l.out, b"&signature=");
    l.out.push(Part::Slot(Slot::Signature));
    Layout::lit(&mut l.out, tail);
    Ok(l)
}

/// The WS API `order.place` request; `api_key` goes into the params (and the signed text).
pub fn ws_api(s: &Spec<'_>, api_key: &str) -> Result<Layout, super::OrderError> {
    checked(s)?;
    plain("api key", api_key)?;
    let mut p = params(s);
    p.push(("apiKey", Val::Str(api_key)));
    p.push(("timestamp", Val::Slot(Slot::Timestamp, false)));
    if let Some(w) = s.recv_window {
        p.push(("recvWindow", Val::Int(w)));
    }
    let mut l = Layout::default();
    let mut sorted: Vec<&(&str, Val<'_>)> = p.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            Layout::lit(&mut l.signed, b"&");
        }
        Layout::lit(&mut l.signed, k.as_bytes());
        Layout::lit(&mut l.signed, b"=");
        value(&mut l.signed, v, false);
    }
    Layout::lit(&mut l.out, b"{\"id\":\"");
    l.out.push(Part::Slot(Slot::RequestId));
    Layout::lit(&mut l.out, b"\",\"method\":\"order.place\",\"params\":{");
    for (k, v) in &p {
        Layout::lit(&mut l.out, b"\"");
        Layout::lit(&mut l.out, k.as_bytes());
        Layout::lit(&mut l.out, b"\":");
        value(&mut l.out, v, true);
        Layout::lit(&mut l.out, b",");
    }
    Layout::lit(&mut l.out, b"\"signature\":\"");
    l.out.push(Part::Slot(Slot::Signature));
    Layout::lit(&mut l.out, b"\"}}");
    Ok(l)
}
