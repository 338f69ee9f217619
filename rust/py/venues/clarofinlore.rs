//! `clarofinlore`: Python binding of the venue signer (see `crate::sign::venues::clarofinlore`).

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::decimal;
use crate::py::auth::{holder, key_err, masked, text_or_int, SecretHolder};
use crate::py::errors::{err, guard, Kind};
use crate::sign::venues::clarofinlore as claro;

/// Clarofinlore request signer with a configurable composition.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct ClarofinloreSigner(claro::ClarofinloreSigner);

impl ClarofinloreSigner {
    pub(crate) fn core(&self) -> &claro::ClarofinloreSigner {
        &self.0
    }
}

#[pymethods]
impl ClarofinloreSigner {
    #[new]
    #[pyo3(signature = (api_key, secret, *, parts = None, separator = ""))]
    fn new(
        api_key: &str,
        secret: &str,
        parts: Option<Vec<String>>,
        separator: &str,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let parts = match parts {
                None => claro::DEFAULT_PARTS.to_vec(),
                Some(v) => v
                    .iter()
                    .map(|p| claro::Part::from_name(p))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| err(Kind::SigningKey, e.to_string()))?,
            };
            let s = claro::ClarofinloreSigner::new(api_key, secret, parts, separator).map_err(key_err)?;
            Ok(holder(Self(s)))
        })
    }

    /// Hex HMAC-SHA256 over the configured parts (default `METHOD + path + query + body`, the query
    /// without its `?`). `timestamp` / `nonce` are needed only when the composition includes them.
    #[pyo3(signature = (method, path, query = "", body = "", *, timestamp = None, nonce = None))]
    #[allow(clippy::too_many_arguments)] // mirrors the Python signature
    fn signature<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
        timestamp: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let ts = timestamp.map(|t| text_or_int(t, "timestamp", decimal)).transpose()?;
            let n = nonce.map(|t| text_or_int(t, "nonce", decimal)).transpose()?;
            let req =
                claro::Request { method, path, query, body, timestamp: ts.as_deref(), nonce: n.as_deref() };
            let sig = self.0.signature(&req).map_err(|e| err(Kind::SigningKey, e.to_string()))?;
            Ok(PyString::new(py, sig.as_str()))
        })
    }

    /// The composition, e.g. `('method', 'path', 'query', 'body')`.
    #[getter]
    fn parts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.parts.iter().map(|p| p.name()))
    }

    #[getter]
    fn separator(&self) -> &str {
        &self.0.separator
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.0.api_key
    }

    fn __repr__(&self) -> String {
        let parts: Vec<&str> = self.0.parts.iter().map(|p| p.name()).collect();
        format!("ClarofinloreSigner(api_key='{}', parts={parts:?})", masked(&self.0.api_key))
    }
}
