//! sops' value cipher: `ENC[AES256_GCM,data:..,iv:..,tag:..,type:..]`
//! (sops `aes/cipher.go`), and recovery of the data key from the master keys.

use std::io::Read;

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::aes::cipher::consts::U32;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::SopsError;
use crate::keys::Keys;
use crate::metadata::Metadata;
use crate::value::Value;

/// sops encrypts with a 32-byte GCM nonce (`cipher.NewGCMWithNonceSize`).
type Aes256Gcm32 = AesGcm<Aes256, U32>;

/// A decrypted value, typed by its `type:` field.
pub(crate) enum Plain {
    Value(Value),
    /// A YAML/dotenv comment; comments never enter the MAC.
    Comment,
}

/// Why a single value could not be decrypted; the caller adds the key path.
pub(crate) enum ValueError {
    Malformed,
    Auth,
    BadType,
}

/// The 32-byte document data key, wiped on drop.
pub(crate) type DataKey = Zeroizing<Vec<u8>>;

/// Decrypts one sops value with the data key and additional data (the key
/// path joined by `:` plus a trailing `:`, or `lastmodified` for the MAC).
pub(crate) fn decrypt_value(ciphertext: &str, key: &[u8], aad: &str) -> Result<Plain, ValueError> {
    // sops leaves empty strings as they are when encrypting.
    if ciphertext.is_empty() {
        return Ok(Plain::Value(Value::Str(String::new())));
    }
    let parts = parse_enc(ciphertext).ok_or(ValueError::Malformed)?;
    // Go's GCM accepts any non-zero nonce length; sops always writes 32 bytes
    // and that is the only size this cipher type supports.
    if parts.iv.len() != 32 || parts.tag.len() != 16 || key.len() != 32 {
        return Err(ValueError::Malformed);
    }
    let cipher = Aes256Gcm32::new(GenericArray::from_slice(key));
    let mut msg = parts.data;
    msg.extend_from_slice(&parts.tag);
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::<U32>::from_slice(&parts.iv),
                Payload {
                    msg: &msg,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ValueError::Auth)?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| ValueError::BadType)?;
    let v = match parts.datatype.as_str() {
        "str" | "bytes" => Value::Str(text.to_string()),
        "int" | "int64" => Value::Int(text.parse().map_err(|_| ValueError::BadType)?),
        "float" => Value::Float(parse_go_float(text).ok_or(ValueError::BadType)?),
        "bool" => Value::Bool(parse_go_bool(text).ok_or(ValueError::BadType)?),
        "comment" => return Ok(Plain::Comment),
        _ => return Err(ValueError::BadType),
    };
    Ok(Plain::Value(v))
}

struct EncParts {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    datatype: String,
}

/// Parses `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`.
fn parse_enc(s: &str) -> Option<EncParts> {
    let body = s.strip_prefix("ENC[AES256_GCM,")?;
    let body = &body[..body.rfind(']')?];
    let mut data = None;
    let mut iv = None;
    let mut tag = None;
    let mut datatype = None;
    for field in body.split(',') {
        let (name, val) = field.split_once(':')?;
        match name {
            "data" => data = Some(STANDARD.decode(val).ok()?),
            "iv" => iv = Some(STANDARD.decode(val).ok()?),
            "tag" => tag = Some(STANDARD.decode(val).ok()?),
            "type" => datatype = Some(val.to_string()),
            _ => return None,
        }
    }
    Some(EncParts {
        data: data?,
        iv: iv?,
        tag: tag?,
        datatype: datatype?,
    })
}

/// True when a string looks like a sops-encrypted value.
pub(crate) fn looks_encrypted(s: &str) -> bool {
    s.starts_with("ENC[AES256_GCM,")
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms sops writes.
fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Recovers the data key from the first master key one of `keys` opens,
/// trying age before OpenPGP like sops' default decryption order.
pub(crate) fn data_key(md: &Metadata, keys: &Keys) -> Result<DataKey, SopsError> {
    if md.key_groups.len() > 1 {
        return Err(SopsError::Unsupported(format!(
            "{} key groups (Shamir secret sharing)",
            md.key_groups.len()
        )));
    }
    let Some(group) = md.key_groups.first() else {
        return Err(SopsError::Parse(
            "sops metadata lists no master keys".to_string(),
        ));
    };
    let no_match = || SopsError::NoMatchingKey {
        age_recipients: group.age.iter().map(|k| k.recipient.clone()).collect(),
        pgp_fingerprints: group.pgp.iter().map(|k| k.fingerprint.clone()).collect(),
    };
    let mut broken = None;
    if !keys.age.is_empty() {
        // Try the entries whose recipient we hold first; any entry may still
        // match (the recipient field is informational).
        let ours = keys.age_recipients();
        let mut order: Vec<_> = group.age.iter().collect();
        order.sort_by_key(|k| !ours.contains(&k.recipient));
        for entry in order {
            match age_decrypt(&entry.enc, keys) {
                Ok(Some(key)) => return check_len(key),
                Ok(None) => {}
                // A damaged entry must not hide a later one that works.
                Err(e) => broken = broken.or(Some(e)),
            }
        }
    }
    if !keys.pgp.is_empty() {
        for entry in &group.pgp {
            if let Some(key) = pgp_decrypt(&entry.enc, keys) {
                return check_len(key);
            }
        }
    }
    Err(broken.unwrap_or_else(no_match))
}

fn check_len(key: DataKey) -> Result<DataKey, SopsError> {
    if key.len() != 32 {
        return Err(SopsError::KeyDecrypt(format!(
            "decrypted data key is {} bytes, expected 32",
            key.len()
        )));
    }
    Ok(key)
}

/// `Ok(None)` when none of our identities is a recipient of `enc`.
fn age_decrypt(enc: &str, keys: &Keys) -> Result<Option<DataKey>, SopsError> {
    let reader = age::armor::ArmoredReader::new(enc.trim().as_bytes());
    let decryptor = age::Decryptor::new(reader)
        .map_err(|e| SopsError::KeyDecrypt(format!("invalid age data key: {e}")))?;
    let identities = keys.age.iter().map(|i| i as &dyn age::Identity);
    match decryptor.decrypt(identities) {
        Ok(mut r) => {
            let mut out = Zeroizing::new(Vec::with_capacity(32));
            r.read_to_end(&mut out)
                .map_err(|e| SopsError::KeyDecrypt(format!("reading age data key: {e}")))?;
            Ok(Some(out))
        }
        Err(age::DecryptError::NoMatchingKeys) => Ok(None),
        Err(e) => Err(SopsError::KeyDecrypt(format!("age: {e}"))),
    }
}

/// `None` when the message cannot be opened with our keys (rPGP does not
/// tell "not for us" apart from other failures).
fn pgp_decrypt(enc: &str, keys: &Keys) -> Option<DataKey> {
    let (msg, _) = pgp::composed::Message::from_string(enc).ok()?;
    let pw = pgp::types::Password::empty();
    let passwords = vec![&pw; keys.pgp.len()];
    let mut msg = msg
        .decrypt_with_keys(passwords, keys.pgp.iter().collect())
        .ok()?;
    if msg.is_compressed() {
        msg = msg.decompress().ok()?;
    }
    msg.as_data_vec().ok().map(Zeroizing::new)
}
