//! HTTP/1.1 response heads, read with `httparse`: the REST client (`transport/http_conn.py`) hands
//! every answer's bytes here until a whole head is in; the body stays in Python.

/// Most header fields a head may carry (a venue's answers carry ~5–25; a CDN adds a few).
pub const MAX_FIELDS: usize = 128;

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

/// The response head at the start of `buf`; `None` until all of it has arrived.
pub fn parse_head<'b>(buf: &'b [u8], fields: &mut [httparse::Header<'b>]) -> Result<Option<Head>, HeadError> {
    let mut resp = httparse::Response::new(fields);
    match resp.parse(buf).map_err(HeadError)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => Ok(Some(Head {
            // Both are set once a head is complete.
            status: resp.code.unwrap_or(0),
            minor: resp.version.unwrap_or(0),
            len,
            fields_len: resp.headers.len(),
        })),
    }
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
            b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            b"SMTP 200 OK\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn too_many_fields_is_an_error_not_a_truncation() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_FIELDS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(parse(&head), Err(HeadError(httparse::Error::TooManyHeaders)));
    }

    #[test]
    fn values_are_trimmed_of_spaces_and_tabs_only() {
        assert_eq!(trim_value(b" \t a b \t"), b"a b");
        assert_eq!(trim_value(b"   "), b"");
        assert_eq!(trim_value(b""), b"");
        assert_eq!(trim_value(b"x\r"), b"x\r");
    }
}
