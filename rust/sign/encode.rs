//! Hex, base64 and percent-encoding into caller-provided buffers.
//!
//! Signatures are at most 64 bytes, so their text forms (128 hex chars, 88 base64 chars) fit on the
//! stack: the hot path never allocates for encoding. The general-purpose variants that append to a
//! `String` serve request building, which is not on the per-signature path.

use super::SignError;

const HEX: &[u8; 16] = b"0123456789abcdef";
/// The two lowercase hex digits of every byte: one lookup per input byte on the signing hot path.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Lowercase hex of `src` into `out`; returns the number of bytes written (`2 * src.len()`).
#[inline]
pub fn hex_into(src: &[u8], out: &mut [u8]) -> usize {
    let n = src.len() * 2;
    for (o, &b) in out[..n].chunks_exact_mut(2).zip(src) {
        o.copy_from_slice(&HEX_PAIRS[b as usize]);
    }
    n
}

/// Length of padded standard base64 for `n` input bytes.
#[inline]
pub const fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

fn b64_into_alphabet(src: &[u8], out: &mut [u8], alpha: &[u8; 64], pad: bool) -> usize {
    let mut o = 0;
    let mut chunks = src.chunks_exact(3);
    for c in &mut chunks {
        let v = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out[o] = alpha[(v >> 18) as usize & 63];
        out[o + 1] = alpha[(v >> 12) as usize & 63];
        out[o + 2] = alpha[(v >> 6) as usize & 63];
        out[o + 3] = alpha[v as usize & 63];
        o += 4;
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let b1 = rem.get(1).copied().unwrap_or(0);
        let v = (u32::from(rem[0]) << 16) | (u32::from(b1) << 8);
        out[o] = alpha[(v >> 18) as usize & 63];
        out[o + 1] = alpha[(v >> 12) as usize & 63];
        o += 2;
        if rem.len() == 2 {
            out[o] = alpha[(v >> 6) as usize & 63];
            o += 1;
        } else if pad {
            out[o] = b'=';
            o += 1;
        }
        if pad {
            out[o] = b'=';
            o += 1;
        }
    }
    o
}

/// Standard padded base64 (RFC 4648 §4) of `src` into `out`; returns the bytes written.
#[inline]
pub fn b64_into(src: &[u8], out: &mut [u8]) -> usize {
    b64_into_alphabet(src, out, B64_STD, true)
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use.
pub fn b64url_push(src: &[u8], out: &mut String) {
    let start = out.len();
    let mut buf = vec![0u8; b64_len(src.len())];
    let n = b64_into_alphabet(src, &mut buf, B64_URL, false);
    out.push_str(std::str::from_utf8(&buf[..n]).expect("base64 is ASCII"));
    debug_assert!(out.len() >= start);
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes standard or url-safe base64, padded or not, ignoring ASCII whitespace (secrets are often
/// pasted with a trailing newline). Never echoes the input in its error: the input is a secret.
pub fn b64_decode(src: &[u8]) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut seen_pad = false;
    let mut sextets = 0usize;
    for &c in src {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            seen_pad = true;
            continue;
        }
        if seen_pad {
            return Err(SignError::BadBase64("data after '=' padding"));
        }
        let v = b64_value(c).ok_or(SignError::BadBase64("a character outside the base64 alphabet"))?;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        sextets += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if sextets % 4 == 1 {
        return Err(SignError::BadBase64("a truncated final group"));
    }
    Ok(out)
}

/// Percent-encodes every byte `>= 0x80` as `%XX` (uppercase) and leaves ASCII untouched: Binance's
/// rule "any non-ASCII character must be percent-encoded before signing".
pub fn percent_encode_non_ascii(src: &str, out: &mut String) {
    for &b in src.as_bytes() {
        if b < 0x80 {
            out.push(b as char);
        } else {
            push_pct(b, out);
        }
    }
}

fn push_pct(b: u8, out: &mut String) {
    out.push('%');
    out.push(HEX_UPPER[(b >> 4) as usize] as char);
    out.push(HEX_UPPER[(b & 15) as usize] as char);
}

/// `application/x-www-form-urlencoded` encoding as Python's `urllib.parse.quote_plus(s, safe="")` and
/// Go's `url.QueryEscape` do: keeps `A-Za-z0-9-_.~`, turns space into `+`, encodes the rest as `%XX`.
pub fn form_encode(src: &str, out: &mut String) {
    for &b in src.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => push_pct(b, out),
        }
    }
}

/// Percent-encodes the three characters of a standard base64 string that are not URL-safe (`+`, `/`,
/// `=`), in place on a stack buffer: `src` holds `n` bytes; returns the new length. `buf` must have
/// room for `3 * n` bytes.
pub fn pct_b64_in_place(buf: &mut [u8], n: usize) -> usize {
    let extra = buf[..n].iter().filter(|&&c| matches!(c, b'+' | b'/' | b'=')).count() * 2;
    let mut w = n + extra;
    let total = w;
    for r in (0..n).rev() {
        let c = buf[r];
        match c {
            b'+' | b'/' | b'=' => {
                buf[w - 3] = b'%';
                buf[w - 2] = HEX_UPPER[(c >> 4) as usize];
                buf[w - 1] = HEX_UPPER[(c & 15) as usize];
                w -= 3;
            }
            _ => {
                buf[w - 1] = c;
                w -= 1;
            }
        }
    }
    total
}

/// Appends the decimal form of `v` (no allocation beyond the push).
pub fn push_u64(v: u64, out: &mut String) {
    let mut buf = [0u8; 20];
    let s = u64_str(v, &mut buf);
    out.push_str(s);
}

/// Decimal form of `v` in a stack buffer.
pub fn u64_str(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits are ASCII")
}

/// `YYYY-MM-DDThh:mm:ss` (UTC) of a Unix time in milliseconds, as HTX's `Timestamp` wants.
pub fn iso_seconds(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` (UTC), as OKX's `OK-ACCESS-TIMESTAMP` wants.
pub fn iso_millis(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z", ms % 1000)
}

/// Calendar fields of a Unix time in seconds (Howard Hinnant's days-from-civil inverse).
pub(crate) fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64, rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(src: &[u8]) -> String {
        let mut out = vec![0u8; b64_len(src.len())];
        let n = b64_into(src, &mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        // RFC 4648 §10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(i.as_bytes()), o);
            assert_eq!(b64_decode(o.as_bytes()).unwrap(), i.as_bytes());
        }
        let mut s = String::new();
        b64url_push(b"\xfb\xff", &mut s);
        assert_eq!(s, "-_8");
    }

    #[test]
    fn base64_decode_rejects_garbage_without_echoing_it() {
        let e = b64_decode(b"s3cr3t!!").unwrap_err().to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(b64_decode(b"abcde").is_err());
        assert!(b64_decode(b"ab==cd").is_err());
    }

    #[test]
    fn hex_is_lowercase() {
        let mut out = [0u8; 4];
        assert_eq!(hex_into(&[0xAB, 0x01], &mut out), 4);
        assert_eq!(&out, b"ab01");
    }

    #[test]
    fn percent_encodes_base64_specials() {
        let mut buf = [0u8; 24];
        buf[..8].copy_from_slice(b"a+b/c==d");
        let n = pct_b64_in_place(&mut buf, 8);
        assert_eq!(&buf[..n], b"a%2Bb%2Fc%3D%3Dd");
    }

    #[test]
    fn form_encoding_matches_quote_plus() {
        let mut s = String::new();
        form_encode("a b:c~d*é", &mut s);
        assert_eq!(s, "a+b%3Ac~d%2A%C3%A9");
    }

    #[test]
    fn iso_formats() {
        // 2019-11-21T10:00:00Z is 1574330400 s (HTX's documented auth example timestamp).
        assert_eq!(iso_seconds(1_574_330_400_123), "2019-11-21T10:00:00");
        // OKX's documented header example 2020-12-08T09:08:57.715Z.
        assert_eq!(iso_millis(1_607_418_537_715), "2020-12-08T09:08:57.715Z");
        assert_eq!(iso_seconds(951_782_400_000), "2000-02-29T00:00:00");
    }
}
