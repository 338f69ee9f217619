//! `binance`: Python binding of the venue signer (see `crate::sign::venues::binance`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::pairs_ref;
use crate::py::auth::{holder, key_err, mapping_pairs, masked, SecretHolder};
use crate::py::errors::guard;
use crate::sign::venues::binance;

/// Binance REST and WebSocket API signer (HMAC, Ed25519 or RSA).
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct BinanceSigner(binance::BinanceSigner);

impl BinanceSigner {
    /// The pure-Rust signer (order templates take its pre-keyed HMAC).
    pub(crate) fn core(&self) -> &binance::BinanceSigner {
        &self.0
    }
}

#[pymethods]
impl BinanceSigner {
    #[new]
    #[pyo3(signature = (api_key, secret = None, *, private_key_pem = None))]
    fn new(
        py: Python<'_>,
        api_key: &str,
        secret: Option<&str>,
        private_key_pem: Option<&str>,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let s = py
                .detach(|| binance::BinanceSigner::new(api_key, secret, private_key_pem))
                .map_err(key_err)?;
            Ok(holder(Self(s)))
        })
    }

    /// Signature of `payload` (query string + body exactly as sent): hex for HMAC, percent-encoded
    /// base64 for Ed25519/RSA. Non-ASCII characters are percent-encoded before signing.
    fn rest_signature<'py>(&self, py: Python<'py>, payload: &str) -> PyResult<Bound<'py, PyString>> {
        guard(|| Ok(self.0.rest_signature(payload, |s| PyString::new(py, s))))
    }

    /// WebSocket API signature of `params` (all but `signature`, sorted by name, `k=v&…` raw UTF-8):
    /// hex for HMAC, plain base64 for Ed25519/RSA.
    fn ws_signature(&self, params: &Bound<'_, PyAny>) -> PyResult<String> {
        guard(|| {
            let owned = mapping_pairs(params)?;
            let mut p = pairs_ref(&owned);
            Ok(self.0.ws_signature(&mut p))
        })
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    /// `"hmac"`, `"ed25519"` or `"rsa"`.
    #[getter]
    fn key_type(&self) -> &'static str {
        self.0.key_type()
    }

    fn __repr__(&self) -> String {
        format!("BinanceSigner(api_key='{}', key_type='{}')", masked(&self.0.api_key), self.0.key_type())
    }
}
