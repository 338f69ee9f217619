//! How a payload reaches the grammar: as it is, inflated from a self-contained compressed stream
//! (gzip, zlib, raw deflate), or inflated as a WebSocket permessage-deflate message (RFC 7692).

use super::{Feed, FeedError, FrameSummary};
use crate::codec::error::DecodeError;
use crate::codec::inflate::{Format, Inflater, PerMessageInflater};
use crate::venue::FrameKind;

/// How binary payloads are decompressed before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// gzip and zlib are recognised by their headers (which JSON text cannot start with);
    /// anything else is parsed as it is.
    #[default]
    Auto,
    /// Raw deflate (no header to recognise): every binary payload is inflated, text never.
    Deflate,
    None,
    /// permessage-deflate as negotiated with the server: its `server_max_window_bits` (8..=15) and
    /// `server_no_context_takeover`. Messages with RSV1 set are inflated through one context per
    /// connection; after a corrupt one every later message is refused until `Feed::reset`.
    PerMessageDeflate {
        window_bits: u8,
        no_context_takeover: bool,
    },
}

pub(super) fn pmd_for(c: Compression) -> Option<PerMessageInflater> {
    match c {
        // An impossible window is refused at the first compressed message (`InvalidConfig`).
        Compression::PerMessageDeflate { window_bits, no_context_takeover } => {
            PerMessageInflater::new(no_context_takeover, window_bits).ok()
        }
        _ => None,
    }
}

impl Feed {
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Decodes and applies one received frame: text, or a binary payload (decompressed here, see
    /// `Compression`; with permessage-deflate a binary payload counts as compressed).
    pub fn on_frame(&mut self, frame: &[u8]) -> Result<&FrameSummary, FeedError> {
        self.on_payload(frame, false)
    }

    /// `on_frame` for a payload known to be a text frame (never decompressed, except as a
    /// permessage-deflate message: use `on_message` for those).
    pub fn on_text(&mut self, frame: &[u8]) -> Result<&FrameSummary, FeedError> {
        self.on_payload(frame, true)
    }

    /// One WebSocket message whose RSV1 bit the transport reports (fragments joined): a
    /// `compressed` one is inflated through the connection's permessage-deflate context, any other
    /// is parsed as it is. `text`: the message's opcode was text.
    pub fn on_message(
        &mut self,
        frame: &[u8],
        compressed: bool,
        text: bool,
    ) -> Result<&FrameSummary, FeedError> {
        if !compressed {
            self.decode_apply(frame, text).map_err(|e| *e)?;
            return Ok(&self.summary);
        }
        let Some(mut pmd) = self.pmd.take() else {
            let why = match self.compression {
                Compression::PerMessageDeflate { .. } => "permessage-deflate window bits must be 8..=15",
                _ => "a compressed (RSV1) message needs compression='permessage-deflate'",
            };
            return Err(self.failed(DecodeError::InvalidConfig(why)));
        };
        let r = match pmd.decompress_message(frame) {
            Ok(payload) => self.decode_apply(payload, text).map_err(|e| *e),
            Err(e) => Err(self.failed(e)),
        };
        self.pmd = Some(pmd);
        r.map(|()| &self.summary)
    }

    fn inflate_format(&self, frame: &[u8], text: bool) -> Option<Format> {
        match (self.compression, frame) {
            (Compression::None | Compression::PerMessageDeflate { .. }, _) => None,
            (_, _) if text => None,
            (Compression::Deflate, _) => Some(Format::Raw),
            (Compression::Auto, [0x1f, 0x8b, ..]) => Some(Format::Gzip),
            // CMF 0x78 (deflate, 32 KiB window) with the FCHECK rule; 'x' never starts JSON.
            (Compression::Auto, [0x78, b, ..]) if (0x7800 | *b as u16) % 31 == 0 => Some(Format::Zlib),
            // A venue whose binary frames are always compressed: what is neither is raw deflate.
            // Its text frames (acks, pongs) may reach here as bytes: JSON starts with `{`, `[` or
            // white space, which raw deflate of JSON never does (its first byte codes the `{`).
            (Compression::Auto, [first, ..]) if self.venue.spec().binary_compressed => {
                (!matches!(first, b'{' | b'[' | b' ' | b'\t' | b'\r' | b'\n')).then_some(Format::Raw)
            }
            (Compression::Auto, _) => None,
        }
    }

    fn on_payload(&mut self, frame: &[u8], text: bool) -> Result<&FrameSummary, FeedError> {
        if matches!(self.compression, Compression::PerMessageDeflate { .. }) {
            return self.on_message(frame, !text, text);
        }
        let Some(format) = self.inflate_format(frame, text) else {
            self.decode_apply(frame, text).map_err(|e| *e)?;
            return Ok(&self.summary);
        };
        let mut inf = match self.inflater.take() {
            Some(i) if i.format() == format => i,
            _ => Inflater::new(format),
        };
        let r = match inf.decompress(frame) {
            Ok(json) => self.decode_apply(json, true).map_err(|e| *e),
            Err(e) => Err(self.failed(e)),
        };
        self.inflater = Some(inf);
        r.map(|()| &self.summary)
    }

    /// Counts a frame that could not be decompressed; nothing was applied.
    fn failed(&mut self, e: DecodeError) -> FeedError {
        self.stats.frames += 1;
        self.stats.errors += 1;
        self.summary.updates.clear();
        self.summary.conn_gap = false;
        self.refused.clear();
        self.summary.kind = FrameKind::Other;
        e.into()
    }
}
