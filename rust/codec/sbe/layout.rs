//! Byte layout of Binance's SBE stream schema (`spot_stream`, id 1, version 0), little-endian.
//!
//! Every offset the decoder and encoder use comes from here, and [`MESSAGES`] restates them per
//! message so a test can hold them against `stream_1_0.xml` itself (see `schema_tests.rs`).

pub const SCHEMA_ID: u16 = 1;
pub const SCHEMA_VERSION: u16 = 0;

/// `messageHeader`: blockLength, templateId, schemaId, version (all u16).
pub mod header {
    pub const BLOCK_LENGTH: usize = 0;
    pub const TEMPLATE_ID: usize = 2;
    pub const SCHEMA_ID: usize = 4;
    pub const VERSION: usize = 6;
    pub const LEN: usize = 8;
}

/// `groupSizeEncoding`: blockLength u16, numInGroup u32 (schema maxValue 2^31 - 1).
pub mod group32 {
    pub const BLOCK_LENGTH: usize = 0;
    pub const NUM_IN_GROUP: usize = 2;
    pub const LEN: usize = 6;
    pub const MAX_COUNT: u32 = 2_147_483_647;
}

/// `groupSize16Encoding`: blockLength u16, numInGroup u16.
pub mod group16 {
    pub const BLOCK_LENGTH: usize = 0;
    pub const NUM_IN_GROUP: usize = 2;
    pub const LEN: usize = 4;
}

/// `varString8`: length u8, then that many UTF-8 bytes.
pub const VAR_STRING8_LENGTH_LEN: usize = 1;

pub mod trades {
    pub const TEMPLATE_ID: u16 = 10000;
    pub const EVENT_TIME: usize = 0;
    pub const TRANSACT_TIME: usize = 8;
    pub const PRICE_EXPONENT: usize = 16;
    pub const QTY_EXPONENT: usize = 17;
    pub const BLOCK_LENGTH: usize = 18;
    /// One entry of the `trades` group.
    pub mod entry {
        pub const ID: usize = 0;
        pub const PRICE: usize = 8;
        pub const QTY: usize = 16;
        pub const IS_BUYER_MAKER: usize = 24;
        /// `isBestMatch` is `presence="constant"`: it occupies no bytes.
        pub const IS_BEST_MATCH: usize = 25;
        pub const LEN: usize = 25;
    }
}

pub mod best_bid_ask {
    pub const TEMPLATE_ID: u16 = 10001;
    pub const EVENT_TIME: usize = 0;
    pub const BOOK_UPDATE_ID: usize = 8;
    pub const PRICE_EXPONENT: usize = 16;
    pub const QTY_EXPONENT: usize = 17;
    pub const BID_PRICE: usize = 18;
    pub const BID_QTY: usize = 26;
    pub const ASK_PRICE: usize = 34;
    pub const ASK_QTY: usize = 42;
    pub const BLOCK_LENGTH: usize = 50;
}

pub mod depth_snapshot {
    pub const TEMPLATE_ID: u16 = 10002;
    pub const EVENT_TIME: usize = 0;
    pub const BOOK_UPDATE_ID: usize = 8;
    pub const PRICE_EXPONENT: usize = 16;
    pub const QTY_EXPONENT: usize = 17;
    pub const BLOCK_LENGTH: usize = 18;
}

pub mod depth_diff {
    pub const TEMPLATE_ID: u16 = 10003;
    pub const EVENT_TIME: usize = 0;
    pub const FIRST_BOOK_UPDATE_ID: usize = 8;
    pub const LAST_BOOK_UPDATE_ID: usize = 16;
    pub const PRICE_EXPONENT: usize = 24;
    pub const QTY_EXPONENT: usize = 25;
    pub const BLOCK_LENGTH: usize = 26;
}

/// One entry of a `bids` / `asks` group (groupSize16Encoding).
pub mod level {
    pub const PRICE: usize = 0;
    pub const QTY: usize = 8;
    pub const LEN: usize = 16;
}

/// A fixed-size field: name as in the XML, byte offset in its block, size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldAt {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLayout {
    pub name: &'static str,
    /// The XML `dimensionType` composite and its size.
    pub dimension_type: &'static str,
    pub header_len: usize,
    pub entry_len: usize,
    pub fields: &'static [FieldAt],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLayout {
    pub name: &'static str,
    pub template_id: u16,
    pub block_len: usize,
    pub fields: &'static [FieldAt],
    pub groups: &'static [GroupLayout],
    /// Variable-length data fields after the groups, in order.
    pub data: &'static [&'static str],
}

const fn f(name: &'static str, offset: usize, size: usize) -> FieldAt {
    FieldAt { name, offset, size }
}

const LEVEL_FIELDS: &[FieldAt] = &[f("price", level::PRICE, 8), f("qty", level::QTY, 8)];

const fn levels(name: &'static str) -> GroupLayout {
    GroupLayout {
        name,
        dimension_type: "groupSize16Encoding",
        header_len: group16::LEN,
        entry_len: level::LEN,
        fields: LEVEL_FIELDS,
    }
}

/// The four stream messages as this decoder lays them out.
pub const MESSAGES: &[MessageLayout] = &[
    MessageLayout {
        name: "TradesStreamEvent",
        template_id: trades::TEMPLATE_ID,
        block_len: trades::BLOCK_LENGTH,
        fields: &[
            f("eventTime", trades::EVENT_TIME, 8),
            f("transactTime", trades::TRANSACT_TIME, 8),
            f("priceExponent", trades::PRICE_EXPONENT, 1),
            f("qtyExponent", trades::QTY_EXPONENT, 1),
        ],
        groups: &[GroupLayout {
            name: "trades",
            dimension_type: "groupSizeEncoding",
            header_len: group32::LEN,
            entry_len: trades::entry::LEN,
            fields: &[
                f("id", trades::entry::ID, 8),
                f("price", trades::entry::PRICE, 8),
                f("qty", trades::entry::QTY, 8),
                f("isBuyerMaker", trades::entry::IS_BUYER_MAKER, 1),
                f("isBestMatch", trades::entry::IS_BEST_MATCH, 0),
            ],
        }],
        data: &["symbol"],
    },
    MessageLayout {
        name: "BestBidAskStreamEvent",
        template_id: best_bid_ask::TEMPLATE_ID,
        block_len: best_bid_ask::BLOCK_LENGTH,
        fields: &[
            f("eventTime", best_bid_ask::EVENT_TIME, 8),
            f("bookUpdateId", best_bid_ask::BOOK_UPDATE_ID, 8),
            f("priceExponent", best_bid_ask::PRICE_EXPONENT, 1),
            f("qtyExponent", best_bid_ask::QTY_EXPONENT, 1),
            f("bidPrice", best_bid_ask::BID_PRICE, 8),
            f("bidQty", best_bid_ask::BID_QTY, 8),
            f("askPrice", best_bid_ask::ASK_PRICE, 8),
            f("askQty", best_bid_ask::ASK_QTY, 8),
        ],
        groups: &[],
        data: &["symbol"],
    },
    MessageLayout {
        name: "DepthSnapshotStreamEvent",
        template_id: depth_snapshot::TEMPLATE_ID,
        block_len: depth_snapshot::BLOCK_LENGTH,
        fields: &[
            f("eventTime", depth_snapshot::EVENT_TIME, 8),
            f("bookUpdateId", depth_snapshot::BOOK_UPDATE_ID, 8),
            f("priceExponent", depth_snapshot::PRICE_EXPONENT, 1),
            f("qtyExponent", depth_snapshot::QTY_EXPONENT, 1),
        ],
        groups: &[levels("bids"), levels("asks")],
        data: &["symbol"],
    },
    MessageLayout {
        name: "DepthDiffStreamEvent",
        template_id: depth_diff::TEMPLATE_ID,
        block_len: depth_diff::BLOCK_LENGTH,
        fields: &[
            f("eventTime", depth_diff::EVENT_TIME, 8),
            f("firstBookUpdateId", depth_diff::FIRST_BOOK_UPDATE_ID, 8),
            f("lastBookUpdateId", depth_diff::LAST_BOOK_UPDATE_ID, 8),
            f("priceExponent", depth_diff::PRICE_EXPONENT, 1),
            f("qtyExponent", depth_diff::QTY_EXPONENT, 1),
        ],
        groups: &[levels("bids"), levels("asks")],
        data: &["symbol"],
    },
];
