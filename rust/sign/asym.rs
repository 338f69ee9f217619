//! Asymmetric signing keys: Ed25519, RSA (PKCS#1 v1.5 / SHA-256) and ECDSA P-256 (SHA-256, raw r||s).
//!
//! Keys are read from PEM once; each type refuses the others' PEMs with a message naming both types,
//! because "pasted the wrong key" is the common mistake. The key objects zeroize their secret scalars
//! on drop (ed25519-dalek, rsa and p256 all implement ZeroizeOnDrop for their secret keys).

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use pkcs8::der::SecretDocument;
use pkcs8::{LineEnding, ObjectIdentifier, PrivateKeyInfo};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use zeroize::Zeroizing;

use super::SignError;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// What a private-key PEM holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    Rsa,
    EcP256,
    Other(String),
}

impl KeyKind {
    pub fn name(&self) -> String {
        match self {
            Self::Ed25519 => "an Ed25519 key".into(),
            Self::Rsa => "an RSA key".into(),
            Self::EcP256 => "an EC P-256 key".into(),
            Self::Other(s) => s.clone(),
        }
    }
}

fn bad_pem(e: impl std::fmt::Display) -> SignError {
    SignError::BadPem(e.to_string())
}

/// Identifies the key in a private-key PEM (PKCS#8, or PKCS#1 `RSA PRIVATE KEY`, or SEC1
/// `EC PRIVATE KEY`) without constructing it.
pub fn detect(pem: &str) -> Result<KeyKind, SignError> {
    let (label, doc) = SecretDocument::from_pem(pem.trim()).map_err(|e| {
        if pem.contains("-----BEGIN") {
            bad_pem(e)
        } else {
            SignError::BadPem("no '-----BEGIN ... PRIVATE KEY-----' block found".into())
        }
    })?;
    match label {
        "PRIVATE KEY" => {
            let info = PrivateKeyInfo::try_from(doc.as_bytes()).map_err(bad_pem)?;
            let oid = info.algorithm.oid;
            if oid == OID_ED25519 {
                Ok(KeyKind::Ed25519)
            } else if oid == OID_RSA {
                Ok(KeyKind::Rsa)
            } else if oid == OID_EC {
                let curve = info.algorithm.parameters_oid().ok();
                if curve == Some(OID_P256) {
                    Ok(KeyKind::EcP256)
                } else {
                    Ok(KeyKind::Other("an EC key on a curve other than P-256".into()))
                }
            } else {
                Ok(KeyKind::Other(format!("a key of algorithm {oid}")))
            }
        }
        "RSA PRIVATE KEY" => Ok(KeyKind::Rsa),
        "EC PRIVATE KEY" => Ok(KeyKind::EcP256),
        "ENCRYPTED PRIVATE KEY" => {
            Err(SignError::BadPem("encrypted private keys are not supported; decrypt it first".into()))
        }
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            Err(SignError::BadPem("this is a public key; signing needs the private key".into()))
        }
        other => Err(SignError::BadPem(format!("unexpected PEM block '{other}'"))),
    }
}

fn expect_kind(pem: &str, want: KeyKind) -> Result<(), SignError> {
    let got = detect(pem)?;
    if got == want {
        Ok(())
    } else {
        Err(SignError::WrongKeyType { expected: leak_name(&want), found: got.name() })
    }
}

fn leak_name(k: &KeyKind) -> &'static str {
    match k {
        KeyKind::Ed25519 => "an Ed25519 key",
        KeyKind::Rsa => "an RSA key",
        KeyKind::EcP256 => "an EC P-256 key",
        KeyKind::Other(_) => "a supported key",
    }
}

/// An Ed25519 signing key (RFC 8032).
pub struct Ed25519Key(ed25519_dalek::SigningKey);

impl Ed25519Key {
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        expect_kind(pem, KeyKind::Ed25519)?;
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim()).map(Self).map_err(bad_pem)
    }

    pub fn from_seed(seed: &[u8]) -> Result<Self, SignError> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| SignError::BadSeedLength(seed.len()))?);
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// 64-byte signature.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn public_key_pem(&self) -> String {
        self.0.verifying_key().to_public_key_pem(LineEnding::LF).expect("encoding a valid public key")
    }
}

/// An RSA key signing with RSASSA-PKCS1-v1_5 over SHA-256 (Binance's RSA scheme).
pub struct RsaKey(rsa::pkcs1v15::SigningKey<sha2::Sha256>);

impl RsaKey {
    /// PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        expect_kind(pem, KeyKind::Rsa)?;
        let pem = pem.trim();
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            rsa::RsaPrivateKey::from_pkcs1_pem(pem).map_err(bad_pem)?
        } else {
            rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(bad_pem)?
        };
        key.validate().map_err(|e| SignError::BadKey(e.to_string()))?;
        Ok(Self(rsa::pkcs1v15::SigningKey::new(key)))
    }

    /// Signature of the modulus' length. Uses blinding with OS randomness: the output is still the
    /// deterministic PKCS#1 v1.5 signature, blinding only hides timing.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.0.sign_with_rng(&mut rand_core::OsRng, msg).to_vec()
    }

    pub fn public_key_pem(&self) -> String {
        let public = rsa::RsaPublicKey::from(self.0.as_ref());
        public.to_public_key_pem(LineEnding::LF).expect("encoding a valid public key")
    }
}

/// An ECDSA P-256 key signing with SHA-256 (ES256): deterministic nonces (RFC 6979), raw `r || s`.
pub struct EcdsaP256Key(p256::ecdsa::SigningKey);

impl EcdsaP256Key {
    /// SEC1 (`EC PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        expect_kind(pem, KeyKind::EcP256)?;
        let pem = pem.trim();
        let secret = if pem.contains("BEGIN EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(pem).map_err(|_| {
                SignError::BadPem("not a valid SEC1 P-256 private key (is it on another curve?)".into())
            })?
        } else {
            p256::SecretKey::from_pkcs8_pem(pem).map_err(bad_pem)?
        };
        Ok(Self(p256::ecdsa::SigningKey::from(secret)))
    }

    /// 64-byte `r || s` (the JWS ES256 form).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let sig: p256::ecdsa::Signature = self.0.sign(msg);
        sig.to_bytes().into()
    }

    pub fn public_key_pem(&self) -> String {
        self.0.verifying_key().to_public_key_pem(LineEnding::LF).expect("encoding a valid public key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn ed25519_rfc8032_test_1() {
        // RFC 8032 §7.1 TEST 1 (also ../shared/specs/venues.md §8).
        let k =
            Ed25519Key::from_seed(&unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
                .unwrap();
        assert_eq!(
            k.public_key_bytes().to_vec(),
            unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        assert_eq!(
            k.sign(b"").to_vec(),
            unhex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
    }

    #[test]
    fn ed25519_rfc8032_tests_2_and_3() {
        // RFC 8032 §7.1 TEST 2 (one-byte message) and TEST 3 (two bytes): (seed, public, msg, sig).
        let vectors = [
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (seed, public, msg, sig) in vectors {
            let k = Ed25519Key::from_seed(&unhex(seed)).unwrap();
            assert_eq!(k.public_key_bytes().to_vec(), unhex(public));
            assert_eq!(k.sign(&unhex(msg)).to_vec(), unhex(sig));
        }
    }

    #[test]
    fn ecdsa_p256_rfc6979_vectors() {
        // RFC 6979 §A.2.5 (P-256, SHA-256): deterministic k, so the published r || s must come out.
        let x = unhex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
        let k = EcdsaP256Key(p256::ecdsa::SigningKey::from(p256::SecretKey::from_slice(&x).unwrap()));
        let vectors: [(&[u8], &str); 2] = [
            (
                b"sample",
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716\
                 F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
            ),
            (
                b"test",
                "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367\
                 019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
            ),
        ];
        for (msg, rs) in vectors {
            assert_eq!(k.sign(msg).to_vec(), unhex(rs));
        }
    }

    #[test]
    fn wrong_key_type_names_both_types() {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let seed = [7u8; 32];
        let ed_pem = ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_pem(LineEnding::LF).unwrap();
        let e = EcdsaP256Key::from_pem(&ed_pem).err().unwrap().to_string();
        assert!(e.contains("expected an EC P-256 key, got an Ed25519 key"), "{e}");
        let e = RsaKey::from_pem(&ed_pem).err().unwrap().to_string();
        assert!(e.contains("expected an RSA key, got an Ed25519 key"), "{e}");
        assert!(!e.contains(ed_pem.lines().nth(1).unwrap()), "the key body leaked: {e}");
    }

    #[test]
    fn seed_length_is_checked() {
        assert!(matches!(Ed25519Key::from_seed(&[1u8; 31]), Err(SignError::BadSeedLength(31))));
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let e = Ed25519Key::from_pem("hello").err().unwrap().to_string();
        assert!(e.contains("no '-----BEGIN"), "{e}");
        let e = RsaKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("could not read the private key PEM"), "{e}");
    }
}
