//! WebSocket permessage-deflate (RFC 7692) decompression of whole messages.

use flate2::Decompress;

use super::{step, Step, DEFAULT_MAX_OUTPUT, RETAIN_AFTER_ERROR};
use crate::codec::error::DecodeError;

/// RFC 7692 §7.2.2: the sender strips this empty stored block from every message; the receiver appends it.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflates the payloads of permessage-deflate messages (the transport reassembles fragments first).
///
/// With context takeover (the default), every message may refer back into the previous messages' output
/// (the LZ77 window), so the messages of one connection must all go through one instance, in order.
/// After any error in that mode the shared window is undefined: the instance is *poisoned* and refuses
/// every later message with [`DecodeError::StreamPoisoned`] until [`reset`](Self::reset). Since the
/// peer's compressor still holds its own window, a reset only makes sense together with a new
/// connection: the transport must fail the WebSocket connection (there is no way to resynchronise).
///
/// With `no_context_takeover` (the peer's `server_no_context_takeover`, or our
/// `client_no_context_takeover` when decoding client messages in the simulator) each message is a fresh
/// stream, so an error never affects the next message.
///
/// A sender may end a message with a BFINAL block (RFC 7692 §7.2.3.4). That ends the deflate stream;
/// the next message then starts a new one with an empty window (a sender that finished its stream has
/// to restart its compressor too, so it cannot refer to the old window).
pub struct PerMessageInflater {
    dec: Decompress,
    out: Vec<u8>,
    max_output: usize,
    no_context_takeover: bool,
    window_bits: u8,
    poisoned: bool,
    /// The previous message ended the deflate stream (BFINAL): reset before the next one.
    ended: bool,
}

impl std::fmt::Debug for PerMessageInflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerMessageInflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("window_bits", &self.window_bits)
            .field("max_output", &self.max_output)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl PerMessageInflater {
    /// `window_bits` is the negotiated `*_max_window_bits` of the *sender* (8..=15; 15 when absent).
    /// `no_context_takeover` is the sender's `*_no_context_takeover` flag.
    pub fn new(no_context_takeover: bool, window_bits: u8) -> Result<Self, DecodeError> {
        Self::with_max_output(no_context_takeover, window_bits, DEFAULT_MAX_OUTPUT)
    }

    /// As [`new`](Self::new), refusing messages that inflate past `max_output` bytes.
    pub fn with_max_output(
        no_context_takeover: bool,
        window_bits: u8,
        max_output: usize,
    ) -> Result<Self, DecodeError> {
        if !(8..=15).contains(&window_bits) {
            return Err(DecodeError::InvalidConfig("permessage-deflate window bits must be 8..=15"));
        }
        // zlib cannot inflate with a 256-byte window; a 512-byte one decodes anything a 256-byte
        // window produced (a window only bounds back-reference distance), so 8 becomes 9.
        let dec = Decompress::new_with_window_bits(false, window_bits.max(9));
        Ok(Self {
            dec,
            out: Vec::new(),
            max_output,
            no_context_takeover,
            window_bits,
            poisoned: false,
            ended: false,
        })
    }

    pub fn no_context_takeover(&self) -> bool {
        self.no_context_takeover
    }

    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// True after an error in context-takeover mode; see the type docs.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Forgets the window and clears the poison: for a new connection.
    pub fn reset(&mut self) {
        self.dec.reset(false);
        self.poisoned = false;
        self.ended = false;
        self.out.clear();
    }

    /// Inflates one complete message payload (RSV1 set, fragments joined). The result borrows the
    /// inflater's buffer until the next call.
    pub fn decompress_message(&mut self, payload: &[u8]) -> Result<&[u8], DecodeError> {
        if self.poisoned {
            return Err(DecodeError::StreamPoisoned);
        }
        if self.no_context_takeover || self.ended {
            self.dec.reset(false);
            self.ended = false;
        }
        self.out.clear();
        match self.run(payload) {
            Ok(()) => Ok(&self.out),
            Err(e) => {
                self.out.clear();
                self.out.shrink_to(RETAIN_AFTER_ERROR);
                if self.no_context_takeover {
                    self.dec.reset(false);
                } else {
                    self.poisoned = true;
                }
                Err(e)
            }
        }
    }

    fn run(&mut self, payload: &[u8]) -> Result<(), DecodeError> {
        let mut pos = 0;
        if step(&mut self.dec, payload, &mut pos, &mut self.out, self.max_output)? == Step::End {
            // RFC 7692 §7.2.1 has a BFINAL sender append an empty stored block, so one or more bytes
            // of its header follow the final block; like zlib-based peers, ignore what follows the end.
            self.ended = true;
            return Ok(());
        }
        // The tail is fed from a constant: no copy of the payload to append four bytes.
        let mut tpos = 0;
        if step(&mut self.dec, &TAIL, &mut tpos, &mut self.out, self.max_output)? == Step::End {
            self.ended = true;
        }
        Ok(())
    }
}
