//! Decryption of SOPS-encrypted documents, as Flux's kustomize-controller
//! does before applying manifests or generating Secrets.
//!
//! Supports age (X25519) and OpenPGP master keys, the YAML, JSON, dotenv and
//! binary stores, the suffix/regex encryption rules, and MAC verification.
//! Decrypted values and key material never appear in errors or `Debug`
//! output.
//!
//! ```no_run
//! # fn main() -> Result<(), weir_sops::SopsError> {
//! use std::collections::BTreeMap;
//! let mut secret = BTreeMap::new();
//! secret.insert("identity.agekey".to_string(), b"AGE-SECRET-KEY-1...".to_vec());
//! let keys = weir_sops::Keys::from_secret_data(&secret)?;
//! let encrypted = std::fs::read("secret.yaml").unwrap_or_default();
//! let format = weir_sops::format_for_path("secret.yaml");
//! if weir_sops::is_encrypted(&encrypted, format) {
//!     let plain = weir_sops::decrypt(&encrypted, format, &keys)?;
//! #   let _ = plain;
//! }
//! # Ok(())
//! # }
//! ```

mod cipher;
mod keys;
mod metadata;
mod value;

use std::path::Path;

use sha2::{Digest, Sha512};

pub use keys::Keys;

use cipher::{Plain, ValueError};
use metadata::Metadata;
use value::Value;

/// Errors from key loading and decryption. No variant carries a plaintext
/// value or key material; `Decrypt` names only the key path.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// The document or its sops metadata could not be read.
    #[error("cannot parse sops document: {0}")]
    Parse(String),
    /// The document has no sops metadata (`sops.mac` and `sops.lastmodified`).
    #[error("document is not sops-encrypted (no sops metadata with mac and lastmodified)")]
    NotEncrypted,
    /// A decryption Secret entry holds an invalid key.
    #[error("invalid key in decryption secret entry {entry:?}: {reason}")]
    KeyParse { entry: String, reason: String },
    /// None of the given keys opens any of the document's master keys.
    #[error(
        "no decryption key matches the document's master keys (age recipients: [{}]; pgp fingerprints: [{}])",
        .age_recipients.join(", "),
        .pgp_fingerprints.join(", ")
    )]
    NoMatchingKey {
        age_recipients: Vec<String>,
        pgp_fingerprints: Vec<String>,
    },
    /// A master key matched but the data key could not be recovered.
    #[error("cannot decrypt the sops data key: {0}")]
    KeyDecrypt(String),
    /// The MAC over the decrypted values does not match the stored one: the
    /// document was changed after encryption (or the MAC itself was).
    #[error("sops MAC mismatch: the document was modified after encryption")]
    MacMismatch,
    /// A value could not be decrypted (tampered, truncated or wrong type).
    #[error("cannot decrypt the sops value at {path:?}")]
    Decrypt { path: String },
    /// A sops feature this implementation does not support.
    #[error("unsupported sops feature: {0}")]
    Unsupported(String),
}

/// The sops store a document is read and written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    /// Any other file: sops keeps it as one `data` string in a JSON (or
    /// YAML) envelope.
    Binary,
}

/// The format sops (and Flux) picks for a file from its extension:
/// `.yaml`/`.yml`, `.json`, `.env`, anything else binary.
pub fn format_for_path(path: impl AsRef<Path>) -> Format {
    match path.as_ref().extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Format::Yaml,
        Some("json") => Format::Json,
        Some("env") => Format::Dotenv,
        _ => Format::Binary,
    }
}

/// Whether `bytes` parse as `format` and carry sops metadata (a top-level
/// `sops` object with `mac` and `lastmodified`; for dotenv, `sops_mac` and
/// `sops_lastmodified` lines). Never fails: unparsable input is `false`.
pub fn is_encrypted(bytes: &[u8], format: Format) -> bool {
    match format {
        Format::Yaml => value::parse_yaml(bytes)
            .ok()
            .and_then(|docs| docs.into_iter().next())
            .is_some_and(|d| metadata::has_metadata(d.get("sops"))),
        Format::Json => {
            value::parse_json(bytes).is_ok_and(|d| metadata::has_metadata(d.get("sops")))
        }
        Format::Dotenv => value::parse_dotenv(bytes).is_ok_and(|entries| {
            let has = |k: &str| entries.iter().any(|(name, _)| name == k);
            has("sops_mac") && has("sops_lastmodified")
        }),
        Format::Binary => binary_envelope(bytes)
            .is_ok_and(|d| d.get("data").is_some() && metadata::has_metadata(d.get("sops"))),
    }
}

/// Decrypts a sops document and returns it without its metadata: YAML as
/// YAML (key order kept, comments dropped), JSON as JSON, dotenv as
/// `KEY=value` lines, binary as the raw decrypted bytes. The MAC is
/// verified before anything is returned.
pub fn decrypt(bytes: &[u8], format: Format, keys: &Keys) -> Result<Vec<u8>, SopsError> {
    match format {
        Format::Yaml => {
            let mut docs = value::parse_yaml(bytes)?;
            let first = docs.first().ok_or(SopsError::NotEncrypted)?;
            let md = Metadata::from_value(first.get("sops").ok_or(SopsError::NotEncrypted)?)?;
            for doc in &mut docs {
                strip_metadata(doc)?;
            }
            decrypt_branches(&mut docs, &md, keys)?;
            Ok(value::emit_yaml(&docs).into_bytes())
        }
        Format::Json => {
            let mut doc = value::parse_json(bytes)?;
            let md = Metadata::from_value(doc.get("sops").ok_or(SopsError::NotEncrypted)?)?;
            strip_metadata(&mut doc)?;
            decrypt_branches(std::slice::from_mut(&mut doc), &md, keys)?;
            value::emit_json(&doc)
        }
        Format::Dotenv => {
            let entries = value::parse_dotenv(bytes)?;
            let (meta, data): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|(k, _)| k.starts_with("sops_"));
            let meta: Vec<(String, String)> = meta
                .into_iter()
                .map(|(k, v)| (k["sops_".len()..].to_string(), v))
                .collect();
            let md = Metadata::from_value(&value::unflatten(&meta))?;
            let mut doc = Value::Map(data.into_iter().map(|(k, v)| (k, Value::Str(v))).collect());
            decrypt_branches(std::slice::from_mut(&mut doc), &md, keys)?;
            match doc {
                Value::Map(entries) => value::emit_dotenv(&entries),
                _ => Err(SopsError::Parse(
                    "dotenv document is not a mapping".to_string(),
                )),
            }
        }
        Format::Binary => {
            let mut doc = binary_envelope(bytes)?;
            let md = Metadata::from_value(doc.get("sops").ok_or(SopsError::NotEncrypted)?)?;
            strip_metadata(&mut doc)?;
            decrypt_branches(std::slice::from_mut(&mut doc), &md, keys)?;
            match doc.get("data") {
                Some(Value::Str(s)) => Ok(s.clone().into_bytes()),
                Some(_) => Err(SopsError::Parse(
                    "binary envelope's data is not a string".to_string(),
                )),
                None => Err(SopsError::Parse(
                    "binary envelope has no data key".to_string(),
                )),
            }
        }
    }
}

/// sops writes binary files as JSON unless told otherwise; a YAML envelope
/// (`--output-type yaml`) is accepted too.
fn binary_envelope(bytes: &[u8]) -> Result<Value, SopsError> {
    match value::parse_json(bytes) {
        Ok(v) => Ok(v),
        Err(json_err) => value::parse_yaml(bytes)
            .ok()
            .and_then(|docs| docs.into_iter().next())
            .filter(|d| matches!(d, Value::Map(_)))
            .ok_or(json_err),
    }
}

/// Removes the top-level `sops` entries; sops only accepts documents whose
/// root is a mapping (an empty document counts as an empty mapping).
fn strip_metadata(doc: &mut Value) -> Result<(), SopsError> {
    match doc {
        Value::Map(entries) => {
            entries.retain(|(k, _)| k != "sops");
            Ok(())
        }
        Value::Null => {
            *doc = Value::Map(Vec::new());
            Ok(())
        }
        Value::Seq(_) => Err(SopsError::Parse(
            "documents that are sequences are not supported by sops".to_string(),
        )),
        _ => Err(SopsError::Parse(
            "documents that are scalars are not supported by sops".to_string(),
        )),
    }
}

/// sops `MACOnlyEncryptedInitialization`: sha256("sops"), hashed first when
/// `mac_only_encrypted` is set so the two MAC kinds never collide.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Recovers the data key, decrypts every branch in place (sops
/// `Tree.Decrypt`), then checks the MAC.
fn decrypt_branches(docs: &mut [Value], md: &Metadata, keys: &Keys) -> Result<(), SopsError> {
    let key = cipher::data_key(md, keys)?;
    let mut hasher = Sha512::new();
    if md.mac_only_encrypted {
        hasher.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    let mut path = Vec::new();
    for doc in docs.iter_mut() {
        walk(doc, &mut path, md, &key, &mut hasher)?;
    }
    let computed = hex::encode_upper(hasher.finalize());
    let stored = match cipher::decrypt_value(&md.mac, &key, &md.last_modified) {
        Ok(Plain::Value(Value::Str(s))) => s,
        Ok(_) => {
            return Err(SopsError::Parse(
                "sops.mac is not a string value".to_string(),
            ));
        }
        Err(ValueError::Malformed) => {
            return Err(SopsError::Parse(
                "sops.mac is not a sops-encrypted value".to_string(),
            ));
        }
        // A failed tag check means the MAC or lastmodified was altered.
        Err(ValueError::Auth | ValueError::BadType) => return Err(SopsError::MacMismatch),
    };
    if stored != computed {
        return Err(SopsError::MacMismatch);
    }
    Ok(())
}

/// Walks values in document order; `path` holds the mapping keys above the
/// current value (sequence indices are not part of sops' paths).
fn walk(
    v: &mut Value,
    path: &mut Vec<String>,
    md: &Metadata,
    key: &[u8],
    hasher: &mut Sha512,
) -> Result<(), SopsError> {
    match v {
        Value::Map(entries) => {
            for (k, child) in entries.iter_mut() {
                path.push(k.clone());
                let r = walk(child, path, md, key, hasher);
                path.pop();
                r?;
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                walk(item, path, md, key, hasher)?;
            }
            Ok(())
        }
        // sops does not visit nulls: they are neither decrypted nor MACed.
        Value::Null => Ok(()),
        leaf => {
            let encrypted = md.should_be_encrypted(path);
            if encrypted {
                let decrypt_err = || SopsError::Decrypt {
                    path: path.join(":"),
                };
                let Value::Str(ciphertext) = &*leaf else {
                    return Err(decrypt_err());
                };
                let aad = format!("{}:", path.join(":"));
                match cipher::decrypt_value(ciphertext, key, &aad) {
                    Ok(Plain::Value(plain)) => *leaf = plain,
                    // A value typed as a comment is not something sops writes.
                    Ok(Plain::Comment) | Err(_) => return Err(decrypt_err()),
                }
            }
            if !md.mac_only_encrypted || encrypted {
                hasher.update(mac_bytes(leaf));
            }
            Ok(())
        }
    }
}

/// sops `ToBytes`: the Go string form of a scalar.
fn mac_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => value::go_format_float(*f).into_bytes(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Null | Value::Seq(_) | Value::Map(_) => Vec::new(),
    }
}

/// True when `s` is a sops-encrypted value (`ENC[AES256_GCM,...]`).
pub fn is_encrypted_value(s: &str) -> bool {
    cipher::looks_encrypted(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(format_for_path("a/b.yaml"), Format::Yaml);
        assert_eq!(format_for_path("b.yml"), Format::Yaml);
        assert_eq!(format_for_path("b.json"), Format::Json);
        assert_eq!(format_for_path("b.env"), Format::Dotenv);
        assert_eq!(format_for_path("b.txt"), Format::Binary);
        assert_eq!(format_for_path("noext"), Format::Binary);
    }

    #[test]
    fn plain_documents_are_not_encrypted() {
        assert!(!is_encrypted(b"a: b\n", Format::Yaml));
        assert!(!is_encrypted(b"{\"sops\": {\"mac\": \"x\"}}", Format::Json));
        assert!(!is_encrypted(b"A=b\n", Format::Dotenv));
        assert!(!is_encrypted(b"\x00\x01binary", Format::Binary));
        let keys = Keys::default();
        assert!(matches!(
            decrypt(b"a: b\n", Format::Yaml, &keys),
            Err(SopsError::NotEncrypted)
        ));
    }
}
