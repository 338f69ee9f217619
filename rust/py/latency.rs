//! `LatencyRecorder` / `Histogram`: per-stage latency histograms, one Python call per frame.

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::guard;
use crate::stats::{Hist, StageError, Stages, MAX_STAGES, TOTAL};

fn stage_err(e: StageError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn check_p(p: f64) -> PyResult<f64> {
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(PyValueError::new_err(format!("percentile must be within 0..=100, got {p}")))
    }
}

fn summary_dict<'py>(py: Python<'py>, h: &Hist, negative: Option<u64>) -> PyResult<Bound<'py, PyDict>> {
    let s = h.summary();
    let d = PyDict::new(py);
    d.set_item("count", s.count)?;
    d.set_item("min", s.min)?;
    d.set_item("p50", s.p50)?;
    d.set_item("p90", s.p90)?;
    d.set_item("p99", s.p99)?;
    d.set_item("p999", s.p999)?;
    d.set_item("max", s.max)?;
    d.set_item("mean", s.mean)?;
    if let Some(n) = negative {
        d.set_item("negative", n)?;
    }
    Ok(d)
}

fn percentiles_dict<'py>(py: Python<'py>, h: &Hist, ps: &[f64]) -> PyResult<Bound<'py, PyDict>> {
    for &p in ps {
        check_p(p)?;
    }
    let d = PyDict::new(py);
    for (&p, v) in ps.iter().zip(h.percentiles(ps)) {
        d.set_item(p, v)?;
    }
    Ok(d)
}

/// Per-stage latency histograms of one pipeline: `record(t0, t1, …)` takes one frame's monotonic-ns
/// stamps and records each consecutive difference into its stage and `t_last - t0` into "total".
#[pyclass(module = "tickwire._core", name = "LatencyRecorder")]
pub struct LatencyRecorder {
    pub(crate) inner: Stages,
}

#[pymethods]
impl LatencyRecorder {
    #[new]
    fn new(stages: Vec<String>) -> PyResult<Self> {
        guard(|| Ok(LatencyRecorder { inner: Stages::new(&stages).map_err(stage_err)? }))
    }

    /// One frame: exactly `len(stages) + 1` stamps. A backwards difference is counted in that stage's
    /// "negative" and not recorded.
    #[pyo3(signature = (t0, t1, t2=None, t3=None, t4=None, t5=None, t6=None))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        t0: i64,
        t1: i64,
        t2: Option<i64>,
        t3: Option<i64>,
        t4: Option<i64>,
        t5: Option<i64>,
        t6: Option<i64>,
    ) -> PyResult<()> {
        guard(|| {
            // Stamps on the stack: the per-frame path allocates nothing.
            let mut buf = [t0, t1, 0, 0, 0, 0, 0];
            let mut n = 2;
            for t in [t2, t3, t4, t5, t6] {
                match t {
                    Some(v) => {
                        buf[n] = v;
                        n += 1;
                    }
                    None => break,
                }
            }
            if [t2, t3, t4, t5, t6][n - 2..].iter().any(Option::is_some) {
                return Err(PyValueError::new_err("stamps must be consecutive; None only at the end"));
            }
            self.inner.record(&buf[..n]).map_err(stage_err)
        })
    }

    /// `{p: ns}` for one stage (or "total"); nearest-rank, within 0.1% above the true sample.
    #[pyo3(signature = (stage, ps=vec![50.0, 99.0, 99.9]))]
    fn percentiles<'py>(&self, py: Python<'py>, stage: &str, ps: Vec<f64>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let i = self.inner.index(stage).ok_or_else(|| {
                PyKeyError::new_err(format!("no stage {stage:?}; stages: {:?}", self.names()))
            })?;
            percentiles_dict(py, self.inner.hist(i), &ps)
        })
    }

    /// `{stage: {count, min, p50, p90, p99, p999, max, mean, negative}}` in ns, stages in order then
    /// "total"; all zeros for a stage with no samples.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let d = PyDict::new(py);
            let n = self.inner.names().len();
            for i in 0..=n {
                let name = if i == n { TOTAL } else { self.inner.names()[i].as_str() };
                d.set_item(name, summary_dict(py, self.inner.hist(i), Some(self.inner.negative(i)))?)?;
            }
            Ok(d)
        })
    }

    fn reset(&mut self) -> PyResult<()> {
        guard(|| {
            self.inner.reset();
            Ok(())
        })
    }

    /// Adds every frame of `other` (same stages, in the same order) to this recorder.
    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        guard(|| {
            if slf.is(other) {
                // Borrowing one object mutably and shared at once would fail; a copy makes it a doubling.
                let theirs = slf.borrow().inner.clone();
                return slf.borrow_mut().inner.merge(&theirs).map_err(stage_err);
            }
            slf.borrow_mut().inner.merge(&other.borrow().inner).map_err(stage_err)
        })
    }

    #[getter]
    fn stages(&self) -> Vec<String> {
        self.names()
    }

    /// Frames recorded since creation or the last reset.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.frames()
    }

    #[classattr]
    fn max_stages() -> usize {
        MAX_STAGES
    }

    fn __repr__(&self) -> String {
        format!("LatencyRecorder(stages={:?}, count={})", self.inner.names(), self.inner.frames())
    }
}

impl LatencyRecorder {
    fn names(&self) -> Vec<String> {
        self.inner.names().to_vec()
    }
}

/// One latency histogram (ns, 1 ns .. 1 h, 3 significant figures).
#[pyclass(module = "tickwire._core", name = "Histogram")]
pub struct Histogram {
    pub(crate) inner: Hist,
}

#[pymethods]
impl Histogram {
    #[new]
    fn new() -> Self {
        Histogram { inner: Hist::new() }
    }

    /// Records one duration; negative values are refused (ValueError).
    fn record(&mut self, ns: i64) -> PyResult<()> {
        guard(|| {
            let v = u64::try_from(ns).map_err(|_| PyValueError::new_err("a duration cannot be negative"))?;
            self.inner.record(v);
            Ok(())
        })
    }

    fn percentile(&self, p: f64) -> PyResult<u64> {
        guard(|| Ok(self.inner.percentile(check_p(p)?)))
    }

    #[pyo3(signature = (ps=vec![50.0, 99.0, 99.9]))]
    fn percentiles<'py>(&self, py: Python<'py>, ps: Vec<f64>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| percentiles_dict(py, &self.inner, &ps))
    }

    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| summary_dict(py, &self.inner, None))
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        guard(|| {
            if slf.is(other) {
                let theirs = slf.borrow().inner.clone();
                slf.borrow_mut().inner.merge(&theirs);
            } else {
                slf.borrow_mut().inner.merge(&other.borrow().inner);
            }
            Ok(())
        })
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    #[getter]
    fn count(&self) -> u64 {
        self.inner.count()
    }

    #[getter]
    fn min(&self) -> u64 {
        self.inner.min()
    }

    #[getter]
    fn max(&self) -> u64 {
        self.inner.max()
    }

    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean()
    }

    fn __repr__(&self) -> String {
        format!("Histogram(count={})", self.inner.count())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LatencyRecorder>()?;
    m.add_class::<Histogram>()?;
    Ok(())
}
