//! What the binary and the extension share: the clock, process CPU time and the message layout.
#![allow(dead_code)] // the binary and the extension each use part of it
//!
//! A message is 100 bytes: the publisher's CLOCK_MONOTONIC stamp (u64 LE, what Python's
//! `time.monotonic_ns()` reads), its sequence number (u64 LE; `END` ends a run), zero padding.

pub const SIZE: usize = 100;
pub const END: u64 = u64::MAX;

pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the struct it is given; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// User + system CPU time of the whole process (every thread), ns: getrusage(RUSAGE_SELF).
pub fn cpu_ns() -> u64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

pub fn message(stamp: u64, seq: u64) -> [u8; SIZE] {
    let mut buf = [0u8; SIZE];
    buf[..8].copy_from_slice(&stamp.to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
    buf
}

/// (stamp, seq) of a message; None for anything shorter than the header.
pub fn header(payload: &[u8]) -> Option<(u64, u64)> {
    let stamp = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    Some((stamp, seq))
}
