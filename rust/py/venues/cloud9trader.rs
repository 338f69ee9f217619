//! `cloud9trader`: Python binding of the venue signer (see `crate::sign::venues::cloud9trader`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::py::auth::{holder, key_err, masked, uint, SecretHolder};
use crate::py::errors::guard;
use crate::sign::venues::cloud9trader as c9t;

/// Cloud9Trader WebSocket-upgrade signer.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct Cloud9TraderSigner(c9t::Cloud9TraderSigner);

#[pymethods]
impl Cloud9TraderSigner {
    #[new]
    fn new(api_key: &str, secret_b64: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(c9t::Cloud9TraderSigner::new(api_key, secret_b64).map_err(key_err)?))))
    }

    /// Hex HMAC-SHA256 of `path + nonce` (nonce: Unix ms, an int).
    fn signature<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        nonce: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let n = uint(nonce, "nonce")?;
            Ok(PyString::new(py, self.0.signature(path, n).as_str()))
        })
    }

    /// The next nonce: `max(now_ms, previous + 1)`, so strictly increasing per signer.
    fn next_nonce(&self, now_ms: u64) -> u64 {
        self.0.next_nonce(now_ms)
    }

    /// Records a nonce chosen by the caller so generated nonces stay above it.
    fn observe_nonce(&self, nonce: u64) {
        self.0.observe_nonce(nonce)
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    fn __repr__(&self) -> String {
        format!("Cloud9TraderSigner(api_key='{}')", masked(&self.0.api_key))
    }
}
