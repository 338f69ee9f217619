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
pub(super) struct Out<'a> {
    pub(super) buf: &'a mut [u8; TEXT_BUF],
    pub(super) n: usize,
    h: crc32fast::Hasher,
}

pub(super) const TEXT_BUF: usize = 1024;

pub(super) const LEVEL_ROOM: usize = 128;

impl<'a> Out<'a> {
    #[inline]
    fn new(buf: &'a mut [u8; TEXT_BUF]) -> Self {
        Out { buf, n: 0, h: crc32fast::Hasher::new() }
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

/// How many levels per side `kind` hashes.
#[inline]
pub(super) const fn levels_hashed(kind: ChecksumKind) -> usize {
    match kind {
        ChecksumKind::None => 0,
        ChecksumKind::Kraken => 10,
        ChecksumKind::Okx | ChecksumKind::Bitfinex => 25,
    }
}

/// Half the text one level adds to `kind`'s checksum (separators between levels excluded): the
/// price's (with the ':' after it where there is one), or the quantity's (`qty`), so a cached price
/// text can take a new quantity. Written into `buf` at `at`; the new end. `buf` needs `LEVEL_ROOM`
/// bytes from `at` on.
#[inline]
pub(super) fn write_part(
    kind: ChecksumKind,
    side: &Side,
    l: &Level,
    f: &Fmt,
    buf: &mut [u8],
    at: usize,
    qty: bool,
) -> usize {
    let price = side.price_of(l);
    let (v, scale) = if qty { (l.qty, f.qty_scale) } else { (price, f.price_scale) };
    let wrote = if qty { f.qty_decimals.unwrap_or(l.qw) } else { f.price_decimals.unwrap_or(l.pw) };
    match kind {
        ChecksumKind::None => at,
        // Removing '.' and leading zeros from the text leaves the integer value at `wrote`
        // decimals.
        ChecksumKind::Kraken => write_digits(v, scale, wrote, buf, at),
        ChecksumKind::Okx if qty => write_fixed(v, scale, wrote, buf, at),
        // JavaScript numbers: no trailing zeros, asks' amounts negative.
        ChecksumKind::Bitfinex if qty => {
            let v = if side.is_ask() { -v } else { v };
            write_fixed(v, scale, minimal(v, scale), buf, at)
        }
        ChecksumKind::Okx | ChecksumKind::Bitfinex => {
            let wrote = if kind == ChecksumKind::Okx { wrote } else { minimal(v, scale) };
            let at = write_fixed(v, scale, wrote, buf, at);
            buf[at] = b':';
            at + 1
        }
    }
}

/// Hashes `kind`'s text for `nb` bid and `na` ask levels, written a part at a time into `buf`;
/// `put(out, ask, i)` writes the text of the `i`-th level from the touch at `out.n` and moves
/// `out.n` past it.
#[inline]
pub(super) fn assemble(
    kind: ChecksumKind,
    buf: &mut [u8; TEXT_BUF],
    nb: usize,
    na: usize,
    mut put: impl FnMut(&mut Out<'_>, bool, usize),
) -> i64 {
    let mut out = Out::new(buf);
    match kind {
        ChecksumKind::None => {}
        // Top asks then top bids, nothing between them.
        ChecksumKind::Kraken => {
            for (ask, n) in [(true, na), (false, nb)] {
                for i in 0..n {
                    out.room();
                    put(&mut out, ask, i);
                }
            }
            return out.finish() as i64;
        }
        // Bid, ask, bid, ask, … joined by ':'; the longer side continues alone.
        ChecksumKind::Okx | ChecksumKind::Bitfinex => {
            for i in 0..nb.max(na) {
                for (ask, n) in [(false, nb), (true, na)] {
                    if i < n {
                        out.room();
                        if i > 0 || (ask && nb > 0) {
                            out.byte(b':');
                        }
                        put(&mut out, ask, i);
                    }
                }
            }
        }
    }
    out.finish() as i32 as i64
}

/// The checksum of `kind` over the book, widened to i64 so signed and unsigned venues compare
/// the same way (`None` for `ChecksumKind::None`). Writes every level's text afresh; `Book`
/// verifies through `level_text::Cache`, which reuses the text of levels that did not change.
pub fn compute(kind: ChecksumKind, bids: &Side, asks: &Side, f: &Fmt) -> Option<i64> {
    if kind == ChecksumKind::None {
        return None;
    }
    let depth = levels_hashed(kind);
    let mut buf = [0; TEXT_BUF];
    Some(assemble(kind, &mut buf, bids.len().min(depth), asks.len().min(depth), |out, ask, i| {
        let side = if ask { asks } else { bids };
        let l = &side.levels()[side.len() - 1 - i];
        let at = write_part(kind, side, l, f, &mut out.buf[..], out.n, false);
        out.n = write_part(kind, side, l, f, &mut out.buf[..], at, true);
    }))
}

/// OKX v5 `books` checksum (signed).
pub fn okx(bids: &Side, asks: &Side, f: &Fmt) -> i32 {
    compute(ChecksumKind::Okx, bids, asks, f).unwrap_or_default() as i32
}

/// Bitfinex checksum (signed). Bitfinex numbers are JavaScript numbers, written without trailing
/// zeros and never in exponent form for this hash, which the minimal fixed text reproduces.
pub fn bitfinex(bids: &Side, asks: &Side, f: &Fmt) -> i32 {
    compute(ChecksumKind::Bitfinex, bids, asks, f).unwrap_or_default() as i32
}

/// Kraken v1/v2 `book` checksum (unsigned).
pub fn kraken(bids: &Side, asks: &Side, f: &Fmt) -> u32 {
    compute(ChecksumKind::Kraken, bids, asks, f).unwrap_or_default() as u32
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
}
