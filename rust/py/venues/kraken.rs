//! `kraken`: Python binding of the venue signer (see `crate::sign::venues::kraken`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::decimal;
use crate::py::auth::{holder, key_err, masked, text_or_int, SecretHolder};
use crate::py::errors::guard;
use crate::sign::venues::kraken;

/// Kraken spot REST signer.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct KrakenSigner(kraken::KrakenSigner);

#[pymethods]
impl KrakenSigner {
    #[new]
    fn new(api_key: &str, secret_b64: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(kraken::KrakenSigner::new(api_key, secret_b64).map_err(key_err)?))))
    }

    /// `API-Sign`: base64 HMAC-SHA512 of `uri_path + SHA256(nonce + postdata)`.
    fn rest_signature<'py>(
        &self,
        py: Python<'py>,
        uri_path: &str,
        nonce: &Bound<'py, PyAny>,
        postdata: &str,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let n = text_or_int(nonce, "nonce", decimal)?;
            Ok(PyString::new(py, self.0.rest_signature(uri_path, &n, postdata).as_str()))
        })
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    fn __repr__(&self) -> String {
        format!("KrakenSigner(api_key='{}')", masked(&self.0.api_key))
    }
}
