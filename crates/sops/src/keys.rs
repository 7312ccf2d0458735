//! Decryption keys taken from a Flux decryption Secret.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use pgp::composed::{Deserializable, SignedSecretKey};
use pgp::types::KeyDetails;

use crate::SopsError;

/// The age identities and OpenPGP private keys of a decryption Secret.
///
/// `Debug` shows only public information (age recipients, OpenPGP
/// fingerprints), never key material.
#[derive(Default)]
pub struct Keys {
    pub(crate) age: Vec<age::x25519::Identity>,
    pub(crate) pgp: Vec<SignedSecretKey>,
}

impl Keys {
    /// Builds the key set from a Secret's `data` the way Flux's
    /// kustomize-controller reads it: entries named `*.agekey` hold age
    /// X25519 identities (one per line, `#` comments and blank lines
    /// allowed), entries named `*.asc` hold armored OpenPGP private keys
    /// without a passphrase. Other entries (cloud KMS credentials, Vault
    /// tokens) are ignored.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Keys, SopsError> {
        let mut keys = Keys::default();
        for (name, bytes) in data {
            if name.ends_with(".agekey") {
                keys.add_age(name, bytes)?;
            } else if name.ends_with(".asc") {
                keys.add_pgp(name, bytes)?;
            }
        }
        Ok(keys)
    }

    /// True when no age identity and no OpenPGP key was found.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty()
    }

    /// The age recipients (public keys) of the identities held.
    pub fn age_recipients(&self) -> Vec<String> {
        self.age.iter().map(|i| i.to_public().to_string()).collect()
    }

    /// The upper-case hex fingerprints of the OpenPGP primary keys held.
    pub fn pgp_fingerprints(&self) -> Vec<String> {
        self.pgp
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }

    fn add_age(&mut self, name: &str, bytes: &[u8]) -> Result<(), SopsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SopsError::KeyParse {
            entry: name.to_string(),
            reason: "not valid UTF-8".to_string(),
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The parse error is dropped on purpose: the line is secret.
            let id = age::x25519::Identity::from_str(line).map_err(|_| SopsError::KeyParse {
                entry: name.to_string(),
                reason: format!("line {} is not an age X25519 identity", n + 1),
            })?;
            self.age.push(id);
        }
        Ok(())
    }

    fn add_pgp(&mut self, name: &str, bytes: &[u8]) -> Result<(), SopsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SopsError::KeyParse {
            entry: name.to_string(),
            reason: "not valid UTF-8".to_string(),
        })?;
        // Parser errors are not passed on: they could quote packet bytes.
        let invalid = || SopsError::KeyParse {
            entry: name.to_string(),
            reason: "not an armored OpenPGP private key".to_string(),
        };
        let (iter, _headers) = SignedSecretKey::from_string_many(text).map_err(|_| invalid())?;
        let mut found = 0;
        for key in iter {
            self.pgp.push(key.map_err(|_| invalid())?);
            found += 1;
        }
        if found == 0 {
            return Err(invalid());
        }
        Ok(())
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("age_recipients", &self.age_recipients())
            .field("pgp_fingerprints", &self.pgp_fingerprints())
            .finish()
    }
}
