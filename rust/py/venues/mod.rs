//! Python bindings of the venue signers (one pyclass per venue, `subclass` so that
//! `tickwire.venues.<venue>.Signer` can add header builders while the signature methods stay direct
//! Rust calls). One file per venue, mirroring `crate::sign::venues`.

use pyo3::prelude::*;

pub(crate) mod binance;
pub(crate) mod bybit;
pub(crate) mod clarofinlore;
mod cloud9trader;
pub(crate) mod coinbase;
pub(crate) mod htx;
mod kraken;
pub(crate) mod okx;

fn decimal(v: u64) -> String {
    v.to_string()
}

fn pairs_ref(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<binance::BinanceSigner>()?;
    m.add_class::<okx::OkxSigner>()?;
    m.add_class::<bybit::BybitSigner>()?;
    m.add_class::<kraken::KrakenSigner>()?;
    m.add_class::<htx::HtxSigner>()?;
    m.add_class::<coinbase::CoinbaseSigner>()?;
    m.add_class::<cloud9trader::Cloud9TraderSigner>()?;
    m.add_class::<clarofinlore::ClarofinloreSigner>()?;
    Ok(())
}
