//! What a frame call takes and how it refuses one: a payload's bytes borrowed from whatever buffer
//! Python hands over, and a refused frame as the typed exception of `tickwire.errors`.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::book::BookError;
use crate::py::errors::{book_err, err, Kind};
use crate::venue::{Feed, FeedError};

/// `feed_err` for a frame `feed` refused, the exception also naming in `symbols` every book it held a
/// message for that existed before it (a frame of several messages is refused whole).
pub(crate) fn frame_err(e: FeedError, feed: &Feed) -> PyErr {
    let e = feed_err(e);
    let names: Vec<String> =
        feed.refused_symbols().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    if !names.is_empty() {
        Python::attach(|py| {
            if let Err(set) = e.value(py).setattr("symbols", names) {
                return set;
            }
            e
        })
    } else {
        e
    }
}

pub(crate) fn feed_err(e: FeedError) -> PyErr {
    match e {
        FeedError::Json(j) => err(Kind::Decode, format!("malformed frame, nothing applied: {j}")),
        FeedError::Book { symbol, err: BookError::Num(n) } => {
            book_err(Kind::ValueRange, &symbol, format!("book {symbol}: {n}; nothing applied"))
        }
        FeedError::Book { symbol, err: BookError::ScaleFixed { what, needed, allowed } } => book_err(
            Kind::ValueRange,
            &symbol,
            format!(
                "book {symbol}: a {what} needs {needed} decimals, the book allows {allowed}; nothing applied"
            ),
        ),
        FeedError::Book { symbol, err: e } => book_err(Kind::Book, &symbol, format!("book {symbol}: {e}")),
        FeedError::NoSymbol => err(Kind::Decode, "book message without a symbol"),
        FeedError::SymbolNotText => {
            err(Kind::Decode, "book message whose symbol is not UTF-8; nothing applied")
        }
        FeedError::NotASnapshot => err(Kind::Decode, "payload holds no book snapshot"),
        e @ FeedError::SnapshotSymbol { .. } => err(Kind::Decode, format!("{e}; nothing applied")),
        FeedError::Codec(e) => err(Kind::Decode, format!("{e}; nothing applied")),
    }
}

/// Runs `f` over the bytes of `payload` (bytes, bytearray, memoryview or str) without copying.
pub(crate) fn with_bytes<R>(payload: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<R>) -> PyResult<R> {
    if let Ok(b) = payload.cast::<PyBytes>() {
        return f(b.as_bytes());
    }
    if let Ok(s) = payload.cast::<PyString>() {
        // A str with a lone surrogate (text decoded with "surrogateescape", a mangled frame) has no
        // UTF-8 form: a malformed frame, not a UnicodeEncodeError out of the decoder.
        let text =
            s.to_str().map_err(|_| err(Kind::Decode, "payload str is not valid text; nothing applied"))?;
        return f(text.as_bytes());
    }
    let buf = PyBuffer::<u8>::get(payload)
        .map_err(|_| err(Kind::Decode, "payload must be bytes, bytearray, memoryview or str"))?;
    if !buf.is_c_contiguous() {
        return Err(err(Kind::Decode, "payload buffer must be contiguous"));
    }
    // SAFETY: the buffer is held (and the GIL too) for the whole call and no Python code runs
    // while `f` reads it; a caller mutating a bytearray from another thread is their race.
    let slice = unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) };
    f(slice)
}
