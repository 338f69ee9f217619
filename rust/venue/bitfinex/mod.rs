//! Bitfinex WebSocket v2 (venues.md §7). Data frames are arrays that name a channel only by its
//! number, `[chanId, …]`, so the grammar needs the `subscribed` events seen earlier on the same
//! connection: `Channels` keeps them (a handful per connection, searched linearly).
//!
//! Book (P0–P4): snapshot `[chan, [[price, count, amount], …]]`, update `[chan, [price, count, amount]]`
//! (amount > 0 bid, < 0 ask; count 0 deletes), checksum `[chan, "cs", n]` (after `conf` flag 131072),
//! heartbeat `[chan, "hb"]`. Trades: `[chan, "te", [id, mts, amount, price]]`. Ticker:
//! `[chan, [bid, bid_size, ask, ask_size, …]]`. Fields appended by the sequence/timestamp flags are
//! ignored: with checksums on, a lost update shows at the next checksum.

use super::{Batch, Decoder, FrameKind, Msg, TradeItem, VenueSpec};
use crate::book::checksum::ChecksumKind;
use crate::book::num::Dec;
use crate::codec::json::{parse_int, Cur, JsonError, Result};

/// Book channels carry no sequence: the checksum after every update (`conf` flag 131072) catches a
/// lost one. The venue keeps a book at its subscribed `len` (25 unless asked otherwise).
pub const SPEC: VenueSpec = VenueSpec {
    checksum: ChecksumKind::Bitfinex,
    max_depth: 25,
    depth_from_frames: true,
    // One level per message: a new best bid may arrive before the ask it crosses is removed, so
    // crossing is normal between messages; the checksums catch real errors.
    check_crossed: false,
    ..VenueSpec::base("bitfinex", Decoder::Channels { frames: decode, stateless: decode_without_channels })
};

/// A frame read without the connection's `subscribed` events: only control frames decode.
fn decode_without_channels(frame: &[u8], out: &mut Batch) -> Result<()> {
    decode(frame, out, &mut Channels::default()).map(|_| ())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChanKind {
    Book,
    Trades,
    Ticker,
    Other,
}

#[derive(Debug)]
struct Chan {
    id: i64,
    kind: ChanKind,
    symbol: Box<[u8]>,
    /// Subscribed `len`: the venue keeps the book at this depth.
    depth: u32,
}

/// The channels subscribed on one connection.
#[derive(Debug, Default)]
pub struct Channels {
    v: Vec<Chan>,
}

impl Channels {
    fn find(&self, id: i64) -> Option<usize> {
        self.v.iter().position(|c| c.id == id)
    }

    /// Symbol and subscribed depth (0 if unknown) of channel slot `i`.
    pub fn book(&self, i: usize) -> (&[u8], u32) {
        let c = &self.v[i];
        (&c.symbol, c.depth)
    }

    /// A new connection numbers its channels afresh.
    pub fn clear(&mut self) {
        self.v.clear();
    }
}

/// Decodes one frame. `Ok(Some(i))`: a data frame of channel slot `i`, whose symbol names the
/// batch's book messages and quote.
pub fn decode(frame: &[u8], out: &mut Batch, chans: &mut Channels) -> Result<Option<usize>> {
    let mut c = Cur::new(frame);
    if c.peek()? == b'{' {
        event(&mut c, out, chans)?;
        return Ok(None);
    }
    c.arr()?;
    let id = c.int()?;
    let slot =
        chans.find(id).ok_or(JsonError::Shape("Bitfinex data on a channel with no subscribed event"))?;
    let kind = chans.v[slot].kind;
    if kind == ChanKind::Book {
        // A book frame refused from here on names its book: it lacks the update (a checksum would
        // show it only at the next one, if the venue sends any).
        out.hint_chan = Some(slot as u32);
    }
    c.eat(b',', "','")?;
    match c.peek()? {
        b'"' => match (c.string()?, kind) {
            (b"hb", _) => out.kind = FrameKind::Heartbeat,
            (b"cs", ChanKind::Book) => {
                c.eat(b',', "','")?;
                let m = Msg { checksum: Some(c.int()?), ..out.begin() };
                out.end_msg(m);
            }
            // One trade a message, so no order within one to get right (the snapshot, newest first
            // in cryptofeed's capture, is skipped below).
            (b"te", ChanKind::Trades) => {
                c.eat(b',', "','")?;
                trade(&mut c, out)?;
            }
            // "tu" repeats a "te" trade with its id: reporting it again would count the trade twice.
            (b"tu", ChanKind::Trades) => {}
            _ => return Err(JsonError::Shape("unexpected Bitfinex message tag")),
        },
        b'[' => match kind {
            ChanKind::Book => book(&mut c, out)?,
            ChanKind::Ticker => ticker(&mut c, out)?,
            // Trade snapshots are history, not new trades.
            ChanKind::Trades | ChanKind::Other => c.skip()?,
        },
        _ => return Err(JsonError::Shape("unexpected Bitfinex message")),
    }
    c.skip_rest()?;
    c.end()?;
    Ok(Some(slot))
}

fn event(c: &mut Cur<'_>, out: &mut Batch, chans: &mut Channels) -> Result<()> {
    c.obj()?;
    let (mut event, mut channel, mut symbol, mut prec): (&[u8], &[u8], &[u8], &[u8]) = (b"", b"", b"", b"");
    let (mut id, mut len) = (None, 0u32);
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"event" => event = c.string()?,
            b"channel" => channel = c.string()?,
            b"symbol" => symbol = c.string()?,
            b"prec" => prec = c.string()?,
            b"chanId" => id = Some(c.int()?),
            b"len" => len = c.num_text().map(parse_int)?.map_or(0, |n| n.clamp(0, u32::MAX as i64) as u32),
            _ => c.skip()?,
        }
    }
    c.end()?;
    out.kind = match event {
        b"pong" => FrameKind::Heartbeat,
        b"" => FrameKind::Other,
        _ => FrameKind::Control,
    };
    match (event, id) {
        (b"subscribed", Some(id)) => {
            // Raw books (R0) list orders, not price levels: not an L2 book.
            let kind = match channel {
                b"book" if prec != b"R0" => ChanKind::Book,
                b"trades" => ChanKind::Trades,
                b"ticker" => ChanKind::Ticker,
                _ => ChanKind::Other,
            };
            let chan = Chan { id, kind, symbol: symbol.into(), depth: len };
            match chans.find(id) {
                Some(i) => chans.v[i] = chan,
                None => chans.v.push(chan),
            }
        }
        (b"unsubscribed", Some(id)) => {
            if let Some(i) = chans.find(id) {
                chans.v.swap_remove(i);
            }
        }
        _ => {}
    }
    Ok(())
}

/// `[price, count, amount]` into the batch.
fn level(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let px = c.dec()?;
    c.eat(b',', "','")?;
    let count = c.int()?;
    c.eat(b',', "','")?;
    let amount = c.dec()?;
    c.skip_rest()?;
    if amount.mant == 0 {
        return Err(JsonError::Shape("Bitfinex level with a zero amount"));
    }
    let ask = amount.mant < 0;
    let qty = if count == 0 { Dec::default() } else { Dec { mant: amount.mant.abs(), ..amount } };
    out.push(ask, px, qty);
    Ok(())
}

fn book(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    let mut m = out.begin();
    let mut look = c.clone();
    look.arr()?;
    let nested = matches!(look.peek()?, b'[' | b']');
    if nested {
        c.arr()?;
        let mut first = true;
        while c.item(&mut first)? {
            level(c, out)?;
        }
    } else {
        level(c, out)?;
    }
    m.snapshot = nested;
    out.end_msg(m);
    Ok(())
}

fn trade(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let id = u64::try_from(c.int()?).ok();
    c.eat(b',', "','")?;
    let _mts = c.int()?;
    c.eat(b',', "','")?;
    let amount = c.dec()?;
    c.eat(b',', "','")?;
    let px = c.dec()?;
    c.skip_rest()?;
    let qty = Dec { mant: amount.mant.abs(), ..amount };
    // A negative amount is a taker sell: the buyer was the resting (maker) side. The symbol is
    // the channel's (the feed names it).
    out.add_trade(TradeItem { sym: (0, 0), px, qty, buyer_maker: amount.mant < 0, id });
    Ok(())
}

fn ticker(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut v = [Dec::default(); 4];
    for (k, d) in v.iter_mut().enumerate() {
        if k > 0 {
            c.eat(b',', "','")?;
        }
        *d = c.dec()?;
    }
    c.skip_rest()?;
    out.kind = FrameKind::Bbo;
    let q = &mut out.quote;
    (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty) = (v[0], v[1], v[2], Dec { mant: v[3].mant.abs(), ..v[3] });
    Ok(())
}

#[cfg(test)]
mod tests;
