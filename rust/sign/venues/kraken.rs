//! Kraken spot REST: `API-Sign = b64(HMAC-SHA512(b64decode(secret), uri_path + SHA256(nonce + postdata)))`.

use sha2::Digest as _;

use crate::sign::encode::b64_decode;
use crate::sign::hmac::{Digest, HmacKey, StackStr};
use crate::sign::SignError;

pub struct KrakenSigner {
    pub api_key: String,
    key: HmacKey,
}

impl KrakenSigner {
    pub fn new(api_key: &str, secret_b64: &str) -> Result<Self, SignError> {
        let raw = zeroize::Zeroizing::new(b64_decode(secret_b64.as_bytes())?);
        Ok(Self { api_key: super::api_key(api_key)?, key: HmacKey::new(&raw, Digest::Sha512)? })
    }

    #[inline]
    pub fn rest_signature(&self, uri_path: &str, nonce: &str, postdata: &str) -> StackStr {
        let mut h = sha2::Sha256::new();
        h.update(nonce.as_bytes());
        h.update(postdata.as_bytes());
        let inner = h.finalize();
        self.key.mac_parts(&[uri_path.as_bytes(), &inner]).b64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_api_sign_vector() {
        // docs.kraken.com "Spot REST Authentication" example (venues.md §8).
        let s = KrakenSigner::new(
            "key",
            "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
        )
        .unwrap();
        assert_eq!(
            s.rest_signature(
                "/0/private/AddOrder",
                "1616492376594",
                "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
            )
            .as_str(),
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
    }

    #[test]
    fn non_base64_secret_is_refused() {
        assert!(matches!(KrakenSigner::new("k", "not base64!"), Err(SignError::BadBase64(_))));
    }
}
