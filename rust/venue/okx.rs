//! OKX v5 public JSON: `books`/`books5`/`books-l2-tbt`/`books50-l2-tbt`/`bbo-tbt` snapshots and
//! updates (checksum, seqId/prevSeqId), subscription events, the text `pong`.

use super::{span, Batch, FrameKind};
use crate::book::sync::{SeqInfo, NO_SEQ};
use crate::codec::json::{Cur, Result};

fn is_book_channel(ch: &[u8]) -> bool {
    matches!(ch, b"books" | b"books5" | b"books-l2-tbt" | b"books50-l2-tbt" | b"bbo-tbt" | b"books-elp")
}

pub fn decode(frame: &[u8], out: &mut Batch) -> Result<()> {
    if frame == b"pong" {
        out.kind = FrameKind::Heartbeat;
        return Ok(());
    }
    let mut c = Cur::new(frame);
    c.obj()?;
    let (mut channel, mut inst, mut action): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let mut event = false;
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
            b"event" => {
                event = true;
                c.skip()?
            }
            b"data" => data(&mut c, out)?,
            _ => c.skip()?,
        }
    }
    c.end()?;
    if event {
        out.clear();
        out.kind = FrameKind::Control;
        return Ok(());
    }
    if !is_book_channel(channel) {
        out.clear();
        out.kind = if channel == b"trades" { FrameKind::Trade } else { FrameKind::Other };
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

fn data(c: &mut Cur<'_>, out: &mut Batch) -> Result<()> {
    c.arr()?;
    let mut fi = true;
    while c.item(&mut fi)? {
        c.obj()?;
        let mut m = out.begin();
        let (mut seq, mut prev) = (NO_SEQ, NO_SEQ);
        let mut f = true;
        while let Some(k) = c.key(&mut f)? {
            match k {
                b"bids" => c.levels(|p, q| out.push(false, p, q))?,
                b"asks" => c.levels(|p, q| out.push(true, p, q))?,
                b"checksum" => m.checksum = Some(c.int()?),
                b"seqId" => seq = c.int()?,
                b"prevSeqId" => prev = c.int()?,
                _ => c.skip()?,
            }
        }
        // A snapshot's prevSeqId is -1; the rule only looks at `prev` for updates.
        m.seq = SeqInfo { first: seq, last: seq, prev };
        out.end_msg(m);
    }
    Ok(())
}
