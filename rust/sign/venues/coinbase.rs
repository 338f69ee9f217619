//! Coinbase Advanced Trade (CDP keys): a fresh ES256 or EdDSA JWT per request / WebSocket message,
//! built exactly like the official SDK's `jwt_generator.py`.

use std::sync::Arc;

use crate::sign::jwt::{self, Claims, JwtKey};
use crate::sign::SignError;

/// Token lifetime fixed by the SDK: `exp = nbf + 120`.
pub const LIFETIME_S: u64 = 120;

/// A REST token's `uri` claim: `"{METHOD} {host}{path}"` (path without the query string).
pub fn rest_uri(method: &str, host: &str, path: &str) -> String {
    format!("{} {host}{path}", method.to_ascii_uppercase())
}

pub struct CoinbaseSigner {
    pub key_name: String,
    /// Shared with the order templates built from this signer (`crate::order::jwt`).
    pub key: Arc<JwtKey>,
}

impl CoinbaseSigner {
    pub fn new(key_name: &str, private_key: &str) -> Result<Self, SignError> {
        Ok(Self { key_name: super::api_key(key_name)?, key: Arc::new(JwtKey::from_cdp_secret(private_key)?) })
    }

    fn token(&self, now_s: u64, uri: Option<&str>, nonce: Option<&str>) -> String {
        let n;
        let nonce = match nonce {
            Some(v) => v,
            None => {
                n = jwt::random_nonce();
                &n
            }
        };
        let claims = Claims { sub: &self.key_name, iss: "cdp", nbf: now_s, exp: now_s + LIFETIME_S, uri };
        jwt::sign(&self.key, &self.key_name, nonce, &claims)
    }

    /// JWT for a REST request: `uri` claim `"{METHOD} {host}{path}"` (path without the query string).
    pub fn rest_jwt(&self, method: &str, host: &str, path: &str, now_s: u64, nonce: Option<&str>) -> String {
        self.token(now_s, Some(&rest_uri(method, host, path)), nonce)
    }

    /// JWT for a WebSocket message: no `uri` claim.
    pub fn ws_jwt(&self, now_s: u64, nonce: Option<&str>) -> String {
        self.token(now_s, None, nonce)
    }
}
