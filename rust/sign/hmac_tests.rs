//! `HmacKey` against the `hmac` crate (random keys, messages and digests), RFC 4231's published
//! vectors, and its key states wiped on zeroize and drop.

use super::*;
use ::hmac::{Hmac, Mac as _};
use proptest::prelude::*;

fn reference(d: Digest, key: &[u8], msg: &[u8]) -> Vec<u8> {
    match d {
        Digest::Sha256 => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Digest::Sha384 => {
            let mut m = Hmac::<sha2::Sha384>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Digest::Sha512 => {
            let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn rfc4231_test_case_2() {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    let msg = b"what do ya want for nothing?";
    let k = |d| HmacKey::new(b"Jefe", d).unwrap().mac(msg);
    assert_eq!(
        k(Digest::Sha256).hex().as_str(),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(k(Digest::Sha384).as_bytes()),
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
         8e2240ca5e69e2c78b3239ecfab21649"
    );
    assert_eq!(
        hex(k(Digest::Sha512).as_bytes()),
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
         9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    );
}

#[test]
fn rfc4231_test_case_6_long_key() {
    // RFC 4231 §4.7: 131-byte key of 0xaa, hashed before use.
    let key = [0xaau8; 131];
    let msg = b"Test Using Larger Than Block-Size Key - Hash Key First";
    assert_eq!(
        HmacKey::new(&key, Digest::Sha256).unwrap().mac(msg).hex().as_str(),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

fn has_key_material(state: &KeyState) -> bool {
    match state {
        KeyState::K256(s) => s.inner.0.iter().chain(s.outer.0.iter()).any(|&w| w != 0),
        KeyState::K512(s) => s.inner.0.iter().chain(s.outer.0.iter()).any(|&w| w != 0),
    }
}

#[test]
fn zeroize_wipes_the_precomputed_states() {
    for d in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
        let mut k = HmacKey::new(b"a secret", d).unwrap();
        assert!(has_key_material(&k.state));
        k.zeroize();
        assert!(!has_key_material(&k.state), "{d:?} state survived zeroize()");
    }
}

#[test]
fn drop_wipes_the_precomputed_states() {
    for d in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
        let mut slot = std::mem::MaybeUninit::new(HmacKey::new(b"a secret", d).unwrap());
        // SAFETY: `slot` is initialised above and MaybeUninit never frees its storage, so after the
        // in-place drop the state's bytes are still there to read; they are plain integer words
        // (and an untouched discriminant), valid whatever Drop wrote into them.
        let survived = unsafe {
            let state = std::ptr::addr_of!((*slot.as_ptr()).state);
            assert!(has_key_material(&*state));
            slot.assume_init_drop();
            has_key_material(&*state)
        };
        assert!(!survived, "{d:?} state survived drop");
    }
}

#[test]
fn empty_secret_and_unknown_digest_are_refused() {
    assert!(matches!(HmacKey::new(b"", Digest::Sha256), Err(SignError::EmptySecret)));
    assert!(Digest::from_name("md5").is_err());
    assert_eq!(Digest::from_name("SHA-384").unwrap(), Digest::Sha384);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn equals_the_hmac_crate(
        key in proptest::collection::vec(any::<u8>(), 1..300),
        msg in proptest::collection::vec(any::<u8>(), 0..700),
        split in any::<prop::sample::Index>(),
    ) {
        for d in [Digest::Sha256, Digest::Sha384, Digest::Sha512] {
            let k = HmacKey::new(&key, d).unwrap();
            let want = reference(d, &key, &msg);
            let whole = k.mac(&msg);
            prop_assert_eq!(whole.as_bytes(), &want[..]);
            // Fed in two parts at an arbitrary split: exercises the partial-block buffer.
            let at = split.index(msg.len() + 1);
            let parts = k.mac_parts(&[&msg[..at], &msg[at..]]);
            prop_assert_eq!(parts.as_bytes(), &want[..]);
            // A cloned key signs identically.
            let cloned = k.clone().mac(&msg);
            prop_assert_eq!(cloned.as_bytes(), &want[..]);
        }
    }
}
