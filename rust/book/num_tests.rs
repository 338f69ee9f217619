//! `Dec` parsing (plain, exponent forms, typed errors), its text written back as it was received,
//! the checksum digit text against a longhand reference, rounding and the float view.

use super::*;

fn p(s: &str) -> Dec {
    parse_dec(s.as_bytes()).unwrap()
}

#[test]
fn plain_and_trailing_zeros() {
    assert_eq!(p("0.00100000"), Dec { mant: 1, dec: 3, wrote: 8 });
    assert_eq!(p("45285.2"), Dec { mant: 452852, dec: 1, wrote: 1 });
    assert_eq!(p("30316"), Dec { mant: 30316, dec: 0, wrote: 0 });
    assert_eq!(p("30316.0"), Dec { mant: 30316, dec: 0, wrote: 1 });
    assert_eq!(p("0"), Dec { mant: 0, dec: 0, wrote: 0 });
    assert_eq!(p("-3"), Dec { mant: -3, dec: 0, wrote: 0 });
    assert_eq!(p("12345678901.000000000"), Dec { mant: 12345678901, dec: 0, wrote: 9 });
}

#[test]
fn exponent_forms() {
    assert_eq!(p("1.7e-05"), Dec { mant: 17, dec: 6, wrote: 6 });
    assert_eq!(p("9.121E-7"), Dec { mant: 9121, dec: 10, wrote: 10 });
    assert_eq!(p("5.0E-7"), Dec { mant: 5, dec: 7, wrote: 8 });
    assert_eq!(p("1e3"), Dec { mant: 1000, dec: 0, wrote: 0 });
    assert_eq!(p("1.25E+2"), Dec { mant: 125, dec: 0, wrote: 0 });
    assert_eq!(p("10e-1"), Dec { mant: 1, dec: 0, wrote: 1 });
    assert_eq!(p("1200E-3"), Dec { mant: 12, dec: 1, wrote: 3 });
}

#[test]
fn errors_are_typed() {
    assert!(matches!(parse_dec(b""), Err(NumError::Syntax(_))));
    assert!(matches!(parse_dec(b"1.2.3"), Err(NumError::Syntax(_))));
    assert!(matches!(parse_dec(b"abc"), Err(NumError::Syntax(_))));
    assert!(matches!(parse_dec(b"1e"), Err(NumError::Syntax(_))));
    assert!(matches!(parse_dec(b"99999999999999999999"), Err(NumError::Overflow(_))));
    assert!(matches!(parse_dec(b"1e-30"), Err(NumError::TooPrecise { .. })));
    assert!(matches!(parse_dec(b"1e30"), Err(NumError::Overflow(_))));
    // Exponents past any i32 (found by the malformed-text property test: the written-decimals sum
    // overflowed): zero stays zero, anything else is too precise or out of range, never a panic.
    assert_eq!(p(".0e-2150000000"), Dec { mant: 0, dec: 0, wrote: 18 });
    assert_eq!(p("0e99999999999999999999"), Dec { mant: 0, dec: 0, wrote: 0 });
    assert!(matches!(parse_dec(b"0.1e-2150000000"), Err(NumError::TooPrecise { .. })));
    assert!(matches!(parse_dec(b"-1.5e+99999999999"), Err(NumError::Overflow(_))));
    assert!(matches!(p("1.5").at_scale(0), Err(NumError::TooPrecise { .. })));
    assert!(matches!(p("9223372036854775807").at_scale(1), Err(NumError::OutOfRange(1))));
}

#[test]
fn format_roundtrips_as_written() {
    let mut b = [0u8; 48];
    for s in ["0.00100000", "45285.2", "30316", "30316.0", "3366.1", "0.35130000", "7"] {
        let d = p(s);
        let m = d.at_scale(8).unwrap();
        let n = format_fixed(m, 8, d.wrote, &mut b);
        assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), s);
    }
    let n = format_fixed(-3_00000000, 8, 0, &mut b);
    assert_eq!(&b[..n], b"-3");
}

/// `format_fixed` by `format!` on an i128: the reference the fast writers are held to.
fn reference_text(mant: i64, scale: u8, wrote: u8) -> String {
    let v = mant as i128;
    let v = if wrote >= scale {
        v * 10i128.pow((wrote - scale) as u32)
    } else {
        v / 10i128.pow((scale - wrote) as u32)
    };
    let digits = format!("{:0>w$}", v.unsigned_abs(), w = wrote as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - wrote as usize);
    let sign = if v < 0 { "-" } else { "" };
    if wrote == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]

    // Every magnitude (short prices to the i64 limit), every scale and written precision,
    // including going down in scale, which the writers do only by exact division.
    #[test]
    fn fast_writers_match_the_reference(
        digits in 1u32..19, raw in proptest::prelude::any::<i64>(), scale in 0u8..=18, wrote in 0u8..=18,
    ) {
        let mant = raw % 10i64.pow(digits);
        // Rescaling must fit and drop only zeros, as for any value a book holds.
        let mant = if wrote < scale { mant / POW10[(scale - wrote) as usize] * POW10[(scale - wrote) as usize] } else { mant };
        if wrote > scale && mant.checked_mul(POW10[(wrote - scale) as usize]).is_none() {
            return Ok(());
        }
        let want = reference_text(mant, scale, wrote);
        let mut out = [0xAAu8; 96];
        let n = write_fixed(mant, scale, wrote, &mut out, 5);
        proptest::prop_assert_eq!(std::str::from_utf8(&out[5..n]).unwrap(), want.as_str());
        proptest::prop_assert!(out[..5].iter().all(|&c| c == 0xAA), "wrote before `at`");
        let mut b = [0u8; 48];
        let n = format_fixed(mant, scale, wrote, &mut b);
        proptest::prop_assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), want.as_str());
        let n = write_digits(mant, scale, wrote, &mut out, 3);
        let bare = want.replace(['-', '.'], "");
        proptest::prop_assert_eq!(std::str::from_utf8(&out[3..n]).unwrap(), bare.trim_start_matches('0'));
    }
}

#[test]
fn mantissa_exponent_matches_text() {
    assert_eq!(Dec::from_mantissa_exponent(100000, -8).unwrap(), p("0.00100000"));
    assert_eq!(Dec::from_mantissa_exponent(452852, -1).unwrap(), p("45285.2"));
    assert_eq!(Dec::from_mantissa_exponent(17, 3).unwrap(), p("17000"));
    assert_eq!(Dec::from_mantissa_exponent(0, -8).unwrap(), p("0.00000000"));
    assert!(Dec::from_mantissa_exponent(1, -19).is_err());
    // No ask key negates i64::MIN (see `Dec`); text cannot reach it.
    for e in [0, -8, 2] {
        assert!(matches!(Dec::from_mantissa_exponent(i64::MIN, e), Err(NumError::OutOfRange(_))));
    }
    assert!(matches!(parse_dec(b"-9223372036854775808"), Err(NumError::Overflow(_))));
    assert!(Dec::from_mantissa_exponent(i64::MAX, 2).is_err());
}

#[test]
fn explicit_rounding_is_half_even() {
    assert_eq!(p("3307.9982700421942").round_to(10), Some(p("3307.9982700422")));
    assert_eq!(p("0.25").round_to(1), Some(p("0.2")));
    assert_eq!(p("0.35").round_to(1), Some(p("0.4")));
    assert_eq!(p("-0.35").round_to(1), Some(p("-0.4")));
    assert_eq!(p("1.5").round_to(3), None);
}

#[test]
fn float_view_matches_text() {
    assert_eq!(to_f64(p("0.3513").at_scale(4).unwrap(), 4), 0.3513);
    assert_eq!(to_f64(p("45285.2").at_scale(2).unwrap(), 2), 45285.2);
}
