//! `okx`: Python binding of the venue signer (see `crate::sign::venues::okx`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::decimal;
use crate::py::auth::{holder, key_err, masked, text_or_int, SecretHolder};
use crate::py::errors::guard;
use crate::sign::encode::iso_millis;
use crate::sign::venues::okx;

/// OKX v5 signer.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct OkxSigner(okx::OkxSigner);

impl OkxSigner {
    pub(crate) fn core(&self) -> &okx::OkxSigner {
        &self.0
    }
}

#[pymethods]
impl OkxSigner {
    #[new]
    fn new(api_key: &str, secret: &str, passphrase: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(okx::OkxSigner::new(api_key, secret, passphrase).map_err(key_err)?))))
    }

    /// `Base64(HMAC-SHA256(timestamp + METHOD + request_path + body))`. `timestamp` is the ISO string
    /// sent in `OK-ACCESS-TIMESTAMP`, or an int of Unix milliseconds (rendered that way).
    #[pyo3(signature = (timestamp, method, request_path, body = ""))]
    fn rest_signature<'py>(
        &self,
        py: Python<'py>,
        timestamp: &Bound<'py, PyAny>,
        method: &str,
        request_path: &str,
        body: &str,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", iso_millis)?;
            Ok(PyString::new(py, self.0.rest_signature(&ts, method, request_path, body).as_str()))
        })
    }

    /// WebSocket login `sign`; `timestamp` is Unix seconds (str or int).
    fn ws_login_signature<'py>(
        &self,
        py: Python<'py>,
        timestamp: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", decimal)?;
            Ok(PyString::new(py, self.0.ws_login_signature(&ts).as_str()))
        })
    }

    /// The four `OK-ACCESS-*` headers of a REST request (timestamp: ISO string or Unix ms int).
    #[pyo3(signature = (timestamp, method, request_path, body = ""))]
    fn auth_headers<'py>(
        &self,
        py: Python<'py>,
        timestamp: &Bound<'py, PyAny>,
        method: &str,
        request_path: &str,
        body: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", iso_millis)?;
            let sig = self.0.rest_signature(&ts, method, request_path, body);
            let d = PyDict::new(py);
            d.set_item("OK-ACCESS-KEY", &self.0.api_key)?;
            d.set_item("OK-ACCESS-SIGN", sig.as_str())?;
            d.set_item("OK-ACCESS-TIMESTAMP", &*ts)?;
            d.set_item("OK-ACCESS-PASSPHRASE", self.0.passphrase.as_str())?;
            Ok(d)
        })
    }

    /// The `args[0]` object of the WebSocket `login` op (timestamp: Unix seconds).
    fn ws_login_args<'py>(
        &self,
        py: Python<'py>,
        timestamp: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let ts = text_or_int(timestamp, "timestamp", decimal)?;
            let d = PyDict::new(py);
            d.set_item("apiKey", &self.0.api_key)?;
            d.set_item("passphrase", self.0.passphrase.as_str())?;
            d.set_item("timestamp", &*ts)?;
            d.set_item("sign", self.0.ws_login_signature(&ts).as_str())?;
            Ok(d)
        })
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    fn __repr__(&self) -> String {
        format!("OkxSigner(api_key='{}')", masked(&self.0.api_key))
    }
}
