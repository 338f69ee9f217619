//! Kraken WebSocket v1 (`[chanId, {"as"/"bs"} | {"a"}[, {"b", "c"}], "book-N", "PAIR"]` arrays,
//! event objects) and v2 (`{"channel":"book","type":…,"data":[{symbol,bids,asks,checksum}]}` with
//! JSON numbers). Both are told apart per frame.

use super::{span, Batch, FrameKind};
use crate::codec::json::{parse_u64, Cur, JsonError, Result};

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
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
            _ => c.skip()?,
        }
    }
    c.end()?;
    let (channel, pair) = (strings[0], strings[1]);
    if !channel.starts_with(b"book") || !any_book || nstr != 2 {
        out.clear();
        out.kind = if channel == b"trade" { FrameKind::Trade } else { FrameKind::Other };
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

fn object(frame: &[u8], c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.obj()?;
    let (mut channel, mut typ, mut event): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let mut control = false;
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
            b"data" if c.peek()? == b'[' => data(frame, c, out)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if channel == b"book" && !control {
        let snapshot = typ == b"snapshot";
        for m in &mut out.msgs {
            m.snapshot = snapshot;
        }
        return Ok(());
    }
    out.clear();
    out.kind = if event == b"heartbeat" || channel == b"heartbeat" {
        FrameKind::Heartbeat
    } else if channel == b"trade" {
        FrameKind::Trade
    } else if control || !event.is_empty() || channel == b"status" {
        FrameKind::Control
    } else {
        FrameKind::Other
    };
    Ok(())
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
                b"bids" => c.obj_levels(b"price", b"qty", |p, q| out.push(false, p, q))?,
                b"asks" => c.obj_levels(b"price", b"qty", |p, q| out.push(true, p, q))?,
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
