//! JSON's grammar for the tokens of a value the decoders skip (RFC 8259): a frame malformed where
//! nothing is read is still refused. Values that are read go through their readers' own grammar.

/// Whether `t` is a number as JSON writes one (RFC 8259 §6), but for leading zeros, which the
/// readers of numbers (`int`, `parse_dec`) take too: a skipped field is held to what it would be
/// held to if it were read (Binance's depthUpdate shortcut reads the event time's digits).
pub(crate) fn is_json_number(t: &[u8]) -> bool {
    let digits = |i: &mut usize| {
        let start = *i;
        while t.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let mut i = usize::from(t.first() == Some(&b'-'));
    if !digits(&mut i) {
        return false;
    }
    if t.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == t.len()
}

/// Whether a string's raw text (between its quotes) is JSON's: no control character, and every
/// backslash one of JSON's escapes (RFC 8259 §7).
pub(crate) fn is_json_text(t: &[u8]) -> bool {
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            0..=0x1f => return false,
            b'\\' => match t.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') if t.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => {
                    i += 6
                }
                _ => return false,
            },
            _ => i += 1,
        }
    }
    true
}
