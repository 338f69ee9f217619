//! A snapshot fetched out of band (Binance's REST depth, HTX's REQ reply, OKX's REST book, a bus
//! snapshot) applied to the book it was asked for, on the one frame route.

use super::{Feed, FeedError, FrameSummary};
use crate::venue::FrameKind;

impl Feed {
    /// Applies a snapshot fetched out of band (Binance REST depth, HTX REQ reply) to `symbol`.
    pub fn on_snapshot(&mut self, symbol: &[u8], payload: &[u8]) -> Result<&FrameSummary, FeedError> {
        self.summary.updates.clear();
        self.summary.conn_gap = false;
        self.refused.clear();
        self.batch.clear();
        self.decode_stateless(payload).map_err(|e| *e)?;
        if self.batch.msgs.len() != 1 || !self.batch.msgs[0].snapshot {
            return Err(FeedError::NotASnapshot);
        }
        // A payload that names its book (a bus snapshot, an HTX REQ reply) must name this one.
        let (a, b) = self.batch.msgs[0].sym;
        let holds = &payload[a as usize..b as usize];
        if !holds.is_empty() && holds != symbol {
            let key = |s: &[u8]| self.venue.spec().symbol_case.key(&String::from_utf8_lossy(s)).into_owned();
            if key(holds) != key(symbol) {
                return Err(FeedError::SnapshotSymbol { asked: key(symbol), holds: key(holds) });
            }
        }
        self.summary.kind = FrameKind::Book;
        // Out of band, it says nothing of whether the venue pushes snapshots: the book's test of
        // the stream's first message after a (re)subscription is left to that message.
        let i = self.find_book(symbol);
        let band = i.map(|i| self.books[i as usize].band());
        let r = self.apply_batch(payload, Some(symbol)).map(|_| ()).map_err(|e| *e);
        if let (Some(i), Some(band)) = (i, band) {
            self.books[i as usize].set_band(band);
        }
        r.map(|()| &self.summary)
    }
}
