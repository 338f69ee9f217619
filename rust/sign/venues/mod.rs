//! One module per venue: each composes the primitives into exactly that venue's signing scheme.

pub mod binance;
pub mod bybit;
pub mod clarofinlore;
pub mod cloud9trader;
pub mod coinbase;
pub mod htx;
pub mod kraken;
pub mod okx;

use super::SignError;

/// Refuses an empty API key: every venue sends it, and an empty one is always a configuration error.
pub(crate) fn api_key(key: &str) -> Result<String, SignError> {
    if key.trim().is_empty() {
        Err(SignError::Invalid("the API key is empty".into()))
    } else {
        Ok(key.to_owned())
    }
}
