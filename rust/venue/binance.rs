//! Binance spot and USDⓈ-M JSON: raw or combined-stream (`{"stream":…,"data":{…}}`) frames with
//! depthUpdate, bookTicker, trade/aggTrade, kline, partial-depth; and REST depth snapshots.

use super::literal::{digits, key_int, lit, string_end, symbol};
use super::{read_trade_id, span, Batch, Decoder, FrameKind, Msg, Resync, SymbolCase, TradeItem, VenueSpec};
use crate::book::num::Dec;
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::codec::json::{Cur, JsonError, Result};

/// Spot: diffs (`U`/`u`) aligned with REST `/api/v3/depth` snapshots by the official algorithm.
pub const SPOT_SPEC: VenueSpec = VenueSpec {
    aliases: &["binance-spot"],
    seq: SeqRule::BinanceSpot,
    snapshot_first: true,
    ..rest_synced("binance")
};

/// USDⓈ-M futures: the first diff after the snapshot straddles it, later ones chain by `pu`.
pub const USDM_SPEC: VenueSpec =
    VenueSpec { aliases: &["binance-futures"], seq: SeqRule::BinanceFutures, ..rest_synced("binance-usdm") };

const fn rest_synced(name: &'static str) -> VenueSpec {
    VenueSpec {
        resync: Resync::Snapshot,
        symbol_case: SymbolCase::Upper,
        // Diffs touch every depth, so levels beyond the snapshot accumulate for as long as the
        // stream runs; 5000 (the deepest REST snapshot) bounds memory without losing anything a
        // snapshot could have vouched for.
        max_depth: 5000,
        // Update ids are per symbol and the same on every connection and endpoint.
        redundant_lines: true,
        // `t` (trade) and `a` (aggTrade) count every trade of a symbol, one by one.
        consecutive_trade_ids: true,
        ..VenueSpec::base(name, Decoder::Json(decode))
    }
}

#[derive(Default)]
struct Ev<'a> {
    e: &'a [u8],
    sym: &'a [u8],
    first: Option<i64>,
    last: Option<i64>,
    prev: Option<i64>,
    last_update_id: Option<i64>,
    bbo_b: Option<Dec>,
    bbo_bq: Option<Dec>,
    bbo_a: Option<Dec>,
    bbo_aq: Option<Dec>,
    px: Option<Dec>,
    qty: Option<Dec>,
    maker: bool,
    control: bool,
    /// `t` (trade) or `a` (aggTrade): the trade's id.
    id: Option<u64>,
}

/// Handles one key of an event object; the cursor is on its value.
#[inline]
fn key<'a>(k: &[u8], c: &mut Cur<'a>, ev: &mut Ev<'a>, out: &mut Batch) -> Result<()> {
    match k {
        b"e" => ev.e = c.string()?,
        b"s" => ev.sym = c.string()?,
        b"U" => ev.first = Some(c.int()?),
        b"u" => ev.last = Some(c.int()?),
        b"pu" => ev.prev = Some(c.int()?),
        b"lastUpdateId" => ev.last_update_id = Some(c.int()?),
        b"t" => ev.id = read_trade_id(c)?,
        // An aggTrade's "a" is its id, not an ask ("e" comes first in every Binance event).
        b"a" if ev.e == b"aggTrade" => ev.id = read_trade_id(c)?,
        b"b" | b"bids" | b"a" | b"asks" => {
            let ask = k[0] == b'a';
            if c.peek()? == b'[' {
                c.levels(|p, q| out.push(ask, p, q))?;
            } else if ask {
                ev.bbo_a = Some(c.dec()?);
            } else {
                ev.bbo_b = Some(c.dec()?);
            }
        }
        b"B" => ev.bbo_bq = Some(c.dec()?),
        b"A" => ev.bbo_aq = Some(c.dec()?),
        b"p" => ev.px = Some(c.dec()?),
        b"q" => ev.qty = Some(c.dec()?),
        b"m" => ev.maker = c.literal()? == b"true",
        b"result" | b"id" | b"error" | b"code" => {
            ev.control = true;
            c.skip()?
        }
        _ => c.skip()?,
    }
    Ok(())
}

fn event<'a>(c: &mut Cur<'a>, ev: &mut Ev<'a>, out: &mut Batch) -> Result<()> {
    c.obj()?;
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        key(k, c, ev, out)?;
    }
    Ok(())
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let n = out.levels.len();
    if depth_update(frame, out).is_some() || book_ticker(frame, out).is_some() {
        return Ok(());
    }
    // Levels the shortcut read before the text left its shape are read again below.
    out.levels.truncate(n);
    general(frame, out)
}

/// After `{"stream":"<name>","data":` when the frame starts so (then `Some(true)`), else at the
/// start (`Some(false)`); `None` for a stream name with an escape.
#[inline(always)]
fn unwrap_stream(c: &mut Cur<'_>) -> Option<bool> {
    if !lit(c, b"{\"stream\":\"") {
        return Some(false);
    }
    c.i = string_end(c.b, c.i, false)?;
    lit(c, b"\",\"data\":").then_some(true)
}

/// A bookTicker as Binance writes it (spot `{"u","s","b","B","a","A"}`, USDⓈ-M with `"e"` first
/// and `"T","E"` last, raw or combined), as `depth_update` reads a depthUpdate: `None` for any
/// other text, which `general` then reads from the start (USDⓈ-M streams are half tickers).
#[inline]
fn book_ticker(f: &[u8], out: &mut Batch) -> Option<()> {
    let mut c = Cur::new(f);
    let combined = unwrap_stream(&mut c)?;
    if !lit(&mut c, b"{\"e\":\"bookTicker\",\"u\":") && !lit(&mut c, b"{\"u\":") {
        return None;
    }
    digits(&mut c)?;
    if !lit(&mut c, b",\"s\":\"") {
        return None;
    }
    let sym = symbol(&mut c)?;
    let mut px = [Dec::default(); 4];
    let keys: [&[u8]; 4] = [b"\",\"b\":", b",\"B\":", b",\"a\":", b",\"A\":"];
    for (k, v) in keys.into_iter().zip(&mut px) {
        // A bare number or an array here is another event's "b"/"a": left to `general`.
        if !lit(&mut c, k) || c.b.get(c.i) != Some(&b'"') {
            return None;
        }
        *v = c.dec().ok()?;
    }
    for k in [b",\"T\":", b",\"E\":"] {
        if lit(&mut c, k) {
            digits(&mut c)?;
        }
    }
    let close: &[u8] = if combined { b"}}" } else { b"}" };
    if &f[c.i..] != close {
        return None;
    }
    out.kind = FrameKind::Bbo;
    out.quote.sym = span(f, sym);
    [out.quote.bid_px, out.quote.bid_qty, out.quote.ask_px, out.quote.ask_qty] = px;
    Some(())
}

/// A depthUpdate written the way Binance writes every one (spot and USDⓈ-M, raw or combined
/// stream): compact, keys in Binance's order, ids as bare digits, nothing escaped. The keys are
/// matched as literals in that order instead of read one by one and compared (the header was a
/// third of a one-level frame's cost from Python). `None` as soon as the text differs from that
/// shape in any way, valid or not: `general` then reads the frame from the start, so both accept,
/// refuse and produce exactly the same (`fast_depth_update_matches_the_general_grammar`).
#[inline]
fn depth_update(f: &[u8], out: &mut Batch) -> Option<()> {
    const EVENT: &[u8] = b"{\"e\":\"depthUpdate\",\"E\":";
    let mut c = Cur::new(f);
    let combined = unwrap_stream(&mut c)?;
    if !lit(&mut c, EVENT) {
        return None;
    }
    digits(&mut c)?;
    if lit(&mut c, b",\"T\":") {
        digits(&mut c)?;
    }
    if !lit(&mut c, b",\"s\":\"") {
        return None;
    }
    let sym = symbol(&mut c)?;
    let first = key_int(&mut c, b"\",\"U\":")?;
    let last = key_int(&mut c, b",\"u\":")?;
    let prev = if lit(&mut c, b",\"pu\":") { digits(&mut c)? } else { NO_SEQ };
    if !lit(&mut c, b",\"b\":") {
        return None;
    }
    c.levels(|p, q| out.push(false, p, q)).ok()?;
    if !lit(&mut c, b",\"a\":") {
        return None;
    }
    c.levels(|p, q| out.push(true, p, q)).ok()?;
    let close: &[u8] = if combined { b"}}" } else { b"}" };
    if &f[c.i..] != close {
        return None;
    }
    let n = out.levels.len() as u32;
    let seq = SeqInfo { first, last, prev };
    out.end_msg(Msg { sym: span(f, sym), seq, lv: (0, n), ..Msg::default() });
    Some(())
}

fn general(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    let mut ev = Ev::default();
    let mut stream: &[u8] = b"";
    c.obj()?;
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"data" => event(&mut c, &mut ev, out)?,
            b"stream" => stream = c.string()?,
            _ => key(k, &mut c, &mut ev, out)?,
        }
    }
    c.end()?;
    // Partial-depth payloads (`<symbol>@depth20`) carry no "s": the stream name says the symbol.
    // The feed upper-cases Binance symbols, so "bnbbtc" and "BNBBTC" name one book.
    if ev.sym.is_empty() && !stream.is_empty() {
        ev.sym = stream.split(|&c| c == b'@').next().unwrap_or_default();
    }
    let sym = if ev.sym.is_empty() { (0, 0) } else { span(frame, ev.sym) };
    if ev.e == b"depthUpdate" {
        let (Some(first), Some(last)) = (ev.first, ev.last) else {
            return Err(JsonError::Shape("depthUpdate without U/u"));
        };
        let seq = SeqInfo { first, last, prev: ev.prev.unwrap_or(NO_SEQ) };
        let n = out.levels.len() as u32;
        out.end_msg(Msg { sym, seq, lv: (0, n), ..Msg::default() });
    } else if let Some(id) = ev.last_update_id {
        let n = out.levels.len() as u32;
        let seq = SeqInfo { first: id, last: id, prev: NO_SEQ };
        out.end_msg(Msg { sym, snapshot: true, seq, lv: (0, n), ..Msg::default() });
    } else if let (Some(b), Some(bq), Some(a), Some(aq)) = (ev.bbo_b, ev.bbo_bq, ev.bbo_a, ev.bbo_aq) {
        out.kind = FrameKind::Bbo;
        out.quote.sym = sym;
        (out.quote.bid_px, out.quote.bid_qty, out.quote.ask_px, out.quote.ask_qty) = (b, bq, a, aq);
    } else if ev.e == b"trade" || ev.e == b"aggTrade" {
        let px = ev.px.ok_or(JsonError::Shape("trade without p"))?;
        let qty = ev.qty.ok_or(JsonError::Shape("trade without q"))?;
        out.add_trade(TradeItem { sym, px, qty, buyer_maker: ev.maker, id: ev.id });
    } else if ev.control {
        out.kind = FrameKind::Control;
    } else {
        out.levels.clear();
        out.kind = FrameKind::Other;
    }
    Ok(())
}

#[cfg(test)]
#[path = "binance_tests.rs"]
mod tests;
