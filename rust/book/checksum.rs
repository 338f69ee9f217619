//! Venue book checksums, rebuilt from the book without allocating.
//!
//! Each venue hashes a text made of its own number strings, so a level's text is re-created from
//! its mantissa and the decimals it was written with (see `num::write_fixed`). The text is written
//! into a stack buffer of about a kilobyte and hashed a buffer at a time: CRC32 over short pieces
//! runs table by table, over a kilobyte with the carry-less multiply.

use super::num::{write_digits, write_fixed};
use super::side::{Level, Side};

/// Which checksum a venue sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumKind {
    #[default]
    None,
    /// Top 25 interleaved `bidPx:bidSz:askPx:askSz`, CRC32 as signed i32 (OKX v5).
    Okx,
    /// Top 10 asks then top 10 bids, '.' and leading zeros removed, CRC32 unsigned (Kraken v1/v2).
    Kraken,
    /// Top 25 interleaved, ask amounts negative, CRC32 signed (Bitfinex).
    Bitfinex,
}

/// How to write numbers back: the decimals as received, or a fixed instrument precision (what
/// Kraken's v2 sample client does for JSON numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fmt {
    pub price_scale: u8,
    pub qty_scale: u8,
    pub price_decimals: Option<u8>,
    pub qty_decimals: Option<u8>,
}

/// The text being hashed. Numbers are written with 16-byte stores that may run past their end,
/// so the buffer is flushed while a whole level (two numbers of at most 42 bytes, separators, the
/// stores' overrun) still fits.
struct Out {
    buf: [u8; 1024],
    n: usize,
    h: crc32fast::Hasher,
}

const LEVEL_ROOM: usize = 128;

impl Out {
    #[inline]
    fn new() -> Self {
        Out { buf: [0; 1024], n: 0, h: crc32fast::Hasher::new() }
    }

    #[inline]
    fn byte(&mut self, c: u8) {
        self.buf[self.n] = c;
        self.n += 1;
    }

    /// Makes room for one more level.
    #[inline]
    fn room(&mut self) {
        if self.n > self.buf.len() - LEVEL_ROOM {
            self.h.update(&self.buf[..self.n]);
            self.n = 0;
        }
    }

    #[inline]
    fn finish(mut self) -> u32 {
        self.h.update(&self.buf[..self.n]);
        self.h.finalize()
    }
}

/// Decimals needed to write a value without trailing zeros.
#[inline]
fn minimal(mant: i64, scale: u8) -> u8 {
    let mut m = mant;
    let mut d = scale;
    while d > 0 && m % 10 == 0 {
        m /= 10;
        d -= 1;
    }
    d
}

#[inline]
fn push_level(out: &mut Out, side: &Side, l: &Level, f: &Fmt, neg_qty: bool, minimal_text: bool) {
    let price = side.price_of(l);
    let pw = if minimal_text { minimal(price, f.price_scale) } else { f.price_decimals.unwrap_or(l.pw) };
    out.n = write_fixed(price, f.price_scale, pw, &mut out.buf, out.n);
    out.byte(b':');
    let q = if neg_qty { -l.qty } else { l.qty };
    let qw = if minimal_text { minimal(q, f.qty_scale) } else { f.qty_decimals.unwrap_or(l.qw) };
    out.n = write_fixed(q, f.qty_scale, qw, &mut out.buf, out.n);
}

fn interleaved(
    bids: &Side,
    asks: &Side,
    f: &Fmt,
    neg_asks: bool,
    minimal_text: bool,
    mut memo: Option<&mut Memo>,
) -> i32 {
    let mut out = Out::new();
    let mut bi = bids.iter().take(25);
    let mut ai = asks.iter().take(25);
    let mut first = true;
    loop {
        let b = bi.next();
        let a = ai.next();
        if b.is_none() && a.is_none() {
            break;
        }
        for (s, l, side, neg) in [(0, b, bids, false), (1, a, asks, neg_asks)] {
            if let Some(l) = l {
                out.room();
                if !first {
                    out.byte(b':');
                }
                first = false;
                let write = |out: &mut Out| push_level(out, side, l, f, neg, minimal_text);
                match memo.as_deref_mut() {
                    Some(m) => m.level(&mut out, s, l, write),
                    None => write(&mut out),
                }
            }
        }
    }
    out.finish() as i32
}

/// OKX v5 `books` checksum (signed).
pub fn okx(bids: &Side, asks: &Side, f: &Fmt) -> i32 {
    interleaved(bids, asks, f, false, false, None)
}

/// Bitfinex checksum (signed). Bitfinex numbers are JavaScript numbers, written without trailing
/// zeros and never in exponent form for this hash, which the minimal fixed text reproduces.
pub fn bitfinex(bids: &Side, asks: &Side, f: &Fmt) -> i32 {
    interleaved(bids, asks, f, true, true, None)
}

/// Kraken v1/v2 `book` checksum (unsigned).
pub fn kraken(bids: &Side, asks: &Side, f: &Fmt) -> u32 {
    kraken_memo(bids, asks, f, None)
}

fn kraken_memo(bids: &Side, asks: &Side, f: &Fmt, mut memo: Option<&mut Memo>) -> u32 {
    let mut out = Out::new();
    for (s, side) in [(1, asks), (0, bids)] {
        for l in side.iter().take(10) {
            // Removing '.' and leading zeros from the text leaves the integer value at `wrote`
            // decimals.
            out.room();
            let write = |out: &mut Out| {
                let pw = f.price_decimals.unwrap_or(l.pw);
                out.n = write_digits(side.price_of(l), f.price_scale, pw, &mut out.buf, out.n);
                out.n = write_digits(l.qty, f.qty_scale, f.qty_decimals.unwrap_or(l.qw), &mut out.buf, out.n);
            };
            match memo.as_deref_mut() {
                Some(m) => m.level(&mut out, s, l, write),
                None => write(&mut out),
            }
        }
    }
    out.finish()
}

/// Each top level's checksum text as last written, per side in order from the touch, with the
/// level it was written from. Venues send a checksum with every update, and an update changes a
/// few of the 20–50 levels hashed; a level whose text is here (same price, quantity and written
/// decimals, same format) is copied instead of formatted again (writing the numbers was half of an
/// OKX or Kraken frame). A level is looked for at its rank of last time, shifted as far as the
/// levels before it moved (an insert or a removal nearer the touch shifts every later one), then
/// one either way. Content-addressed, so it never needs invalidating: any change to a level or to
/// the format misses.
#[derive(Clone, Default)]
pub struct Memo {
    fmt: Fmt,
    sides: [SideMemo; 2],
}

#[derive(Clone, Default)]
struct SideMemo {
    /// The texts of the last checksum, and those of this one as it is written.
    last: Vec<Entry>,
    now: Vec<Entry>,
    /// How far the levels moved: the entry for rank `j` was found at `j + shift` last time.
    shift: isize,
}

/// Text longer than this (a level of more than ~30 digits) is written every time. 32: an entry
/// is one cache line, and copying it is two 16-byte moves.
const TEXT: usize = 32;

#[derive(Clone, Copy)]
struct Entry {
    level: Level,
    /// 0: nothing kept (an empty level text is kept as nothing too, and costs nothing to write).
    len: u8,
    text: [u8; TEXT],
}

impl std::fmt::Debug for Memo {
    // A cache: two books with the same levels are the same book, whatever each memo holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Memo {
    /// Starts a checksum in format `f`: texts written in another are dropped.
    #[inline]
    fn begin(&mut self, f: &Fmt) -> &mut Self {
        let other = self.fmt != *f;
        self.fmt = *f;
        for m in &mut self.sides {
            if other {
                m.last.clear();
            }
            m.now.clear();
            m.shift = 0;
        }
        self
    }

    /// Ends a checksum: its texts are the ones the next one looks in.
    #[inline]
    fn end(&mut self) {
        for m in &mut self.sides {
            std::mem::swap(&mut m.last, &mut m.now);
        }
    }

    /// Appends level `l`'s text, the next of side `s` (0 bids, 1 asks), to `out`: the kept one
    /// when there is one for `l`, else `write`'s, which is then kept.
    #[inline]
    fn level(&mut self, out: &mut Out, s: usize, l: &Level, write: impl FnOnce(&mut Out)) {
        let m = &mut self.sides[s];
        let j = m.now.len() as isize;
        for d in [m.shift, m.shift + 1, m.shift - 1] {
            let Some(e) = usize::try_from(j + d).ok().and_then(|i| m.last.get(i)) else { continue };
            if e.len > 0 && e.level == *l {
                // `room` left LEVEL_ROOM (> TEXT) bytes free: the whole array fits.
                out.buf[out.n..out.n + TEXT].copy_from_slice(&e.text);
                out.n += e.len as usize;
                m.shift = d;
                m.now.push(*e);
                return;
            }
        }
        let at = out.n;
        write(out);
        let len = out.n - at;
        let mut e = Entry { level: *l, len: 0, text: [0; TEXT] };
        if len <= TEXT {
            e.text[..len].copy_from_slice(&out.buf[at..out.n]);
            e.len = len as u8;
        }
        m.now.push(e);
    }
}

/// `compute`, copying the texts of levels unchanged since the last call from `memo`.
pub fn compute_memo(kind: ChecksumKind, bids: &Side, asks: &Side, f: &Fmt, memo: &mut Memo) -> Option<i64> {
    let m = Some(memo.begin(f));
    let r = match kind {
        ChecksumKind::None => None,
        ChecksumKind::Okx => Some(interleaved(bids, asks, f, false, false, m) as i64),
        ChecksumKind::Kraken => Some(kraken_memo(bids, asks, f, m) as i64),
        ChecksumKind::Bitfinex => Some(interleaved(bids, asks, f, true, true, m) as i64),
    };
    memo.end();
    r
}

/// The checksum of `kind` over the book, widened to i64 so signed and unsigned venues compare
/// the same way (`None` for `ChecksumKind::None`).
pub fn compute(kind: ChecksumKind, bids: &Side, asks: &Side, f: &Fmt) -> Option<i64> {
    match kind {
        ChecksumKind::None => None,
        ChecksumKind::Okx => Some(okx(bids, asks, f) as i64),
        ChecksumKind::Kraken => Some(kraken(bids, asks, f) as i64),
        ChecksumKind::Bitfinex => Some(bitfinex(bids, asks, f) as i64),
    }
}

/// Normalises a received checksum value to the same i64 domain as `compute` for `kind`: Kraken
/// sends unsigned text, OKX and Bitfinex signed integers.
pub fn normalise(kind: ChecksumKind, v: i64) -> i64 {
    match kind {
        ChecksumKind::Kraken => v as u32 as i64,
        _ => v as i32 as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::num::parse_dec;

    const S: u8 = 8;

    fn side(ask: bool, levels: &[(&str, &str)]) -> Side {
        let mut s = Side::new(ask);
        for (p, q) in levels {
            let p = parse_dec(p.as_bytes()).unwrap();
            let q = parse_dec(q.as_bytes()).unwrap();
            let key = s.key_of(p.at_scale(S).unwrap());
            s.set(key, q.at_scale(S).unwrap(), p.wrote, q.wrote);
        }
        s
    }

    fn fmt() -> Fmt {
        Fmt { price_scale: S, qty_scale: S, price_decimals: None, qty_decimals: None }
    }

    // venues.md §8 (OKX docs string, OKEx SDK value).
    #[test]
    fn okx_published_vector() {
        let b = side(false, &[("3366.1", "7"), ("3366", "6")]);
        let a = side(true, &[("3366.8", "9"), ("3368", "8")]);
        assert_eq!(crc32fast::hash(b"3366.1:7:3366.8:9:3366:6:3368:8") as i32, -1881014294);
        assert_eq!(okx(&b, &a, &fmt()), -1881014294);
    }

    // OKX doc example 2: one side runs out, the other continues.
    #[test]
    fn okx_uneven_sides_string() {
        let b = side(false, &[("3366.1", "7")]);
        let a = side(true, &[("3366.8", "9"), ("3368", "8"), ("3372", "8")]);
        assert_eq!(okx(&b, &a, &fmt()), crc32fast::hash(b"3366.1:7:3366.8:9:3368:8:3372:8") as i32);
    }

    // venues.md §8.
    #[test]
    fn bitfinex_published_vector() {
        let b = side(false, &[("6000", "1"), ("5900", "2")]);
        let a = side(true, &[("6100", "3"), ("6200", "4")]);
        assert_eq!(bitfinex(&b, &a, &fmt()), 1756193398);
    }

    // Kraken "Book checksum (WebSocket v2)" guide, full top-10 worked example.
    #[test]
    fn kraken_v2_guide_vector() {
        let b = side(
            false,
            &[
                ("45283.5", "0.10000000"),
                ("45283.4", "1.54582015"),
                ("45282.1", "0.10000000"),
                ("45281.0", "0.10000000"),
                ("45280.3", "1.54592586"),
                ("45279.0", "0.07990000"),
                ("45277.6", "0.03310103"),
                ("45277.5", "0.30000000"),
                ("45277.3", "1.54602737"),
                ("45276.6", "0.15445238"),
            ],
        );
        let a = side(
            true,
            &[
                ("45285.2", "0.00100000"),
                ("45286.4", "1.54571953"),
                ("45286.6", "1.54571109"),
                ("45289.6", "1.54560911"),
                ("45290.2", "0.15890660"),
                ("45291.8", "1.54553491"),
                ("45294.7", "0.04454749"),
                ("45296.1", "0.35380000"),
                ("45297.5", "0.09945542"),
                ("45299.5", "0.18772827"),
            ],
        );
        assert_eq!(kraken(&b, &a, &fmt()), 3310070434);
    }

    // Kraken "Book checksum (WebSocket v1)" guide example.
    #[test]
    fn kraken_v1_guide_vector() {
        let asks: Vec<(String, &str)> =
            (0..10).map(|i| (format!("0.0{}", 5005 + 5 * i), "0.00000500")).collect();
        let bids = [
            "0.05000", "0.04995", "0.04990", "0.04980", "0.04975", "0.04970", "0.04965", "0.04960",
            "0.04955", "0.04950",
        ];
        let a = side(true, &asks.iter().map(|(p, q)| (p.as_str(), *q)).collect::<Vec<_>>());
        let b = side(false, &bids.iter().map(|p| (*p, "0.00000500")).collect::<Vec<_>>());
        assert_eq!(kraken(&b, &a, &fmt()), 974947235);
    }

    #[test]
    fn kraken_precision_override_writes_fixed_decimals() {
        // "1.7e-05" written with qty precision 8 is "0.00001700" -> "1700".
        let b = side(false, &[("1.5", "1.7e-05")]);
        let a = Side::new(true);
        let f = Fmt { price_decimals: Some(1), qty_decimals: Some(8), ..fmt() };
        assert_eq!(kraken(&b, &a, &f), crc32fast::hash(b"151700"));
        assert_eq!(kraken(&b, &a, &fmt()), crc32fast::hash(b"1517"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        // The memo never changes a checksum: after every change of a random walk (levels set and
        // removed at and behind the touch, written decimals changing, the format changing now and
        // then), each venue's checksum with the memo equals the one written from scratch.
        #[test]
        fn memo_checksums_equal_fresh_ones(
            ops in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), 0i64..40, 0i64..4, 0u8..3, 0u8..10), 1..120),
        ) {
            let (mut bids, mut asks) = (Side::new(false), Side::new(true));
            let mut memos = [Memo::default(), Memo::default(), Memo::default()];
            for (k, &(ask, at, qty, pw, fmt_pick)) in ops.iter().enumerate() {
                // Prices 1000.00 +- 0.40 in steps of 0.01 at scale 8; quantities 0..3 (0 removes).
                let side = if ask { &mut asks } else { &mut bids };
                let px = if ask { 100_000 + at } else { 100_000 - 1 - at } * 1_000_000;
                side.set(side.key_of(px), qty * 12_500_000, 2 + pw, 8 - pw);
                let f = Fmt {
                    price_decimals: (fmt_pick == 0).then_some(4),
                    qty_decimals: (fmt_pick == 1).then_some(8),
                    ..fmt()
                };
                for (m, kind) in memos.iter_mut().zip([ChecksumKind::Okx, ChecksumKind::Kraken, ChecksumKind::Bitfinex]) {
                    let fresh = compute(kind, &bids, &asks, &f);
                    proptest::prop_assert_eq!(compute_memo(kind, &bids, &asks, &f, m), fresh, "{:?} step {}", kind, k);
                }
            }
        }
    }
}
