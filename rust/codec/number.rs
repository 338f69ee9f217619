//! Number scanning for the JSON scanner, exact and without a float, into `(mantissa without
//! trailing fraction zeros, dec | wrote << 8, end)`.
//!
//! Venues write every shape: Binance spot pads to 8 decimals ("0.35180000"), USDⓈ-M and OKX write
//! the tick's precision or fewer ("43250.1", "0.001", "30261"), Kraken v2 and HTX send bare JSON
//! numbers, Bitfinex and HTX exponent forms ("1.7e-05"). `word_pair` reads all of these with up to
//! 7 integer digits and up to 8 decimals from two 8-byte words: where the point is, where the
//! fraction ends, both runs parsed at once, an exponent applied after; no loop runs per digit.
//! Longer runs (up to 18 digits) take word-at-a-time loops; anything else (more digits, exponents
//! that do not fit, junk) is left to `book::num::parse_dec`, which has the same grammar.
//! `json_tests.rs` and `number_tests.rs` hold the paths to each other and to a reference written
//! longhand.

use crate::book::num::{INV_POW5, MAX_DECIMALS, POW10};

/// A decimal (optional '-', digits, optional fraction, optional exponent) at `start`:
/// `(mantissa without trailing fraction zeros, dec | wrote << 8, end)`. `None` when the text needs
/// `parse_dec` (long runs, no digits, an exponent whose result does not fit), which has the same
/// grammar, so the fast and slow paths accept and reject the same text.
#[inline(always)]
pub(crate) fn scan_plain(b: &[u8], start: usize) -> Option<(i64, u16, usize)> {
    if let Some(r) = word_pair(b, start) {
        return Some(r);
    }
    scan_general(b, start)
}

const ZEROS: u64 = 0x3030_3030_3030_3030;

/// 1 to 7 integer digits, then nothing, or a point and 0 to 8 decimals, then optionally an
/// exponent. Frames are read as one chain (each number starts where the last one ended), so what
/// matters is how soon the end is known: it comes from the two 8-byte words, loaded together,
/// through a per-byte "not a digit" bit and two bit scans, never waiting for the point to be found
/// first; the digits are parsed off that chain. `None` for anything else (or fewer than 16 bytes
/// left); the result is the general path's, bit for bit.
#[inline(always)]
fn word_pair(b: &[u8], start: usize) -> Option<(i64, u16, usize)> {
    // Book numbers are hardly ever negative: a predicted branch keeps the loads below from waiting
    // for the sign byte.
    if *b.get(start)? == b'-' {
        return word_pair_at(b, start + 1, true);
    }
    word_pair_at(b, start, false)
}

#[inline(always)]
fn word_pair_at(b: &[u8], s: usize, neg: bool) -> Option<(i64, u16, usize)> {
    let lo = u64::from_le_bytes(b.get(s..s + 8)?.try_into().ok()?);
    let hi = u64::from_le_bytes(b.get(s + 8..s + 16)?.try_into().ok()?);
    let (ml, mh) = (not_digit(lo), not_digit(hi));
    let n = ml.trailing_zeros() / 8;
    if n == 0 || n >= 8 {
        return None;
    }
    // The n integer digits moved to the top bytes, '0' below them: the same value for parse8.
    let sh = 8 * (8 - n);
    let int = parse8((lo << sh) | (ZEROS >> (64 - sh)));
    if (lo >> (8 * n)) as u8 != b'.' {
        let m = if neg { -(int as i64) } else { int as i64 };
        let end = s + n as usize;
        if (lo >> (8 * n)) as u8 | 0x20 == b'e' {
            return exponent(b, end, m, 0, 0);
        }
        return Some((m, 0, end));
    }
    // The first non-digit after the point: the second marked byte of the 16.
    let rest = ml & (ml - 1);
    let e = if rest != 0 { rest.trailing_zeros() / 8 } else { 8 + mh.trailing_zeros() / 8 };
    let f = e - n - 1;
    if f > 8 {
        return None;
    }
    let end = s + e as usize;
    // Eight decimals can end the window: the general path reads a run that goes on past it.
    if e == 16 && b.get(end).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let (mant, top) = if e <= 8 {
        // The whole number in the first word: the point squeezed out, the digits top-aligned with
        // '0' below them, one parse.
        let keep = (1u64 << (8 * n)) - 1;
        let digits = (lo & keep) | ((lo >> 8) & !keep);
        let top = (digits << (8 * (9 - e))) | (ZEROS >> (8 * (e - 1)));
        (parse8(top), top)
    } else {
        // The f decimals, top-aligned with '0' below them, from the 8 bytes after the point.
        let w = ((((hi as u128) << 64) | lo as u128) >> (8 * (n + 1))) as u64;
        let top = if f == 8 { w } else { (w << (8 * (8 - f))) | (ZEROS >> (8 * f)) };
        (int * POW10U[f as usize] + parse8(top), top)
    };
    // Trailing '0' decimals: the highest non-'0' byte of the top-aligned run is the last non-zero.
    let nz = top ^ ZEROS;
    let tz = if nz == 0 { f } else { (nz.leading_zeros() / 8).min(f) };
    let m = div_pow10(mant, tz) as i64;
    let m = if neg { -m } else { m };
    if b.get(end).is_some_and(|&c| c | 0x20 == b'e') {
        return exponent(b, end, m, f, tz);
    }
    let dec = if m == 0 { 0 } else { f - tz };
    Some((m, dec as u16 | (f as u16) << 8, end))
}

/// Per byte of `w`: the high bit set when it is not an ASCII digit, every other bit clear. Exact
/// for every byte (no carry crosses bytes), so the second marked byte is as exact as the first.
#[inline(always)]
pub(super) fn not_digit(w: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Digits become 0..=9; adding 0x76 to the low seven bits sets the high bit from 10 up.
    let t = w ^ ZEROS;
    (((t & !HIGH) + 0x7676_7676_7676_7676) | t) & HIGH
}

/// The exponent at `at` (on the 'e') applied to `m` (the digits without `tz` trailing fraction
/// zeros, `frac` decimals written): what `parse_dec` gives, or `None` for it to report the error
/// (no digits, a value that does not fit). Up to three exponent digits are read here.
#[inline(always)]
fn exponent(b: &[u8], at: usize, m: i64, frac: u32, tz: u32) -> Option<(i64, u16, usize)> {
    let mut i = at + 1;
    let sign = *b.get(i)?;
    let eneg = sign == b'-';
    i += (sign == b'-' || sign == b'+') as usize;
    let mut e: i32 = 0;
    let from = i;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        if i - from == 3 {
            return None;
        }
        e = e * 10 + (c - b'0') as i32;
        i += 1;
    }
    // No digits, or more number-like bytes after them ("1e5e3", "1e5.2"): `parse_dec` reports it.
    if i == from || b.get(i).is_some_and(|c| matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    let e = if eneg { -e } else { e };
    // value = m × 10^(e - (frac - tz)); written decimals = frac - e, never below the decimals needed.
    let mut dec = (frac - tz) as i32 - e;
    let mut m = m;
    if m == 0 {
        dec = 0;
    } else if dec < 0 {
        m = m.checked_mul(*POW10.get((-dec) as usize)?)?;
        dec = 0;
    } else {
        // A negative exponent moves integer zeros into the fraction ("10e-1" is 1): strip them too.
        while dec > 0 && m % 10 == 0 {
            m /= 10;
            dec -= 1;
        }
        if dec > MAX_DECIMALS as i32 {
            return None;
        }
    }
    let wrote = (frac as i32 - e).clamp(dec, MAX_DECIMALS as i32);
    Some((m, dec as u16 | (wrote as u16) << 8, i))
}

/// Per byte of `w`: 0 when it is an ASCII digit, non-zero otherwise. A carry out of a non-digit
/// byte (>= 0xFA) only disturbs the bytes above it, so the lowest non-zero byte is exact, and the
/// word is 0 exactly when all eight bytes are digits.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    ((w & 0xF0F0_F0F0_F0F0_F0F0) | (((w.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0) >> 4))
        ^ 0x3333_3333_3333_3333
}

#[inline(always)]
fn scan_general(b: &[u8], start: usize) -> Option<(i64, u16, usize)> {
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
    // 18 digits goes to the slow path.
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
        return None;
    }
    let m = div_pow10(mant, tz) as i64;
    let dec = if m == 0 { 0 } else { frac - tz };
    Some((if neg { -m } else { m }, dec as u16 | (frac as u16) << 8, i))
}

/// The 8 bytes at `i` as a little-endian word, if they are all ASCII digits.
#[inline(always)]
fn eight_digits(b: &[u8], i: usize) -> Option<u64> {
    let w = u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?);
    (non_digits(w) == 0).then_some(w)
}

/// Powers of ten up to 10^8, for appending a run of at most 8 digits.
const POW10U: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The run of ASCII digits at `i` when it is shorter than 8 (the caller has consumed whole 8-digit
/// words), read as one word: `(value, digit count, trailing '0' digits among them)`. `None` when
/// fewer than 8 bytes are left (the caller then goes byte by byte) or when all 8 are digits.
#[inline(always)]
fn digit_prefix(b: &[u8], i: usize) -> Option<(u64, u32, u32)> {
    let w = u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?);
    let n = non_digits(w).trailing_zeros() / 8;
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

/// The run of 1 to 15 ASCII digits at `i`, read off the 16 bytes from there without a loop per
/// digit: `(value, digit count)`. The venue shortcuts' ids, timestamps and checksums are such runs,
/// and a digit loop's serial multiply-add chain and varying exit were a tenth of a small frame's
/// header. `None` when fewer than 16 bytes are left, when there is no digit at `i` or when all 16
/// are digits: the caller then reads the run byte by byte (`venue::literal::digits`).
#[inline(always)]
pub(crate) fn digit_run(b: &[u8], i: usize) -> Option<(u64, u32)> {
    let w = b.get(i..i + 16)?;
    let lo = u64::from_le_bytes(w[..8].try_into().ok()?);
    let hi = u64::from_le_bytes(w[8..].try_into().ok()?);
    let ml = not_digit(lo);
    if ml != 0 {
        let n = ml.trailing_zeros() / 8;
        if n == 0 {
            return None;
        }
        return Some((parse8(top_digits(lo, n)), n));
    }
    let k = not_digit(hi).trailing_zeros() / 8; // 8 if all digits
    if k == 8 {
        return None;
    }
    let tail = if k == 0 { 0 } else { parse8(top_digits(hi, k)) };
    Some((parse8(lo) * POW10U[k as usize] + tail, 8 + k))
}

/// The first `n` (1 to 8) digits of `w` moved to its top bytes with '0' below them: their value
/// for `parse8`.
#[inline(always)]
fn top_digits(w: u64, n: u32) -> u64 {
    if n >= 8 {
        return w;
    }
    let sh = 8 * (8 - n);
    (w << sh) | (ZEROS >> (64 - sh))
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

/// `m / 10^k` for an `m` that is a multiple of 10^k (its last k digits were zeros), k <= 18: a
/// shift and a multiplication instead of a hardware division, which LLVM emits for a table of
/// constant divisors.
#[inline(always)]
fn div_pow10(m: u64, k: u32) -> u64 {
    let k = k.min(18);
    (m >> k).wrapping_mul(INV_POW5[k as usize])
}

/// Parses optionally signed decimal integer text.
#[inline]
pub fn parse_int(t: &[u8]) -> Option<i64> {
    let (neg, d) = match t.first()? {
        b'-' => (true, &t[1..]),
        _ => (false, t),
    };
    let v = parse_u64(d)?;
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
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
#[path = "number_tests.rs"]
mod reference_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(parse_int(b"-914047754"), Some(-914047754));
        assert_eq!(parse_int(b"12a"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_u64(b"4105471083"), Some(4105471083));
    }

    #[test]
    fn word_pair_agrees_with_the_general_path() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789.\"e-E]x0000";
        let mut taken = 0;
        for _ in 0..200_000 {
            let r = next();
            // Mostly well-formed `int.digits"` (8 decimals and short), then a few bytes mutated or the
            // shape bent.
            let int = 1 + (r % 9) as usize;
            let frac = [8usize, 8, 8, 7, 9, 1, 2, 3, 0][(r >> 8) as usize % 9];
            let mut t: Vec<u8> = (0..int).map(|k| b'0' + ((r >> (k + 12)) % 10) as u8).collect();
            t.push(b'.');
            t.extend((0..frac).map(|k| {
                if (r >> (k + 20)) & 3 == 0 {
                    b'0' + ((r >> k) % 10) as u8
                } else {
                    b'0'
                }
            }));
            t.extend_from_slice(b"\",\"1\"]]}");
            t.extend_from_slice(&b"        "[..(r >> 40) as usize % 8]);
            for _ in 0..(r >> 44) % 3 {
                let m = next();
                let at = (m % t.len() as u64) as usize;
                t[at] = alphabet[(m >> 20) as usize % alphabet.len()];
            }
            // Exponents are the reference test's (the general path leaves them to parse_dec).
            if let (Some(fast), Some(general)) = (word_pair(&t, 0), scan_general(&t, 0)) {
                taken += 1;
                assert_eq!(fast, general, "{:?}", String::from_utf8_lossy(&t));
            }
        }
        assert!(taken > 20_000, "the fast path was hardly exercised: {taken}");
    }
}
