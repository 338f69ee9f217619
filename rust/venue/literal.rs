//! Literal matching for the header shortcuts (Binance's depthUpdate and bookTicker, OKX's
//! books): a frame written the way its venue writes every one is matched piece by piece as
//! literals; any other text makes them answer `None`, and the venue's general grammar then reads
//! the frame from the start.

use crate::codec::json::Cur;

/// A quoted symbol (no escapes, not empty) from the cursor on, then the cursor on its closing quote.
#[inline(always)]
pub(super) fn symbol<'a>(c: &mut Cur<'a>) -> Option<&'a [u8]> {
    let start = c.i;
    c.i += c.b[start..].iter().position(|&b| b == b'"' || b == b'\\')?;
    let sym = &c.b[start..c.i];
    (!sym.is_empty()).then_some(sym)
}

/// Advances past `s` if the text goes on with it.
#[inline(always)]
pub(super) fn lit(c: &mut Cur<'_>, s: &[u8]) -> bool {
    let hit = c.b.get(c.i..c.i + s.len()) == Some(s);
    c.i += if hit { s.len() } else { 0 };
    hit
}

/// `key` then an id of bare digits.
#[inline(always)]
pub(super) fn key_int(c: &mut Cur<'_>, key: &[u8]) -> Option<i64> {
    lit(c, key).then_some(())?;
    digits(c)
}

/// A run of 1 to 18 digits followed by a delimiter (`,` or `}`), read as `Cur::int` would read
/// it (longer runs are left to it).
#[inline(always)]
pub(super) fn digits(c: &mut Cur<'_>) -> Option<i64> {
    let (b, start) = (c.b, c.i);
    let mut v: i64 = 0;
    let mut j = start;
    while let Some(d) = b.get(j).map(|&x| x.wrapping_sub(b'0')).filter(|&d| d < 10) {
        v = v * 10 + d as i64;
        j += 1;
        if j - start > 18 {
            return None;
        }
    }
    if j == start || !matches!(b.get(j), Some(b',' | b'}')) {
        return None;
    }
    c.i = j;
    Some(v)
}
