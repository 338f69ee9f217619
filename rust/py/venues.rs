//! Python bindings of the venue signers (one pyclass per venue, `subclass` so that
//! `tickwire.venues.<venue>.Signer` can add header builders while the signature methods stay direct
//! Rust calls).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::auth::{holder, key_err, mapping_pairs, masked, text_or_int, SecretHolder};
use super::errors::{err, guard, Kind};
use crate::sign::encode::{iso_millis, iso_seconds};
use crate::sign::venues::{
    binance, bybit, clarofinlore as claro, cloud9trader as c9t, coinbase, htx, kraken, okx,
};

fn decimal(v: u64) -> String {
    v.to_string()
}

fn pairs_ref(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Binance REST and WebSocket API signer (HMAC, Ed25519 or RSA).
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct BinanceSigner(binance::BinanceSigner);

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

/// OKX v5 signer.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct OkxSigner(okx::OkxSigner);

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

/// Bybit v5 signer (HMAC).
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct BybitSigner(bybit::BybitSigner);

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

/// HTX (Huobi) signer: REST signature version 2, WebSocket v2 signature version 2.1.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct HtxSigner(htx::HtxSigner);

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

fn now_s(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

/// Coinbase Advanced Trade (CDP key) JWT signer: ES256 or EdDSA.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct CoinbaseSigner(coinbase::CoinbaseSigner);

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

/// Cloud9Trader WebSocket-upgrade signer.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct Cloud9TraderSigner(c9t::Cloud9TraderSigner);

#[pymethods]
impl Cloud9TraderSigner {
    #[new]
    fn new(api_key: &str, secret_b64: &str) -> PyResult<PyClassInitializer<Self>> {
        guard(|| Ok(holder(Self(c9t::Cloud9TraderSigner::new(api_key, secret_b64).map_err(key_err)?))))
    }

    /// Hex HMAC-SHA256 of `path + nonce`.
    fn signature<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        nonce: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        guard(|| {
            let n = text_or_int(nonce, "nonce", decimal)?;
            Ok(PyString::new(py, self.0.signature(path, &n).as_str()))
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

/// Clarofinlore request signer with a configurable composition.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct ClarofinloreSigner(claro::ClarofinloreSigner);

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

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BinanceSigner>()?;
    m.add_class::<OkxSigner>()?;
    m.add_class::<BybitSigner>()?;
    m.add_class::<KrakenSigner>()?;
    m.add_class::<HtxSigner>()?;
    m.add_class::<CoinbaseSigner>()?;
    m.add_class::<Cloud9TraderSigner>()?;
    m.add_class::<ClarofinloreSigner>()?;
    Ok(())
}
