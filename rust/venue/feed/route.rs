//! Routing a decoded batch's book messages to their symbols' books (made on first sight) and
//! applying them, all or nothing; what a refused frame did to the feed itself is undone.

use super::{Feed, FeedError, FrameSummary, Refused};
use crate::book::{Book, BookError};
use crate::venue::SymbolCase;

impl Feed {
    /// The venue confirmed the subscription of the book the batch names (`Batch::subscribed`); a
    /// book not made yet is new anyway.
    pub(super) fn on_subscribed(&mut self, frame: &[u8]) {
        let (a, b) = self.batch.subscribed;
        let sym = &frame[a as usize..b as usize];
        let key = self.venue.spec().symbol_case.key(&String::from_utf8_lossy(sym)).into_owned();
        if let Some(i) = self.index_of(key.as_bytes()) {
            self.books[i].subscribed();
        }
    }

    fn book_index(&mut self, sym: &[u8]) -> Option<u32> {
        if !self.last_sym.is_empty() && self.last_sym == sym {
            return Some(self.last_index);
        }
        // A name that is not text (a mangled byte) would make a book no caller can name: the
        // binding lists names as strings and looks books up by them.
        if !self.index.contains_key(sym) && std::str::from_utf8(sym).is_err() {
            return None;
        }
        let i = self.index_or_insert(sym);
        self.last_sym.clear();
        self.last_sym.extend_from_slice(sym);
        self.last_index = i;
        Some(i)
    }

    pub(super) fn index_or_insert(&mut self, sym: &[u8]) -> u32 {
        if let Some(&i) = self.index.get(sym) {
            return i;
        }
        let i = self.books.len() as u32;
        let mut book = Book::new(self.base.clone());
        if let Some(&(p, q)) = self.checksum_decimals.get(sym) {
            book.set_checksum_decimals(p, q);
        }
        if self.journal {
            book.set_journal(true);
        }
        self.books.push(book);
        self.names.push(sym.into());
        self.index.insert(sym.into(), i);
        i
    }

    pub(super) fn apply_batch(
        &mut self,
        frame: &[u8],
        sym_override: Option<&[u8]>,
    ) -> Result<&FrameSummary, Refused> {
        let mut first_err = None;
        let upper = self.venue.spec().symbol_case == SymbolCase::Upper;
        let mut name = [0u8; 64];
        // All or nothing: every message is routed, and a frame of several checked whole
        // (`book::frame`), before any applies. A one-message frame skips that check: its apply
        // checks before it touches the book, and only the feed's own part needs undoing.
        let (books_before, many) = (self.books.len(), self.batch.msgs.len() > 1);
        let (mut routes, mut only) = (Vec::new(), None);
        for k in 0..self.batch.msgs.len() {
            let m = self.batch.msgs[k];
            let mut sym = match sym_override {
                Some(s) => s,
                None if m.sym.1 > m.sym.0 => &frame[m.sym.0 as usize..m.sym.1 as usize],
                None => {
                    first_err.get_or_insert(FeedError::NoSymbol);
                    break;
                }
            };
            if upper && sym.len() <= name.len() && sym.iter().any(u8::is_ascii_lowercase) {
                // Binance names a symbol "BNBBTC" in payloads and "bnbbtc" in stream names.
                name[..sym.len()].copy_from_slice(sym);
                name[..sym.len()].make_ascii_uppercase();
                sym = &name[..sym.len()];
            }
            let Some(i) = self.book_index(sym) else {
                first_err.get_or_insert(FeedError::SymbolNotText);
                break;
            };
            if self.is_retired(i as usize) {
                continue; // unsubscribed: what the venue sent before it stopped is not applied
            }
            let depth = if self.depth_fixed { 0 } else { m.depth };
            let r = crate::book::frame::Routed {
                book: i,
                lv: m.lv,
                snapshot: m.snapshot,
                seq: m.seq,
                checksum: m.checksum,
                depth,
                upstream_lost: m.upstream_lost,
            };
            if many {
                routes.push(r);
            } else {
                only = Some(r);
            }
        }
        self.refused.clear();
        if first_err.is_none() && many {
            if let Err((k, err)) = crate::book::frame::check(&self.books, &self.batch.levels, &routes) {
                first_err = Some(self.book_err(routes[k].book, err));
                // Every book it named lacks its update now (those it made are forgotten again).
                let named = routes.iter().map(|r| r.book).filter(|&b| (b as usize) < books_before);
                for b in named {
                    if !self.refused.contains(&b) {
                        self.refused.push(b);
                    }
                }
            }
        }
        if let Some(e) = first_err {
            return Err(Box::new(self.refuse(books_before, e)));
        }
        for r in if many { &routes[..] } else { only.as_slice() } {
            let book = &mut self.books[r.book as usize];
            let depth = book.config().max_depth;
            match r.apply(book, &self.batch.levels) {
                Ok(o) => {
                    self.stats.book_msgs += 1;
                    self.summary.updates.push((r.book, o));
                }
                // Alone in its frame: a refusal left the book as it was, so undoing the feed's part
                // (depth cap, a new book) restores everything. A loss (a full diff buffer dropped, a
                // buffered diff failing on replay) has changed the book and stays; undoing the feed's
                // part costs such a book nothing (REST-snapshot books name no depth; a new one holds
                // nothing yet).
                Err(err) if !many => {
                    book.set_max_depth(depth);
                    let e = self.book_err(r.book, err);
                    return Err(Box::new(self.refuse(books_before, e)));
                }
                // Losses only: the check refused nothing, and other messages stay applied.
                Err(err) => {
                    self.stats.errors += 1;
                    first_err.get_or_insert_with(|| self.book_err(r.book, err));
                }
            }
        }
        match first_err {
            Some(e) => Err(Box::new(e)),
            None => Ok(&self.summary),
        }
    }

    fn book_err(&self, i: u32, err: BookError) -> FeedError {
        let symbol = String::from_utf8_lossy(&self.names[i as usize]).into_owned();
        FeedError::Book { symbol, err }
    }

    /// Undoes the feed's part of a refused frame: books it named first are forgotten again (a
    /// refused frame changes no observable state, and a mangled symbol must not leave an empty
    /// book behind for good), and it counts as one error, not as book messages.
    #[cold]
    fn refuse(&mut self, books_before: usize, e: FeedError) -> FeedError {
        self.stats.errors += 1;
        self.summary.updates.clear();
        for name in self.names.drain(books_before..) {
            self.index.remove(&name);
        }
        self.books.truncate(books_before);
        if self.last_index as usize >= books_before {
            self.last_sym.clear();
        }
        e
    }
}
