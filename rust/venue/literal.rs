//! Literal matching for the header shortcuts (Binance's depthUpdate and bookTicker, OKX's
//! books): a frame written the way its venue writes every one is matched piece by piece as
//! literals; any other text makes them answer `None`, and the venue's general grammar then reads
//! the frame from the start.

use super::Batch;
use crate::codec::digit_run;
use crate::codec::json::{Cur, Result};

/// A quoted symbol (no escapes, not empty) from the cursor on, then the cursor on its closing quote.
#[inline(always)]
pub(super) fn symbol<'a>(c: &mut Cur<'a>) -> Option<&'a [u8]> {
    let start = c.i;
    c.i = string_end(c.b, start, false)?;
    let sym = &c.b[start..c.i];
    (!sym.is_empty()).then_some(sym)
}

/// A string's text without escapes or control characters (possibly empty) from the cursor on,
/// then the cursor on its closing quote. (The general grammar refuses a control character in the
/// strings it skips, such as OKX's `ts`: the shortcut leaves every such string to it.)
#[inline(always)]
pub(super) fn plain<'a>(c: &mut Cur<'a>) -> Option<&'a [u8]> {
    let start = c.i;
    c.i = string_end(c.b, start, true)?;
    (c.b[c.i] == b'"').then(|| &c.b[start..c.i])
}

/// Where the string text from `i` on stops: the first quote or backslash (or, with `control`,
/// control character) at or after `i`. Eight bytes at a time: symbols, stream names and
/// timestamps are 5 to 20 bytes, and a byte loop's exit, at a varying length, mispredicts.
#[inline(always)]
pub(super) fn string_end(b: &[u8], mut i: usize, control: bool) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `w` below `n` (at most 0x80). Exact for the lowest such byte
    // (only a borrow out of a byte that is below `n` can mark one above it), which is all that is
    // read here.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * n as u64) & !w & HIGH;
    while let Some(w) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().ok()?);
        let mut m = below(w ^ (ONES * b'"' as u64), 1) | below(w ^ (ONES * b'\\' as u64), 1);
        if control {
            m |= below(w, 0x20);
        }
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let stop = |&c: &u8| c == b'"' || c == b'\\' || (control && c < 0x20);
    b[i..].iter().position(stop).map(|k| i + k)
}

/// A decoder with shortcuts: `shortcut` reads the frame when it is written the venue's way, else
/// `general` reads it from the start, after what the shortcut wrote before it gave up is taken
/// back.
#[inline(always)]
pub(super) fn shortcut_or(
    frame: &[u8],
    out: &mut Batch,
    shortcut: impl FnOnce(&[u8], &mut Batch) -> Option<()>,
    general: fn(&[u8], &mut Batch) -> Result<()>,
) -> Result<()> {
    let (n, msgs, kind) = (out.levels.len(), out.msgs.len(), out.kind);
    if shortcut(frame, out).is_some() {
        return Ok(());
    }
    out.levels.truncate(n);
    out.msgs.truncate(msgs);
    out.kind = kind;
    general(frame, out)
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
    if let Some((v, n)) = digit_run(b, start) {
        // A run of 1 to 15 digits, and the byte after it inside the window read.
        let j = start + n as usize;
        if !matches!(b[j], b',' | b'}') {
            return None;
        }
        c.i = j;
        return Some(v as i64);
    }
    let mut v: i64 = 0;
    let mut j = start;
    while let Some(d) = b.get(j).map(|&x| x.wrapping_sub(b'0')).filter(|&d| d < 10) {
        // A 19th digit may not fit: checked before it is multiplied in.
        if j - start == 18 {
            return None;
        }
        v = v * 10 + d as i64;
        j += 1;
    }
    if j == start || !matches!(b.get(j), Some(b',' | b'}')) {
        return None;
    }
    c.i = j;
    Some(v)
}

/// The text frames of a real capture in `../shared/fixtures/real`, or `None` (with a note) when
/// it is absent.
#[cfg(test)]
pub(super) fn capture_texts(name: &str) -> Option<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real").join(name);
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {name} absent (../shared/fixtures/real)");
        return None;
    };
    let texts = text.lines().map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap());
    Some(texts.filter_map(|e| e["text"].as_str().map(str::to_owned)).collect())
}

/// A venue's decoder (shortcut first) or its general grammar.
#[cfg(test)]
pub(super) type Grammar = fn(&[u8], &mut Batch) -> Result<()>;

/// Test harness of the shortcuts: `decode` and `general` give the same result and the same batch
/// on `frame`.
#[cfg(test)]
pub(super) fn same(frame: &[u8], decode: Grammar, general: Grammar) {
    let outcome = |grammar: Grammar| {
        let mut b = Batch::default();
        let r = grammar(frame, &mut b);
        format!("{r:?} {b:?}")
    };
    assert_eq!(outcome(decode), outcome(general), "{}", String::from_utf8_lossy(frame));
}

/// `same_on_every_mutation` of each of `frames`, each byte changed to a delimiter, a digit, a
/// letter, a space, a backslash or a control character.
#[cfg(test)]
pub(super) fn same_on_every_mutation_of(frames: &[&str], decode: Grammar, general: Grammar) {
    for f in frames {
        same_on_every_mutation(f.as_bytes(), b"0 9-\",:}]{[.eXab\\\x01", decode, general);
        same_with_long_digit_runs(f.as_bytes(), decode, general);
    }
}

/// `same` on `frame` with each run of digits in it (ids, counts, checksums, a number's parts)
/// made 18 to 20 digits long, past what an i64 holds among them: a shortcut reading ids must not
/// overflow where the general grammar reports or reads them.
#[cfg(test)]
fn same_with_long_digit_runs(frame: &[u8], decode: Grammar, general: Grammar) {
    const LONG: [&[u8]; 5] = [
        b"999999999999999999",
        b"9223372036854775807",
        b"9223372036854775808",
        b"9999999999999999999",
        b"99999999999999999999",
    ];
    let mut i = 0;
    while i < frame.len() {
        if !frame[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let end = i + frame[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        for run in LONG {
            let g = [&frame[..i], run, &frame[end..]].concat();
            same(&g, decode, general);
        }
        i = end;
    }
}

/// `same` on `frame`, on every truncation of it and on every change of one of its bytes to one of
/// `bytes`.
#[cfg(test)]
pub(super) fn same_on_every_mutation(frame: &[u8], bytes: &[u8], decode: Grammar, general: Grammar) {
    same(frame, decode, general);
    for cut in 0..frame.len() {
        same(&frame[..cut], decode, general);
    }
    for i in 0..frame.len() {
        for &c in bytes {
            let mut g = frame.to_vec();
            g[i] = c;
            same(&g, decode, general);
        }
    }
}

#[cfg(test)]
#[path = "literal_tests.rs"]
mod tests;
