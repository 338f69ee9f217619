//! The one exception hierarchy, created once here and re-exported by `tickwire.errors`.
//!
//! Classes that mean "bad input" also subclass `ValueError` (and a missing credential `LookupError`),
//! so callers' existing `except ValueError` keeps working. pyo3's `create_exception!` takes a single
//! base, so the multi-base classes are built with `type(name, bases, ns)` once at import.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{
    PyConnectionError, PyException, PyLookupError, PyNotImplementedError, PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// (name, parent within the hierarchy, extra stdlib base, docstring)
const HIERARCHY: &[(&str, Option<&str>, Option<&str>, &str)] = &[
    ("TickwireError", None, None, "Base class of every error tickwire raises."),
    (
        "SigningKeyError",
        Some("TickwireError"),
        Some("ValueError"),
        "A key or secret could not be used: wrong PEM, wrong key type, bad base64, empty secret.",
    ),
    (
        "CredentialsError",
        Some("TickwireError"),
        Some("LookupError"),
        "A credential is missing, e.g. an environment variable that was not set.",
    ),
    (
        "DecodeError",
        Some("TickwireError"),
        Some("ValueError"),
        "A frame or message could not be decoded; nothing was applied.",
    ),
    (
        "ValueRangeError",
        Some("DecodeError"),
        None,
        "A price or quantity does not fit the fixed-point representation.",
    ),
    ("BookError", Some("TickwireError"), None, "An order book could not apply a message."),
    ("SequenceGapError", Some("BookError"), None, "A sequence number skipped: the book is out of sync."),
    ("ChecksumError", Some("BookError"), None, "The venue checksum disagrees with the local book."),
    (
        "InternalError",
        Some("TickwireError"),
        None,
        "A bug inside tickwire's Rust core (a caught panic). Please report it.",
    ),
    // Raised by the Python connection layer; created here so there is one hierarchy.
    (
        "TransportError",
        Some("TickwireError"),
        Some("ConnectionError"),
        "A connection to a venue could not be made or was lost.",
    ),
    (
        "RequestTimeoutError",
        Some("TransportError"),
        Some("TimeoutError"),
        "A venue did not answer in time (request, handshake, pong or snapshot).",
    ),
    (
        "VenueError",
        Some("TickwireError"),
        None,
        "A venue answered with an error: attributes `status`, `code`, `venue` where known.",
    ),
    (
        "RateLimitError",
        Some("VenueError"),
        None,
        "A venue rate limit was hit (HTTP 429/418, OKX 50011, ...): `retry_after` seconds where given.",
    ),
    (
        "AuthError",
        Some("VenueError"),
        None,
        "A venue refused the credentials (login, signature, token); the secret is never in the message.",
    ),
    // Order entry (python/tickwire/trading/codes.py maps each venue's codes onto these).
    (
        "OrderError",
        Some("VenueError"),
        None,
        "A venue answered an order request with an error: `venue`, `code`, `message`, `status` where known.",
    ),
    (
        "OrderRejected",
        Some("OrderError"),
        None,
        "The venue refused the order: nothing was placed (or cancelled/amended).",
    ),
    ("InsufficientFunds", Some("OrderRejected"), None, "The venue refused the order for lack of balance or margin."),
    (
        "DuplicateOrder",
        Some("OrderRejected"),
        None,
        "The venue refused a client order id it already holds; the first order with that id may be live.",
    ),
    (
        "OrderNotFound",
        Some("OrderError"),
        Some("LookupError"),
        "The venue does not know the order (cancel, amend or query of an id it has not, or no longer, got).",
    ),
    (
        "InvalidOrder",
        Some("TickwireError"),
        Some("ValueError"),
        "An order was refused before sending (nothing sent): `rule` and `nearest` valid values where a rule applies.",
    ),
    (
        "UnknownOutcome",
        Some("TickwireError"),
        None,
        "The order's fate is unknown (time-out, 5xx, lost socket) and it is being reconciled: `client_id`.",
    ),
    (
        "NotSupported",
        Some("TickwireError"),
        Some("NotImplementedError"),
        "The venue has no such operation.",
    ),
];

static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn build(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let builtins = py.import("builtins")?;
    let type_fn = builtins.getattr("type")?;
    let mut made: Vec<Py<PyType>> = Vec::with_capacity(HIERARCHY.len());
    for (name, parent, extra, doc) in HIERARCHY {
        let mut bases: Vec<Bound<'_, PyAny>> = Vec::new();
        match parent {
            Some(p) => {
                let i = HIERARCHY.iter().position(|h| h.0 == *p).expect("parent declared first");
                bases.push(made[i].bind(py).clone().into_any());
            }
            None => bases.push(py.get_type::<PyException>().into_any()),
        }
        match extra {
            Some("ValueError") => bases.push(py.get_type::<PyValueError>().into_any()),
            Some("LookupError") => bases.push(py.get_type::<PyLookupError>().into_any()),
            Some("ConnectionError") => bases.push(py.get_type::<PyConnectionError>().into_any()),
            Some("TimeoutError") => bases.push(py.get_type::<PyTimeoutError>().into_any()),
            Some("NotImplementedError") => bases.push(py.get_type::<PyNotImplementedError>().into_any()),
            Some(other) => unreachable!("unknown stdlib base {other}"),
            None => {}
        }
        let ns = PyDict::new(py);
        ns.set_item("__doc__", *doc)?;
        ns.set_item("__module__", "tickwire.errors")?;
        let t = type_fn.call1((*name, PyTuple::new(py, bases)?, ns))?;
        made.push(t.cast_into::<PyType>()?.unbind());
    }
    Ok(made)
}

fn types(py: Python<'_>) -> &Vec<Py<PyType>> {
    TYPES.get_or_init(py, || build(py).expect("building the tickwire exception classes"))
}

/// Index into the hierarchy; an enum so a typo is a compile error, not a runtime lookup.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // variants are used as binding modules land
pub(crate) enum Kind {
    Tickwire = 0,
    SigningKey = 1,
    Credentials = 2,
    Decode = 3,
    ValueRange = 4,
    Book = 5,
    SequenceGap = 6,
    Checksum = 7,
    Internal = 8,
    Transport = 9,
    RequestTimeout = 10,
    Venue = 11,
    RateLimit = 12,
    Auth = 13,
    Order = 14,
    OrderRejected = 15,
    InsufficientFunds = 16,
    DuplicateOrder = 17,
    OrderNotFound = 18,
    InvalidOrder = 19,
    UnknownOutcome = 20,
    NotSupported = 21,
}

/// Builds the Python exception. Kept out of line: error construction is never on the hot path.
#[cold]
#[inline(never)]
pub(crate) fn err(kind: Kind, msg: impl Into<String>) -> PyErr {
    let msg: String = msg.into();
    Python::attach(|py| {
        let t = types(py)[kind as usize].bind(py);
        PyErr::from_type(t.clone(), msg)
    })
}

/// `err` for a book's refusal, the exception naming the book in `symbol` (the session resyncs it:
/// the refused frame held an update the book now lacks).
#[cold]
#[inline(never)]
pub(crate) fn book_err(kind: Kind, symbol: &str, msg: String) -> PyErr {
    Python::attach(|py| {
        let e = err(kind, msg);
        let v = e.value(py);
        match v.setattr("symbol", symbol) {
            Ok(()) => e,
            Err(set) => set,
        }
    })
}

/// Runs `f`, turning a Rust panic into `InternalError` (a `TickwireError`) instead of pyo3's
/// `PanicException`, which derives from BaseException and would slip past `except Exception`.
#[inline(always)]
pub(crate) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_to_err(payload)),
    }
}

#[cold]
#[inline(never)]
fn panic_to_err(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    err(Kind::Internal, format!("internal error in tickwire core (please report): {what}"))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (i, (name, ..)) in HIERARCHY.iter().enumerate() {
        m.add(*name, types(py)[i].bind(py))?;
    }
    Ok(())
}
