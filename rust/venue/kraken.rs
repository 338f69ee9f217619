//! Kraken WebSocket v1 (`[chanId, {"as"/"bs"} | {"a"}[, {"b", "c"}], "book-N", "PAIR"]` arrays,
//! event objects) and v2 (`{"channel":"book","type":…,"data":[{symbol,bids,asks,checksum}]}` with
//! JSON numbers). Both are told apart per frame.

use super::event::{id, items, oldest_first_by_id, taker_sold, Last};
use super::literal::{digits, lit, plain, shortcut_or, symbol};
use super::{span, Batch, Decoder, FrameKind, VenueSpec};
use crate::book::checksum::ChecksumKind;
use crate::codec::json::{parse_u64, Cur, JsonError, Result};

/// No sequence numbers: CRC32 checksums of the top 10 catch a lost update; resync by
/// resubscribing. The book is kept at the subscribed depth: v1 frames name it ("book-25"), v2
/// frames do not, so the default is Kraken's default subscription, 10.
pub const SPEC: VenueSpec = VenueSpec {
    checksum: ChecksumKind::Kraken,
    max_depth: 10,
    depth_from_frames: true,
    ..VenueSpec::base("kraken", Decoder::Json(decode))
};

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    shortcut_or(frame, out, v2_book, general)
}

/// A v2 book frame written the way Kraken writes every one: compact, keys in Kraken's order
/// (`{"channel":"book","type","data":[{"symbol","bids","asks","checksum"[,"timestamp"]}]}`),
/// the checksum bare, nothing escaped. The keys are matched as literals, as OKX's `books` does;
/// any other text, valid or not, makes it give up, and `general` reads the frame from the start,
/// so both accept, refuse and produce the same (`kraken_tests.rs`). Reading the header key by key
/// (and checking the skipped timestamp as JSON) was a fifth of a simulator frame.
#[inline]
fn v2_book(f: &[u8], out: &mut Batch) -> Option<()> {
    let mut c = Cur::new(f);
    if !lit(&mut c, b"{\"channel\":\"book\",\"type\":\"") {
        return None;
    }
    let snapshot = if lit(&mut c, b"update\",\"data\":[") {
        false
    } else if lit(&mut c, b"snapshot\",\"data\":[") {
        true
    } else {
        return None;
    };
    loop {
        if !lit(&mut c, b"{\"symbol\":\"") {
            return None;
        }
        let sym = symbol(&mut c)?;
        let mut m = out.begin();
        if !lit(&mut c, b"\",\"bids\":") {
            return None;
        }
        v2_side(&mut c, out, false).ok()?;
        if !lit(&mut c, b",\"asks\":") {
            return None;
        }
        v2_side(&mut c, out, true).ok()?;
        if !lit(&mut c, b",\"checksum\":") {
            return None;
        }
        m.checksum = Some(digits(&mut c)?);
        if lit(&mut c, b",\"timestamp\":\"") {
            plain(&mut c)?;
            c.i += 1;
        }
        if !lit(&mut c, b"}") {
            return None;
        }
        m.sym = span(f, sym);
        m.snapshot = snapshot;
        out.end_msg(m);
        if !lit(&mut c, b",") {
            break;
        }
    }
    (&f[c.i..] == b"]}").then_some(())
}

/// One side's v2 levels, for the shortcut and the general grammar alike (one copy of the level
/// loop, not one inlined per call).
#[inline(never)]
fn v2_side(c: &mut Cur<'_>, out: &mut Batch, ask: bool) -> Result<()> {
    c.obj_levels(b"price", b"qty", |p, q| out.push(ask, p, q))
}

fn general(frame: &[u8], out: &mut Batch) -> Result<()> {
    let mut c = Cur::new(frame);
    if c.peek()? == b'[' {
        v1_array(frame, &mut c, out)
    } else {
        object(frame, &mut c, out)
    }
}

fn v1_array(frame: &[u8], c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut m = out.begin();
    let mut first = true;
    let mut strings: [&[u8]; 2] = [b"", b""];
    let mut nstr = 0;
    let mut snapshot = false;
    let mut any_book = false;
    let mut trades_at = None;
    while c.item(&mut first)? {
        match c.peek()? {
            b'{' => {
                c.obj()?;
                let mut f = true;
                while let Some(k) = c.key(&mut f)? {
                    match k {
                        // A ticker's "a"/"b" are flat arrays: only arrays of arrays are levels.
                        b"as" | b"bs" | b"a" | b"b" if c.is_array_of_arrays()? => {
                            any_book = true;
                            snapshot |= k.len() == 2;
                            let ask = k[0] == b'a';
                            c.levels(|p, q| out.push(ask, p, q))?;
                        }
                        b"c" if c.peek()? == b'"' => {
                            let t = c.string()?;
                            let v = parse_u64(t).ok_or(JsonError::Shape("bad Kraken checksum"))?;
                            m.checksum = Some(v as i64);
                        }
                        _ => c.skip()?,
                    }
                }
            }
            b'"' => {
                let s = c.string()?;
                if nstr < 2 {
                    strings[nstr] = s;
                }
                nstr += 1;
            }
            b'[' => {
                trades_at = Some(c.i);
                c.skip()?
            }
            _ => c.skip()?,
        }
    }
    c.end()?;
    let (channel, pair) = (strings[0], strings[1]);
    if !channel.starts_with(b"book") || !any_book || nstr != 2 {
        if channel == b"trade" && nstr == 2 {
            if let Some(at) = trades_at {
                v1_trades(&mut Cur { b: frame, i: at }, pair, out)?;
            }
            out.end_trades(None);
        } else {
            out.clear();
            out.kind = FrameKind::Other;
        }
        return Ok(());
    }
    m.snapshot = snapshot;
    m.sym = span(frame, pair);
    m.depth = channel
        .strip_prefix(b"book-")
        .and_then(crate::codec::json::parse_int)
        .map_or(0, |d| d.clamp(0, u32::MAX as i64) as u32);
    out.end_msg(m);
    Ok(())
}

/// v1 `[[price, volume, time, side, orderType, misc], …]`, strings; side `b`/`s` is the taker's.
/// v1 writes no trade id. Listed oldest first (the documented example and every batched message of
/// cryptofeed's live capture are in time order), so taken as listed.
fn v1_trades<'a>(c: &mut Cur<'a>, pair: &'a [u8], out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.arr()?;
        let mut t = Last { sym: pair, ..Last::default() };
        let mut f = true;
        let mut n = 0;
        while c.item(&mut f)? {
            match n {
                0 => t.px = Some(c.dec()?),
                1 => t.qty = Some(c.dec()?),
                3 => t.buyer_maker = Some(taker_sold(c.string()?, b"b", b"s")?),
                _ => c.skip()?,
            }
            n += 1;
        }
        t.check_trade()?;
        out.trades.extend(t.item(c.b));
    }
    Ok(())
}

fn object<'a>(frame: &'a [u8], c: &mut Cur<'a>, out: &mut Batch) -> Result<()> {
    c.obj()?;
    let (mut channel, mut typ, mut event): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let mut control = false;
    let mut last = Last::default();
    // Where "data" starts when it came before "channel" (parsed once the channel is known).
    let mut later = None;
    let mut first = true;
    while let Some(k) = c.key(&mut first)? {
        match k {
            b"channel" => channel = c.string()?,
            b"type" => typ = c.string()?,
            b"event" => event = c.string()?,
            b"method" => {
                control = true;
                c.skip()?
            }
            b"data" if c.peek()? == b'[' && channel.is_empty() => {
                later = Some(c.i);
                c.skip()?
            }
            b"data" if c.peek()? == b'[' => body(frame, channel, c, out, &mut last)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if let Some(at) = later {
        body(frame, channel, &mut Cur { b: frame, i: at }, out, &mut last)?;
    }
    if control {
        out.clear();
        out.kind = FrameKind::Control;
        return Ok(());
    }
    match channel {
        b"book" => {
            let snapshot = typ == b"snapshot";
            for m in &mut out.msgs {
                m.snapshot = snapshot;
            }
            return Ok(());
        }
        b"trade" => {
            // The v2 docs do not say in which order a message lists several trades, but `trade_id`
            // "is a sequence number, unique per book": trade_id order per symbol.
            oldest_first_by_id(frame, &mut out.trades);
            out.end_trades(None);
            return Ok(());
        }
        b"ticker" if last.bbo(frame, out) => return Ok(()),
        _ => {}
    }
    out.clear();
    out.kind = if event == b"heartbeat" || channel == b"heartbeat" {
        FrameKind::Heartbeat
    } else if !event.is_empty() || channel == b"status" {
        FrameKind::Control
    } else {
        FrameKind::Other
    };
    Ok(())
}

/// The `data` array of a v2 channel message.
fn body<'a>(
    frame: &[u8],
    channel: &[u8],
    c: &mut Cur<'a>,
    out: &mut Batch,
    last: &mut Last<'a>,
) -> Result<()> {
    match channel {
        b"book" => data(frame, c, out),
        b"trade" => trades(c, last, out),
        b"ticker" => ticker(c, last),
        _ => c.skip(),
    }
}

/// `[{"symbol","side","price","qty",…},…]` with JSON numbers; `side` is the taker's.
fn trades<'a>(c: &mut Cur<'a>, last: &mut Last<'a>, out: &mut Batch) -> Result<()> {
    items(c, last, Some(out), |k, c, t| {
        match k {
            b"symbol" => t.sym = c.string()?,
            b"trade_id" => t.id = id(c)?,
            b"price" => t.px = Some(c.dec()?),
            b"qty" => t.qty = Some(c.dec()?),
            b"side" => t.buyer_maker = Some(taker_sold(c.string()?, b"buy", b"sell")?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

/// `[{"symbol","bid","bid_qty","ask","ask_qty",…}]` (one element, per the v2 docs).
fn ticker<'a>(c: &mut Cur<'a>, last: &mut Last<'a>) -> Result<()> {
    items(c, last, None, |k, c, t| {
        match k {
            b"symbol" => t.sym = c.string()?,
            b"bid" => t.bbo[0] = Some(c.dec()?),
            b"bid_qty" => t.bbo[1] = Some(c.dec()?),
            b"ask" => t.bbo[2] = Some(c.dec()?),
            b"ask_qty" => t.bbo[3] = Some(c.dec()?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn data(frame: &[u8], c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        if c.peek()? != b'{' {
            c.skip()?;
            continue;
        }
        c.obj()?;
        let mut m = out.begin();
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            match k {
                b"symbol" => m.sym = span(frame, c.string()?),
                b"bids" | b"asks" => v2_side(c, out, k == b"asks")?,
                b"checksum" => {
                    let v = parse_u64(c.num_text()?).ok_or(JsonError::Shape("bad Kraken checksum"))?;
                    m.checksum = Some(v as i64);
                }
                _ => c.skip()?,
            }
        }
        out.end_msg(m);
    }
    Ok(())
}

#[cfg(test)]
#[path = "kraken_tests.rs"]
mod tests;
