//! `htx`: Python binding of the venue signer (see `crate::sign::venues::htx`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::pairs_ref;
use crate::py::auth::{holder, key_err, mapping_pairs, masked, text_or_int, SecretHolder};
use crate::py::errors::guard;
use crate::sign::encode::iso_seconds;
use crate::sign::venues::htx;

/// HTX (Huobi) signer: REST signature version 2, WebSocket v2 signature version 2.1.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct HtxSigner(htx::HtxSigner);

impl HtxSigner {
    pub(crate) fn core(&self) -> &htx::HtxSigner {
        &self.0
    }
}

#[pymethods]
impl HtxSigner {
    #[new]
    fn new(access_key: &str, secret: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(htx::HtxSigner::new(access_key, secret).map_err(key_err)?))))
    }

    /// Base64 signature (not URL-encoded) over `METHOD\nhost\npath\nsorted_query`. `timestamp` is
    /// `YYYY-MM-DDThh:mm:ss` UTC, or an int of Unix ms.
    fn rest_signature<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        host: &str,
        path: &str,
        params: &Bound<'py, PyAny>,
        timestamp: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", iso_seconds)?;
            let owned = mapping_pairs(params)?;
            let sig = self.0.rest_signature(method, host, path, &pairs_ref(&owned), &ts);
            Ok(PyString::new(py, sig.as_str()))
        })
    }

    /// The complete query string to send (sorted, URL-encoded, ending in `&Signature=…`).
    fn signed_query(
        &self,
        method: &str,
        host: &str,
        path: &str,
        params: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", iso_seconds)?;
            let owned = mapping_pairs(params)?;
            Ok(self.0.signed_query(method, host, path, &pairs_ref(&owned), &ts))
        })
    }

    /// WebSocket v2 auth signature (version 2.1).
    fn ws_v21_signature<'py>(
        &self,
        py: Python<'py>,
        host: &str,
        path: &str,
        timestamp: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", iso_seconds)?;
            Ok(PyString::new(py, self.0.ws_v21_signature(host, path, &ts).as_str()))
        })
    }

    #[getter]
    fn access_key(&self) -> &str {
        &self.0.access_key
    }

    fn __repr__(&self) -> String {
        format!("HtxSigner(access_key='{}')", masked(&self.0.access_key))
    }
}
