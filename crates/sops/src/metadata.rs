//! The `sops` metadata object (sops `stores/stores.go` `Metadata`).

use regex::Regex;

use crate::SopsError;
use crate::value::Value;

pub(crate) struct AgeEntry {
    pub recipient: String,
    pub enc: String,
}

pub(crate) struct PgpEntry {
    pub fingerprint: String,
    pub enc: String,
}

#[derive(Default)]
pub(crate) struct KeyGroup {
    pub age: Vec<AgeEntry>,
    pub pgp: Vec<PgpEntry>,
}

/// Which values are encrypted (sops `Tree.shouldBeEncrypted`); at most one
/// rule is set, and with none sops uses the `_unencrypted` suffix.
pub(crate) enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    /// `None` when the pattern does not compile: Go's `regexp.Match` then
    /// reports no match, and sops ignores the error.
    UnencryptedRegex(Option<Regex>),
    EncryptedRegex(Option<Regex>),
}

pub(crate) struct Metadata {
    pub key_groups: Vec<KeyGroup>,
    pub mac: String,
    pub last_modified: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
}

/// True when `sops` is a metadata object with `mac` and `lastmodified`.
pub(crate) fn has_metadata(sops: Option<&Value>) -> bool {
    matches!(sops, Some(Value::Map(_)))
        && sops.and_then(|s| s.get("mac")).is_some()
        && sops.and_then(|s| s.get("lastmodified")).is_some()
}

fn string_field(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::Str(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn age_entries(v: &Value) -> Vec<AgeEntry> {
    let Some(Value::Seq(items)) = v.get("age") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            Some(AgeEntry {
                recipient: string_field(item, "recipient").unwrap_or_default(),
                enc: string_field(item, "enc")?,
            })
        })
        .collect()
}

fn pgp_entries(v: &Value) -> Vec<PgpEntry> {
    let Some(Value::Seq(items)) = v.get("pgp") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            Some(PgpEntry {
                fingerprint: string_field(item, "fp").unwrap_or_default(),
                enc: string_field(item, "enc")?,
            })
        })
        .collect()
}

impl Metadata {
    pub(crate) fn from_value(sops: &Value) -> Result<Metadata, SopsError> {
        if !has_metadata(Some(sops)) {
            return Err(SopsError::NotEncrypted);
        }
        let mac = string_field(sops, "mac")
            .ok_or_else(|| SopsError::Parse("sops.mac is not a string".to_string()))?;
        let last_modified = string_field(sops, "lastmodified")
            .ok_or_else(|| SopsError::Parse("sops.lastmodified is not a string".to_string()))?;
        let last_modified = normalize_rfc3339(&last_modified)?;

        // Without key_groups, the top-level lists form the single group
        // (sops `internalKeygroups`).
        let key_groups = match sops.get("key_groups") {
            Some(Value::Seq(groups)) if !groups.is_empty() => groups
                .iter()
                .map(|g| KeyGroup {
                    age: age_entries(g),
                    pgp: pgp_entries(g),
                })
                .collect(),
            _ => vec![KeyGroup {
                age: age_entries(sops),
                pgp: pgp_entries(sops),
            }],
        };

        let field = |name: &str| string_field(sops, name);
        let rules = [
            field("unencrypted_suffix").map(Rule::UnencryptedSuffix),
            field("encrypted_suffix").map(Rule::EncryptedSuffix),
            field("unencrypted_regex").map(|r| Rule::UnencryptedRegex(Regex::new(&r).ok())),
            field("encrypted_regex").map(|r| Rule::EncryptedRegex(Regex::new(&r).ok())),
        ];
        let comment_rule = field("unencrypted_comment_regex")
            .or_else(|| field("encrypted_comment_regex"))
            .is_some();
        let mut set: Vec<Rule> = rules.into_iter().flatten().collect();
        if set.len() + usize::from(comment_rule) > 1 {
            return Err(SopsError::Parse(
                "sops metadata sets more than one of encrypted_suffix, unencrypted_suffix, \
                 encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex"
                    .to_string(),
            ));
        }
        if comment_rule {
            // Deciding which values such a rule covers needs the comments'
            // positions, which this reader does not keep.
            return Err(SopsError::Unsupported(
                "encrypted_comment_regex / unencrypted_comment_regex".to_string(),
            ));
        }
        let rule = set
            .pop()
            .unwrap_or_else(|| Rule::UnencryptedSuffix("_unencrypted".to_string()));

        let mac_only_encrypted = match sops.get("mac_only_encrypted") {
            Some(Value::Bool(b)) => *b,
            // dotenv stores it as a string.
            Some(Value::Str(s)) => s == "true",
            _ => false,
        };
        Ok(Metadata {
            key_groups,
            mac,
            last_modified,
            rule,
            mac_only_encrypted,
        })
    }

    /// sops `Tree.shouldBeEncrypted` for a key path.
    pub(crate) fn should_be_encrypted(&self, path: &[String]) -> bool {
        match &self.rule {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path
                .iter()
                .any(|p| r.as_ref().is_some_and(|r| r.is_match(p))),
            Rule::EncryptedRegex(r) => path
                .iter()
                .any(|p| r.as_ref().is_some_and(|r| r.is_match(p))),
        }
    }
}

/// The MAC's additional data is `lastmodified` re-formatted by Go's
/// `time.Format(time.RFC3339)`: no fractional seconds, `Z` for a zero offset.
fn normalize_rfc3339(s: &str) -> Result<String, SopsError> {
    let invalid = || SopsError::Parse("sops.lastmodified is not an RFC 3339 time".to_string());
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || !s.is_char_boundary(19) {
        return Err(invalid());
    }
    let (base, mut rest) = s.split_at(19);
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        rest = &frac[digits..];
    }
    let zone = match rest {
        "Z" | "+00:00" | "-00:00" => "Z",
        z if z.len() == 6
            && (z.starts_with('+') || z.starts_with('-'))
            && z.as_bytes()[3] == b':' =>
        {
            z
        }
        _ => return Err(invalid()),
    };
    Ok(format!("{base}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::normalize_rfc3339;

    #[test]
    fn lastmodified_is_normalized_like_go() {
        let n = |s: &str| normalize_rfc3339(s).ok();
        assert_eq!(
            n("2024-05-01T10:11:12Z").as_deref(),
            Some("2024-05-01T10:11:12Z")
        );
        assert_eq!(
            n("2024-05-01T10:11:12.123Z").as_deref(),
            Some("2024-05-01T10:11:12Z")
        );
        assert_eq!(
            n("2024-05-01T10:11:12+00:00").as_deref(),
            Some("2024-05-01T10:11:12Z")
        );
        assert_eq!(
            n("2024-05-01T10:11:12+02:00").as_deref(),
            Some("2024-05-01T10:11:12+02:00")
        );
        assert_eq!(n("yesterday"), None);
    }
}
