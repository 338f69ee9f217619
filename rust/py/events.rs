//! Small typed events for trade and best-bid/offer frames, and exact `Decimal` conversion.
//!
//! Events were `(symbol, price, qty, buyer_maker)` / `(symbol, bid, bid_qty, ask, ask_qty)` tuples
//! before; they still unpack, index and compare like those tuples so existing callers keep working.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple, PyType};

use crate::book::num::{format_fixed, to_f64, Dec};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `mant × 10^-scale` as a `decimal.Decimal` written with `wrote` decimals (as the venue wrote it).
pub(crate) fn decimal<'py>(py: Python<'py>, mant: i64, scale: u8, wrote: u8) -> PyResult<Bound<'py, PyAny>> {
    let cls = DECIMAL.import(py, "decimal", "Decimal")?;
    // `format_fixed` needs at least the decimals the value has; trailing zeros are cheap to keep.
    let mut need = scale;
    let mut m = mant;
    while need > 0 && m % 10 == 0 {
        m /= 10;
        need -= 1;
    }
    let mut buf = [0u8; 48];
    let n = format_fixed(mant, scale, wrote.max(need), &mut buf);
    let text = std::str::from_utf8(&buf[..n]).unwrap_or("NaN");
    cls.call1((text,))
}

fn dec_py<'py>(py: Python<'py>, d: Dec) -> PyResult<Bound<'py, PyAny>> {
    decimal(py, d.mant, d.dec, d.wrote)
}

fn f(d: Dec) -> f64 {
    to_f64(d.mant, d.dec)
}

/// Index into a tuple-like event, Python style (negative from the end).
fn pick(t: &Bound<'_, PyTuple>, i: isize) -> PyResult<Py<PyAny>> {
    let n = t.len() as isize;
    let k = if i < 0 { i + n } else { i };
    if k < 0 || k >= n {
        return Err(pyo3::exceptions::PyIndexError::new_err("event index out of range"));
    }
    Ok(t.get_item(k as usize)?.unbind())
}

/// The `#[pymethods]` of an event: its own getters plus the tuple protocol over `tuple()`.
macro_rules! event_methods {
    ($ty:ident, $len:expr, { $($own:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($own)*
            fn __len__(&self) -> usize {
                $len
            }
            fn __getitem__(&self, py: Python<'_>, i: isize) -> PyResult<Py<PyAny>> {
                pick(&self.tuple(py)?, i)
            }
            fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                self.tuple(py)?.try_iter().map(|i| i.into_any())
            }
            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
                eq(&self.tuple(py)?, other)
            }
            fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
                self.tuple(py)?.hash()
            }
        }
    };
}

/// One trade: `symbol`, `price`, `qty` (floats), `buyer_maker` (True when the taker sold),
/// `trade_id` (the venue's, where it writes one as digits; else None).
#[pyclass(module = "tickwire._core", name = "Trade", frozen)]
pub struct Trade {
    #[pyo3(get)]
    pub(crate) symbol: Py<PyString>,
    pub(crate) px: Dec,
    pub(crate) qty: Dec,
    #[pyo3(get)]
    pub(crate) buyer_maker: bool,
    #[pyo3(get)]
    pub(crate) trade_id: Option<u64>,
}

impl Trade {
    pub(crate) fn new(
        symbol: Py<PyString>,
        px: Dec,
        qty: Dec,
        buyer_maker: bool,
        trade_id: Option<u64>,
    ) -> Self {
        Trade { symbol, px, qty, buyer_maker, trade_id }
    }

    fn tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (self.symbol.clone_ref(py), f(self.px), f(self.qty), self.buyer_maker).into_pyobject(py)
    }
}

event_methods!(Trade, 4, {
    #[getter]
    fn price(&self) -> f64 {
        f(self.px)
    }
    #[getter]
    fn qty(&self) -> f64 {
        f(self.qty)
    }
    /// The taker's side: "sell" when the buyer was the maker, else "buy".
    #[getter]
    fn side(&self) -> &'static str {
        if self.buyer_maker {
            "sell"
        } else {
            "buy"
        }
    }
    /// `(price, qty)` as `Decimal`, exactly as the venue wrote them.
    fn exact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (dec_py(py, self.px)?, dec_py(py, self.qty)?).into_pyobject(py)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Trade(symbol={:?}, price={}, qty={}, buyer_maker={}, trade_id={})",
            self.symbol.bind(py).to_string(),
            f(self.px),
            f(self.qty),
            if self.buyer_maker { "True" } else { "False" },
            self.trade_id.map_or("None".to_owned(), |i| i.to_string())
        )
    }
});

/// Best bid and offer: `symbol`, `bid`, `bid_qty`, `ask`, `ask_qty` (floats).
#[pyclass(module = "tickwire._core", name = "Bbo", frozen)]
pub struct Bbo {
    #[pyo3(get)]
    pub(crate) symbol: Py<PyString>,
    pub(crate) v: [Dec; 4],
}

impl Bbo {
    pub(crate) fn new(symbol: Py<PyString>, v: [Dec; 4]) -> Self {
        Bbo { symbol, v }
    }

    fn tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let [a, b, c, d] = self.v.map(f);
        (self.symbol.clone_ref(py), a, b, c, d).into_pyobject(py)
    }
}

event_methods!(Bbo, 5, {
    #[getter]
    fn bid(&self) -> f64 {
        f(self.v[0])
    }
    #[getter]
    fn bid_qty(&self) -> f64 {
        f(self.v[1])
    }
    #[getter]
    fn ask(&self) -> f64 {
        f(self.v[2])
    }
    #[getter]
    fn ask_qty(&self) -> f64 {
        f(self.v[3])
    }
    /// `(bid, bid_qty, ask, ask_qty)` as `Decimal`, exactly as the venue wrote them.
    fn exact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let v = &self.v;
        (dec_py(py, v[0])?, dec_py(py, v[1])?, dec_py(py, v[2])?, dec_py(py, v[3])?).into_pyobject(py)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        let [a, b, c, d] = self.v.map(f);
        format!(
            "Bbo(symbol={:?}, bid={a}, bid_qty={b}, ask={c}, ask_qty={d})",
            self.symbol.bind(py).to_string()
        )
    }
});

/// Equal to another event of the same kind or to the tuple it stands for.
fn eq(mine: &Bound<'_, PyTuple>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(t) = other.cast::<Trade>() {
        return mine.eq(t.get().tuple(other.py())?);
    }
    if let Ok(b) = other.cast::<Bbo>() {
        return mine.eq(b.get().tuple(other.py())?);
    }
    if other.is_instance_of::<PyTuple>() {
        return mine.eq(other);
    }
    Ok(false)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Trade>()?;
    m.add_class::<Bbo>()?;
    Ok(())
}
