//! Exact decimal numbers for prices and quantities.
//!
//! A venue's decimal text ("0.00100000", "45285.2", "1.7e-05", "9.121E-7") is parsed straight into
//! an integer mantissa and a count of decimals: no float is ever on the way in, so a book never
//! drifts and two equal prices always compare equal. Each number also remembers how many decimals
//! it was *written* with, because OKX and Kraken checksums are computed over the text as received
//! ("30316" and "30316.0" hash differently) and we re-create that text without keeping the bytes.

use thiserror::Error;

/// Largest number of decimals a book may use. 10^18 still fits an i64 mantissa of 1.
pub const MAX_DECIMALS: u8 = 18;

/// Powers of ten that fit an i64, indexed by exponent.
pub const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Why a piece of number text could not become an exact fixed-point value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumError {
    #[error("not a decimal number: {0:?}")]
    Syntax(String),
    #[error("number {0:?} has more significant digits than an i64 mantissa holds")]
    Overflow(String),
    #[error("number {text:?} needs {needed} decimals, more than the {allowed} this book allows")]
    TooPrecise { text: String, needed: u8, allowed: u8 },
    #[error("value does not fit a 64-bit mantissa at {0} decimals")]
    OutOfRange(u8),
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned()
}

/// A parsed decimal: `mant × 10^-dec`, with trailing fractional zeros already stripped from
/// `mant`/`dec` (so "0.35130000" is 3513 × 10^-4), plus `wrote`, the decimals as written (8 there).
///
/// `mant` is never `i64::MIN`: a book's ask key is a price's negation, which no i64 holds for it.
/// Text cannot reach it (18 digits at most are multiplied in), and the binary decoders refuse it
/// (`from_mantissa_exponent`, the bus's levels), so the books' per-level path need not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dec {
    pub mant: i64,
    pub dec: u8,
    pub wrote: u8,
}

impl Dec {
    /// The mantissa at `scale` decimals, if that is exact and fits.
    #[inline]
    pub fn at_scale(self, scale: u8) -> Result<i64, NumError> {
        if self.dec > scale {
            return Err(NumError::TooPrecise { text: String::new(), needed: self.dec, allowed: scale });
        }
        self.mant.checked_mul(POW10[(scale - self.dec) as usize]).ok_or(NumError::OutOfRange(scale))
    }
}

impl Dec {
    /// `mantissa × 10^exponent` as binary feeds send it (Binance SBE `mantissa64`/`exponent8`).
    /// Trailing zeros are stripped like the text parser does; the written decimals are `-exponent`.
    pub fn from_mantissa_exponent(mant: i64, exponent: i8) -> Result<Dec, NumError> {
        if mant == i64::MIN {
            return Err(NumError::OutOfRange(0)); // see `Dec`
        }
        let e = exponent as i32;
        if e >= 0 {
            let m = mul_pow10(mant, e as u32).ok_or(NumError::OutOfRange(0))?;
            return Ok(Dec { mant: m, dec: 0, wrote: 0 });
        }
        let wrote = -e;
        if wrote > MAX_DECIMALS as i32 {
            return Err(NumError::TooPrecise {
                text: format!("{mant}e{exponent}"),
                needed: wrote.min(255) as u8,
                allowed: MAX_DECIMALS,
            });
        }
        let (mut m, mut d) = (mant, wrote);
        while d > 0 && m % 10 == 0 {
            m /= 10;
            d -= 1;
        }
        if m == 0 {
            d = 0;
        }
        Ok(Dec { mant: m, dec: d as u8, wrote: wrote as u8 })
    }

    /// Rounds half-to-even to at most `d` decimals; `None` if nothing changed. Only for venues
    /// that send binary floats (HTX quantities such as 3307.9982700421942), and only when the
    /// user or venue profile asks for it: the book never rounds on its own.
    #[inline]
    pub fn round_to(self, d: u8) -> Option<Dec> {
        if self.dec <= d {
            return None;
        }
        let k = (self.dec - d) as usize;
        let p = POW10[k];
        let (q, r) = (self.mant / p, (self.mant % p).abs());
        let half = p / 2;
        let up = r > half || (r == half && q % 2 != 0);
        let q = if up { q + self.mant.signum() } else { q };
        Some(Dec { mant: q, dec: d, wrote: d })
    }
}

/// Parses decimal text (optionally signed, optionally with an exponent) exactly.
///
/// Trailing fractional zeros are not multiplied into the mantissa, so "12345678901.000000000" fits
/// even though its digits written out would not.
#[inline]
pub fn parse_dec(s: &[u8]) -> Result<Dec, NumError> {
    let mut i = 0;
    let n = s.len();
    let neg = n > 0 && s[0] == b'-';
    if neg {
        i = 1;
    }
    let mut mant: i64 = 0;
    let mut digits = 0usize;
    // Zeros seen but not yet multiplied in (only ever pending after the decimal point).
    let mut pending_zeros: u32 = 0;
    let mut frac: i32 = 0; // decimals consumed into mant
    let mut wrote: i32 = 0;
    let mut seen_point = false;
    while i < n {
        let c = s[i];
        if c.is_ascii_digit() {
            digits += 1;
            if seen_point {
                wrote += 1;
                if c == b'0' {
                    pending_zeros += 1;
                    i += 1;
                    continue;
                }
                if pending_zeros > 0 {
                    mant = mul_pow10(mant, pending_zeros).ok_or_else(|| NumError::Overflow(lossy(s)))?;
                    frac += pending_zeros as i32;
                    pending_zeros = 0;
                }
                frac += 1;
            }
            mant = mant
                .checked_mul(10)
                .and_then(|m| m.checked_add((c - b'0') as i64))
                .ok_or_else(|| NumError::Overflow(lossy(s)))?;
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return Err(NumError::Syntax(lossy(s)));
    }
    let mut exp: i32 = 0;
    if i < n {
        if s[i] != b'e' && s[i] != b'E' {
            return Err(NumError::Syntax(lossy(s)));
        }
        i += 1;
        let mut eneg = false;
        if i < n && (s[i] == b'-' || s[i] == b'+') {
            eneg = s[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < n && s[i].is_ascii_digit() {
            // Held to ±EXP_CAP: past it every value is 0, too precise or out of range alike, and the
            // sums below (`frac - exp`, `wrote - exp`) stay far from i32's ends.
            exp = (exp * 10 + (s[i] - b'0') as i32).min(EXP_CAP);
            i += 1;
        }
        if i == start || i != n {
            return Err(NumError::Syntax(lossy(s)));
        }
        if eneg {
            exp = -exp;
        }
    }
    // value = mant × 10^(exp - frac); written decimals = wrote - exp (never below 0).
    let mut dec = frac - exp;
    if mant == 0 {
        dec = 0;
    } else if dec < 0 {
        mant = mul_pow10(mant, (-dec) as u32).ok_or_else(|| NumError::Overflow(lossy(s)))?;
        dec = 0;
    }
    // A negative exponent moves integer zeros into the fraction ("10e-1" is 1): strip them too.
    while dec > 0 && mant % 10 == 0 {
        mant /= 10;
        dec -= 1;
    }
    if dec > MAX_DECIMALS as i32 {
        return Err(NumError::TooPrecise {
            text: lossy(s),
            needed: dec.min(255) as u8,
            allowed: MAX_DECIMALS,
        });
    }
    let wrote = (wrote - exp).clamp(dec, MAX_DECIMALS as i32);
    Ok(Dec { mant: if neg { -mant } else { mant }, dec: dec as u8, wrote: wrote as u8 })
}

/// The largest exponent magnitude `parse_dec` keeps; longer exponents read as this one.
const EXP_CAP: i32 = 1_000_000;

#[inline]
fn mul_pow10(m: i64, k: u32) -> Option<i64> {
    if k as usize >= POW10.len() {
        return if m == 0 { Some(0) } else { None };
    }
    m.checked_mul(POW10[k as usize])
}

/// Converts a mantissa at `scale` decimals to a float, for display and analytics only.
#[inline]
pub fn to_f64(mant: i64, scale: u8) -> f64 {
    // Division by an exact power of ten is the correctly rounded result for |mant| < 2^53.
    mant as f64 / POW10[scale as usize] as f64
}

/// Writes `mant` (at `scale` decimals) with exactly `wrote` decimals into `buf`, returning the
/// length, e.g. (30316, 0, 0) -> "30316", (3366100, 3, 1) -> "3366.1". `wrote` >= the decimals
/// the value needs; the caller guarantees that. No allocation: the longest text is 41 bytes.
#[inline]
pub fn format_fixed(mant: i64, scale: u8, wrote: u8, buf: &mut [u8; 48]) -> usize {
    write_fixed(mant, scale, wrote, buf, 0)
}

/// `format_fixed` into `out` at `at`, returning the new end. Checksums rebuild a venue's text for
/// 50 numbers per message, so values below 10^16 (every price and size seen) are written with
/// two 16-byte stores and no division loop; `out` must have 48 bytes from `at` on, some of them
/// overwritten past the end of the text.
#[inline]
pub fn write_fixed(mant: i64, scale: u8, wrote: u8, out: &mut [u8], at: usize) -> usize {
    let Some(v) = rescale_fast(mant, scale, wrote).filter(|v| v.unsigned_abs() < 10u64.pow(16) && wrote < 16)
    else {
        return write_fixed_slow(mant, scale, wrote, out, at);
    };
    let at = at + (v < 0) as usize;
    out[at - (v < 0) as usize] = b'-';
    let u = v.unsigned_abs();
    if u < 100_000_000 && wrote < 8 {
        // Most prices and sizes at their written decimals have at most 8 digits: one word.
        let d = digits8(u);
        let digits = 8 - (d ^ ZEROS8).trailing_zeros().min(64) / 8;
        let len = digits.max(wrote as u32 + 1);
        let block = d >> (8 * (8 - len));
        out[at..at + 8].copy_from_slice(&block.to_le_bytes());
        if wrote == 0 {
            return at + len as usize;
        }
        let int = (len - wrote as u32) as usize;
        out[at + int] = b'.';
        out[at + int + 1..at + int + 9].copy_from_slice(&(block >> (8 * int)).to_le_bytes());
        return at + len as usize + 1;
    }
    if u < 100_000_000 && wrote == 8 {
        // Below 1 at 8 decimals (OKX's and Binance's sizes): "0." and the word.
        out[at..at + 2].copy_from_slice(b"0.");
        out[at + 2..at + 10].copy_from_slice(&digits8(u).to_le_bytes());
        return at + 10;
    }
    let d = digits16(u);
    // Leading '0' digits of the 16, then at least `wrote + 1` digits so "0.001" keeps its 0.
    let digits = 16 - (d ^ ZEROS16).trailing_zeros() / 8;
    let len = digits.max(wrote as u32 + 1);
    let block = d >> (8 * (16 - len));
    out[at..at + 16].copy_from_slice(&block.to_le_bytes());
    if wrote == 0 {
        return at + len as usize;
    }
    let int = (len - wrote as u32) as usize;
    out[at + int] = b'.';
    out[at + int + 1..at + int + 17].copy_from_slice(&(block >> (8 * int)).to_le_bytes());
    at + len as usize + 1
}

/// The digits of `mant` (at `scale`) at `wrote` decimals with no sign, point or leading zeros
/// (Kraken's checksum text) into `out` at `at`; the new end. `out` must have 48 bytes from `at` on.
#[inline]
pub fn write_digits(mant: i64, scale: u8, wrote: u8, out: &mut [u8], at: usize) -> usize {
    match rescale_fast(mant, scale, wrote).map(i64::unsigned_abs).filter(|&u| u < 10u64.pow(16)) {
        Some(0) => at,
        Some(u) if u < 100_000_000 => {
            // Most prices and sizes have at most 8 digits at their written decimals: one word
            // (two `digits8` and a u128 shift cost Kraken's 40 numbers per checksum ~2x).
            let d = digits8(u);
            let digits = 8 - (d ^ ZEROS8).trailing_zeros() / 8;
            out[at..at + 8].copy_from_slice(&(d >> (8 * (8 - digits))).to_le_bytes());
            at + digits as usize
        }
        Some(u) => {
            let d = digits16(u);
            let digits = 16 - (d ^ ZEROS16).trailing_zeros() / 8;
            out[at..at + 16].copy_from_slice(&(d >> (8 * (16 - digits))).to_le_bytes());
            at + digits as usize
        }
        None => {
            let mut tmp = [0u8; 40];
            let k = digits_rev(rescale_exact(mant, scale, wrote).unsigned_abs(), &mut tmp);
            for (o, &c) in out[at..at + k].iter_mut().zip(tmp[..k].iter().rev()) {
                *o = c;
            }
            at + k
        }
    }
}

const ZEROS16: u128 = u128::from_ne_bytes([b'0'; 16]);
const ZEROS8: u64 = u64::from_ne_bytes([b'0'; 8]);

/// `rescale_exact` when the result fits an i64 and no digit is dropped; `None` otherwise. Going
/// down in scale divides by a power of ten known to divide exactly, as a shift and a multiply.
#[inline(always)]
fn rescale_fast(mant: i64, scale: u8, to: u8) -> Option<i64> {
    if to >= scale {
        return mant.checked_mul(*POW10.get((to - scale) as usize)?);
    }
    let k = (scale - to) as usize;
    let q = (mant >> k).wrapping_mul(INV_POW5[k] as i64);
    // Exact only when 10^k divides `mant`; an unchecked product could wrap onto `mant` otherwise.
    (q.checked_mul(POW10[k]) == Some(mant)).then_some(q)
}

/// Inverses of 5^k modulo 2^64 (5 is odd, so they exist), by Newton's iteration: `(m >> k) *
/// INV_POW5[k]` is `m / 10^k` whenever 10^k divides `m`, a shift and a multiplication instead of a
/// hardware division.
pub(crate) const INV_POW5: [u64; 19] = {
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

/// The 16 decimal digits of `v` < 10^16, zero-padded, the first digit in the lowest byte.
#[inline(always)]
fn digits16(v: u64) -> u128 {
    digits8(v / 100_000_000) as u128 | (digits8(v % 100_000_000) as u128) << 64
}

/// The 8 digits of `x` < 10^8 as ASCII, first digit in the lowest byte: split into 4-digit, then
/// 2-digit, then 1-digit lanes, each split a multiply-shift that is exact in its range.
#[inline(always)]
fn digits8(x: u64) -> u64 {
    let v = (x / 10_000) | (x % 10_000) << 32;
    let q = ((v * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let v = q | (v - q * 100) << 16;
    let q = ((v * 103) >> 10) & 0x000F_000F_000F_000F;
    let v = q | (v - q * 10) << 8;
    v | 0x3030_3030_3030_3030
}

/// `format_fixed` for values of 16 digits and more: digit by digit, through a wider type.
#[cold]
fn write_fixed_slow(mant: i64, scale: u8, wrote: u8, out: &mut [u8], at: usize) -> usize {
    let v = rescale_exact(mant, scale, wrote);
    let mut tmp = [0u8; 40];
    // Digits, least significant first; at least wrote+1 of them so "0.001" keeps its leading 0.
    let mut k = digits_rev(v.unsigned_abs(), &mut tmp);
    while k <= wrote as usize {
        tmp[k] = b'0';
        k += 1;
    }
    let mut o = at;
    if v < 0 {
        out[o] = b'-';
        o += 1;
    }
    for j in (0..k).rev() {
        out[o] = tmp[j];
        o += 1;
        if j == wrote as usize && wrote > 0 {
            out[o] = b'.';
            o += 1;
        }
    }
    o
}

const DIGITS2: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes the decimal digits of `v` least significant first; returns how many (0 for 0). Stays in
/// u64 arithmetic when it can: u128 division is a slow library call and checksums run per message.
#[inline]
pub fn digits_rev(v: u128, tmp: &mut [u8; 40]) -> usize {
    let mut k = 0;
    if let Ok(mut u) = u64::try_from(v) {
        // Two digits per division.
        while u >= 100 {
            let r = (u % 100) as usize;
            u /= 100;
            tmp[k] = DIGITS2[2 * r + 1];
            tmp[k + 1] = DIGITS2[2 * r];
            k += 2;
        }
        while u > 0 {
            tmp[k] = b'0' + (u % 10) as u8;
            u /= 10;
            k += 1;
        }
    } else {
        let mut u = v;
        while u > 0 {
            tmp[k] = b'0' + (u % 10) as u8;
            u /= 10;
            k += 1;
        }
    }
    k
}

/// The value `mant × 10^-scale` as an integer at `to` decimals (wider type: never overflows for
/// `to` <= 36). Truncates if `to < scale`; callers only do that when the digits dropped are zeros.
#[inline]
pub fn rescale_exact(mant: i64, scale: u8, to: u8) -> i128 {
    if to >= scale {
        let f = (to - scale) as usize;
        match (f < POW10.len()).then(|| mant.checked_mul(POW10[f])).flatten() {
            Some(v) => v as i128,
            None => mant as i128 * 10i128.pow(f as u32),
        }
    } else {
        (mant / POW10[(scale - to) as usize]) as i128
    }
}

#[cfg(test)]
#[path = "num_tests.rs"]
mod tests;
