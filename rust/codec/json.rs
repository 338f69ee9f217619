//! A small forward-only JSON scanner over `&[u8]`.
//!
//! Venue grammars (`venue/`) walk a frame with it and write levels straight into the book's scratch
//! buffer: no DOM, no allocation, no unescaping (keys and numbers never need it; strings are
//! returned raw). Values the grammar does not care about are skipped by bracket matching, using
//! `memchr`-style scans over string bodies. Measured against a DOM parse in `benches/book.rs`.

use super::json_compact::{keyed_pair, quoted_pair, quoted_rest};
use super::json_grammar::{is_json_number, is_json_text};
use super::number::scan_plain;
pub use super::number::{parse_int, parse_u64};
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

/// Containers a skipped value may nest (`JsonError::TooDeep` beyond).
const MAX_DEPTH: u32 = 64;

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
        let Some((m, meta, mut i)) = scan_plain(b, start) else {
            let d = self.dec_slow(start, quoted)?;
            return Ok((d.mant, d.dec as u16 | (d.wrote as u16) << 8));
        };
        if quoted {
            if b.get(i) != Some(&b'"') {
                self.i = i;
                return self.err("closing quote after number");
            }
            i += 1;
        }
        self.i = i;
        Ok((m, meta))
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
        self.skip_in(0)
    }

    /// A value skipped `depth` containers down. Containers are read element by element, numbers,
    /// words and strings checked as JSON: a frame is refused for malformed text anywhere, read or
    /// not (a bracket count alone took `[","a]` and `[}`). Bounded so that hostile nesting is an
    /// error, not a stack overflow.
    fn skip_in(&mut self, depth: u32) -> Result<()> {
        match self.peek()? {
            b'"' => {
                let at = self.i;
                let ok = is_json_text(self.string()?);
                self.held(at, ok, "a JSON string")
            }
            b'{' | b'[' if depth >= MAX_DEPTH => Err(JsonError::TooDeep),
            b'[' => {
                self.i += 1;
                let mut first = true;
                while self.item(&mut first)? {
                    self.skip_in(depth + 1)?;
                }
                Ok(())
            }
            b'{' => {
                self.i += 1;
                let mut first = true;
                while self.key(&mut first)?.is_some() {
                    self.skip_in(depth + 1)?;
                }
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                let at = self.i;
                let ok = is_json_number(self.number()?);
                self.held(at, ok, "a JSON number")
            }
            // Only JSON's own words: a bare `a` in a level's tail is a malformed frame, not a value.
            _ => match self.literal()? {
                b"true" | b"false" | b"null" => Ok(()),
                _ => self.err("a JSON value"),
            },
        }
    }

    /// A skipped token read from `at`: fine, or refused there as not `what`.
    fn held(&mut self, at: usize, ok: bool, what: &'static str) -> Result<()> {
        if ok {
            return Ok(());
        }
        self.i = at;
        self.err(what)
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
        // Compact `,"key":` (what venues send): one pass, no whitespace checks, no `Result`s
        // between the steps. Anything else (spaces, escapes, the end, errors) takes the general
        // path below from where the cursor was, so both accept and refuse the same text.
        let b = self.b;
        let s = self.i + !*first as usize + 1;
        if (*first || b.get(self.i) == Some(&b',')) && b.get(s - 1) == Some(&b'"') {
            let mut e = s;
            while e < b.len() && !matches!(b[e], b'"' | b'\\') {
                e += 1;
            }
            if b.get(e) == Some(&b'"') && b.get(e + 1) == Some(&b':') {
                self.i = e + 2;
                *first = false;
                return Ok(Some(&b[s..e]));
            }
        }
        self.key_general(first)
    }

    #[inline(never)]
    fn key_general(&mut self, first: &mut bool) -> Result<Option<&'a [u8]>> {
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
        loop {
            // Compact `["px","qty"` — what every venue here sends — is matched with one compare
            // per delimiter. Anything else (spaces, bare numbers, exponents, errors) leaves the
            // cursor where it was and takes the general path below, so both accept the same text.
            if let Some((pm, pmeta, qm, qmeta, j)) = quoted_pair(self.b, self.i, first) {
                first = false;
                if let Some(k) = quoted_rest(self.b, j) {
                    self.i = k;
                } else {
                    self.i = j;
                    self.skip_rest()?;
                }
                f(unpack(pm, pmeta), unpack(qm, qmeta));
                continue;
            }
            if !self.item(&mut first)? {
                break;
            }
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
    #[inline]
    pub fn obj_levels<F: FnMut(Dec, Dec)>(&mut self, pk: &[u8], qk: &[u8], mut f: F) -> Result<()> {
        self.arr()?;
        let mut first = true;
        loop {
            // Compact `{"<pk>":n,"<qk>":n}` — what Kraken sends — is matched with one compare per
            // delimiter and key; anything else leaves the cursor where it was for the general path.
            if let Some((pm, pmeta, qm, qmeta, j)) = keyed_pair(self.b, self.i, first, pk, qk) {
                first = false;
                self.i = j;
                f(unpack(pm, pmeta), unpack(qm, qmeta));
                continue;
            }
            if !self.item(&mut first)? {
                break;
            }
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

#[inline(always)]
fn unpack(mant: i64, meta: u16) -> Dec {
    Dec { mant, dec: meta as u8, wrote: (meta >> 8) as u8 }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
