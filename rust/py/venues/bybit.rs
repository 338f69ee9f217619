//! `bybit`: Python binding of the venue signer (see `crate::sign::venues::bybit`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::decimal;
use crate::py::auth::{holder, key_err, masked, text_or_int, SecretHolder};
use crate::py::errors::guard;
use crate::sign::venues::bybit;

/// Bybit v5 signer (HMAC).
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct BybitSigner(bybit::BybitSigner);

impl BybitSigner {
    pub(crate) fn core(&self) -> &bybit::BybitSigner {
        &self.0
    }
}

#[pymethods]
impl BybitSigner {
    #[new]
    fn new(api_key: &str, secret: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(bybit::BybitSigner::new(api_key, secret).map_err(key_err)?))))
    }

    /// Hex HMAC of `timestamp + api_key + recv_window + payload` (payload: query string for GET, JSON
    /// body for POST). `timestamp` and `recv_window` are ms, str or int.
    fn rest_signature<'py>(
        &self,
        py: Python<'py>,
        timestamp: &Bound<'py, PyAny>,
        recv_window: &Bound<'py, PyAny>,
        payload: &str,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", decimal)?;
            let rw = text_or_int(recv_window, "recv_window", decimal)?;
            Ok(PyString::new(py, self.0.rest_signature(&ts, &rw, payload).as_str()))
        })
    }

    /// Hex HMAC of `"GET/realtime" + expires` (expires: ms, str or int).
    fn ws_auth_signature<'py>(
        &self,
        py: Python<'py>,
        expires: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let e = text_or_int(expires, "expires", decimal)?;
            Ok(PyString::new(py, self.0.ws_auth_signature(&e).as_str()))
        })
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    fn __repr__(&self) -> String {
        format!("BybitSigner(api_key='{}')", masked(&self.0.api_key))
    }
}
