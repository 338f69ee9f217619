//! The one error type of the frame codecs.
//!
//! Every malformed frame (truncated, corrupt, oversized, wrong schema) maps to a variant here; the
//! binding layer turns all of them into `tickwire.DecodeError`. Nothing in `codec` panics on input.

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The compressed stream is invalid (bad header, bad block, bad checksum, ...). The offset is where
    /// the inflater stopped reading, which can be a few bytes past the bad bits.
    #[error("corrupt compressed frame near input byte {offset}: {reason}")]
    Corrupt { offset: usize, reason: String },

    /// The input ended before the compressed stream did.
    #[error("truncated compressed frame: {len} input bytes end before the end of the stream")]
    Truncated { len: usize },

    /// Decompressing would produce more than the configured limit (decompression bomb guard).
    #[error("decompressed frame exceeds the limit of {limit} bytes")]
    OutputTooLarge { limit: usize },

    /// Bytes follow the end of the compressed stream.
    #[error("{extra} unexpected bytes after the end of the compressed stream at offset {offset}")]
    TrailingData { offset: usize, extra: usize },

    /// A context-takeover stream failed earlier; its shared window is undefined until `reset()`.
    #[error("permessage-deflate stream is poisoned by an earlier error; reset it (reconnect)")]
    StreamPoisoned,

    /// A decompressor was configured with an impossible setting.
    #[error("invalid codec configuration: {0}")]
    InvalidConfig(&'static str),

    /// An SBE frame is shorter than the structure it announces.
    #[error("truncated SBE frame: {needed} bytes needed at offset {offset}, frame has {len}")]
    SbeTruncated { offset: usize, needed: usize, len: usize },

    /// The SBE message header names a schema this decoder does not implement.
    #[error("SBE schema id {schema_id} (version {version}) is not the Binance stream schema 1")]
    SbeWrongSchema { schema_id: u16, version: u16 },

    /// The SBE template id is not one of the stream templates.
    #[error("unknown SBE template id {0}")]
    SbeUnknownTemplate(u16),

    /// A blockLength is smaller than the fields the schema puts in that block.
    #[error("SBE {what} blockLength {got} at offset {offset} is below the schema minimum {min}")]
    SbeBlockTooShort { what: &'static str, offset: usize, got: u16, min: u16 },

    /// A group announces more entries than the schema allows or than the frame can hold.
    #[error("SBE group {what} at offset {offset} announces {count} entries; at most {max} fit")]
    SbeGroupTooLarge { what: &'static str, offset: usize, count: u64, max: u64 },

    /// A field holds a value outside its enum (e.g. boolEnum other than 0/1).
    #[error("SBE field {what} at offset {offset} holds invalid value {value}")]
    SbeInvalidValue { what: &'static str, offset: usize, value: i64 },

    /// The symbol is not valid UTF-8.
    #[error("SBE symbol at offset {offset} is not valid UTF-8")]
    SbeInvalidUtf8 { offset: usize },

    /// A bus message (`crate::bus`) is not as long as its header says.
    #[error("bus message of {len} bytes; its header makes it {needed}")]
    BusLength { needed: u64, len: usize },

    /// A bus header field holds a value the format does not allow (magic, version, kind, scale, ...).
    #[error("not a valid bus message: {what} is {value}")]
    BusInvalid { what: &'static str, value: i64 },

    /// The bus message's symbol is not valid UTF-8.
    #[error("bus symbol is not valid UTF-8")]
    BusInvalidUtf8,
}
