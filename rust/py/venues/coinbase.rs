//! `coinbase`: Python binding of the venue signer (see `crate::sign::venues::coinbase`).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

use crate::py::auth::{holder, key_err, masked, SecretHolder};
use crate::py::errors::guard;
use crate::sign::venues::coinbase;

fn now_s(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// Coinbase Advanced Trade (CDP key) JWT signer: ES256 or EdDSA.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct CoinbaseSigner(coinbase::CoinbaseSigner);

impl CoinbaseSigner {
    /// The core signer (its key shared with the order templates built from it).
    pub fn core(&self) -> &coinbase::CoinbaseSigner {
        &self.0
    }
}

#[pymethods]
impl CoinbaseSigner {
    #[new]
    fn new(py: Python<'_>, key_name: &str, private_key_pem: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let s =
                py.detach(|| coinbase::CoinbaseSigner::new(key_name, private_key_pem)).map_err(key_err)?;
            Ok(holder(Self(s)))
        })
    }

    /// JWT for a REST request (`uri` claim `"METHOD hostpath"`). `now`: Unix seconds (default: the
    /// system clock); `nonce`: header nonce (default: 64 random hex chars).
    #[pyo3(signature = (method, host, path, *, now = None, nonce = None))]
    fn rest_jwt(
        &self,
        method: &str,
        host: &str,
        path: &str,
        now: Option<u64>,
        nonce: Option<&str>,
    ) -> PyResult<String> {
        guard(|| Ok(self.0.rest_jwt(method, host, path, now_s(now), nonce)))
    }

    /// JWT for a WebSocket message (no `uri` claim).
    #[pyo3(signature = (*, now = None, nonce = None))]
    fn ws_jwt(&self, now: Option<u64>, nonce: Option<&str>) -> PyResult<String> {
        guard(|| Ok(self.0.ws_jwt(now_s(now), nonce)))
    }

    /// `"ES256"` or `"EdDSA"`.
    #[getter]
    fn alg(&self) -> &'static str {
        self.0.key.alg()
    }

    #[getter]
    fn key_name(&self) -> &str {
        &self.0.key_name
    }

    fn public_key_pem(&self) -> String {
        self.0.key.public_key_pem()
    }

    fn __repr__(&self) -> String {
        format!("CoinbaseSigner(key_name='{}', alg='{}')", masked(&self.0.key_name), self.0.key.alg())
    }
}
