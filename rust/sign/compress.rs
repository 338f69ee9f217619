//! The SHA-2 block function as HMAC needs it: chaining states that can be copied, compressed over
//! whole blocks borrowed from the message, and read out big-endian.

// sha2 0.10's block-function API is typed with generic-array 0.14, which marks itself deprecated in
// favour of 1.x; sha2 0.10 cannot take anything else, so the warning is expected here.
#![allow(deprecated)]

use sha2::digest::generic_array::typenum::{U128, U64};
use sha2::digest::generic_array::GenericArray;
use zeroize::Zeroize;

/// One family of the SHA-2 compression function: 64-byte blocks with 32-bit words, or 128-byte blocks
/// with 64-bit words.
pub(crate) trait Family: Copy + Zeroize {
    const BLOCK: usize;
    /// Bytes of the message-length field in the final block.
    const LEN_FIELD: usize;
    /// Runs the compression function over `blocks` (a whole number of blocks).
    fn compress(&mut self, blocks: &[u8]);
    /// The state as big-endian bytes (the digest before truncation); returns how many were written.
    fn write_be(&self, out: &mut [u8; 64]) -> usize;
}

#[derive(Clone, Copy, Zeroize)]
pub(crate) struct S256(pub(crate) [u32; 8]);
#[derive(Clone, Copy, Zeroize)]
pub(crate) struct S512(pub(crate) [u64; 8]);

pub(crate) const IV_256: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
pub(crate) const IV_384: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];
pub(crate) const IV_512: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

impl Family for S256 {
    const BLOCK: usize = 64;
    const LEN_FIELD: usize = 8;
    #[inline(always)]
    fn compress(&mut self, blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % 64, 0);
        // SAFETY: GenericArray<u8, U64> is #[repr(transparent)] over [u8; 64] (alignment 1), so a byte
        // slice whose length is a multiple of 64 is a valid slice of blocks. Avoids copying each block.
        let b = unsafe {
            std::slice::from_raw_parts(blocks.as_ptr().cast::<GenericArray<u8, U64>>(), blocks.len() / 64)
        };
        sha2::compress256(&mut self.0, b);
    }
    #[inline(always)]
    fn write_be(&self, out: &mut [u8; 64]) -> usize {
        for (i, w) in self.0.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        32
    }
}

impl Family for S512 {
    const BLOCK: usize = 128;
    const LEN_FIELD: usize = 16;
    #[inline(always)]
    fn compress(&mut self, blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % 128, 0);
        // SAFETY: as for S256, GenericArray<u8, U128> has the layout of [u8; 128].
        let b = unsafe {
            std::slice::from_raw_parts(blocks.as_ptr().cast::<GenericArray<u8, U128>>(), blocks.len() / 128)
        };
        sha2::compress512(&mut self.0, b);
    }
    #[inline(always)]
    fn write_be(&self, out: &mut [u8; 64]) -> usize {
        for (i, w) in self.0.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&w.to_be_bytes());
        }
        64
    }
}
