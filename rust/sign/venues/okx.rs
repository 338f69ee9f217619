//! OKX v5: `Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))`.

use zeroize::Zeroizing;

use crate::sign::hmac::{Digest, HmacKey, StackStr};
use crate::sign::SignError;

pub struct OkxSigner {
    pub api_key: String,
    /// Sent in plain text in every request's headers, so it is kept, but zeroized on drop.
    pub passphrase: Zeroizing<String>,
    key: HmacKey,
}

impl OkxSigner {
    /// The pre-keyed HMAC state (never the secret): an order template signs with it
    /// (`crate::order`).
    pub fn hmac_key(&self) -> &HmacKey {
        &self.key
    }

    pub fn new(api_key: &str, secret: &str, passphrase: &str) -> Result<Self, SignError> {
        if passphrase.is_empty() {
            return Err(SignError::Invalid("the passphrase is empty".into()));
        }
        Ok(Self {
            api_key: super::api_key(api_key)?,
            passphrase: Zeroizing::new(passphrase.to_owned()),
            key: HmacKey::new(secret.as_bytes(), Digest::Sha256)?,
        })
    }

    /// `request_path` includes the query string for GET; `body` is the exact JSON sent ("" if none).
    /// The method is upper-cased here, as the scheme requires.
    #[inline]
    pub fn rest_signature(&self, timestamp: &str, method: &str, request_path: &str, body: &str) -> StackStr {
        let mut m = self.key.start();
        m.update(timestamp.as_bytes());
        let mut up = [0u8; 16];
        if method.len() <= up.len() {
            up[..method.len()].copy_from_slice(method.as_bytes());
            up[..method.len()].make_ascii_uppercase();
            m.update(&up[..method.len()]);
        } else {
            m.update(method.to_ascii_uppercase().as_bytes());
        }
        m.update(request_path.as_bytes()).update(body.as_bytes());
        m.finish().b64()
    }

    /// WebSocket login: `timestamp` is Unix epoch seconds.
    pub fn ws_login_signature(&self, timestamp: &str) -> StackStr {
        self.key.mac_parts(&[timestamp.as_bytes(), b"GET", b"/users/self/verify"]).b64()
    }
}
