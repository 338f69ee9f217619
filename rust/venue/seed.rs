//! Clarofinlore and Tradefence book messages (seed-venues.md defaults):
//! `{"channel":"orderbook.btc-usdt","type":"snapshot"|"update","seq":N,"prev_seq":N-1,"ts":…,
//! "bids":[["px","qty"],…],"asks":[…]}`; Tradefence sends the same fields with
//! `"type":"book","symbol":…` and `"action":"snapshot"|"update"`; Cloud9Trader the Clarofinlore shape on
//! channels `book.<SYMBOL>`.

use super::{read_trade_id, span, Batch, Decoder, FrameKind, TradeItem, VenueSpec};
use crate::book::num::Dec;
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::codec::json::{Cur, JsonError, Result};

/// Books chained by `seq`/`prev_seq`; a gap resubscribes for a snapshot. Data arrive as binary
/// frames of JSON compressed by the deployment's choice of zlib, raw deflate or gzip.
pub const CLAROFINLORE_SPEC: VenueSpec = VenueSpec { binary_compressed: true, ..seed("clarofinlore") };

/// Tradefence's `seq` is the symbol's, the same on every connection: A/B lines can be arbitrated.
pub const TRADEFENCE_SPEC: VenueSpec = VenueSpec { redundant_lines: true, ..seed("tradefence") };

pub const CLOUD9TRADER_SPEC: VenueSpec = seed("cloud9trader");

const fn seed(name: &'static str) -> VenueSpec {
    VenueSpec { seq: SeqRule::PrevLinked, ..VenueSpec::base(name, Decoder::Json(decode)) }
}

/// Trade and quote fields: Clarofinlore/Cloud9Trader `"trades":[{"price","qty","side"},…]` on
/// `trades.<symbol>`, Tradefence `{"type":"trade","price","quantity","side"}` and
/// `{"type":"quote","bid","bid_size","ask","ask_size"}` (the simulator's shapes of the defaults).
#[derive(Default)]
struct Ev {
    px: Option<Dec>,
    qty: Option<Dec>,
    /// The taker sold (`side`); `None` until the message states it.
    sell: Option<bool>,
    id: Option<u64>,
    bbo: [Option<Dec>; 4],
}

/// Handles a trade or quote key; false if `k` is not one.
fn ev_key(k: &[u8], c: &mut Cur<'_>, ev: &mut Ev) -> Result<bool> {
    match k {
        b"price" => ev.px = Some(c.dec()?),
        b"qty" | b"quantity" => ev.qty = Some(c.dec()?),
        b"side" => ev.sell = Some(seed_side(c.string()?)?),
        b"id" => ev.id = read_trade_id(c)?,
        b"bid" => ev.bbo[0] = Some(c.dec()?),
        b"bid_size" => ev.bbo[1] = Some(c.dec()?),
        b"ask" => ev.bbo[2] = Some(c.dec()?),
        b"ask_size" => ev.bbo[3] = Some(c.dec()?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `[{trade}, …]`: each pushed to `out` (its symbol set once the frame's is known); the fields of
/// the last one stay in `ev`.
fn trades(c: &mut Cur<'_>, ev: &mut Ev, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        (ev.px, ev.qty, ev.id, ev.sell) = (None, None, None, None);
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            if !ev_key(k, c, ev)? {
                c.skip()?;
            }
        }
        // The simulated venues write a side on every trade (seed-venues.md defaults).
        let (Some(px), Some(qty), Some(sell)) = (ev.px, ev.qty, ev.sell) else {
            return Err(JsonError::Shape("trade without price, quantity or side"));
        };
        out.trades.push(TradeItem { sym: (0, 0), px, qty, buyer_maker: sell, id: ev.id });
    }
    Ok(())
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut channel, mut symbol, mut typ, mut action): (&[u8], &[u8], &[u8], &[u8]) = (b"", b"", b"", b"");
    let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
    let mut has_levels = false;
    let mut ev = Ev::default();
    let mut m = out.begin();
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"channel" => channel = c.string()?,
            b"symbol" => symbol = c.string()?,
            b"type" => typ = c.string()?,
            b"action" => action = c.string()?,
            b"seq" => seq = c.int()?,
            b"prev_seq" => prev = c.int()?,
            b"bids" => {
                has_levels = true;
                c.levels(|p, q| out.push(false, p, q))?
            }
            b"asks" => {
                has_levels = true;
                c.levels(|p, q| out.push(true, p, q))?
            }
            b"trades" => trades(&mut c, &mut ev, out)?,
            _ => {
                if !ev_key(k, &mut c, &mut ev)? {
                    c.skip()?
                }
            }
        }
    }
    c.end()?;
    let kind = if typ == b"book" { action } else { typ };
    // Cloud9Trader names its book channels `book.<SYMBOL>` (seed-venues.md default).
    let sym =
        channel.strip_prefix(b"orderbook.").or_else(|| channel.strip_prefix(b"book.")).unwrap_or(symbol);
    if has_levels && !sym.is_empty() && (kind == b"snapshot" || kind == b"update") {
        m.snapshot = kind == b"snapshot";
        // Every book message names both (seed-venues.md). Without `prev_seq` an update cannot show
        // that the one before it was lost, and the chain rule would take it as linked: the book
        // would stay synced past a gap. Without `seq` the next update could not link to it.
        if seq == NO_SEQ || (!m.snapshot && prev == NO_SEQ) {
            return Err(JsonError::Shape("seed book message without seq or prev_seq"));
        }
        m.sym = span(frame, sym);
        m.seq = SeqInfo { first: seq, last: seq, prev };
        out.end_msg(m);
        return Ok(());
    }
    out.clear_but_trades();
    let ev_sym = channel.strip_prefix(b"trades.").unwrap_or(symbol);
    let is_trade = typ == b"trade" || typ == b"trades" || channel.starts_with(b"trades.");
    if out.trades.is_empty() {
        // Tradefence: one trade, its fields on the message itself.
        if let (true, Some(px), Some(qty)) = (is_trade, ev.px, ev.qty) {
            let Some(sell) = ev.sell else {
                return Err(JsonError::Shape("trade without side"));
            };
            out.trades.push(TradeItem { sym: (0, 0), px, qty, buyer_maker: sell, id: ev.id });
        }
    }
    if is_trade && !ev_sym.is_empty() && !out.trades.is_empty() {
        out.end_trades(Some(span(frame, ev_sym)));
        return Ok(());
    }
    out.trades.clear();
    match (is_trade, ev.bbo) {
        (false, [Some(b), Some(bq), Some(a), Some(aq)]) if typ == b"quote" && !ev_sym.is_empty() => {
            out.kind = FrameKind::Bbo;
            let q = &mut out.quote;
            q.sym = span(frame, ev_sym);
            (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty) = (b, bq, a, aq);
            return Ok(());
        }
        _ => {}
    }
    out.kind = match typ {
        b"trade" | b"trades" => FrameKind::Trade,
        b"quote" => FrameKind::Bbo,
        b"pong" | b"heartbeat" => FrameKind::Heartbeat,
        b"error" | b"subscribed" | b"ack" => FrameKind::Control,
        _ => FrameKind::Other,
    };
    Ok(())
}

/// The taker's side, in either case as the seed venues write it (`BUY`, `sell`); anything else is
/// no side, and the trade refuses its frame rather than be read as a buy.
fn seed_side(s: &[u8]) -> Result<bool> {
    if s.eq_ignore_ascii_case(b"sell") {
        Ok(true)
    } else if s.eq_ignore_ascii_case(b"buy") {
        Ok(false)
    } else {
        Err(JsonError::Shape("trade side is neither buy nor sell"))
    }
}
