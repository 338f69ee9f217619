//! Client ids a template writes without asking Python for each: a range of the session's counter,
//! reserved in one call (`tickwire.trading.client_ids.ClientIds.reserve`) and spelled here exactly
//! as `ClientIds.next` spells them (the stem, then the counter in base 62, most significant first, no
//! padding), so an id is the same whichever side made it and never made twice.

/// `ClientIds`' alphabet: `string.ascii_letters + string.digits`.
const ALNUM: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Longest id a range spells (the longest venue format, a UUID form, is 36).
pub const MAX_ID_LEN: usize = 64;

/// Counters `next..end` under `stem`.
#[derive(Debug, Default, Clone)]
pub struct IdRange {
    stem: Vec<u8>,
    next: u64,
    end: u64,
}

impl IdRange {
    /// `None` when the stem leaves no room for a counter within `MAX_ID_LEN`.
    pub fn new(stem: &str, next: u64, end: u64) -> Option<Self> {
        (stem.len() + 11 <= MAX_ID_LEN).then(|| Self { stem: stem.as_bytes().to_vec(), next, end })
    }

    pub fn left(&self) -> u64 {
        self.end.saturating_sub(self.next)
    }

    /// The next id into `buf` (its length), or `None` when the range is used up.
    #[inline]
    pub fn take(&mut self, buf: &mut [u8; MAX_ID_LEN]) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let n = spell(&self.stem, self.next, buf);
        self.next += 1;
        Some(n)
    }

    /// Puts back the id `take` just gave (the request it went into was never written).
    pub fn untake(&mut self) {
        self.next -= 1;
    }
}

/// `stem` + `count` in base 62 into `buf`; the bytes used.
fn spell(stem: &[u8], mut count: u64, buf: &mut [u8; MAX_ID_LEN]) -> usize {
    let mut digits = [0u8; 11]; // 62^11 > 2^64
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = ALNUM[(count % 62) as usize];
        count /= 62;
        if count == 0 {
            break;
        }
    }
    let tail = &digits[k..];
    buf[..stem.len()].copy_from_slice(stem);
    buf[stem.len()..stem.len() + tail.len()].copy_from_slice(tail);
    stem.len() + tail.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longhand base 62 `ClientIds._base62` is.
    fn reference(mut n: u64) -> String {
        let mut out = Vec::new();
        loop {
            out.push(ALNUM[(n % 62) as usize]);
            n /= 62;
            if n == 0 {
                break;
            }
        }
        out.reverse();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn spells_the_counter_as_client_ids_does_and_stops_at_the_end() {
        let mut r = IdRange::new("bot-x7Q", 3842, 3846).unwrap();
        let mut buf = [0u8; MAX_ID_LEN];
        let mut got = Vec::new();
        while let Some(n) = r.take(&mut buf) {
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        let want: Vec<String> = (3842..3846).map(|c| format!("bot-x7Q{}", reference(c))).collect();
        assert_eq!(got, want);
        assert_eq!(got[1], "bot-x7Q99"); // 3843 = 61*62 + 61: the last two-symbol id
        assert_eq!(got[2], "bot-x7Qbaa"); // 3844 = 62^2: three symbols from here
        assert_eq!(r.left(), 0);
    }

    #[test]
    fn a_put_back_id_is_given_again() {
        let mut r = IdRange::new("s", 0, 2).unwrap();
        let mut buf = [0u8; MAX_ID_LEN];
        r.take(&mut buf).unwrap();
        r.untake();
        assert_eq!(r.take(&mut buf), Some(2));
        assert_eq!(&buf[..2], b"sa");
        assert_eq!(r.left(), 1);
    }

    #[test]
    fn the_largest_counter_fits() {
        let mut r = IdRange::new(&"s".repeat(MAX_ID_LEN - 11), u64::MAX - 1, u64::MAX).unwrap();
        let mut buf = [0u8; MAX_ID_LEN];
        let n = r.take(&mut buf).unwrap();
        assert_eq!(&buf[MAX_ID_LEN - 11..n], reference(u64::MAX - 1).as_bytes());
        assert!(IdRange::new(&"s".repeat(MAX_ID_LEN - 10), 0, 1).is_none());
    }
}
