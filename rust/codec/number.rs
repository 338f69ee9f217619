//! Number scanning for the JSON scanner: plain decimals read eight digits per word (SWAR), exact
//! and without a float, into `(mantissa without trailing fraction zeros, dec | wrote << 8, end)`.
//! Anything unusual (exponents, more than 18 digits) is left to `book::num::parse_dec`, which has
//! the same grammar; `json_tests.rs` and the tests below hold the paths to each other.

/// A plain decimal (optional '-', digits, optional fraction; at most 18 significant digits, no
/// exponent) at `start`: `(mantissa without trailing fraction zeros, dec | wrote << 8, end)`.
/// `None` when the text needs `parse_dec` (exponent, long runs, no digits), which has the same
/// grammar, so the fast and slow paths accept and reject the same text.
#[inline(always)]
pub(crate) fn scan_plain(b: &[u8], start: usize) -> Option<(i64, u16, usize)> {
    if let Some(r) = fixed8(b, start) {
        return Some(r);
    }
    scan_general(b, start)
}

/// `ddd.dddddddd`: 1 to 7 integer digits and exactly 8 decimals, as Binance writes every price and
/// quantity. Both 8-byte loads are issued before anything is parsed (the general path's second
/// load waits for the integer digits to be counted). `None` for anything else, including a ninth
/// decimal or an exponent after the eighth; the result is the general path's, bit for bit.
#[inline(always)]
fn fixed8(b: &[u8], s: usize) -> Option<(i64, u16, usize)> {
    let lo = u64::from_le_bytes(b.get(s..s + 8)?.try_into().ok()?);
    let hi = u64::from_le_bytes(b.get(s + 8..s + 16)?.try_into().ok()?);
    let n = non_digits(lo).trailing_zeros() / 8;
    if n == 0 || n >= 8 || (lo >> (8 * n)) as u8 != b'.' {
        return None;
    }
    // The 8 bytes after the point, from the 16 loaded.
    let w = ((((hi as u128) << 64) | lo as u128) >> (8 * (n + 1))) as u64;
    if non_digits(w) != 0 {
        return None;
    }
    let end = s + n as usize + 9;
    if b.get(end).is_some_and(|&c| c.is_ascii_digit() || (c | 0x20) == b'e') {
        return None;
    }
    // The n integer digits moved to the top bytes, '0' below them: the same value for parse8.
    let sh = 8 * (8 - n);
    let int = parse8((lo << sh) | (0x3030_3030_3030_3030u64 >> (64 - sh)));
    let mant = int * 100_000_000 + parse8(w);
    let nz = w ^ 0x3030_3030_3030_3030;
    let tz = if nz == 0 { 8 } else { nz.leading_zeros() / 8 };
    let m = div_pow10(mant, tz) as i64;
    let dec = if m == 0 { 0 } else { 8 - tz };
    Some((m, dec as u16 | 8 << 8, end))
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

/// Powers of ten up to 10^7, for appending a run of fewer than 8 digits.
const POW10U: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

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
    fn fixed8_agrees_with_the_general_path() {
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
            // Mostly well-formed `int.8digits"`, then a few bytes mutated or the shape bent.
            let int = 1 + (r % 9) as usize;
            let frac = [8usize, 8, 8, 7, 9][(r >> 8) as usize % 5];
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
            if let Some(fast) = fixed8(&t, 0) {
                taken += 1;
                assert_eq!(Some(fast), scan_general(&t, 0), "{:?}", String::from_utf8_lossy(&t));
            }
        }
        assert!(taken > 20_000, "the fast path was hardly exercised: {taken}");
    }
}
