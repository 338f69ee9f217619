//! `http_head`: a REST answer's head read in one call (`rust/codec/http.rs`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::errors::{err, guard, Kind};
use super::feed::with_bytes;
use crate::codec::http::{parse_head, trim_value, Head, HeadError, MANY_FIELDS, MAX_FIELDS};

/// Bytes as Python reads them with `decode("latin-1")` (field names and values are bytes on the wire).
fn latin1<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(b) {
        Ok(s) if b.is_ascii() => PyString::new(py, s),
        _ => PyString::new(py, &b.iter().map(|&c| char::from(c)).collect::<String>()),
    }
}

/// `(status, minor_version, head_length, fields)`.
type Read<'py> = (u16, u8, usize, Bound<'py, PyDict>);

/// `(status, minor_version, head_length, fields)` for the whole response head at the start of `buf`
/// (bytes, bytearray or memoryview), `None` until it has all arrived; `fields` maps lower-cased names
/// to values without the spaces around them, repeated names joined with ", " (a line that is not a
/// field skipped, as `codec::http::parse_head` says). `DecodeError` (a `ValueError`) for a head that
/// is not HTTP/1.x, or whose `Content-Length` or `Transfer-Encoding` line cannot be read.
#[pyfunction]
fn http_head<'py>(py: Python<'py>, buf: &Bound<'py, PyAny>) -> PyResult<Option<Read<'py>>> {
    guard(|| {
        with_bytes(buf, |b| {
            let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
            match parse_head(b, &mut fields) {
                Err(HeadError(httparse::Error::TooManyHeaders)) => {
                    let mut many = vec![httparse::EMPTY_HEADER; MANY_FIELDS];
                    let got = parse_head(b, &mut many);
                    read(py, got, &many)
                }
                got => read(py, got, &fields),
            }
        })
    })
}

fn read<'py>(
    py: Python<'py>,
    got: Result<Option<Head>, HeadError>,
    fields: &[httparse::Header<'_>],
) -> PyResult<Option<Read<'py>>> {
    let Some(h) = got.map_err(|e| err(Kind::Decode, e.to_string()))? else {
        return Ok(None);
    };
    let out = PyDict::new(py);
    for f in &fields[..h.fields_len] {
        let name = PyString::new(py, &f.name.to_ascii_lowercase());
        let value = latin1(py, trim_value(f.value));
        match out.get_item(&name)? {
            Some(old) => out.set_item(&name, format!("{}, {}", old.extract::<&str>()?, value.to_str()?))?,
            None => out.set_item(name, value)?,
        }
    }
    Ok(Some((h.status, h.minor, h.len, out)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(http_head, m)?)
}
