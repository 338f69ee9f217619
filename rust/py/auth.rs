//! Python bindings of the signing core: the four key classes and shared argument helpers. The venue
//! signers are in `venues.rs`.
//!
//! Every class derives from `_SecretHolder`, which refuses pickling and copying (a key must not leak
//! into a pickle, a log of a deepcopy, or a second object the user forgets to drop). No repr, str or
//! error message contains key material: errors come from `SignError`, whose messages never do.

use std::borrow::Cow;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyString};

use super::errors::{err, guard, Kind};
use crate::sign::asym;
use crate::sign::encode::b64_decode;
use crate::sign::hmac::{Digest, HmacKey as CoreHmacKey};
use crate::sign::SignError;

#[cold]
pub(crate) fn key_err(e: SignError) -> PyErr {
    err(Kind::SigningKey, e.to_string())
}

/// Runs `f` over the bytes of `obj`: `str` (as UTF-8, borrowed), `bytes` (borrowed) or any
/// C-contiguous buffer (bytearray, memoryview, array…; borrowed through the buffer protocol).
#[inline(always)]
pub(crate) fn with_bytes<R>(obj: &Bound<'_, PyAny>, what: &str, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(f(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    with_buffer(obj, what, f)
}

#[inline(never)]
fn with_buffer<R>(obj: &Bound<'_, PyAny>, what: &str, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    let buf = PyUntypedBuffer::get(obj).map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be str or a bytes-like object, not {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    if !buf.is_c_contiguous() {
        return Err(PyTypeError::new_err(format!("{what} must be a C-contiguous buffer")));
    }
    let len = buf.len_bytes();
    let slice: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the buffer is C-contiguous and `len` bytes long; `buf` keeps the exporter's memory
        // alive and we hold the GIL without calling back into Python while `f` reads it, so no other
        // thread can resize or free it meanwhile.
        unsafe { std::slice::from_raw_parts(buf.buf_ptr().cast::<u8>(), len) }
    };
    Ok(f(slice))
}

/// A `str` argument, or an `int` rendered by `render`: timestamps, nonces and windows are accepted as
/// either because callers hold them both ways.
pub(crate) fn text_or_int<'a>(
    obj: &'a Bound<'_, PyAny>,
    what: &str,
    render: impl FnOnce(u64) -> String,
) -> PyResult<Cow<'a, str>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cow::Borrowed(s.to_str()?));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        let v: u64 = obj
            .extract()
            .map_err(|_| PyValueError::new_err(format!("{what} must be a non-negative integer or a str")))?;
        return Ok(Cow::Owned(render(v)));
    }
    Err(PyTypeError::new_err(format!("{what} must be str or int")))
}

/// An `int` argument that must be a non-negative integer (`bool`, `float` and `str` refused): a value
/// that is compared as a number, such as a nonce that must increase.
pub(crate) fn uint(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{what} must be an int")));
    }
    obj.extract().map_err(|_| PyValueError::new_err(format!("{what} must be a non-negative integer")))
}

/// `(name, value)` pairs of a mapping, with values rendered as the venues expect: `str` as is, `bool`
/// as `true`/`false` (JSON spelling), anything else through `str()`.
pub(crate) fn mapping_pairs(params: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let items = if let Ok(d) = params.cast::<PyDict>() {
        d.items().into_any()
    } else {
        params.call_method0("items")?
    };
    for item in items.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        let k: String = k.extract().map_err(|_| PyTypeError::new_err("parameter names must be str"))?;
        let v = if let Ok(s) = v.cast::<PyString>() {
            s.to_str()?.to_owned()
        } else if let Ok(b) = v.cast::<PyBool>() {
            if b.is_true() { "true" } else { "false" }.to_owned()
        } else {
            v.str()?.to_str()?.to_owned()
        };
        out.push((k, v));
    }
    Ok(out)
}

/// The no-pickle, no-copy base of every class that holds key material.
#[pyclass(subclass, frozen, name = "_SecretHolder", module = "tickwire._core")]
pub struct SecretHolder;

fn refuse(what: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "{what}: signing keys and signers cannot be pickled or copied (they hold secrets); \
         build a new one from the credentials instead"
    ))
}

#[pymethods]
impl SecretHolder {
    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse("cannot pickle"))
    }
    fn __reduce_ex__(&self, _protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(refuse("cannot pickle"))
    }
    fn __getstate__(&self) -> PyResult<()> {
        Err(refuse("cannot pickle"))
    }
    fn __copy__(&self) -> PyResult<()> {
        Err(refuse("cannot copy"))
    }
    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(refuse("cannot copy"))
    }
}

pub(crate) fn holder<T: pyo3::PyClass<BaseType = SecretHolder>>(v: T) -> PyClassInitializer<T> {
    PyClassInitializer::from(SecretHolder).add_subclass(v)
}

/// Only the first and last few characters of an API key (an identifier, not a secret, but it need
/// not be spelled out in logs either).
pub(crate) fn masked(key: &str) -> String {
    let n = key.chars().count();
    if n <= 8 {
        "…".into()
    } else {
        let head: String = key.chars().take(4).collect();
        let tail: String = key.chars().skip(n - 2).collect();
        format!("{head}…{tail}")
    }
}

/// HMAC key with its inner/outer hash states computed once.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct HmacKey(CoreHmacKey);

#[pymethods]
impl HmacKey {
    #[new]
    #[pyo3(signature = (secret, digest = "sha256", *, secret_is_base64 = false))]
    fn new(
        secret: &Bound<'_, PyAny>,
        digest: &str,
        secret_is_base64: bool,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let d = Digest::from_name(digest).map_err(key_err)?;
            let k = with_bytes(secret, "secret", |s| {
                if secret_is_base64 {
                    let raw = zeroize::Zeroizing::new(b64_decode(s)?);
                    CoreHmacKey::new(&raw, d)
                } else {
                    CoreHmacKey::new(s, d)
                }
            })?
            .map_err(key_err)?;
            Ok(holder(Self(k)))
        })
    }

    /// Lowercase hex MAC of `msg` (str as UTF-8, or any bytes-like object).
    fn hexdigest<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        guard(|| with_bytes(msg, "msg", |m| PyString::new(py, self.0.mac(m).hex().as_str())))
    }

    /// Standard padded base64 MAC of `msg`.
    fn b64digest<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        guard(|| with_bytes(msg, "msg", |m| PyString::new(py, self.0.mac(m).b64().as_str())))
    }

    /// Raw MAC bytes of `msg`.
    fn digest<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| with_bytes(msg, "msg", |m| PyBytes::new(py, self.0.mac(m).as_bytes())))
    }

    /// The hash name: `sha256`, `sha384` or `sha512`.
    #[getter]
    fn digest_name(&self) -> &'static str {
        self.0.digest().name()
    }

    /// MAC length in bytes.
    #[getter]
    fn digest_size(&self) -> usize {
        self.0.digest().output_len()
    }

    fn __repr__(&self) -> String {
        format!("HmacKey(digest='{}')", self.0.digest().name())
    }
}

fn pem_text<'a>(pem: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, str>> {
    if let Ok(s) = pem.cast::<PyString>() {
        return Ok(Cow::Borrowed(s.to_str()?));
    }
    with_bytes(pem, "pem", |b| {
        std::str::from_utf8(b)
            .map(|s| Cow::Owned(s.to_owned()))
            .map_err(|_| err(Kind::SigningKey, "could not read the private key PEM: it is not UTF-8 text"))
    })?
}

/// Ed25519 signing key (RFC 8032).
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct Ed25519Key(pub(crate) asym::Ed25519Key);

#[pymethods]
impl Ed25519Key {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &Bound<'_, PyAny>) -> PyResult<Py<Self>> {
        guard(|| {
            let k = asym::Ed25519Key::from_pem(&pem_text(pem)?).map_err(key_err)?;
            Py::new(py, holder(Self(k)))
        })
    }

    /// From the 32-byte private seed.
    #[staticmethod]
    fn from_seed(py: Python<'_>, seed: &Bound<'_, PyAny>) -> PyResult<Py<Self>> {
        guard(|| {
            let k = with_bytes(seed, "seed", asym::Ed25519Key::from_seed)?.map_err(key_err)?;
            Py::new(py, holder(Self(k)))
        })
    }

    /// 64-byte signature of `msg`.
    fn sign<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| with_bytes(msg, "msg", |m| PyBytes::new(py, &self.0.sign(m))))
    }

    /// The 32-byte public key.
    fn public_key_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.public_key_bytes())
    }

    /// The public key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    fn public_key_pem(&self) -> String {
        self.0.public_key_pem()
    }

    fn __repr__(&self) -> &'static str {
        "Ed25519Key(<private>)"
    }
}

/// RSA signing key: RSASSA-PKCS1-v1_5 with SHA-256.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct RsaKey(pub(crate) asym::RsaKey);

#[pymethods]
impl RsaKey {
    /// From a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &Bound<'_, PyAny>) -> PyResult<Py<Self>> {
        guard(|| {
            let text = pem_text(pem)?;
            let k = py.detach(|| asym::RsaKey::from_pem(&text)).map_err(key_err)?;
            Py::new(py, holder(Self(k)))
        })
    }

    /// Signature of `msg` (as long as the modulus).
    fn sign<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| with_bytes(msg, "msg", |m| PyBytes::new(py, &self.0.sign(m))))
    }

    fn public_key_pem(&self) -> String {
        self.0.public_key_pem()
    }

    fn __repr__(&self) -> &'static str {
        "RsaKey(<private>)"
    }
}

/// ECDSA P-256 signing key with SHA-256 (ES256); signatures are raw 64-byte `r || s`.
#[pyclass(extends = SecretHolder, subclass, frozen, module = "tickwire._core")]
pub struct EcdsaP256Key(pub(crate) asym::EcdsaP256Key);

#[pymethods]
impl EcdsaP256Key {
    /// From a SEC1 (`EC PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM.
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &Bound<'_, PyAny>) -> PyResult<Py<Self>> {
        guard(|| {
            let k = asym::EcdsaP256Key::from_pem(&pem_text(pem)?).map_err(key_err)?;
            Py::new(py, holder(Self(k)))
        })
    }

    fn sign<'py>(&self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| with_bytes(msg, "msg", |m| PyBytes::new(py, &self.0.sign(m))))
    }

    fn public_key_pem(&self) -> String {
        self.0.public_key_pem()
    }

    fn __repr__(&self) -> &'static str {
        "EcdsaP256Key(<private>)"
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SecretHolder>()?;
    m.add_class::<HmacKey>()?;
    m.add_class::<Ed25519Key>()?;
    m.add_class::<RsaKey>()?;
    m.add_class::<EcdsaP256Key>()?;
    super::venues::register(m)
}
