//! One frame's stage stamps → one sample per stage and one end-to-end total.

use super::hist::Hist;

/// Stages one recorder can hold: one stamp more than stages must fit one call's fixed arguments.
pub const MAX_STAGES: usize = 6;
/// Name of the end-to-end histogram (first stamp to last), reserved among stage names.
pub const TOTAL: &str = "total";

#[derive(Debug, PartialEq, Eq)]
pub enum StageError {
    NoStages,
    TooManyStages(usize),
    Duplicate(String),
    Reserved,
    Stamps { expected: usize, got: usize },
    Mismatch,
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StageError::NoStages => write!(f, "at least one stage is needed"),
            StageError::TooManyStages(n) => write!(f, "{n} stages; at most {MAX_STAGES}"),
            StageError::Duplicate(s) => write!(f, "stage {s:?} named twice"),
            StageError::Reserved => write!(f, "{TOTAL:?} is reserved for the end-to-end histogram"),
            StageError::Stamps { expected, got } => {
                write!(f, "{expected} stamps expected (one more than stages), got {got}")
            }
            StageError::Mismatch => write!(f, "recorders with different stages cannot merge"),
        }
    }
}

impl std::error::Error for StageError {}

/// Per-stage histograms for one pipeline; index `len()` is the total.
#[derive(Clone, Debug)]
pub struct Stages {
    names: Vec<String>,
    hists: Vec<Hist>,
    // Differences that went backwards (a stamp from the wrong clock, or stamps swapped): counted so
    // misuse shows, never recorded, since a negative duration has no bucket and would skew the rest.
    negative: Vec<u64>,
    frames: u64,
}

impl Stages {
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Self, StageError> {
        if names.is_empty() {
            return Err(StageError::NoStages);
        }
        if names.len() > MAX_STAGES {
            return Err(StageError::TooManyStages(names.len()));
        }
        let mut owned: Vec<String> = Vec::with_capacity(names.len());
        for n in names {
            let n = n.as_ref();
            if n == TOTAL {
                return Err(StageError::Reserved);
            }
            if owned.iter().any(|o| o == n) {
                return Err(StageError::Duplicate(n.to_string()));
            }
            owned.push(n.to_string());
        }
        let k = owned.len() + 1;
        Ok(Stages { names: owned, hists: vec![Hist::new(); k], negative: vec![0; k], frames: 0 })
    }

    /// Stage names, without the total.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Frames recorded (calls to `record`).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Index of a stage, or of the total for `"total"`.
    pub fn index(&self, name: &str) -> Option<usize> {
        if name == TOTAL {
            return Some(self.names.len());
        }
        self.names.iter().position(|n| n == name)
    }

    pub fn hist(&self, i: usize) -> &Hist {
        &self.hists[i]
    }

    pub fn negative(&self, i: usize) -> u64 {
        self.negative[i]
    }

    /// Records one frame: `stamps[i+1] - stamps[i]` into stage `i`, last minus first into the total.
    #[inline]
    pub fn record(&mut self, stamps: &[i64]) -> Result<(), StageError> {
        let n = self.names.len();
        if stamps.len() != n + 1 {
            return Err(StageError::Stamps { expected: n + 1, got: stamps.len() });
        }
        self.frames += 1;
        for i in 0..n {
            self.put(i, stamps[i + 1].wrapping_sub(stamps[i]));
        }
        self.put(n, stamps[n].wrapping_sub(stamps[0]));
        Ok(())
    }

    #[inline(always)]
    fn put(&mut self, i: usize, d: i64) {
        if d < 0 {
            self.negative[i] += 1;
        } else {
            self.hists[i].record(d as u64);
        }
    }

    pub fn merge(&mut self, other: &Stages) -> Result<(), StageError> {
        if other.names != self.names {
            return Err(StageError::Mismatch);
        }
        for (a, b) in self.hists.iter_mut().zip(&other.hists) {
            a.merge(b);
        }
        for (a, b) in self.negative.iter_mut().zip(&other.negative) {
            *a += b;
        }
        self.frames += other.frames;
        Ok(())
    }

    pub fn reset(&mut self) {
        self.hists.iter_mut().for_each(Hist::reset);
        self.negative.iter_mut().for_each(|c| *c = 0);
        self.frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_fills_every_stage_and_the_total() {
        let mut s = Stages::new(&["decode", "apply", "callback"]).unwrap();
        s.record(&[1_000, 1_250, 1_600, 2_000]).unwrap();
        s.record(&[5_000, 5_100, 5_300, 5_600]).unwrap();
        assert_eq!(s.frames(), 2);
        let maxes: Vec<u64> = (0..4).map(|i| s.hist(i).max()).collect();
        assert_eq!(maxes, vec![250, 350, 400, 1000]);
        let mins: Vec<u64> = (0..4).map(|i| s.hist(i).min()).collect();
        assert_eq!(mins, vec![100, 200, 300, 600]);
        assert_eq!(s.index("total"), Some(3));
        assert_eq!(s.index("apply"), Some(1));
        assert_eq!(s.index("nope"), None);
    }

    #[test]
    fn negative_differences_are_counted_not_recorded() {
        let mut s = Stages::new(&["a", "b"]).unwrap();
        s.record(&[100, 90, 200]).unwrap();
        assert_eq!((s.negative(0), s.negative(1), s.negative(2)), (1, 0, 0));
        assert_eq!((s.hist(0).count(), s.hist(1).count(), s.hist(2).count()), (0, 1, 1));
        s.record(&[100, 150, 50]).unwrap();
        assert_eq!((s.negative(0), s.negative(1), s.negative(2)), (1, 1, 1));
        s.reset();
        assert_eq!((s.negative(0), s.frames(), s.hist(2).count()), (0, 0, 0));
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert_eq!(Stages::new::<&str>(&[]).unwrap_err(), StageError::NoStages);
        assert_eq!(Stages::new(&["a", "a"]).unwrap_err(), StageError::Duplicate("a".into()));
        assert_eq!(Stages::new(&["total"]).unwrap_err(), StageError::Reserved);
        assert!(matches!(Stages::new(&["x"; 7]).unwrap_err(), StageError::TooManyStages(7)));
        let mut s = Stages::new(&["a", "b"]).unwrap();
        assert_eq!(s.record(&[1, 2]).unwrap_err(), StageError::Stamps { expected: 3, got: 2 });
        assert_eq!(s.frames(), 0);
        let other = Stages::new(&["a", "c"]).unwrap();
        assert_eq!(s.merge(&other).unwrap_err(), StageError::Mismatch);
    }
}
