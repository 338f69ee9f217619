//! HTTP/1.1 response heads, read with `httparse`: the REST client (`transport/http_conn.py`) hands
//! every answer's bytes here until a whole head is in; the body stays in Python.

/// Header fields read on the stack; a head with more is read again with [`MANY_FIELDS`].
pub const MAX_FIELDS: usize = 64;
/// Most header fields a head may carry (a venue's answers carry ~5–25; a CDN adds a few).
pub const MANY_FIELDS: usize = 1024;

/// A response head that cannot be read; the connection can no longer be trusted to frame answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed HTTP response head: {0}")]
pub struct HeadError(pub httparse::Error);

/// A complete head at the start of the buffer: its fields are `fields[..fields_len]` of the slice
/// [`parse_head`] was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// `x` of `HTTP/1.x`.
    pub minor: u8,
    /// Bytes the head takes, its blank line included: where the body starts.
    pub len: usize,
    pub fields_len: usize,
}

/// The response head at the start of `buf`; `None` until all of it has arrived. A head the strict
/// grammar refuses is read again leniently — spaces before a field's colon taken, a field line
/// that is not a field skipped (what a CDN or a hand-written server may send, which a line-by-line
/// reader took) — unless a skipped line was `Content-Length` or `Transfer-Encoding`: the answer's
/// framing is never guessed. `TooManyHeaders` when `fields` is too short (read again with more).
pub fn parse_head<'b>(buf: &'b [u8], fields: &mut [httparse::Header<'b>]) -> Result<Option<Head>, HeadError> {
    match parse_with(&httparse::ParserConfig::default(), buf, fields) {
        Err(e) if e != httparse::Error::TooManyHeaders => {
            let mut lenient = httparse::ParserConfig::default();
            lenient
                .allow_spaces_after_header_name_in_responses(true)
                .ignore_invalid_headers_in_responses(true);
            match parse_with(&lenient, buf, fields) {
                Ok(Some(h)) if framing_lines(&buf[..h.len]) > framing_fields(&fields[..h.fields_len]) => {
                    Err(HeadError(e))
                }
                got => got.map_err(HeadError),
            }
        }
        got => got.map_err(HeadError),
    }
}

fn parse_with<'b>(
    config: &httparse::ParserConfig,
    buf: &'b [u8],
    fields: &mut [httparse::Header<'b>],
) -> Result<Option<Head>, httparse::Error> {
    let mut resp = httparse::Response::new(fields);
    Ok(match config.parse_response(&mut resp, buf)? {
        httparse::Status::Partial => None,
        httparse::Status::Complete(len) => Some(Head {
            // Both are set once a head is complete.
            status: resp.code.unwrap_or(0),
            minor: resp.version.unwrap_or(0),
            len,
            fields_len: resp.headers.len(),
        }),
    })
}

const FRAMING: [&[u8]; 2] = [b"content-length", b"transfer-encoding"];

/// Lines of `head` that name a framing field, however malformed the rest of the line.
fn framing_lines(head: &[u8]) -> usize {
    let starts = |line: &[u8]| {
        let line = trim_value(line);
        FRAMING.iter().any(|f| line.len() >= f.len() && line[..f.len()].eq_ignore_ascii_case(f))
    };
    head.split(|&c| c == b'\n').skip(1).filter(|line| starts(line)).count()
}

fn framing_fields(fields: &[httparse::Header<'_>]) -> usize {
    fields.iter().filter(|f| FRAMING.iter().any(|n| f.name.as_bytes().eq_ignore_ascii_case(n))).count()
}

/// `v` without the spaces and tabs HTTP allows around a field's value.
pub fn trim_value(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(v.len());
    let end = v.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
X-MBX-USED-WEIGHT-1M: 7\r\n\r\n{}";

    type Fields = Vec<(String, Vec<u8>)>;

    fn parse(buf: &[u8]) -> Result<Option<(Head, Fields)>, HeadError> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        Ok(parse_head(buf, &mut fields)?.map(|h| {
            let f = fields[..h.fields_len].iter().map(|f| (f.name.to_string(), trim_value(f.value).to_vec()));
            (h, f.collect())
        }))
    }

    #[test]
    fn a_whole_head_gives_status_version_length_and_fields() {
        let (h, f) = parse(ANSWER).unwrap().unwrap();
        assert_eq!((h.status, h.minor, h.len), (200, 1, ANSWER.len() - 2));
        assert_eq!(f[2], ("X-MBX-USED-WEIGHT-1M".to_string(), b"7".to_vec()));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn every_cut_before_the_blank_line_waits_for_more() {
        for cut in 0..ANSWER.len() - 2 {
            assert_eq!(parse(&ANSWER[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn malformed_heads_are_errors() {
        for bad in [
            &b"HTTP/2.0 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"SMTP 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_lenient_read_takes_spaces_before_the_colon_and_skips_lines_that_are_not_fields() {
        let head = b"HTTP/1.1 200 OK\r\nA : b\r\nNo colon here\r\nX/Y: v\r\nC: d\x01e\r\nLast: 1\r\n\r\n";
        let (h, f) = parse(head).unwrap().unwrap();
        assert_eq!(h.len, head.len());
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "Last"]);
    }

    #[test]
    fn a_framing_field_is_never_skipped() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\x01\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nX/Y: v\r\ntransfer-encoding: chunked\x7f\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        // A lenient read of a head whose framing field is well formed keeps it.
        let ok = b"HTTP/1.1 200 OK\r\nX/Y: v\r\nContent-Length : 2\r\n\r\n{}";
        let (_, f) = parse(ok).unwrap().unwrap();
        assert_eq!(f, [("Content-Length".to_string(), b"2".to_vec())]);
    }

    #[test]
    fn more_fields_than_the_slice_holds_is_an_error_not_a_truncation() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_FIELDS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(parse(&head), Err(HeadError(httparse::Error::TooManyHeaders)));
        let mut many = vec![httparse::EMPTY_HEADER; MANY_FIELDS];
        assert_eq!(parse_head(&head, &mut many).unwrap().unwrap().fields_len, MAX_FIELDS + 1);
    }

    #[test]
    fn values_are_trimmed_of_spaces_and_tabs_only() {
        assert_eq!(trim_value(b" \t a b \t"), b"a b");
        assert_eq!(trim_value(b"   "), b"");
        assert_eq!(trim_value(b""), b"");
        assert_eq!(trim_value(b"x\r"), b"x\r");
    }
}
