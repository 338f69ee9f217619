//! OKX spot (`tdMode` `cash`) limit order as the `order` op on the logged-in private socket, byte for
//! byte what `tickwire.venues.okx.Orders.ws_request` sends for `Orders.new_order`:
//! `{"id":…,"op":"order","args":[{"instId","tdMode","side","ordType","sz","clOrdId","px"}]
//! [,"expTime":"<ms>"]}`. Not signed: the socket logged in once. `expTime` (the venue drops the
//! request if it reaches the engine later) takes the timestamp slot.

use super::binance::plain;
use super::{Layout, OrderError, Part, Slot};

#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub inst_id: &'a str,
    /// `buy` or `sell`.
    pub side: &'a str,
    /// `limit`, `post_only`, `ioc` or `fok`.
    pub ord_type: &'a str,
    /// Whether the request carries `expTime` (the timestamp slot).
    pub expires: bool,
}

fn field(l: &mut Vec<Part>, name: &str, first: bool) {
    if !first {
        Layout::lit(l, b",");
    }
    Layout::lit(l, b"\"");
    Layout::lit(l, name.as_bytes());
    Layout::lit(l, b"\":\"");
}

pub fn ws_order(s: &Spec<'_>) -> Result<Layout, OrderError> {
    plain("instId", s.inst_id)?;
    plain("side", s.side)?;
    plain("ordType", s.ord_type)?;
    let mut l = Layout::default();
    let o = &mut l.out;
    Layout::lit(o, b"{\"id\":\"");
    o.push(Part::Slot(Slot::RequestId));
    Layout::lit(o, b"\",\"op\":\"order\",\"args\":[{");
    for (i, (k, v)) in [("instId", s.inst_id), ("tdMode", "cash"), ("side", s.side), ("ordType", s.ord_type)]
        .iter()
        .enumerate()
    {
        field(o, k, i == 0);
        Layout::lit(o, v.as_bytes());
        Layout::lit(o, b"\"");
    }
    for (k, slot) in [("sz", Slot::Qty), ("clOrdId", Slot::ClientId), ("px", Slot::Price)] {
        field(o, k, false);
        o.push(Part::Slot(slot));
        Layout::lit(o, b"\"");
    }
    Layout::lit(o, b"}]");
    if s.expires {
        field(o, "expTime", false);
        o.push(Part::Slot(Slot::Timestamp));
        Layout::lit(o, b"\"");
    }
    Layout::lit(o, b"}");
    Ok(l)
}
