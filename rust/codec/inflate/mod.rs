//! Decompression of received frames into a buffer owned (and reused) by the decoder.
//!
//! * [`Inflater`]: one self-contained compressed stream per frame — gzip (HTX market data: every binary
//!   frame is one gzip member), zlib and raw deflate (Clarofinlore profile setting, legacy OKX v3).
//! * [`PerMessageInflater`]: WebSocket permessage-deflate (RFC 7692), with or without context takeover.
//!
//! Once the output buffer has grown to the largest frame seen, decoding allocates nothing.
//!
//! Backend choice, measured by `cargo bench --bench inflate` on the 362 real HTX frames of
//! `shared/fixtures/real/htx.jsonl` (445,655 B gzip → 1,140,733 B JSON, ~1.2 KB → ~3.2 KB per frame),
//! release profile, 2-core shared VM (AMD EPYC, AVX2). Best of 200 interleaved passes over all frames
//! (stable across runs; criterion's means moved ±40% with the other jobs on the machine):
//!
//! | backend                                  | per frame | output rate |
//! |------------------------------------------|-----------|-------------|
//! | flate2 + zlib-rs, runtime CPU detection  | 7.3 µs    | 431 MB/s    |
//! | libdeflater (C libdeflate, one-shot)     | 5.5 µs    | 575 MB/s    |
//! | miniz_oxide core, reused state, no CRC   | 11.8 µs   | 268 MB/s    |
//! | (Python's zlib.decompress, wbits=31)     | 12.9 µs   | —           |
//!
//! Chosen: zlib-rs, the only backend here. libdeflate is ~1.8 µs (25%) faster per frame, but it cannot
//! stream, so permessage-deflate with context takeover would still need zlib-rs, i.e. two inflaters
//! with two sets of error semantics; it needs the output size up front (retry-on-too-small for
//! zlib/raw, no concatenated gzip members through libdeflater's API); and it adds a C build to every
//! wheel. zlib-rs is pure Rust, streams, verifies the gzip CRC-32/ISIZE itself, and is 1.8x faster
//! than what a Python client gets from `zlib`. Without flate2's `runtime_detection` feature zlib-rs
//! falls back to scalar code (~25% slower here), hence that feature.

mod pmd;

pub use pmd::PerMessageInflater;

use flate2::{Decompress, FlushDecompress, Status};

use super::error::DecodeError;

/// Default cap on one decompressed frame: far above any real market-data frame (HTX's largest in the
/// capture is 7 KiB), far below what a decompression bomb would ask for.
pub const DEFAULT_MAX_OUTPUT: usize = 16 << 20;

/// A buffer that grew past this while failing is given back, so one hostile frame does not pin memory.
const RETAIN_AFTER_ERROR: usize = 256 << 10;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Upper bound of deflate's expansion (a 258-byte match costs at least 2 bits): 258 * 8 / 2 = 1032.
const MAX_DEFLATE_RATIO: usize = 1032;

/// The container around a deflate stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 1952; CRC-32 and length trailer verified. Concatenated members decode as one frame.
    Gzip,
    /// RFC 1950; Adler-32 verified.
    Zlib,
    /// RFC 1951, no header, no checksum.
    Raw,
}

/// Decompresses frames that each hold one complete compressed stream.
pub struct Inflater {
    format: Format,
    dec: Decompress,
    out: Vec<u8>,
    max_output: usize,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("format", &self.format)
            .field("max_output", &self.max_output)
            .field("capacity", &self.out.capacity())
            .finish()
    }
}

impl Inflater {
    /// A decoder with the default output cap ([`DEFAULT_MAX_OUTPUT`]).
    pub fn new(format: Format) -> Self {
        Self::with_max_output(format, DEFAULT_MAX_OUTPUT)
    }

    /// A decoder that refuses to produce more than `max_output` bytes for one frame.
    pub fn with_max_output(format: Format, max_output: usize) -> Self {
        let dec = match format {
            Format::Gzip => Decompress::new_gzip(15),
            Format::Zlib => Decompress::new(true),
            Format::Raw => Decompress::new(false),
        };
        Self { format, dec, out: Vec::new(), max_output }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn max_output(&self) -> usize {
        self.max_output
    }

    /// Decompresses one frame. The result borrows the decoder's buffer until the next call.
    ///
    /// Errors leave the decoder ready for the next frame (every frame starts a fresh stream).
    pub fn decompress(&mut self, frame: &[u8]) -> Result<&[u8], DecodeError> {
        self.out.clear();
        if self.format == Format::Gzip {
            // ISIZE (last 4 bytes) is untrusted, but for an honest frame it sizes the buffer in one go.
            // Deflate cannot expand more than ~1032:1, so a lying trailer cannot make us reserve more
            // than the frame could really produce.
            if let Some(tail) = frame.len().checked_sub(4).and_then(|s| frame.get(s..)) {
                let hint = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
                self.out
                    .reserve(hint.min(frame.len().saturating_mul(MAX_DEFLATE_RATIO)).min(self.max_output));
            }
        }
        match self.run(frame) {
            Ok(()) => Ok(&self.out),
            Err(e) => {
                self.out.clear();
                self.out.shrink_to(RETAIN_AFTER_ERROR);
                Err(e)
            }
        }
    }

    fn run(&mut self, frame: &[u8]) -> Result<(), DecodeError> {
        let zlib_header = self.format != Format::Raw;
        self.dec.reset(zlib_header);
        let mut pos = 0usize;
        loop {
            let status = step(&mut self.dec, frame, &mut pos, &mut self.out, self.max_output)?;
            match status {
                Step::End if pos == frame.len() => return Ok(()),
                Step::End if self.format == Format::Gzip && frame[pos..].starts_with(&GZIP_MAGIC) => {
                    self.dec.reset(true);
                }
                Step::End => {
                    return Err(DecodeError::TrailingData { offset: pos, extra: frame.len() - pos });
                }
                Step::NeedInput => return Err(DecodeError::Truncated { len: frame.len() }),
            }
        }
    }
}

/// How a run of the inflater over the remaining input stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The deflate stream ended (final block, plus trailer for gzip/zlib).
    End,
    /// All input was consumed and all decodable output written; the stream wants more input.
    NeedInput,
}

/// Feeds `input[*pos..]` to `dec`, growing `out` (never past `max_output`) as needed.
pub(crate) fn step(
    dec: &mut Decompress,
    input: &[u8],
    pos: &mut usize,
    out: &mut Vec<u8>,
    max_output: usize,
) -> Result<Step, DecodeError> {
    loop {
        let at_cap = out.len() >= max_output;
        if out.len() == out.capacity() && !at_cap {
            // Doubling, capped: a bomb gets at most `max_output` bytes of buffer before it is refused.
            let want = out.capacity().max(4096).min(max_output - out.len());
            out.reserve_exact(want);
        }
        let before_in = dec.total_in();
        let before_out = out.len();
        // At the cap the spare room may be zero: the inflater can still finish the end-of-block code
        // and the trailer, so a stream that ends exactly at the cap is accepted.
        let status = dec.decompress_vec(&input[*pos..], out, FlushDecompress::None);
        let consumed = (dec.total_in() - before_in) as usize;
        *pos += consumed;
        let status = status.map_err(|e| DecodeError::Corrupt {
            offset: *pos,
            reason: e.message().unwrap_or("invalid deflate data").to_owned(),
        })?;
        if out.len() > max_output {
            return Err(DecodeError::OutputTooLarge { limit: max_output });
        }
        if status == Status::StreamEnd {
            return Ok(Step::End);
        }
        let produced = out.len() - before_out;
        let out_full = out.len() == out.capacity();
        if out_full && out.len() >= max_output && (consumed == 0 && produced == 0 || at_cap) {
            return Err(DecodeError::OutputTooLarge { limit: max_output });
        }
        if !out_full && (*pos == input.len() || consumed == 0 && produced == 0) {
            // Room left but nothing more to decode: the stream wants input the frame does not have.
            return Ok(Step::NeedInput);
        }
    }
}

#[cfg(test)]
mod tests;
