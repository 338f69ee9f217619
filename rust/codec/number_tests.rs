//! The number scanner against a reference written longhand (a digit loop into an i128 and a power
//! of ten, no shared code), for every shape venues send, in the contexts frames put numbers in; and
//! malformed text, which must give a typed error and never a panic.

use crate::book::num::{Dec, NumError};
use crate::codec::json::{Cur, JsonError};
use proptest::prelude::*;

/// `text` read the slow, obvious way: `Some((coefficient, power, written decimals, significant
/// digits))` with value = coefficient × 10^power, or `None` when it is not a number.
fn reference(text: &str) -> Option<(i128, i32, i32, usize)> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(k) => {
            let e = &t[k + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Any number of digits is JSON; beyond an i32 the value is 0 or out of any range, as the
            // parser's saturating exponent has it.
            let v: i32 = digits.parse::<u128>().map_or(i32::MAX, |v| v.min(i32::MAX as u128) as i32);
            (&t[..k], if e.starts_with('-') { -v } else { v })
        }
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    if all.is_empty() || !all.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let significant = all.trim_start_matches('0').trim_end_matches('0').len();
    let mut c: i128 = 0;
    for d in all.bytes().take(36) {
        c = c * 10 + (d - b'0') as i128;
    }
    if all.len() > 36 {
        return None; // beyond what this reference handles; the generators stay below it
    }
    let written = (frac.len() as i32).saturating_sub(exp);
    Some((if neg { -c } else { c }, exp.saturating_sub(frac.len() as i32), written, significant))
}

/// What `reference` says the parser must return: the exact `Dec`, or `Err` when the value needs
/// more than 18 decimals or its mantissa does not fit an i64. `None` for the one case the parser
/// is allowed either way: more than 18 significant digits written (it accumulates digits in an
/// i64 before an exponent is applied).
fn expected(text: &str) -> Option<Result<Dec, ()>> {
    let (mut c, mut p, written, significant) = reference(text)?;
    if significant > 18 {
        return None;
    }
    if c == 0 {
        return Some(Ok(Dec { mant: 0, dec: 0, wrote: written.clamp(0, 18) as u8 }));
    }
    while p < 0 && c % 10 == 0 {
        c /= 10;
        p += 1;
    }
    while p > 0 {
        c *= 10;
        p -= 1;
        if c.unsigned_abs() > i64::MAX as u128 {
            return Some(Err(()));
        }
    }
    let Some(dec) = p.checked_neg() else { return Some(Err(())) };
    if dec > 18 || c.unsigned_abs() > i64::MAX as u128 {
        return Some(Err(()));
    }
    Some(Ok(Dec { mant: c as i64, dec: dec as u8, wrote: written.clamp(dec, 18) as u8 }))
}

fn digits(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n).prop_map(|v| v.into_iter().map(|d| (b'0' + d) as char).collect())
}

/// The shapes venues write, each with its own weight so short ones are not drowned by long ones.
fn number() -> impl Strategy<Value = String> {
    let sign = prop_oneof![4 => Just(""), 1 => Just("-")];
    let shape = prop_oneof![
        // USDⓈ-M / OKX: the tick's precision, "43250.1", "0.001", "5.158"
        digits(1..=7).prop_flat_map(|i| digits(1..=4).prop_map(move |f| format!("{i}.{f}"))),
        // Binance spot: 8 decimals, "0.35180000"
        digits(1..=7).prop_flat_map(|i| digits(8..=8).prop_map(move |f| format!("{i}.{f}"))),
        // integers, "30261", "903107", sizes in contracts
        digits(1..=18),
        // long fractions and long integers, up to the 18 digits an i64 holds and past them
        digits(1..=12).prop_flat_map(|i| digits(0..=14).prop_map(move |f| format!("{i}.{f}"))),
        // exponent forms: "1e-8", "5.2E+3", "1.7e-05", "9.121E-7"
        (digits(1..=3), proptest::option::of(digits(0..=6)), "[eE]", "[+-]?", digits(1..=3)).prop_map(
            |(i, f, e, s, x)| match f {
                Some(f) => format!("{i}.{f}{e}{s}{x}"),
                None => format!("{i}{e}{s}{x}"),
            }
        ),
    ];
    (sign, shape).prop_map(|(s, n)| format!("{s}{n}"))
}

/// What follows a number in a frame: the end of a quoted pair, of a level, of an object, of the
/// input, and bare numbers' separators.
fn tail() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(""),
        Just(","),
        Just("]"),
        Just("]]}"),
        Just(",\"0\",\"4\"]"),
        Just("],[\"30243.6\",\"0.059\"]],\"bids\":[]}"),
        Just("}"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn every_shape_reads_as_the_reference(n in number(), quoted in any::<bool>(), tail in tail()) {
        let Some(want) = expected(&n) else { return Ok(()) };
        let text = if quoted { format!("\"{n}\"{tail}") } else { format!("{n}{tail}") };
        let mut c = Cur::new(text.as_bytes());
        let got = c.dec();
        match (got, want) {
            (Ok(g), Ok(w)) => {
                prop_assert_eq!(g, w, "{}", text);
                prop_assert_eq!(&text[c.i..], tail, "cursor after {}", text);
            }
            (Err(JsonError::Num(_)), Err(())) => {}
            (g, w) => prop_assert!(false, "{}: got {:?}, reference {:?}", text, g, w),
        }
    }

    #[test]
    fn level_pairs_read_as_the_reference(p in number(), q in number(), extra in any::<bool>()) {
        let (Some(Ok(wp)), Some(Ok(wq))) = (expected(&p), expected(&q)) else { return Ok(()) };
        let more = if extra { ",\"0\",\"1\"" } else { "" };
        let text = format!("[[\"{p}\",\"{q}\"{more}],[{p},{q}]],\"x\"");
        let mut got = Vec::new();
        Cur::new(text.as_bytes()).levels(|a, b| got.push((a, b))).unwrap();
        prop_assert_eq!(got, vec![(wp, wq), (wp, wq)], "{}", text);
    }

    /// Anything made of number-ish bytes: a value the reference agrees with, or a typed error.
    #[test]
    fn malformed_text_is_a_typed_error_never_a_panic(
        t in proptest::collection::vec(proptest::sample::select(b"0123456789.-+eE\",]} x".to_vec()), 0..28),
    ) {
        let mut c = Cur::new(&t);
        match c.dec() {
            Ok(d) => {
                // What was consumed is a number (after an optional quote) and reads the same.
                let body = &t[..c.i];
                let body = std::str::from_utf8(body).unwrap().trim_start();
                let body = body.strip_prefix('"').map(|b| b.strip_suffix('"').unwrap()).unwrap_or(body);
                prop_assert!(reference(body).is_some(), "{:?} is no number but read as {:?}", body, d);
                match expected(body) {
                    Some(Ok(w)) => prop_assert_eq!(d, w, "{:?}", body),
                    Some(Err(())) => prop_assert!(false, "{:?} does not fit but read as {:?}", body, d),
                    None => {}
                }
            }
            Err(JsonError::Num(_) | JsonError::Expected { .. } | JsonError::Eof) => {}
            Err(e) => prop_assert!(false, "untyped error {e:?}"),
        }
    }
}

#[test]
fn malformed_numbers_give_the_error_that_names_them() {
    let num = |t: &str| Cur::new(t.as_bytes()).dec();
    for t in ["\"1e\"", "\"1e+\"", "\"-\"", "\"1.2.3\"", "\"abc\"", "\"\"", "\"1e5e3\"", "\".\""] {
        assert!(
            matches!(num(t), Err(JsonError::Num(NumError::Syntax(_)) | JsonError::Expected { .. })),
            "{t}"
        );
    }
    assert!(matches!(num("\"99999999999999999999\""), Err(JsonError::Num(NumError::Overflow(_)))));
    assert!(matches!(num("\"1e30\""), Err(JsonError::Num(NumError::Overflow(_)))));
    assert!(matches!(num("\"1e-30\""), Err(JsonError::Num(NumError::TooPrecise { .. }))));
    // An exponent past any i32 (CI's proptest found "0e3000000000" against a reference that could not
    // read it): zero is zero, anything else out of range.
    let zero = Dec { mant: 0, dec: 0, wrote: 0 };
    assert_eq!(num("\"0e3000000000\"").unwrap(), zero);
    assert_eq!(num("\"0e-3000000000\"").unwrap().mant, 0);
    assert!(matches!(num("\"1e3000000000\""), Err(JsonError::Num(NumError::Overflow(_)))));
    assert!(matches!(num("\"1e-3000000000\""), Err(JsonError::Num(NumError::TooPrecise { .. }))));
    assert!(matches!(num("\"1.5x\""), Err(JsonError::Expected { .. })));
    assert!(matches!(num("\"1.5"), Err(JsonError::Expected { .. } | JsonError::Eof)));
}

#[test]
fn shapes_from_the_venues() {
    let d = |t: &str| Cur::new(format!("\"{t}\",").as_bytes()).dec().unwrap();
    let dec = |mant, dec, wrote| Dec { mant, dec, wrote };
    assert_eq!(d("43250.1"), dec(432501, 1, 1));
    assert_eq!(d("43250.10"), dec(432501, 1, 2));
    assert_eq!(d("0.001"), dec(1, 3, 3));
    assert_eq!(d("30261"), dec(30261, 0, 0));
    assert_eq!(d("0.35180000"), dec(3518, 4, 8));
    assert_eq!(d("1e-8"), dec(1, 8, 8));
    assert_eq!(d("5.2E+3"), dec(5200, 0, 0));
    assert_eq!(d("1.7e-05"), dec(17, 6, 6));
    assert_eq!(d("-0.0"), dec(0, 0, 1));
    assert_eq!(d("123456789012345"), dec(123456789012345, 0, 0));
}
