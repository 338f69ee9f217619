//! The text a template writes into its slots: exact decimals from integer mantissas, the request's
//! time in ISO form, both into a caller's stack buffer (no `String` per fill).

/// Exact decimal text of `m / 10^scale` without trailing fractional zeros (as
/// `tickwire.trading.numbers.format_decimal` writes it); returns the bytes used in `buf`.
#[inline]
pub fn decimal_text(mut m: u64, mut scale: u32, buf: &mut [u8; 48]) -> usize {
    while scale > 0 && m % 10 == 0 && m != 0 {
        m /= 10;
        scale -= 1;
    }
    // Digits right to left into the end of `buf`.
    let mut i = buf.len();
    let mut written = 0u32;
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        written += 1;
        if written == scale {
            i -= 1;
            buf[i] = b'.';
        }
        if m == 0 && written > scale {
            break;
        }
    }
    if buf[i] == b'.' {
        i -= 1;
        buf[i] = b'0';
    }
    let n = buf.len() - i;
    buf.copy_within(i.., 0);
    n
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` (`millis`) or `YYYY-MM-DDThh%3Amm%3Ass` of `ms` into `buf`; the bytes
/// used. The same calendar as `crate::sign::encode::iso_millis`/`iso_seconds`, without a `String`.
#[inline]
pub fn iso_text(ms: u64, millis: bool, buf: &mut [u8; 48]) -> usize {
    let (y, mo, d, h, mi, s) = crate::sign::encode::civil(ms / 1000);
    let mut n = 0;
    let mut put = |mut v: u64, w: usize, after: &[u8]| {
        for i in (0..w).rev() {
            buf[n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n += w;
        buf[n..n + after.len()].copy_from_slice(after);
        n += after.len();
    };
    let colon: &[u8] = if millis { b":" } else { b"%3A" };
    put(y, 4, b"-");
    put(mo, 2, b"-");
    put(d, 2, b"T");
    put(h, 2, colon);
    put(mi, 2, colon);
    if millis {
        put(s, 2, b".");
        put(ms % 1000, 3, b"Z");
    } else {
        put(s, 2, b"");
    }
    n
}
