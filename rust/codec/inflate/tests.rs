use std::io::Write;

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::{Compress, Compression, FlushCompress};
use proptest::prelude::*;

use super::*;

/// Binary frames of the real HTX capture, or None (with the reason printed) when shared/ is absent.
pub(crate) fn htx_frames() -> Option<&'static [Vec<u8>]> {
    static FRAMES: std::sync::OnceLock<Option<Vec<Vec<u8>>>> = std::sync::OnceLock::new();
    FRAMES.get_or_init(load_htx_frames).as_deref()
}

fn load_htx_frames() -> Option<Vec<Vec<u8>>> {
    use base64::Engine;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real/htx.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: {} absent (shared fixtures not beside the repo)", path.display());
        return None;
    };
    let mut frames = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        if let Some(b) = v.get("b64").and_then(|b| b.as_str()) {
            frames.push(base64::engine::general_purpose::STANDARD.decode(b).expect("fixture base64"));
        }
    }
    Some(frames)
}

/// Second, independent inflater (miniz_oxide) as the reference for gzip output.
fn reference_gunzip(frame: &[u8]) -> Vec<u8> {
    use miniz_oxide::inflate::decompress_to_vec;
    // Skip the fixed 10-byte header; HTX frames set no optional header fields (checked below).
    assert_eq!(frame[3], 0, "HTX gzip header has no FEXTRA/FNAME/FCOMMENT/FHCRC");
    decompress_to_vec(&frame[10..]).expect("reference inflate")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn every_real_htx_frame_gunzips_to_json() {
    let Some(frames) = htx_frames() else { return };
    // 362 binary ("b64") lines in the capture; the count is asserted so a parsing slip cannot pass.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real/htx.jsonl"),
    )
    .unwrap();
    let b64_lines = text.lines().filter(|l| l.contains("\"b64\"")).count();
    assert_eq!(frames.len(), b64_lines);
    assert!(frames.len() > 300);
    let mut inf = Inflater::new(Format::Gzip);
    let mut ok = 0;
    for f in frames {
        let out = inf.decompress(f).expect("real HTX frame gunzips");
        let v: serde_json::Value = serde_json::from_slice(out).expect("valid JSON");
        assert!(v.is_object());
        assert_eq!(out, reference_gunzip(f).as_slice());
        ok += 1;
    }
    assert_eq!(ok, b64_lines);
}

#[test]
fn buffer_is_reused_once_warm() {
    let Some(frames) = htx_frames() else { return };
    let mut inf = Inflater::new(Format::Gzip);
    for f in frames {
        inf.decompress(f).unwrap();
    }
    let cap = inf.out.capacity();
    let ptr = inf.out.as_ptr();
    for f in frames {
        inf.decompress(f).unwrap();
    }
    // Not one reallocation over a second pass of the capture once the largest frame was seen.
    assert!(inf.out.capacity() >= cap);
    assert_eq!(inf.out.as_ptr(), ptr);
}

#[test]
fn zlib_and_raw_round_trip_and_gzip_optional_header_fields() {
    let data: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
    assert_eq!(Inflater::new(Format::Zlib).decompress(&zlib(&data)).unwrap(), data.as_slice());
    assert_eq!(Inflater::new(Format::Raw).decompress(&raw(&data)).unwrap(), data.as_slice());
    // Python's gzip module writes FNAME when given a filename; build FNAME + FCOMMENT + FEXTRA by hand.
    let body = raw(b"{\"ping\":1}");
    let mut crc = flate2::Crc::new();
    crc.update(b"{\"ping\":1}");
    let mut frame = vec![0x1f, 0x8b, 8, 0b0001_1100, 0, 0, 0, 0, 0, 255];
    frame.extend_from_slice(&[3, 0, b'a', b'b', b'c']); // FEXTRA
    frame.extend_from_slice(b"name\0comment\0");
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&crc.sum().to_le_bytes());
    frame.extend_from_slice(&10u32.to_le_bytes());
    assert_eq!(Inflater::new(Format::Gzip).decompress(&frame).unwrap(), b"{\"ping\":1}");
}

#[test]
fn concatenated_gzip_members_are_one_frame() {
    let mut frame = gzip(b"{\"a\":");
    frame.extend_from_slice(&gzip(b"1}"));
    assert_eq!(Inflater::new(Format::Gzip).decompress(&frame).unwrap(), b"{\"a\":1}");
}

#[test]
fn errors_are_typed_and_decoder_survives() {
    let good = gzip(b"{\"ping\":1618678070}");
    let mut inf = Inflater::new(Format::Gzip);
    // Truncated at every length: error, never a panic, and the next frame decodes.
    for cut in 0..good.len() {
        let e = inf.decompress(&good[..cut]).unwrap_err();
        assert!(matches!(e, DecodeError::Truncated { .. } | DecodeError::Corrupt { .. }), "cut {cut}: {e:?}");
        assert_eq!(inf.decompress(&good).unwrap(), b"{\"ping\":1618678070}");
    }
    // CRC mismatch.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 8] ^= 1;
    assert!(matches!(inf.decompress(&bad), Err(DecodeError::Corrupt { .. })));
    // ISIZE mismatch.
    let mut bad = good.clone();
    bad[n - 1] ^= 1;
    assert!(matches!(inf.decompress(&bad), Err(DecodeError::Corrupt { .. })));
    // A trailer claiming 4 GiB: refused, and no 4 GiB (nor 16 MiB) buffer is kept.
    let mut bad = good.clone();
    bad[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(inf.decompress(&bad), Err(DecodeError::Corrupt { .. })));
    assert!(inf.out.capacity() <= RETAIN_AFTER_ERROR);
    // Not gzip at all.
    assert!(matches!(inf.decompress(b"{\"ping\":1}"), Err(DecodeError::Corrupt { .. })));
    // Garbage after the member.
    let mut bad = good.clone();
    bad.extend_from_slice(b"xy");
    assert_eq!(inf.decompress(&bad), Err(DecodeError::TrailingData { offset: n, extra: 2 }));
    let mut z = zlib(b"abc");
    z.push(0);
    assert!(matches!(Inflater::new(Format::Zlib).decompress(&z), Err(DecodeError::TrailingData { .. })));
    assert_eq!(inf.decompress(&good).unwrap(), b"{\"ping\":1618678070}");
}

#[test]
fn decompression_bomb_is_refused_within_the_cap() {
    let member = gzip(&vec![0u8; 1 << 20]);
    assert!(member.len() < 5_000);
    // 17 members of 1 MiB each: past the 16 MiB default cap from ~80 KB of input.
    let bomb: Vec<u8> = (0..17).flat_map(|_| member.iter().copied()).collect();
    let mut inf = Inflater::new(Format::Gzip);
    assert_eq!(inf.decompress(&bomb), Err(DecodeError::OutputTooLarge { limit: DEFAULT_MAX_OUTPUT }));
    assert!(inf.out.capacity() <= RETAIN_AFTER_ERROR);
    assert_eq!(inf.decompress(&gzip(b"ok")).unwrap(), b"ok");
    // One member, smaller cap.
    let mut inf = Inflater::with_max_output(Format::Gzip, 100_000);
    assert_eq!(inf.decompress(&member), Err(DecodeError::OutputTooLarge { limit: 100_000 }));
    assert_eq!(inf.decompress(&gzip(b"ok")).unwrap(), b"ok");
}

#[test]
fn output_exactly_at_the_cap_is_accepted_one_more_byte_is_not() {
    for format in [Format::Gzip, Format::Zlib, Format::Raw] {
        let data = vec![7u8; 10_000];
        let frame = match format {
            Format::Gzip => gzip(&data),
            Format::Zlib => zlib(&data),
            Format::Raw => raw(&data),
        };
        assert_eq!(Inflater::with_max_output(format, 10_000).decompress(&frame).unwrap().len(), 10_000);
        assert_eq!(
            Inflater::with_max_output(format, 9_999).decompress(&frame),
            Err(DecodeError::OutputTooLarge { limit: 9_999 })
        );
    }
}

// RFC 7692 §7.2.3 examples: the payloads of the frames the RFC prints, each inflating to "Hello".
const RFC_HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const RFC_HELLO_AGAIN_SHARED_WINDOW: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
const RFC_HELLO_STORED: [u8; 11] = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
const RFC_HELLO_BFINAL: [u8; 8] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
const RFC_HELLO_TWO_BLOCKS: [u8; 13] =
    [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn rfc7692_examples() {
    let mut pmd = PerMessageInflater::new(false, 15).unwrap();
    assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    // The second message is only back-references into the first one's window.
    assert_eq!(pmd.decompress_message(&RFC_HELLO_AGAIN_SHARED_WINDOW).unwrap(), b"Hello");
    assert_eq!(pmd.decompress_message(&RFC_HELLO_STORED).unwrap(), b"Hello");
    assert_eq!(pmd.decompress_message(&RFC_HELLO_TWO_BLOCKS).unwrap(), b"Hello");
    assert_eq!(pmd.decompress_message(&RFC_HELLO_BFINAL).unwrap(), b"Hello");
    // After a BFINAL message the next one is a new stream.
    assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    assert_eq!(pmd.decompress_message(&[]).unwrap(), b"");

    // Without context takeover, a back-reference into the previous message is invalid.
    let mut fresh = PerMessageInflater::new(true, 15).unwrap();
    assert_eq!(fresh.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    assert!(matches!(
        fresh.decompress_message(&RFC_HELLO_AGAIN_SHARED_WINDOW),
        Err(DecodeError::Corrupt { .. })
    ));
    // ... and that error does not poison the next message.
    assert!(!fresh.is_poisoned());
    assert_eq!(fresh.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
}

#[test]
fn corrupt_message_poisons_a_context_takeover_stream_until_reset() {
    let mut pmd = PerMessageInflater::new(false, 15).unwrap();
    assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    assert!(pmd.decompress_message(&[0xff, 0xff, 0xff]).is_err());
    assert!(pmd.is_poisoned());
    assert_eq!(pmd.decompress_message(&RFC_HELLO), Err(DecodeError::StreamPoisoned));
    pmd.reset();
    assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    // The reset really dropped the window: the shared-window message now fails.
    assert!(PerMessageInflater::new(false, 15)
        .unwrap()
        .decompress_message(&RFC_HELLO_AGAIN_SHARED_WINDOW)
        .is_err());
}

#[test]
fn invalid_window_bits_are_an_error_not_a_panic() {
    for bits in [0u8, 7, 16, 255] {
        assert!(matches!(PerMessageInflater::new(false, bits), Err(DecodeError::InvalidConfig(_))));
    }
}

/// Compresses messages as a permessage-deflate sender does: sync flush, strip the 00 00 ff ff tail.
fn pmd_sender(messages: &[Vec<u8>], window_bits: u8, takeover: bool) -> Vec<Vec<u8>> {
    let mut c = Compress::new_with_window_bits(Compression::default(), false, window_bits.max(9));
    messages
        .iter()
        .map(|m| {
            if !takeover {
                c.reset();
            }
            let mut out = Vec::with_capacity(m.len() + 64);
            let start_in = c.total_in();
            loop {
                out.reserve(256);
                let done = (c.total_in() - start_in) as usize;
                c.compress_vec(&m[done..], &mut out, FlushCompress::Sync).unwrap();
                if (c.total_in() - start_in) as usize == m.len() && out.ends_with(&[0x00, 0x00, 0xff, 0xff]) {
                    break;
                }
            }
            out.truncate(out.len() - 4);
            out
        })
        .collect()
}

#[test]
fn htx_json_through_permessage_deflate_every_window_size() {
    let Some(frames) = htx_frames() else { return };
    let mut inf = Inflater::new(Format::Gzip);
    let messages: Vec<Vec<u8>> =
        frames.iter().take(30).map(|f| inf.decompress(f).unwrap().to_vec()).collect();
    // 8 is legal to negotiate; zlib's deflate turns it into 9 and so does our inflater.
    for bits in 8..=15u8 {
        for takeover in [true, false] {
            let payloads = pmd_sender(&messages, bits, takeover);
            let mut pmd = PerMessageInflater::new(!takeover, bits).unwrap();
            for (p, m) in payloads.iter().zip(&messages) {
                assert_eq!(pmd.decompress_message(p).unwrap(), m.as_slice());
            }
        }
    }
    // Context takeover really shrinks the repeats of a market-data stream.
    let shared: usize = pmd_sender(&messages, 15, true).iter().map(Vec::len).sum();
    let alone: usize = pmd_sender(&messages, 15, false).iter().map(Vec::len).sum();
    assert!(shared < alone);
}

#[test]
fn permessage_bomb_is_refused() {
    let big = vec![b'a'; 4 << 20];
    let payload = pmd_sender(&[big], 15, false).remove(0);
    let mut pmd = PerMessageInflater::with_max_output(true, 15, 1 << 20).unwrap();
    assert_eq!(pmd.decompress_message(&payload), Err(DecodeError::OutputTooLarge { limit: 1 << 20 }));
    assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        for (format, frame) in [(Format::Gzip, gzip(&data)), (Format::Zlib, zlib(&data)), (Format::Raw, raw(&data))] {
            let mut inf = Inflater::new(format);
            prop_assert_eq!(inf.decompress(&frame).unwrap(), data.as_slice());
        }
    }

    /// Fuzz: mutated real HTX frames either fail with a typed error or decode to what an independent
    /// inflater (miniz_oxide) makes of the same bytes; and the decoder keeps working afterwards.
    #[test]
    fn mutated_htx_frames_never_panic(
        idx in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let Some(frames) = htx_frames() else { return Ok(()) };
        let good = idx.get(frames);
        let mut f = good.clone();
        for (at, x) in &flips {
            let i = at.index(f.len());
            f[i] ^= x | 1;
        }
        if truncate {
            f.truncate(cut.index(f.len()));
        }
        let expect = reference_gunzip(good);
        let mut inf = Inflater::new(Format::Gzip);
        if let Ok(out) = inf.decompress(&f) {
            // Accepted: the flips hit only bytes gzip does not check (MTIME, XFL, OS); the output
            // must be the original JSON since the CRC-32 and length matched.
            prop_assert_eq!(out, expect.as_slice());
        }
        prop_assert_eq!(inf.decompress(good).unwrap(), expect.as_slice());
    }

    /// Fuzz the permessage-deflate path with mutated payloads of real HTX JSON: with context takeover an
    /// error poisons the stream; without it the next message still decodes to the right JSON.
    #[test]
    fn mutated_permessage_payloads_never_panic(
        start in 0usize..50,
        victim in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        takeover in any::<bool>(),
    ) {
        let Some(frames) = htx_frames() else { return Ok(()) };
        let mut inf = Inflater::new(Format::Gzip);
        let messages: Vec<Vec<u8>> =
            frames[start..start + 5].iter().map(|f| inf.decompress(f).unwrap().to_vec()).collect();
        let mut payloads = pmd_sender(&messages, 15, takeover);
        for (at, x) in &flips {
            let p = &mut payloads[victim];
            let i = at.index(p.len());
            p[i] ^= x | 1;
        }
        let mut pmd = PerMessageInflater::new(!takeover, 15).unwrap();
        for (i, (p, m)) in payloads.iter().zip(&messages).enumerate() {
            match pmd.decompress_message(p) {
                Ok(out) if i != victim && !(takeover && i > victim) => prop_assert_eq!(out, m.as_slice()),
                Ok(_) => {}
                Err(DecodeError::StreamPoisoned) => prop_assert!(takeover && i > victim),
                Err(_) => {
                    prop_assert!(i == victim || takeover);
                    prop_assert_eq!(pmd.is_poisoned(), takeover);
                }
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for format in [Format::Gzip, Format::Zlib, Format::Raw] {
            let _ = Inflater::with_max_output(format, 1 << 16).decompress(&data);
        }
        let mut pmd = PerMessageInflater::with_max_output(false, 15, 1 << 16).unwrap();
        if pmd.decompress_message(&data).is_err() {
            prop_assert!(pmd.is_poisoned());
        }
        let mut pmd = PerMessageInflater::with_max_output(true, 15, 1 << 16).unwrap();
        let _ = pmd.decompress_message(&data);
        prop_assert_eq!(pmd.decompress_message(&RFC_HELLO).unwrap(), b"Hello");
    }
}
