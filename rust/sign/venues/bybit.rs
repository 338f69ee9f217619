//! Bybit v5: hex HMAC-SHA256 of `timestamp + api_key + recv_window + payload` (payload = query string
//! for GET, JSON body for POST); WebSocket auth signs `"GET/realtime" + expires`.

use crate::sign::hmac::{Digest, HmacKey, StackStr};
use crate::sign::SignError;

pub struct BybitSigner {
    pub api_key: String,
    key: HmacKey,
}

impl BybitSigner {
    /// The pre-keyed HMAC state (never the secret): an order template signs with it
    /// (`crate::order`).
    pub fn hmac_key(&self) -> &HmacKey {
        &self.key
    }

    pub fn new(api_key: &str, secret: &str) -> Result<Self, SignError> {
        Ok(Self { api_key: super::api_key(api_key)?, key: HmacKey::new(secret.as_bytes(), Digest::Sha256)? })
    }

    #[inline]
    pub fn rest_signature(&self, timestamp: &str, recv_window: &str, payload: &str) -> StackStr {
        self.key
            .mac_parts(&[
                timestamp.as_bytes(),
                self.api_key.as_bytes(),
                recv_window.as_bytes(),
                payload.as_bytes(),
            ])
            .hex()
    }

    pub fn ws_auth_signature(&self, expires: &str) -> StackStr {
        self.key.mac_parts(&[b"GET/realtime", expires.as_bytes()]).hex()
    }
}
