//! The word-at-a-time readers (`digits`, `string_end`) against byte loops written longhand, on
//! every run length around their 8- and 16-byte windows and every distance from the frame's end.

use super::*;

/// `digits` as a byte loop: 1 to 18 digits, then `,` or `}`.
fn digits_longhand(b: &[u8], start: usize) -> Option<(i64, usize)> {
    let n = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 18 || !matches!(b.get(start + n), Some(b',' | b'}')) {
        return None;
    }
    let v = std::str::from_utf8(&b[start..start + n]).unwrap().parse().unwrap();
    Some((v, start + n))
}

#[test]
fn digits_reads_what_a_byte_loop_reads() {
    let runs =
        ["", "0", "7", "10", "0012", "98765432", "123456789", "9223372036854775", "999999999999999999"];
    let mut cases: Vec<String> = runs.iter().map(|r| r.to_string()).collect();
    // Every length up to 20, with varying digits.
    cases.extend((1..=20).map(|n| (0..n).map(|k| char::from(b'0' + ((k * 7 + n) % 10) as u8)).collect()));
    for run in &cases {
        for after in [",", "}", "]", " ", ".", "e", "\"", "a", ""] {
            for pad in 0..20 {
                for lead in 0..3 {
                    let text = format!("{}{run}{after}{}", ":".repeat(lead), "x".repeat(pad));
                    let b = text.as_bytes();
                    let mut c = Cur::new(b);
                    c.i = lead;
                    let got = digits(&mut c).map(|v| (v, c.i));
                    assert_eq!(got, digits_longhand(b, lead), "{text:?}");
                    if got.is_none() {
                        assert_eq!(c.i, lead, "{text:?}: the cursor moved on a refusal");
                    }
                }
            }
        }
    }
}

#[test]
fn string_end_stops_where_a_byte_loop_stops() {
    let stops: &[u8] = b"\"\\\x00\x01\x1f";
    let others: &[u8] = b"a -0\x20\x21\x7f\x80\xff\x5b\x5d\x5d\x22";
    for len in 0..40 {
        for at in 0..=len {
            for &stop in stops.iter().chain(others) {
                for &fill in others {
                    let mut b = vec![fill; len];
                    if at < len {
                        b[at] = stop;
                    }
                    for from in [0, 1, 7, 8, 9].into_iter().filter(|&f| f <= len) {
                        for control in [false, true] {
                            let hit = |c: &u8| *c == b'"' || *c == b'\\' || (control && *c < 0x20);
                            let want = b[from..].iter().position(hit).map(|k| from + k);
                            assert_eq!(string_end(&b, from, control), want, "{b:?} from {from}, {control}");
                        }
                    }
                }
            }
        }
    }
}
