//! A small forward-only JSON scanner over `&[u8]`.
//!
//! Venue grammars (`venue/`) walk a frame with it and write levels straight into the book's scratch
//! buffer: no DOM, no allocation, no unescaping (keys and numbers never need it; strings are
//! returned raw). Values the grammar does not care about are skipped by bracket matching, using
//! `memchr`-style scans over string bodies. Measured against a DOM parse in `benches/book.rs`.

use crate::book::num::{parse_dec, Dec, NumError};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    #[error("JSON ended early")]
    Eof,
    #[error("JSON: expected {expected} at byte {at}")]
    Expected { expected: &'static str, at: usize },
    #[error("JSON: nesting deeper than 64")]
    TooDeep,
    #[error("number: {0}")]
    Num(#[from] NumError),
    #[error("{0}")]
    Shape(&'static str),
}

pub type Result<T> = std::result::Result<T, JsonError>;

#[derive(Debug, Clone)]
pub struct Cur<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cur<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cur { b, i: 0 }
    }

    #[inline]
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    /// Next non-space byte, not consumed. Venue frames are compact JSON, so the byte under the
    /// cursor is checked first and the whitespace loop runs only when there is whitespace.
    #[inline(always)]
    pub fn peek(&mut self) -> Result<u8> {
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Ok(c),
            _ => self.peek_slow(),
        }
    }

    #[inline(never)]
    fn peek_slow(&mut self) -> Result<u8> {
        self.ws();
        self.b.get(self.i).copied().ok_or(JsonError::Eof)
    }

    #[inline(always)]
    pub fn eat(&mut self, c: u8, what: &'static str) -> Result<()> {
        if self.peek()? == c {
            self.i += 1;
            Ok(())
        } else {
            Err(JsonError::Expected { expected: what, at: self.i })
        }
    }

    #[cold]
    #[inline(never)]
    fn err<T>(&self, expected: &'static str) -> Result<T> {
        Err(JsonError::Expected { expected, at: self.i })
    }

    /// A string's raw bytes (escapes left as written), cursor after the closing quote.
    #[inline]
    pub fn string(&mut self) -> Result<&'a [u8]> {
        self.eat(b'"', "string")?;
        let start = self.i;
        let b = self.b;
        let mut j = start;
        loop {
            match b.get(j) {
                None => return Err(JsonError::Eof),
                Some(b'"') => break,
                Some(b'\\') => j += 2,
                Some(_) => j += 1,
            }
        }
        self.i = j + 1;
        Ok(&b[start..j])
    }

    /// A bare number's text.
    #[inline]
    pub fn number(&mut self) -> Result<&'a [u8]> {
        self.ws();
        let start = self.i;
        let b = self.b;
        while self.i < b.len() && matches!(b[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            self.i += 1;
        }
        if self.i == start {
            return self.err("number");
        }
        Ok(&b[start..self.i])
    }

    /// A number written bare or quoted (venues do both); returns its text.
    #[inline]
    pub fn num_text(&mut self) -> Result<&'a [u8]> {
        if self.peek()? == b'"' {
            self.string()
        } else {
            self.number()
        }
    }

    /// A decimal, bare or quoted, parsed in the same pass that finds its end. Plain numbers of up
    /// to 18 digits take the fast path; anything else (exponents, long digit runs, junk) goes to
    /// `parse_dec`, which has the same grammar, so both paths accept and reject the same text.
    #[inline(always)]
    pub fn dec(&mut self) -> Result<Dec> {
        let (mant, meta) = self.dec_raw()?;
        Ok(unpack(mant, meta))
    }

    // Returns the parts in registers: building a `Dec` in memory byte by byte and copying it as
    // one 16-byte word stalls on store forwarding, twice per level.
    #[inline(always)]
    fn dec_raw(&mut self) -> Result<(i64, u16)> {
        let quoted = self.peek()? == b'"';
        if quoted {
            self.i += 1;
        }
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let neg = i < b.len() && b[i] == b'-';
        if neg {
            i += 1;
        }
        let mut mant: u64 = 0;
        let mut nd = 0u32;
        // A run of fewer than 8 digits (the usual integer part) in one word when 8 bytes are left:
        // no loop exit to mispredict on the digit count. Longer runs eight digits at a time, and
        // byte by byte within the last 8 bytes of the frame. Overflow is harmless here: more than
        // 18 digits goes to the slow path below.
        if let Some((v, n, _)) = digit_prefix(b, i) {
            mant = v;
            nd = n;
            i += n as usize;
        } else {
            while let Some(c) = eight_digits(b, i) {
                mant = mant.wrapping_mul(100_000_000).wrapping_add(parse8(c));
                nd += 8;
                i += 8;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                mant = mant.wrapping_mul(10).wrapping_add((b[i] - b'0') as u64);
                nd += 1;
                i += 1;
            }
        }
        // Fraction digits, and how many of them at the end are zeros (they are dropped). Venues pad
        // fractions to 8 decimals: eight at a time, then one byte says whether any are left.
        let (mut frac, mut tz) = (0u32, 0u32);
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if let Some(c) = eight_digits(b, i) {
                    mant = mant.wrapping_mul(100_000_000).wrapping_add(parse8(c));
                    // Bytes that are not '0', little-endian: the highest set byte is the last
                    // non-zero digit in text order.
                    let nz = c ^ 0x3030_3030_3030_3030;
                    tz = if nz == 0 { tz + 8 } else { nz.leading_zeros() / 8 };
                    frac += 8;
                    nd += 8;
                    i += 8;
                } else if let Some((v, n, ztail)) = digit_prefix(b, i) {
                    mant = mant.wrapping_mul(POW10U[n as usize]).wrapping_add(v);
                    tz = if ztail == n { tz + n } else { ztail };
                    frac += n;
                    nd += n;
                    i += n as usize;
                    break;
                } else {
                    while i < b.len() && b[i].is_ascii_digit() {
                        let d = b[i] - b'0';
                        mant = mant.wrapping_mul(10).wrapping_add(d as u64);
                        tz = if d == 0 { tz + 1 } else { 0 };
                        frac += 1;
                        nd += 1;
                        i += 1;
                    }
                    break;
                }
            }
        }
        if nd == 0 || nd > 18 || (i < b.len() && (b[i] | 0x20) == b'e') {
            let d = self.dec_slow(start, quoted)?;
            return Ok((d.mant, d.dec as u16 | (d.wrote as u16) << 8));
        }
        if quoted {
            if b.get(i) != Some(&b'"') {
                self.i = i;
                return self.err("closing quote after number");
            }
            i += 1;
        }
        self.i = i;
        let m = div_pow10(mant, tz) as i64;
        let dec = if m == 0 { 0 } else { frac - tz };
        Ok((if neg { -m } else { m }, dec as u16 | (frac as u16) << 8))
    }

    #[cold]
    #[inline(never)]
    fn dec_slow(&mut self, start: usize, quoted: bool) -> Result<Dec> {
        let b = self.b;
        let mut i = start;
        while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            i += 1;
        }
        let d = parse_dec(&b[start..i])?;
        if quoted {
            if b.get(i) != Some(&b'"') {
                self.i = i;
                return self.err("closing quote after number");
            }
            i += 1;
        }
        self.i = i;
        Ok(d)
    }

    /// An integer, bare or quoted.
    #[inline]
    pub fn int(&mut self) -> Result<i64> {
        let t = self.num_text()?;
        parse_int(t).ok_or(JsonError::Shape("expected an integer"))
    }

    /// `true`/`false`/`null` or any scalar: its raw text.
    pub fn literal(&mut self) -> Result<&'a [u8]> {
        self.ws();
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_alphanumeric() {
            self.i += 1;
        }
        if self.i == start {
            return self.err("literal");
        }
        Ok(&self.b[start..self.i])
    }

    /// Whether the next value is `[]` or an array whose first element is an array.
    pub fn is_array_of_arrays(&mut self) -> Result<bool> {
        if self.peek()? != b'[' {
            return Ok(false);
        }
        let save = self.i;
        self.i += 1;
        let r = matches!(self.peek()?, b'[' | b']');
        self.i = save;
        Ok(r)
    }

    /// Skips one value of any kind.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => self.skip_nested(),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => self.literal().map(|_| ()),
        }
    }

    fn skip_nested(&mut self) -> Result<()> {
        let b = self.b;
        let mut depth = 0usize;
        let mut j = self.i;
        while j < b.len() {
            match b[j] {
                b'"' => {
                    j += 1;
                    while j < b.len() && b[j] != b'"' {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i = j + 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            j += 1;
        }
        Err(JsonError::Eof)
    }

    /// Enters an object. Then call `key` until it returns `None`.
    #[inline]
    pub fn obj(&mut self) -> Result<()> {
        self.eat(b'{', "'{'")
    }

    /// Next key of the current object (cursor on its value), or `None` at the closing brace.
    /// `first` tracks whether a comma is due; start it at `true`.
    #[inline]
    pub fn key(&mut self, first: &mut bool) -> Result<Option<&'a [u8]>> {
        let c = self.peek()?;
        if c == b'}' {
            self.i += 1;
            return Ok(None);
        }
        if !*first {
            self.eat(b',', "',' or '}'")?;
        }
        *first = false;
        let k = self.string()?;
        self.eat(b':', "':'")?;
        Ok(Some(k))
    }

    /// Enters an array. Then call `item` until it returns false.
    #[inline]
    pub fn arr(&mut self) -> Result<()> {
        self.eat(b'[', "'['")
    }

    /// Whether another array element follows (cursor on it); consumes the closing bracket.
    #[inline]
    pub fn item(&mut self, first: &mut bool) -> Result<bool> {
        let c = self.peek()?;
        if c == b']' {
            self.i += 1;
            return Ok(false);
        }
        if !*first {
            self.eat(b',', "',' or ']'")?;
        }
        *first = false;
        Ok(true)
    }

    /// Skips the remaining elements of the current array, after at least one was read, and its
    /// closing bracket.
    #[inline]
    pub fn skip_rest(&mut self) -> Result<()> {
        loop {
            match self.peek()? {
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                b',' => {
                    self.i += 1;
                    self.skip()?;
                }
                _ => return self.err("',' or ']'"),
            }
        }
    }

    /// `[[price, qty, ...], ...]` with prices/quantities bare or quoted; extra elements per level
    /// (timestamps, order counts, flags) are skipped.
    #[inline]
    pub fn levels<F: FnMut(Dec, Dec)>(&mut self, mut f: F) -> Result<()> {
        self.arr()?;
        let mut first = true;
        while self.item(&mut first)? {
            self.arr()?;
            let (pm, pmeta) = self.dec_raw()?;
            self.eat(b',', "','")?;
            let (qm, qmeta) = self.dec_raw()?;
            self.skip_rest()?;
            f(unpack(pm, pmeta), unpack(qm, qmeta));
        }
        Ok(())
    }

    /// `[{"<pk>": price, "<qk>": qty, ...}, ...]` (Kraken v2 style).
    pub fn obj_levels<F: FnMut(Dec, Dec)>(&mut self, pk: &[u8], qk: &[u8], mut f: F) -> Result<()> {
        self.arr()?;
        let mut first = true;
        while self.item(&mut first)? {
            self.obj()?;
            let (mut px, mut qty) = (None, None);
            let mut fk = true;
            while let Some(k) = self.key(&mut fk)? {
                if k == pk {
                    px = Some(self.dec()?);
                } else if k == qk {
                    qty = Some(self.dec()?);
                } else {
                    self.skip()?;
                }
            }
            match (px, qty) {
                (Some(p), Some(q)) => f(p, q),
                _ => return Err(JsonError::Shape("level object without price or quantity")),
            }
        }
        Ok(())
    }

    /// Fails unless only whitespace is left.
    pub fn end(&mut self) -> Result<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            self.err("end of input")
        }
    }
}

/// The 8 bytes at `i` as a little-endian word, if they are all ASCII digits.
#[inline(always)]
fn eight_digits(b: &[u8], i: usize) -> Option<u64> {
    let w = u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?);
    let all_digits = (w & 0xF0F0_F0F0_F0F0_F0F0)
        | (((w.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0) >> 4)
        == 0x3333_3333_3333_3333;
    all_digits.then_some(w)
}

/// Powers of ten up to 10^7, for appending a run of fewer than 8 digits.
const POW10U: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The run of ASCII digits at `i` when it is shorter than 8 (the caller has consumed whole 8-digit
/// words), read as one word: `(value, digit count, trailing '0' digits among them)`. `None` when
/// fewer than 8 bytes are left (the caller then goes byte by byte) or when all 8 are digits.
#[inline(always)]
fn digit_prefix(b: &[u8], i: usize) -> Option<(u64, u32, u32)> {
    let w = u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?);
    // Per byte 0 exactly when it is a digit; a carry out of a non-digit byte (>= 0xFA) only
    // disturbs the bytes above it, and only the lowest non-digit byte is used.
    let x = ((w & 0xF0F0_F0F0_F0F0_F0F0)
        | (((w.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0) >> 4))
        ^ 0x3333_3333_3333_3333;
    let n = x.trailing_zeros() / 8;
    if n == 0 {
        return Some((0, 0, 0));
    }
    if n >= 8 {
        return None;
    }
    // The n digits moved to the top bytes, '0' below them: the same value, and parse8 applies.
    let s = 8 * (8 - n);
    let d = (w << s) | (0x3030_3030_3030_3030u64 >> (64 - s));
    // Bytes that are not '0', little-endian: the highest set byte is the last non-zero digit.
    let nz = d ^ 0x3030_3030_3030_3030;
    let ztail = if nz == 0 { n } else { nz.leading_zeros() / 8 };
    Some((parse8(d), n, ztail))
}

/// Value of 8 ASCII digits packed little-endian (first digit in the lowest byte).
#[inline(always)]
fn parse8(w: u64) -> u64 {
    let v = w.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let lo = (v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let hi = ((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    lo.wrapping_add(hi) >> 32
}

/// Inverses of 5^k modulo 2^64 (5 is odd, so they exist), by Newton's iteration.
const INV_POW5: [u64; 19] = {
    let mut t = [1u64; 19];
    let mut k = 1;
    let mut p: u64 = 1;
    while k < 19 {
        p = p.wrapping_mul(5);
        let mut x = p; // correct to 3 bits; each step doubles the correct bits
        let mut i = 0;
        while i < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(p.wrapping_mul(x)));
            i += 1;
        }
        t[k] = x;
        k += 1;
    }
    t
};

/// `m / 10^k` for an `m` that is a multiple of 10^k (its last k digits were zeros), k <= 18: a
/// shift and a multiplication instead of a hardware division, which LLVM emits for a table of
/// constant divisors.
#[inline(always)]
fn div_pow10(m: u64, k: u32) -> u64 {
    let k = k.min(18);
    (m >> k).wrapping_mul(INV_POW5[k as usize])
}

#[inline(always)]
fn unpack(mant: i64, meta: u16) -> Dec {
    Dec { mant, dec: meta as u8, wrote: (meta >> 8) as u8 }
}

/// Parses optionally signed decimal integer text.
#[inline]
pub fn parse_int(t: &[u8]) -> Option<i64> {
    let (neg, d) = match t.first()? {
        b'-' => (true, &t[1..]),
        _ => (false, t),
    };
    if d.is_empty() || d.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Parses unsigned integer text up to u64 (Kraken's unsigned checksums exceed i32).
#[inline]
pub fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in t {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
