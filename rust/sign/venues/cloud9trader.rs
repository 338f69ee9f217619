//! Cloud9Trader: headers on the WebSocket upgrade, `x-c9t-signature = hex(HMAC-SHA256(b64decode(secret),
//! path + nonce))`, nonce = Unix ms, strictly increasing per key (seed-venues.md).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sign::encode::b64_decode;
use crate::sign::hmac::{Digest, HmacKey, StackStr};
use crate::sign::SignError;

pub struct Cloud9TraderSigner {
    pub api_key: String,
    key: HmacKey,
    last_nonce: AtomicU64,
}

impl Cloud9TraderSigner {
    pub fn new(api_key: &str, secret_b64: &str) -> Result<Self, SignError> {
        let raw = zeroize::Zeroizing::new(b64_decode(secret_b64.as_bytes())?);
        Ok(Self {
            api_key: super::api_key(api_key)?,
            key: HmacKey::new(&raw, Digest::Sha256)?,
            last_nonce: AtomicU64::new(0),
        })
    }

    /// `max(now_ms, last + 1)`: two connections opened in the same millisecond (from any thread) still
    /// get distinct, increasing nonces.
    pub fn next_nonce(&self, now_ms: u64) -> u64 {
        let mut last = self.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now_ms.max(last + 1);
            match self.last_nonce.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Records an explicitly chosen nonce so later generated ones stay above it.
    pub fn observe_nonce(&self, nonce: u64) {
        self.last_nonce.fetch_max(nonce, Ordering::AcqRel);
    }

    /// An integer, not text: the venue compares nonces as numbers that must increase, so text that
    /// is not one (a float, a word) could only be refused there, after the connection was tried.
    pub fn signature(&self, path: &str, nonce: u64) -> StackStr {
        self.key.mac_parts(&[path.as_bytes(), nonce.to_string().as_bytes()]).hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_strictly_increase_within_one_millisecond() {
        let s = Cloud9TraderSigner::new("k", "c2VjcmV0").unwrap();
        let a = s.next_nonce(1000);
        let b = s.next_nonce(1000);
        let c = s.next_nonce(999);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(s.next_nonce(5000), 5000);
    }
}
