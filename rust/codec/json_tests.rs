//! Scanner tests: structure, malformed input, and the number fast path against `parse_dec`.

use super::*;

#[test]
fn walks_objects_arrays_and_skips() {
    let s = br#" {"a": [1, {"x": "q\"}"}], "b" : "s", "c": [["1.5", 2, "t"], [3e-2, "4"]], "d": null} "#;
    let mut c = Cur::new(s);
    c.obj().unwrap();
    let mut first = true;
    let mut seen = Vec::new();
    while let Some(k) = c.key(&mut first).unwrap() {
        seen.push(k.to_vec());
        match k {
            b"b" => assert_eq!(c.string().unwrap(), b"s"),
            b"c" => {
                let mut got = Vec::new();
                c.levels(|p, q| got.push((p, q))).unwrap();
                assert_eq!(got.len(), 2);
                assert_eq!((got[0].0.mant, got[0].0.dec, got[0].1.mant), (15, 1, 2));
                assert_eq!((got[1].0.mant, got[1].0.dec, got[1].1.mant), (3, 2, 4));
            }
            _ => c.skip().unwrap(),
        }
    }
    c.end().unwrap();
    assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]);
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    for bad in [&b"{"[..], b"{\"a\"", b"{\"a\":[1,", b"[[\"1\"]]", b"{\"a\" 1}", b"\"abc", b"[[1,2,]"] {
        let mut c = Cur::new(bad);
        let r = (|| -> Result<()> {
            if c.peek()? == b'{' {
                c.obj()?;
                let mut f = true;
                while c.key(&mut f)?.is_some() {
                    c.skip()?;
                }
                Ok(())
            } else if c.peek()? == b'[' {
                c.levels(|_, _| {})
            } else {
                c.string().map(|_| ())
            }
        })();
        assert!(r.is_err(), "{:?}", std::str::from_utf8(bad));
    }
}

#[test]
fn skipped_containers_are_checked_and_bounded() {
    for bad in [
        &b"[}"[..],
        b"[\",\"a]",
        b"{\"a\":[1,}",
        b"[1 2]",
        b"{1:2}",
        b"{\"a\"}",
        b"[,1]",
        b"[1,]",
        b"[\"\\x\"]",
        b"[\"\\u12\"]",
        b"[\"a\tb\"]",
    ] {
        assert!(Cur::new(bad).skip().is_err(), "{:?}", std::str::from_utf8(bad));
    }
    let mut c = Cur::new(br#"["\"\\\/\b\f\n\r\t\u00e9"]"#);
    c.skip().unwrap();
    assert_eq!(c.i, c.b.len());
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deepest = nested(64);
    let mut c = Cur::new(deepest.as_bytes());
    c.skip().unwrap();
    assert_eq!(c.i, 128);
    assert!(matches!(Cur::new(nested(65).as_bytes()).skip(), Err(JsonError::TooDeep)));
    // Hostile depth: an error, not a stack overflow.
    let deep = "[".repeat(1 << 20);
    assert!(matches!(Cur::new(deep.as_bytes()).skip(), Err(JsonError::TooDeep)));
}

/// `t` with each zero that would lead a number's digits (not after a digit, a point or an
/// exponent, and followed by a digit) written as a one.
fn without_leading_zeros(t: &str) -> String {
    let b = t.as_bytes();
    let lead = |i: usize| {
        b[i] == b'0'
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
            && !(i > 0 && (b[i - 1].is_ascii_digit() || matches!(b[i - 1], b'.' | b'e' | b'E' | b'+')))
    };
    (0..b.len()).map(|i| if lead(i) { '1' } else { b[i] as char }).collect()
}

proptest::proptest! {
    // Any text built from JSON's structural bytes, words, numbers and strings, skipped as an
    // array's one element (what follows a value is its container's to judge): where serde_json
    // reads that array, `skip` reads it to its end; where serde_json refuses it, so does `skip`.
    #[test]
    fn skip_reads_like_serde_json(
        text in "[\\[\\]{}:, \"a0-9.e-]{0,24}|(true|false|null|tru|1e|-|\\[|\\]|\\{|\\}|,|:|\"k\"|\" \"|0|12|\\\\|\\\\u00|\\\\u12ab|n|\"\\\\\"|\t){0,12}",
    ) {
        // Leading zeros are taken, as the number readers take them: none in the reference's text.
        let text = format!("[{}]", without_leading_zeros(&text));
        let mut c = Cur::new(text.as_bytes());
        let r = c.skip();
        let reference = serde_json::from_str::<serde_json::Value>(&text);
        // serde_json refuses numbers past f64's range (`1e1212`), which JSON's grammar allows.
        proptest::prop_assume!(!matches!(&reference, Err(e) if e.to_string().contains("out of range")));
        if reference.is_ok() {
            proptest::prop_assert!(r.is_ok(), "{:?} for {}", r, text);
            proptest::prop_assert_eq!(c.i, text.len(), "{}", text);
        } else {
            proptest::prop_assert!(r.is_err() || c.i < text.len(), "{} skipped to {}", text, c.i);
        }
    }
}

#[test]
fn fast_and_slow_number_paths_agree() {
    let cases = [
        "0.00100000",
        "45285.2",
        "30316",
        "30316.0",
        "0",
        "-3.50",
        "1.7e-05",
        "9.121E-7",
        "5.0E-7",
        "12345678901.000000000",
        "123456789012345678",
        "0.000000000000000001",
        "7.",
        ".5",
        "1e3",
    ];
    for t in cases {
        for q in [false, true] {
            let text = if q { format!("\"{t}\"") } else { t.to_owned() };
            let got = Cur::new(text.as_bytes()).dec();
            let want = parse_dec(t.as_bytes()).map_err(JsonError::from);
            assert_eq!(got, want, "{text}");
        }
    }
    for bad in ["\"1.2.3\"", "\"abc\"", "\"\"", "\"1x\""] {
        assert!(Cur::new(bad.as_bytes()).dec().is_err(), "{bad}");
    }
}

proptest::proptest! {
    #[test]
    fn fast_path_agrees_with_parse_dec(
        int in "-?[0-9]{0,12}", frac in proptest::option::of("[0-9]{0,20}"),
        exp in proptest::option::of("[eE][+-]?[0-9]{1,2}"), quoted in proptest::bool::ANY,
    ) {
        let mut t = int.clone();
        if let Some(f) = &frac { t.push('.'); t.push_str(f); }
        if let Some(e) = &exp { t.push_str(e); }
        let text = if quoted { format!("\"{t}\"") } else { t.clone() };
        let got = Cur::new(text.as_bytes()).dec();
        let want = parse_dec(t.as_bytes()).map_err(JsonError::from);
        match (&got, &want) {
            (Ok(g), Ok(w)) => proptest::prop_assert_eq!(g, w, "{}", text),
            (Err(_), Err(_)) => {}
            _ => proptest::prop_assert!(false, "{}: {:?} vs {:?}", text, got, want),
        }
    }
}

proptest::proptest! {
    // The same with bytes after the number, so the one-word digit runs (which need 8 bytes left)
    // are taken, and the cursor must stop right after the number.
    #[test]
    fn word_path_agrees_with_parse_dec(
        int in "-?[0-9]{0,20}", frac in proptest::option::of("[0-9]{0,20}"),
        tail in "[\\],} x]{0,12}", quoted in proptest::bool::ANY,
    ) {
        let mut t = int.clone();
        if let Some(f) = &frac { t.push('.'); t.push_str(f); }
        let num = if quoted { format!("\"{t}\"") } else { t.clone() };
        let text = format!("{num}{tail}");
        let mut c = Cur::new(text.as_bytes());
        let got = c.dec();
        let want = parse_dec(t.as_bytes()).map_err(JsonError::from);
        match (&got, &want) {
            (Ok(g), Ok(w)) => {
                proptest::prop_assert_eq!(g, w, "{}", text);
                proptest::prop_assert_eq!(c.i, num.len(), "{}", text);
            }
            (Err(_), Err(_)) => {}
            _ => proptest::prop_assert!(false, "{}: {:?} vs {:?}", text, got, want),
        }
    }
}

#[test]
fn strings_end_at_the_first_unescaped_quote_at_every_length_and_offset() {
    for len in 0..40usize {
        for esc in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
            let mut body: Vec<u8> = (0..len).map(|k| b'a' + (k % 26) as u8).collect();
            if let Some(e) = esc.filter(|&e| e < len) {
                body.splice(e..e, *br#"\""#);
            }
            for pad in 0..3 {
                let mut text = vec![b' '; pad];
                text.push(b'"');
                text.extend_from_slice(&body);
                text.extend_from_slice(br#"","x""#);
                let mut c = Cur::new(&text);
                assert_eq!(c.string().unwrap(), &body[..], "{:?}", String::from_utf8_lossy(&text));
                assert_eq!(c.b[c.i], b',');
                // Cut anywhere inside: never a panic, always Eof or a shorter string.
                for cut in pad + 1..pad + 1 + body.len() {
                    let mut c = Cur::new(&text[..cut]);
                    assert!(c.string().is_err());
                }
            }
        }
    }
}

proptest::proptest! {
    // Level arrays as venues write them (compact quoted pairs, the fast paths) and as they might
    // (spaces, bare numbers, extra elements): every level must read as `parse_dec` reads its text,
    // and the cursor must end right after the array.
    #[test]
    fn level_arrays_read_like_parse_dec_in_every_layout(
        levels in proptest::collection::vec(
            ("[0-9]{1,9}(\\.[0-9]{0,9})?", "-?[0-9]{1,9}(\\.[0-9]{0,9})?", 0usize..3), 0..12),
        layout in proptest::collection::vec(0u8..4, 12),
    ) {
        let mut text = String::from("[");
        for (k, (p, q, extra)) in levels.iter().enumerate() {
            let style = layout[k];
            if k > 0 {
                text.push_str(if style == 3 { " , " } else { "," });
            }
            let (p, q) = if style == 2 { (p.clone(), q.clone()) } else { (format!("\"{p}\""), format!("\"{q}\"")) };
            let sep = if style == 3 { ", " } else { "," };
            text.push_str(&format!("[{p}{sep}{q}"));
            for e in 0..*extra {
                text.push_str(&format!(",\"{e}\""));
            }
            text.push(']');
        }
        text.push_str("],\"next\"");
        let mut c = Cur::new(text.as_bytes());
        let mut got = Vec::new();
        c.levels(|p, q| got.push((p, q))).unwrap();
        let want: Vec<_> = levels
            .iter()
            .map(|(p, q, _)| (parse_dec(p.as_bytes()).unwrap(), parse_dec(q.as_bytes()).unwrap()))
            .collect();
        proptest::prop_assert_eq!(got, want, "{}", text);
        proptest::prop_assert_eq!(&text[c.i..], ",\"next\"");
    }
}

proptest::proptest! {
    // Level tails like OKX's `,"0","<orders>"]` and near misses (other counts, stray quotes,
    // brackets, escapes and control characters, cut-off frames) against serde_json: the levels and where the cursor ends when the
    // array is JSON, an error when it is not.
    #[test]
    fn level_tails_read_like_serde_json(
        tails in proptest::collection::vec(("0|[0-9a\\],\\[\"\t\\\\]{0,3}", "[0-9]{0,9}|[0-9a\\],\\[\"\u{1}]{0,9}"), 1..4),
        cut in proptest::option::of(0usize..200),
    ) {
        let mut text = String::from("[");
        for (k, (a, b)) in tails.iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            text.push_str(&format!("[\"3024{k}.5\",\"0.0{k}12\",\"{a}\",\"{b}\"]"));
        }
        text.push(']');
        if let Some(cut) = cut {
            text.truncate(cut.min(text.len()));
        }
        // Leading zeros are taken, as the number readers take them: none in the reference's text.
        let text = without_leading_zeros(&text);
        let padded = format!("{text}          ");
        let mut c = Cur::new(padded.as_bytes());
        let mut got = Vec::new();
        let r = c.levels(|p, q| got.push((p, q)));
        // The array alone: what follows it is the caller's to read. Tail elements may be any JSON
        // value (a stray quote can leave a bare `0` there), which a level's tail may hold.
        let mut first = serde_json::Deserializer::from_str(&text).into_iter::<Vec<Vec<serde_json::Value>>>();
        // A level is a price and a size, each a quoted decimal (or a bare number: a stray quote can
        // close one level and open another), then anything; an array of those is what `levels`
        // must read, anything else it must refuse.
        let num = |v: &serde_json::Value| match v.as_str() {
            Some(t) => parse_dec(t.as_bytes()).ok(),
            None if v.is_number() => parse_dec(v.to_string().as_bytes()).ok(),
            None => None,
        };
        let want = match first.next() {
            Some(Ok(levels)) => levels
                .iter()
                .map(|l| Some((num(l.first()?)?, num(l.get(1)?)?)))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        match want {
            Some(want) => {
                proptest::prop_assert!(r.is_ok(), "{:?} for {}", r, text);
                proptest::prop_assert_eq!(got, want, "{}", text);
                proptest::prop_assert_eq!(c.i, first.byte_offset(), "{}", text);
            }
            _ => proptest::prop_assert!(r.is_err(), "{} read as {:?}", text, got),
        }
    }
}

/// Every key of `text`'s top object read with the compact shortcut (`key`) or the general path
/// alone, values skipped: the keys (with where each value starts) and how the walk ended.
fn keys(text: &[u8], general: bool) -> (Vec<(Vec<u8>, usize)>, Result<()>) {
    let mut c = Cur::new(text);
    let mut out = Vec::new();
    let r = (|| {
        c.obj()?;
        let mut first = true;
        loop {
            let k = if general { c.key_general(&mut first)? } else { c.key(&mut first)? };
            let Some(k) = k else { return Ok(()) };
            out.push((k.to_vec(), c.i));
            c.skip()?;
        }
    })();
    (out, r)
}

#[test]
fn compact_keys_read_like_the_general_path() {
    let frames: [&[u8]; 4] = [
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.5,"qty":2}]}]}"#,
        br#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}"#,
        br#"{ "a" : 1 ,"b":2, "c\"d":3,"":4,"e\\":5}"#,
        br#"{}"#,
    ];
    for f in frames {
        assert_eq!(keys(f, false), keys(f, true));
        for cut in 0..f.len() {
            assert_eq!(keys(&f[..cut], false), keys(&f[..cut], true));
        }
        for i in 0..f.len() {
            for b in *b" \",:}{[]\\x0" {
                let mut g = f.to_vec();
                g[i] = b;
                assert_eq!(keys(&g, false), keys(&g, true), "{}", String::from_utf8_lossy(&g));
            }
        }
    }
}

proptest::proptest! {
    // Level objects as Kraken writes them (compact `{"price":n,"qty":n}`, the fast path) and as a
    // venue might (quoted numbers, spaces, the keys swapped, other keys, a key twice): every level
    // must read as `parse_dec` reads the text of its last price and qty, and the cursor must end
    // right after the array.
    #[test]
    fn level_objects_read_like_parse_dec_in_every_layout(
        levels in proptest::collection::vec(
            ("[0-9]{1,9}(\\.[0-9]{0,9})?", "-?[0-9]{1,9}(\\.[0-9]{0,9})?", 0u8..6, proptest::bool::ANY), 0..12),
    ) {
        let mut text = String::from("[");
        let mut want = Vec::new();
        for (k, (p, q, style, quoted)) in levels.iter().enumerate() {
            if k > 0 {
                text.push_str(if *style == 3 { " , " } else { "," });
            }
            let (pt, qt) = if *quoted { (format!("\"{p}\""), format!("\"{q}\"")) } else { (p.clone(), q.clone()) };
            let mut price = p.clone();
            text.push_str(&match style {
                0 | 3 => format!("{{\"price\":{pt},\"qty\":{qt}}}"),
                1 => format!("{{ \"price\": {pt}, \"qty\": {qt} }}"),
                2 => format!("{{\"qty\":{qt},\"price\":{pt}}}"),
                4 => format!("{{\"price\":{pt},\"qty\":{qt},\"n\":\"x\"}}"),
                _ => {
                    // Another price (any: the last written is the level's), short enough to fit.
                    price = format!("7{k}.25");
                    format!("{{\"price\":{pt},\"qty\":{qt},\"price\":\"{price}\"}}")
                }
            });
            want.push((parse_dec(price.as_bytes()).unwrap(), parse_dec(q.as_bytes()).unwrap()));
        }
        text.push_str("],\"next\"");
        let mut c = Cur::new(text.as_bytes());
        let mut got = Vec::new();
        c.obj_levels(b"price", b"qty", |p, q| got.push((p, q))).unwrap();
        proptest::prop_assert_eq!(got, want, "{}", text);
        proptest::prop_assert_eq!(&text[c.i..], ",\"next\"");
    }
}

#[test]
fn a_compact_level_object_cut_anywhere_or_broken_is_an_error_not_a_level() {
    let text = br#"[{"price":59999.4,"qty":0.05644215},{"price":"60000.1","qty":"1.5"}]"#;
    let mut c = Cur::new(text);
    let mut got = Vec::new();
    c.obj_levels(b"price", b"qty", |p, q| got.push((p.mant, p.dec, q.mant, q.dec))).unwrap();
    assert_eq!(got, [(599994, 1, 5644215, 8), (600001, 1, 15, 1)]);
    for cut in 0..text.len() {
        let mut c = Cur::new(&text[..cut]);
        assert!(c.obj_levels(b"price", b"qty", |_, _| {}).is_err(), "{}", cut);
    }
    for bad in [
        &br#"[{"price":1.5}]"#[..],
        br#"[{"price":1.5,"qty":}]"#,
        br#"[{"price":1.5,"qty":2]"#,
        br#"[{"price":"1.5,"qty":2}]"#,
    ] {
        let mut c = Cur::new(bad);
        assert!(c.obj_levels(b"price", b"qty", |_, _| {}).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
