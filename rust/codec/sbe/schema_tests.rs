//! Holds the decoder's layout against `shared/specs/binance-sbe/stream_1_0.xml`, read at test time.
//!
//! The layout is derived here from the XML alone (SBE rules: fields packed in order with no explicit
//! offsets, `presence="constant"` takes no bytes, group dimension defaults to groupSizeEncoding, data
//! fields follow the groups), then (1) compared with `layout::MESSAGES`, and (2) used by a small
//! schema-driven writer to build frames that the decoder must read back, so the decoder is checked
//! against the schema and not only against our own encoder.

use std::collections::HashMap;

use super::encode::{encode_to_vec, EncodeOptions, OwnedMessage};
use super::layout::{self, FieldAt, GroupLayout, MessageLayout};
use super::*;

struct Schema {
    id: u16,
    version: u16,
    byte_order: String,
    /// type name -> (size in bytes, primitive type); composites map to their total size.
    types: HashMap<String, (usize, String)>,
    composites: HashMap<String, Vec<(String, usize, usize)>>,
    messages: Vec<XmlMessage>,
}

#[derive(Debug)]
struct XmlField {
    name: String,
    offset: usize,
    size: usize,
    primitive: String,
}

#[derive(Debug)]
struct XmlGroup {
    name: String,
    dimension_type: String,
    entry_len: usize,
    fields: Vec<XmlField>,
}

#[derive(Debug)]
struct XmlMessage {
    name: String,
    id: u16,
    block_len: usize,
    fields: Vec<XmlField>,
    groups: Vec<XmlGroup>,
    data: Vec<(String, String)>,
}

fn primitive_size(p: &str) -> usize {
    match p {
        "char" | "int8" | "uint8" => 1,
        "int16" | "uint16" => 2,
        "int32" | "uint32" | "float" => 4,
        "int64" | "uint64" | "double" => 8,
        other => panic!("unknown primitive {other}"),
    }
}

fn load_schema() -> Option<Schema> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/binance-sbe/stream_1_0.xml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: {} absent (shared specs not beside the repo)", path.display());
        return None;
    };
    let doc = roxmltree::Document::parse(&text).expect("schema XML parses");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "messageSchema");
    let mut types = HashMap::new();
    let mut composites = HashMap::new();
    let type_nodes = root.children().find(|n| n.has_tag_name("types")).expect("<types>");
    for t in type_nodes.children().filter(|n| n.is_element()) {
        let name = t.attribute("name").unwrap().to_owned();
        match t.tag_name().name() {
            "type" => {
                let p = t.attribute("primitiveType").unwrap();
                let n: usize = t.attribute("length").map_or(1, |l| l.parse().unwrap());
                types.insert(name, (primitive_size(p) * n, p.to_owned()));
            }
            "enum" => {
                let p = t.attribute("encodingType").unwrap();
                types.insert(name, (primitive_size(p), p.to_owned()));
            }
            "composite" => {
                let mut off = 0;
                let mut parts = Vec::new();
                for c in t.children().filter(|n| n.is_element()) {
                    let p = c.attribute("primitiveType").unwrap();
                    let n: usize = c.attribute("length").map_or(1, |l| l.parse().unwrap());
                    let size = primitive_size(p) * n;
                    parts.push((c.attribute("name").unwrap().to_owned(), off, size));
                    off += size;
                }
                types.insert(name.clone(), (off, "composite".to_owned()));
                composites.insert(name, parts);
            }
            other => panic!("unexpected type element {other}"),
        }
    }
    let field = |n: roxmltree::Node, off: &mut usize| {
        let ty = n.attribute("type").unwrap();
        let (size, prim) = types[ty].clone();
        let size = if n.attribute("presence") == Some("constant") { 0 } else { size };
        let f =
            XmlField { name: n.attribute("name").unwrap().to_owned(), offset: *off, size, primitive: prim };
        *off += size;
        f
    };
    let mut messages = Vec::new();
    for m in root.children().filter(|n| n.has_tag_name("message")) {
        let mut msg = XmlMessage {
            name: m.attribute("name").unwrap().to_owned(),
            id: m.attribute("id").unwrap().parse().unwrap(),
            block_len: 0,
            fields: vec![],
            groups: vec![],
            data: vec![],
        };
        let mut off = 0;
        for c in m.children().filter(|n| n.is_element()) {
            match c.tag_name().name() {
                "field" => {
                    assert!(msg.groups.is_empty() && msg.data.is_empty(), "root field after a group");
                    msg.fields.push(field(c, &mut off));
                }
                "group" => {
                    assert!(msg.data.is_empty(), "group after data");
                    let mut goff = 0;
                    let fields: Vec<_> = c
                        .children()
                        .filter(|n| n.has_tag_name("field"))
                        .map(|f| field(f, &mut goff))
                        .collect();
                    msg.groups.push(XmlGroup {
                        name: c.attribute("name").unwrap().to_owned(),
                        dimension_type: c
                            .attribute("dimensionType")
                            .unwrap_or("groupSizeEncoding")
                            .to_owned(),
                        entry_len: goff,
                        fields,
                    });
                }
                "data" => msg
                    .data
                    .push((c.attribute("name").unwrap().to_owned(), c.attribute("type").unwrap().to_owned())),
                other => panic!("unexpected message element {other}"),
            }
        }
        msg.block_len = off;
        messages.push(msg);
    }
    Some(Schema {
        id: root.attribute("id").unwrap().parse().unwrap(),
        version: root.attribute("version").unwrap().parse().unwrap(),
        byte_order: root.attribute("byteOrder").unwrap().to_owned(),
        types,
        composites,
        messages,
    })
}

type Fields = Vec<(String, usize, usize)>;
/// name, template id, root blockLength, root fields, groups (name, dimension, header, entry, fields), data.
type Norm = (String, u16, usize, Fields, Vec<(String, String, usize, usize, Fields)>, Vec<String>);

fn norm_fields_ours(f: &[FieldAt]) -> Fields {
    f.iter().map(|f| (f.name.to_owned(), f.offset, f.size)).collect()
}

fn norm_fields_xml(f: &[XmlField]) -> Fields {
    f.iter().map(|f| (f.name.clone(), f.offset, f.size)).collect()
}

fn norm_ours(m: &MessageLayout) -> Norm {
    let groups = m
        .groups
        .iter()
        .map(|g: &GroupLayout| {
            (
                g.name.to_owned(),
                g.dimension_type.to_owned(),
                g.header_len,
                g.entry_len,
                norm_fields_ours(g.fields),
            )
        })
        .collect();
    let data = m.data.iter().map(|d| (*d).to_owned()).collect();
    (m.name.to_owned(), m.template_id, m.block_len, norm_fields_ours(m.fields), groups, data)
}

fn norm_xml(s: &Schema, m: &XmlMessage) -> Norm {
    let groups = m
        .groups
        .iter()
        .map(|g| {
            let header = s.types[&g.dimension_type].0;
            (g.name.clone(), g.dimension_type.clone(), header, g.entry_len, norm_fields_xml(&g.fields))
        })
        .collect();
    let data = m.data.iter().map(|(n, _)| n.clone()).collect();
    (m.name.clone(), m.id, m.block_len, norm_fields_xml(&m.fields), groups, data)
}

#[test]
fn decoder_layout_matches_the_published_schema() {
    let Some(s) = load_schema() else { return };
    assert_eq!(
        (s.id, s.version, s.byte_order.as_str()),
        (layout::SCHEMA_ID, layout::SCHEMA_VERSION, "littleEndian")
    );
    let comp = |name: &str| -> Vec<(&str, usize, usize)> {
        s.composites[name].iter().map(|(n, o, z)| (n.as_str(), *o, *z)).collect()
    };
    assert_eq!(
        comp("messageHeader"),
        [
            ("blockLength", layout::header::BLOCK_LENGTH, 2),
            ("templateId", layout::header::TEMPLATE_ID, 2),
            ("schemaId", layout::header::SCHEMA_ID, 2),
            ("version", layout::header::VERSION, 2)
        ]
    );
    assert_eq!(s.types["messageHeader"].0, layout::header::LEN);
    assert_eq!(
        comp("groupSizeEncoding"),
        [("blockLength", layout::group32::BLOCK_LENGTH, 2), ("numInGroup", layout::group32::NUM_IN_GROUP, 4)]
    );
    assert_eq!(s.types["groupSizeEncoding"].0, layout::group32::LEN);
    assert_eq!(
        comp("groupSize16Encoding"),
        [("blockLength", layout::group16::BLOCK_LENGTH, 2), ("numInGroup", layout::group16::NUM_IN_GROUP, 2)]
    );
    assert_eq!(s.types["groupSize16Encoding"].0, layout::group16::LEN);
    assert_eq!(comp("varString8")[0], ("length", 0, layout::VAR_STRING8_LENGTH_LEN));

    assert_eq!(s.messages.len(), layout::MESSAGES.len());
    for (x, ours) in s.messages.iter().zip(layout::MESSAGES) {
        assert_eq!(norm_xml(&s, x), norm_ours(ours), "layout of {}", x.name);
        assert!(x.data.iter().all(|(_, t)| t == "varString8"));
    }
}

/// Values for a schema-driven frame: by field name; the exponent8 fields and boolEnum get small values.
fn value_for(name: &str, primitive: &str, seed: i64) -> i64 {
    match primitive {
        "int8" if name.ends_with("Exponent") => -((seed % 18) + 1),
        "uint8" => seed & 1,
        _ => seed.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) ^ name.len() as i64,
    }
}

fn put(out: &mut [u8], off: usize, size: usize, primitive: &str, v: i64) {
    let bytes = v.to_le_bytes();
    assert!(primitive.starts_with("int") || primitive.starts_with("uint"));
    out[off..off + size].copy_from_slice(&bytes[..size]);
}

type Values = HashMap<String, i64>;

/// A second SBE writer that knows only the parsed XML. Returns the frame and the values it wrote.
fn write_from_schema(
    s: &Schema,
    m: &XmlMessage,
    counts: &[usize],
    seed: i64,
    symbol: &str,
) -> (Vec<u8>, Values, Vec<Vec<Values>>) {
    let hdr = &s.composites["messageHeader"];
    let mut out = vec![0u8; s.types["messageHeader"].0];
    for (name, off, size) in hdr {
        let v = match name.as_str() {
            "blockLength" => m.block_len as i64,
            "templateId" => m.id as i64,
            "schemaId" => s.id as i64,
            "version" => s.version as i64,
            _ => unreachable!(),
        };
        put(&mut out, *off, *size, "uint16", v);
    }
    let mut root = HashMap::new();
    let base = out.len();
    out.resize(base + m.block_len, 0);
    for (i, f) in m.fields.iter().enumerate() {
        let v = value_for(&f.name, &f.primitive, seed + i as i64);
        put(&mut out, base + f.offset, f.size, &f.primitive, v);
        root.insert(f.name.clone(), v);
    }
    let mut groups = Vec::new();
    for (g, &count) in m.groups.iter().zip(counts) {
        let dim = &s.composites[&g.dimension_type];
        let at = out.len();
        out.resize(at + s.types[&g.dimension_type].0, 0);
        put(&mut out, at + dim[0].1, dim[0].2, "uint16", g.entry_len as i64);
        put(&mut out, at + dim[1].1, dim[1].2, "uint32", count as i64);
        let mut entries = Vec::new();
        for e in 0..count {
            let at = out.len();
            out.resize(at + g.entry_len, 0);
            let mut vals = HashMap::new();
            for (i, f) in g.fields.iter().enumerate().filter(|(_, f)| f.size > 0) {
                let v = value_for(&f.name, &f.primitive, seed * 31 + (e * 7 + i) as i64);
                put(&mut out, at + f.offset, f.size, &f.primitive, v);
                vals.insert(f.name.clone(), v);
            }
            entries.push(vals);
        }
        groups.push(entries);
    }
    out.push(symbol.len() as u8);
    out.extend_from_slice(symbol.as_bytes());
    (out, root, groups)
}

#[test]
fn decoder_reads_frames_written_from_the_schema_alone() {
    let Some(s) = load_schema() else { return };
    let mut checked = 0;
    for m in &s.messages {
        for (seed, counts) in [(1i64, [0usize, 0]), (2, [1, 3]), (3, [40, 40]), (4, [5, 0])] {
            let (frame, root, groups) = write_from_schema(&s, m, &counts, seed, "BTCUSDT");
            let decoded = decode(&frame).unwrap_or_else(|e| panic!("{}: {e}", m.name));
            assert_eq!(decoded.symbol(), "BTCUSDT");
            assert_eq!(decoded.event_time_us(), root["eventTime"]);
            let lv = |g: &[HashMap<String, i64>]| -> Vec<(i64, i64)> {
                g.iter().map(|e| (e["price"], e["qty"])).collect()
            };
            match decoded {
                Message::Trades(t) => {
                    assert_eq!(m.name, "TradesStreamEvent");
                    assert_eq!(t.transact_time_us, root["transactTime"]);
                    assert_eq!(t.price_exponent as i64, root["priceExponent"]);
                    assert_eq!(t.qty_exponent as i64, root["qtyExponent"]);
                    let want: Vec<Trade> = groups[0]
                        .iter()
                        .map(|e| Trade {
                            id: e["id"],
                            price: e["price"],
                            qty: e["qty"],
                            is_buyer_maker: e["isBuyerMaker"] == 1,
                        })
                        .collect();
                    assert_eq!(t.trades.iter().collect::<Vec<_>>(), want);
                }
                Message::BestBidAsk(b) => {
                    assert_eq!(m.name, "BestBidAskStreamEvent");
                    assert_eq!(
                        (b.book_update_id, b.price_exponent as i64, b.qty_exponent as i64),
                        (root["bookUpdateId"], root["priceExponent"], root["qtyExponent"])
                    );
                    assert_eq!(
                        (b.bid_price, b.bid_qty, b.ask_price, b.ask_qty),
                        (root["bidPrice"], root["bidQty"], root["askPrice"], root["askQty"])
                    );
                }
                Message::DepthSnapshot(d) => {
                    assert_eq!(m.name, "DepthSnapshotStreamEvent");
                    assert_eq!(d.book_update_id, root["bookUpdateId"]);
                    assert_eq!(
                        (d.price_exponent as i64, d.qty_exponent as i64),
                        (root["priceExponent"], root["qtyExponent"])
                    );
                    assert_eq!(d.bids.iter().collect::<Vec<_>>(), lv(&groups[0]));
                    assert_eq!(d.asks.iter().collect::<Vec<_>>(), lv(&groups[1]));
                }
                Message::DepthDiff(d) => {
                    assert_eq!(m.name, "DepthDiffStreamEvent");
                    assert_eq!(
                        (d.first_update_id, d.last_update_id),
                        (root["firstBookUpdateId"], root["lastBookUpdateId"])
                    );
                    assert_eq!(
                        (d.price_exponent as i64, d.qty_exponent as i64),
                        (root["priceExponent"], root["qtyExponent"])
                    );
                    assert_eq!(d.bids.iter().collect::<Vec<_>>(), lv(&groups[0]));
                    assert_eq!(d.asks.iter().collect::<Vec<_>>(), lv(&groups[1]));
                }
            }
            // Our encoder, fed what the decoder read, must reproduce the schema writer's bytes.
            let again = encode_to_vec(&OwnedMessage::from(decoded), &EncodeOptions::default()).unwrap();
            assert_eq!(again, frame, "{}", m.name);
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}
