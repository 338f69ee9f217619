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
