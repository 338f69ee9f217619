//! OKX v5 public JSON: `books`/`books5`/`books-l2-tbt`/`books50-l2-tbt`/`bbo-tbt` snapshots and
//! updates (checksum, seqId/prevSeqId), `tickers` (best bid/ask) and `trades` as events,
//! subscription events, the text `pong`.

use super::event::{oldest_first_by_id, taker_sold};
use super::literal::{digits, lit, plain, shortcut_or, symbol};
use super::{read_trade_id, span, trade_id, Batch, Decoder, FrameKind, TradeItem, VenueSpec};
use crate::book::checksum::ChecksumKind;
use crate::book::num::{parse_dec, Dec};
use crate::book::sync::{SeqInfo, SeqRule, NO_SEQ};
use crate::codec::json::{Cur, JsonError, Result};

/// Snapshot then increments chained by `prevSeqId`, CRC32 of the top 25; a book that loses sync is
/// resubscribed. `seqId` is the instrument's, the same on every connection. OKX announced that its
/// book channels stop sending the snapshot ("Delist initial snapshot and checksum field in order
/// book channels", production early August 2026): a book whose first message after subscribing is
/// an update takes `GET /api/v5/market/books` (its answer decoded here too) and resyncs so.
pub const SPEC: VenueSpec = VenueSpec {
    seq: SeqRule::PrevLinked,
    checksum: ChecksumKind::Okx,
    rest_fallback: true,
    redundant_lines: true,
    ..VenueSpec::base("okx", Decoder::Json(decode))
};

/// Ticker and trade fields of the frame's last data object.
#[derive(Default)]
struct Tick {
    /// bidPx, bidSz, askPx, askSz
    bbo: [Option<Dec>; 4],
    px: Option<Dec>,
    sz: Option<Dec>,
    /// The taker sold (`side`), when the item states its side.
    sell: Option<bool>,
    id: Option<u64>,
    /// A data object lacked a price, size or side: on the `trades` channel, a malformed trade.
    incomplete: bool,
}

/// A quoted number that OKX leaves empty ("") when there is none (an empty side of a ticker).
fn opt_dec(c: &mut Cur<'_>) -> Result<Option<Dec>> {
    let t = c.num_text()?;
    if t.is_empty() {
        return Ok(None);
    }
    Ok(Some(parse_dec(t)?))
}

/// The book channels whose messages chain by `prevSeqId`, and whose snapshot OKX stops sending.
fn is_seq_book_channel(ch: &[u8]) -> bool {
    matches!(ch, b"books" | b"books-l2-tbt" | b"books50-l2-tbt" | b"books-elp")
}

/// Every book channel: the sequenced ones and the depth views pushed whole (`books5`, `bbo-tbt`).
fn is_book_channel(ch: &[u8]) -> bool {
    is_seq_book_channel(ch) || matches!(ch, b"books5" | b"bbo-tbt")
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    let shortcuts = |f: &[u8], o: &mut Batch| books(f, o).or_else(|| trade(f, o)).or_else(|| ticker(f, o));
    shortcut_or(frame, out, shortcuts, general)
}

/// A book frame written the way OKX writes every one: compact, keys in OKX's order
/// (`{"arg":{"channel","instId"},"action","data":[{"asks","bids","ts","checksum"}]}`, then
/// `"prevSeqId","seqId"` where the channel sends them), nothing escaped. The keys are matched as
/// literals instead of read one by one and compared, as Binance's `depth_update` does. `None` as
/// soon as the text differs from that shape in any way, valid or not: `general` then reads the
/// frame from the start, so both accept, refuse and produce exactly the same
/// (`books_shortcut_matches_the_general_grammar`). The checksum and sequence fields are optional
/// and data objects may follow one another, as the general grammar allows: a frame that has its
/// levels read and then leaves the shape costs them twice.
#[inline]
fn books(f: &[u8], out: &mut Batch) -> Option<()> {
    let mut c = Cur::new(f);
    if !lit(&mut c, b"{\"arg\":{\"channel\":\"") {
        return None;
    }
    let channel = symbol(&mut c)?;
    if !is_book_channel(channel) || !lit(&mut c, b"\",\"instId\":\"") {
        return None;
    }
    let inst = symbol(&mut c)?;
    let snapshot = if lit(&mut c, b"\"},\"action\":\"update\",\"data\":[") {
        false
    } else if lit(&mut c, b"\"},\"action\":\"snapshot\",\"data\":[") {
        true
    } else {
        return None;
    };
    loop {
        if !lit(&mut c, b"{\"asks\":") {
            return None;
        }
        let mut m = out.begin();
        side(&mut c, out, true).ok()?;
        if !lit(&mut c, b",\"bids\":") {
            return None;
        }
        side(&mut c, out, false).ok()?;
        // The timestamp is skipped by the general grammar too: any string without an escape.
        if !lit(&mut c, b",\"ts\":\"") {
            return None;
        }
        plain(&mut c)?;
        c.i += 1;
        if lit(&mut c, b",\"checksum\":") {
            m.checksum = sent_checksum(signed(&mut c)?);
        }
        let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
        if lit(&mut c, b",\"prevSeqId\":") {
            prev = signed(&mut c)?;
            if !lit(&mut c, b",\"seqId\":") {
                return None;
            }
            seq = signed(&mut c)?;
        }
        if !lit(&mut c, b"}") {
            return None;
        }
        m.seq = SeqInfo { first: seq, last: seq, prev };
        m.sym = span(f, inst);
        m.snapshot = snapshot;
        out.end_msg(m);
        if !lit(&mut c, b",") {
            break;
        }
    }
    (&f[c.i..] == b"]}").then_some(())
}

/// A frame of `channel` opening as OKX writes one (`{"arg":{"channel":…,"instId":…`): the cursor
/// on the closing quote of the instrument, and the instrument.
#[inline(always)]
fn channel_frame<'a>(f: &'a [u8], channel: &[u8]) -> Option<(Cur<'a>, &'a [u8])> {
    let mut c = Cur::new(f);
    if !(lit(&mut c, b"{\"arg\":{\"channel\":\"") && lit(&mut c, channel) && lit(&mut c, b"\",\"instId\":\""))
    {
        return None;
    }
    let inst = symbol(&mut c)?;
    Some((c, inst))
}

/// A trades frame of one trade as OKX writes it, read like `books` reads a book frame (a quarter
/// of the capture's frames are trades).
#[inline]
fn trade(f: &[u8], out: &mut Batch) -> Option<()> {
    let (mut c, inst) = channel_frame(f, b"trades")?;
    let mut field = |key: &[u8]| lit(&mut c, key).then(|| plain(&mut c)).flatten();
    field(b"\"},\"data\":[{\"instId\":\"")?;
    let id = trade_id(field(b"\",\"tradeId\":\"")?);
    // Parsed from the whole string, as the general grammar's `opt_dec` parses it.
    let px = parse_dec(field(b"\",\"px\":\"")?).ok()?;
    let sz = parse_dec(field(b"\",\"sz\":\"")?).ok()?;
    // Neither buy nor sell: the general grammar refuses it.
    let sell = taker_sold(field(b"\",\"side\":\"")?, b"buy", b"sell").ok()?;
    field(b"\",\"ts\":\"")?;
    if &f[c.i..] != b"\"}]}" {
        return None;
    }
    out.clear();
    out.add_trade(TradeItem { sym: span(f, inst), px, qty: sz, buyer_maker: sell, id });
    Some(())
}

/// Keys of a data object that the general grammar reads rather than skips (`data`): a ticker
/// holding one of them after its touch is left to it.
const READ_KEYS: [&[u8]; 12] = [
    b"bids",
    b"asks",
    b"checksum",
    b"seqId",
    b"prevSeqId",
    b"bidPx",
    b"bidSz",
    b"askPx",
    b"askSz",
    b"px",
    b"sz",
    b"side",
];

/// A tickers frame of one instrument as OKX writes it (`instType, instId, last, lastSz, askPx,
/// askSz, bidPx, bidSz`, then more strings it does not read, `ts` among them), read like `trade`
/// (a ticker through the general grammar cost twice a trade on the capture).
#[inline]
fn ticker(f: &[u8], out: &mut Batch) -> Option<()> {
    let (mut c, inst) = channel_frame(f, b"tickers")?;
    let mut field = |key: &[u8]| lit(&mut c, key).then(|| plain(&mut c)).flatten();
    field(b"\"},\"data\":[{\"instType\":\"")?;
    field(b"\",\"instId\":\"")?;
    field(b"\",\"last\":\"")?;
    field(b"\",\"lastSz\":\"")?;
    // Parsed from the whole string, an empty one being none, as the general grammar's `opt_dec`.
    let mut num = |key: &[u8]| {
        let t = field(key)?;
        if t.is_empty() {
            return Some(None);
        }
        parse_dec(t).ok().map(Some)
    };
    let ask = num(b"\",\"askPx\":\"")?;
    let ask_qty = num(b"\",\"askSz\":\"")?;
    let bid = num(b"\",\"bidPx\":\"")?;
    let bid_qty = num(b"\",\"bidSz\":\"")?;
    while !lit(&mut c, b"\"}]}") {
        if !lit(&mut c, b"\",\"") {
            return None;
        }
        let key = plain(&mut c)?;
        if READ_KEYS.contains(&key) || !lit(&mut c, b"\":\"") {
            return None;
        }
        plain(&mut c)?;
    }
    if c.i != f.len() {
        return None;
    }
    out.clear();
    out.quote.sym = span(f, inst);
    if let (Some(b), Some(bq), Some(a), Some(aq)) = (bid, bid_qty, ask, ask_qty) {
        out.kind = FrameKind::Bbo;
        let q = &mut out.quote;
        (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty) = (b, bq, a, aq);
    }
    Some(())
}

/// The checksum a book message carries, if any. OKX deprecated it on 2026-06-23: the field is still
/// written, always 0, and the book's integrity is its seqId/prevSeqId chain's. A 0 is therefore no
/// checksum (checked, it would fail every update and resync the book for ever); a real CRC32 of 0,
/// one in 2^32, goes unchecked once.
#[inline]
fn sent_checksum(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

/// `digits` with an optional minus sign (checksums are signed; a snapshot's prevSeqId is -1).
#[inline(always)]
fn signed(c: &mut Cur<'_>) -> Option<i64> {
    let neg = lit(c, b"-");
    let v = digits(c)?;
    Some(if neg { -v } else { v })
}

/// One side's levels, for the shortcut and the general grammar alike: each call of `Cur::levels`
/// inlines its own 26 KB copy of the level loop, and two copies crowd the instruction cache.
#[inline(never)]
fn side(c: &mut Cur<'_>, out: &mut Batch, ask: bool) -> Result<()> {
    c.levels(|p, q| out.push(ask, p, q))
}

fn general(frame: &[u8], out: &mut Batch) -> Result<()> {
    if frame == b"pong" {
        out.kind = FrameKind::Heartbeat;
        return Ok(());
    }
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut channel, mut inst, mut action): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let mut event: Option<&[u8]> = None;
    // A REST answer's `code` ("0": success), and whether the frame has an `op` (an order's answer).
    let (mut code, mut op): (Option<&[u8]>, bool) = (None, false);
    let mut tick = Tick::default();
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"arg" => {
                c.obj()?;
                let mut f = true;
                while let Some(k) = c.key(&mut f)? {
                    match k {
                        b"channel" => channel = c.string()?,
                        b"instId" => inst = c.string()?,
                        _ => c.skip()?,
                    }
                }
            }
            b"action" => action = c.string()?,
            b"event" => event = Some(c.string()?),
            b"code" if c.peek()? == b'"' => code = Some(c.string()?),
            b"op" => {
                op = true;
                c.skip()?
            }
            b"data" => data(&mut c, out, &mut tick)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if let Some(ev) = event {
        out.clear();
        out.kind = FrameKind::Control;
        // A book's (re)subscription confirmed: its next message shows whether OKX still pushes a
        // snapshot (`Book::subscribed`). Only the channels chained by prevSeqId.
        if ev == b"subscribe" && is_seq_book_channel(channel) && !inst.is_empty() {
            out.subscribed = span(frame, inst);
        }
        return Ok(());
    }
    if channel.is_empty() && !op {
        if let Some(code) = code {
            return rest_book(code, out);
        }
    }
    if !is_book_channel(channel) {
        // A trade without price, size or side refuses the frame, as every venue's does
        // (`Last::check_trade`); other channels' objects carry no trade.
        if channel == b"trades" && tick.incomplete {
            return Err(JsonError::Shape("trade without price, size or side"));
        }
        out.clear_but_trades();
        let sym = span(frame, inst);
        out.quote.sym = sym;
        match (channel, tick.bbo) {
            (b"tickers", [Some(b), Some(bq), Some(a), Some(aq)]) => {
                out.trades.clear();
                out.kind = FrameKind::Bbo;
                let q = &mut out.quote;
                (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty) = (b, bq, a, aq);
            }
            // Several trades in one frame: one event each, oldest first. OKX does not say in which
            // order a push lists them, but its tradeIds grow with every match of an instrument ("if
            // `tradeId` = 123 and `count` = 3, it means the message aggregates the trades of
            // `tradeId` = 123, 122, and 121", docs-v5 WS / Trades channel): tradeId order.
            (b"trades", _) if !out.trades.is_empty() => {
                oldest_first_by_id(frame, &mut out.trades);
                out.end_trades(Some(sym))
            }
            _ => {
                out.trades.clear();
                out.kind = FrameKind::Other
            }
        }
        return Ok(());
    }
    // books5 / bbo-tbt carry no action: every message is a full snapshot.
    let snapshot = action != b"update";
    let sym = span(frame, inst);
    for m in &mut out.msgs {
        m.sym = sym;
        m.snapshot = snapshot;
    }
    Ok(())
}

/// The answer of `GET /api/v5/market/books` (`{"code":"0","msg":"","data":[{"asks","bids","ts",
/// "seqId"}]}`), read by `data` like a pushed book's objects: one snapshot at its `seqId`, which
/// OKX's procedure aligns the stream's updates with. Refused when OKX answered an error (`code`
/// not "0"), or without a `seqId` (nothing to align the buffered updates with: every one would
/// apply to it, stale ones included).
fn rest_book(code: &[u8], out: &mut Batch) -> Result<()> {
    if code != b"0" {
        return Err(JsonError::Shape("OKX REST answer with an error code"));
    }
    let [m] = &mut out.msgs[..] else {
        return Err(JsonError::Shape("OKX REST book answer without exactly one book"));
    };
    if m.seq.last == NO_SEQ {
        return Err(JsonError::Shape("OKX REST book without seqId"));
    }
    m.snapshot = true;
    m.seq.prev = NO_SEQ;
    out.trades.clear();
    out.kind = FrameKind::Book;
    Ok(())
}

fn data(c: &mut Cur<'_>, out: &mut Batch, t: &mut Tick) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let mut m = out.begin();
        let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
        (t.px, t.sz, t.sell, t.id) = (None, None, None, None);
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            match k {
                b"bids" | b"asks" => side(c, out, k == b"asks")?,
                b"checksum" => m.checksum = sent_checksum(c.int()?),
                b"seqId" => seq = c.int()?,
                b"prevSeqId" => prev = c.int()?,
                b"bidPx" => t.bbo[0] = opt_dec(c)?,
                b"bidSz" => t.bbo[1] = opt_dec(c)?,
                b"askPx" => t.bbo[2] = opt_dec(c)?,
                b"askSz" => t.bbo[3] = opt_dec(c)?,
                b"px" => t.px = opt_dec(c)?,
                b"sz" => t.sz = opt_dec(c)?,
                // The taker's side: a sell means the buyer was the maker.
                b"side" => t.sell = Some(taker_sold(c.string()?, b"buy", b"sell")?),
                b"tradeId" => t.id = read_trade_id(c)?,
                _ => c.skip()?,
            }
        }
        if let (Some(px), Some(qty), Some(sell)) = (t.px, t.sz, t.sell) {
            out.trades.push(TradeItem { sym: (0, 0), px, qty, buyer_maker: sell, id: t.id });
        } else {
            t.incomplete = true;
        }
        // A snapshot's prevSeqId is -1; the rule only looks at `prev` for updates.
        m.seq = SeqInfo { first: seq, last: seq, prev };
        out.end_msg(m);
    }
    Ok(())
}

#[cfg(test)]
#[path = "okx_tests.rs"]
mod tests;
