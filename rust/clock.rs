//! The clocks Python's `time.monotonic_ns()` and `time.time_ns()` read, from Rust without a Python
//! call (the binding stamps frames with them; `bus::sub` stamps what it receives).

/// `time.monotonic_ns()`'s clock, read without a Python call.
#[cfg(unix)]
pub fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the struct it is given and CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    // time_t and c_long are i64 on the 64-bit targets wheels are built for; `as` keeps 32-bit
    // builds compiling.
    #[allow(clippy::unnecessary_cast)]
    let (sec, nsec) = (ts.tv_sec as i64, ts.tv_nsec as i64);
    sec * 1_000_000_000 + nsec
}

#[cfg(not(unix))]
pub fn monotonic_ns() -> i64 {
    // Elsewhere Python's monotonic clock is not reachable from Rust; stages stay internally
    // consistent (differences only), the first stamp is the caller's.
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as i64
}

/// `time.time_ns()`'s clock (wall, ns since the epoch): what bus message stamps are written with.
pub fn wall_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// A venue's clock as `tickwire.clock.ClockSync` estimates it: local wall time plus an offset that
/// grows by `slope` ms per ns from `t_ref_ns`. Read where a request is stamped (an order template's
/// one call) without calling back into Python.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Linear {
    pub offset_ms: f64,
    pub slope: f64,
    pub t_ref_ns: i64,
}

impl Linear {
    /// `ClockSync.now_ms` at local wall time `t_ns`, the same float steps in the same order
    /// (`int(t / 1e6 + (offset + slope * (t - t_ref)))`).
    #[inline]
    pub fn ms_at(&self, t_ns: i64) -> i64 {
        // The difference in i128 (Python's ints are exact); the float-to-int cast saturates.
        let since = (t_ns as i128 - self.t_ref_ns as i128) as f64;
        (t_ns as f64 / 1e6 + (self.offset_ms + self.slope * since)) as i64
    }

    pub fn now_ms(&self) -> i64 {
        self.ms_at(wall_ns())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_clock_far_from_its_reference_reads_like_python() {
        // Python's exact ints: the difference computed without overflow, then made a float.
        let l = Linear { offset_ms: 0.5, slope: 1e-9, t_ref_ns: 1_700_000_000_000_000_000 };
        for t in [i64::MIN, -1, 0, i64::MAX] {
            let since = t as i128 - l.t_ref_ns as i128;
            let want = (t as f64 / 1e6 + (0.5 + 1e-9 * since as f64)) as i64;
            assert_eq!(l.ms_at(t), want, "{t}");
        }
    }

    #[test]
    fn a_linear_clock_adds_its_offset_and_drift() {
        let l = Linear { offset_ms: 250.5, slope: 1e-9, t_ref_ns: 1_700_000_000_000_000_000 };
        // 1 s after t_ref: +1 ms of drift (1e-9 ms per ns), +250.5 ms of offset, truncated.
        assert_eq!(l.ms_at(1_700_000_001_000_000_000), 1_700_000_001_000 + 251);
        assert_eq!(Linear::default().ms_at(1_234_567_891), 1_234);
        let now = Linear::default().now_ms();
        assert!((now - wall_ns() / 1_000_000).abs() <= 1);
    }
}
