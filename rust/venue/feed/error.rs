//! What refuses a frame or a snapshot: `FeedError`, and `Refused`, the boxed form the per-frame
//! steps hand one another.

use crate::book::BookError;
use crate::codec::error::DecodeError;
use crate::codec::json::JsonError;
use crate::venue::binance_sbe::SbeError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FeedError {
    #[error("malformed frame: {0}")]
    Json(#[from] JsonError),
    #[error("book {symbol}: {err}")]
    Book { symbol: String, err: BookError },
    #[error("book message without a symbol")]
    NoSymbol,
    #[error("book message whose symbol is not UTF-8")]
    SymbolNotText,
    #[error("payload holds no book snapshot")]
    NotASnapshot,
    #[error("the snapshot is {holds:?}'s, not {asked:?}'s")]
    SnapshotSymbol { asked: String, holds: String },
    /// Decompression or binary (SBE) decoding failed.
    #[error("{0}")]
    Codec(#[from] DecodeError),
}

impl From<SbeError> for FeedError {
    fn from(e: SbeError) -> Self {
        match e {
            SbeError::Decode(d) => FeedError::Codec(d),
            SbeError::Value { symbol, err } => FeedError::Book { symbol, err: BookError::Num(err) },
        }
    }
}

/// A `FeedError` on its way out of the per-frame path (decode, route, apply): boxed, so that the
/// `Result` each step hands the next is one register. Unboxed, every step copied the whole error's
/// room through the stack even for `Ok`, reading back what the callee had just stored piecewise:
/// stalls worth a tenth of a one-level frame. The public calls unbox it.
pub(super) type Refused = Box<FeedError>;
