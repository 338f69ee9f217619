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
            exp = exp.saturating_mul(10).saturating_add((s[i] - b'0') as i32);
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
    let v = rescale_exact(mant, scale, wrote);
    let mut tmp = [0u8; 40];
    // Digits, least significant first; at least wrote+1 of them so "0.001" keeps its leading 0.
    let mut k = digits_rev(v.unsigned_abs(), &mut tmp);
    while k <= wrote as usize {
        tmp[k] = b'0';
        k += 1;
    }
    let mut o = 0;
    if v < 0 {
        buf[0] = b'-';
        o = 1;
    }
    for j in (0..k).rev() {
        buf[o] = tmp[j];
        o += 1;
        if j == wrote as usize && wrote > 0 {
            buf[o] = b'.';
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
mod tests {
    use super::*;

    fn p(s: &str) -> Dec {
        parse_dec(s.as_bytes()).unwrap()
    }

    #[test]
    fn plain_and_trailing_zeros() {
        assert_eq!(p("0.00100000"), Dec { mant: 1, dec: 3, wrote: 8 });
        assert_eq!(p("45285.2"), Dec { mant: 452852, dec: 1, wrote: 1 });
        assert_eq!(p("30316"), Dec { mant: 30316, dec: 0, wrote: 0 });
        assert_eq!(p("30316.0"), Dec { mant: 30316, dec: 0, wrote: 1 });
        assert_eq!(p("0"), Dec { mant: 0, dec: 0, wrote: 0 });
        assert_eq!(p("-3"), Dec { mant: -3, dec: 0, wrote: 0 });
        assert_eq!(p("12345678901.000000000"), Dec { mant: 12345678901, dec: 0, wrote: 9 });
    }

    #[test]
    fn exponent_forms() {
        assert_eq!(p("1.7e-05"), Dec { mant: 17, dec: 6, wrote: 6 });
        assert_eq!(p("9.121E-7"), Dec { mant: 9121, dec: 10, wrote: 10 });
        assert_eq!(p("5.0E-7"), Dec { mant: 5, dec: 7, wrote: 8 });
        assert_eq!(p("1e3"), Dec { mant: 1000, dec: 0, wrote: 0 });
        assert_eq!(p("1.25E+2"), Dec { mant: 125, dec: 0, wrote: 0 });
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(parse_dec(b""), Err(NumError::Syntax(_))));
        assert!(matches!(parse_dec(b"1.2.3"), Err(NumError::Syntax(_))));
        assert!(matches!(parse_dec(b"abc"), Err(NumError::Syntax(_))));
        assert!(matches!(parse_dec(b"1e"), Err(NumError::Syntax(_))));
        assert!(matches!(parse_dec(b"99999999999999999999"), Err(NumError::Overflow(_))));
        assert!(matches!(parse_dec(b"1e-30"), Err(NumError::TooPrecise { .. })));
        assert!(matches!(parse_dec(b"1e30"), Err(NumError::Overflow(_))));
        assert!(matches!(p("1.5").at_scale(0), Err(NumError::TooPrecise { .. })));
        assert!(matches!(p("9223372036854775807").at_scale(1), Err(NumError::OutOfRange(1))));
    }

    #[test]
    fn format_roundtrips_as_written() {
        let mut b = [0u8; 48];
        for s in ["0.00100000", "45285.2", "30316", "30316.0", "3366.1", "0.35130000", "7"] {
            let d = p(s);
            let m = d.at_scale(8).unwrap();
            let n = format_fixed(m, 8, d.wrote, &mut b);
            assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), s);
        }
        let n = format_fixed(-3_00000000, 8, 0, &mut b);
        assert_eq!(&b[..n], b"-3");
    }

    #[test]
    fn mantissa_exponent_matches_text() {
        assert_eq!(Dec::from_mantissa_exponent(100000, -8).unwrap(), p("0.00100000"));
        assert_eq!(Dec::from_mantissa_exponent(452852, -1).unwrap(), p("45285.2"));
        assert_eq!(Dec::from_mantissa_exponent(17, 3).unwrap(), p("17000"));
        assert_eq!(Dec::from_mantissa_exponent(0, -8).unwrap(), p("0.00000000"));
        assert!(Dec::from_mantissa_exponent(1, -19).is_err());
        assert!(Dec::from_mantissa_exponent(i64::MAX, 2).is_err());
    }

    #[test]
    fn explicit_rounding_is_half_even() {
        assert_eq!(p("3307.9982700421942").round_to(10), Some(p("3307.9982700422")));
        assert_eq!(p("0.25").round_to(1), Some(p("0.2")));
        assert_eq!(p("0.35").round_to(1), Some(p("0.4")));
        assert_eq!(p("-0.35").round_to(1), Some(p("-0.4")));
        assert_eq!(p("1.5").round_to(3), None);
    }

    #[test]
    fn float_view_matches_text() {
        assert_eq!(to_f64(p("0.3513").at_scale(4).unwrap(), 4), 0.3513);
        assert_eq!(to_f64(p("45285.2").at_scale(2).unwrap(), 2), 45285.2);
    }
}
