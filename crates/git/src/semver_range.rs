//! Masterminds/semver-compatible constraint handling (what Flux uses for `spec.ref.semver`),
//! translated onto the `semver` crate so matching itself is not hand-written.
//!
//! A Masterminds constraint is an OR (`||`) of AND groups. Within a group, comparators are
//! separated by commas and/or whitespace, and may be hyphen ranges (`1.2 - 1.4.5`).
//! Each AND group becomes one [`VersionReq`]; `!=` has no `semver` equivalent and is expanded into
//! `<v || >v`, which multiplies the groups.

use semver::{Version, VersionReq};

/// A parsed constraint: satisfied when any of the requirements matches.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    any_of: Vec<VersionReq>,
}

impl Constraint {
    pub(crate) fn parse(input: &str) -> Result<Self, String> {
        let mut any_of = Vec::new();
        for group in input.split("||") {
            for alternative in translate_group(group)? {
                let req = VersionReq::parse(&alternative)
                    .map_err(|e| format!("invalid semver range {input:?}: {e}"))?;
                any_of.push(req);
            }
        }
        Ok(Constraint { any_of })
    }

    pub(crate) fn matches(&self, version: &Version) -> bool {
        self.any_of.iter().any(|req| req.matches(version))
    }
}

/// Parse a tag name as a version the way Masterminds' `NewVersion` does: an optional leading `v`,
/// one to three numeric components (missing ones are zero), optional pre-release and build metadata.
pub(crate) fn parse_tag_version(tag: &str) -> Option<Version> {
    let s = tag.strip_prefix('v').unwrap_or(tag);
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let (core, rest) = s.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut full = parts.join(".");
    for _ in parts.len()..3 {
        full.push_str(".0");
    }
    full.push_str(rest);
    Version::parse(&full).ok()
}

/// One comparator version with possibly missing or wildcard components, e.g. `1.2`, `1.x`, `*`.
struct Partial {
    /// Components present before the first wildcard/missing one, each normalized to digits.
    numbers: Vec<String>,
    /// `-pre` / `+build` suffix, only allowed on a full `x.y.z`.
    suffix: String,
}

impl Partial {
    fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.strip_prefix(['v', 'V']).unwrap_or(raw);
        let core_end = s.find(['-', '+']).unwrap_or(s.len());
        let (core, suffix) = s.split_at(core_end);
        let mut numbers = Vec::new();
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(format!(
                "invalid version {raw:?}: more than three components"
            ));
        }
        for part in parts {
            if matches!(part, "x" | "X" | "*") {
                break;
            }
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid version {raw:?}"));
            }
            numbers.push(part.to_owned());
        }
        if !suffix.is_empty() && numbers.len() != 3 {
            return Err(format!(
                "invalid version {raw:?}: pre-release or build metadata needs major.minor.patch"
            ));
        }
        Ok(Partial {
            numbers,
            suffix: suffix.to_owned(),
        })
    }

    fn is_wildcard(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The `semver` crate spelling; partial versions keep Masterminds' meaning for every operator
    /// we emit (`>=1.2` == `>=1.2.0`, `>1.2` == `>=1.3.0`, `<=1.2` == `<1.3.0`, `=1.2` == `1.2.*`).
    fn render(&self) -> String {
        format!("{}{}", self.numbers.join("."), self.suffix)
    }
}

/// Translate one AND group into one or more `semver` requirement strings (more than one only when
/// `!=` forced an expansion into alternatives).
fn translate_group(group: &str) -> Result<Vec<String>, String> {
    let tokens = tokenize(group);
    if tokens.is_empty() {
        return Err(format!("empty semver range in {group:?}"));
    }
    // Each element is a set of alternatives for one comparator; the group is their product.
    let mut factors: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            let low = Partial::parse(&tokens[i])?;
            let high = Partial::parse(&tokens[i + 2])?;
            let mut both = Vec::new();
            if !low.is_wildcard() {
                both.push(format!(">={}", low.render()));
            }
            if !high.is_wildcard() {
                both.push(format!("<={}", high.render()));
            }
            factors.push(vec![if both.is_empty() {
                "*".to_owned()
            } else {
                both.join(", ")
            }]);
            i += 3;
            continue;
        }
        factors.push(translate_comparator(&tokens[i])?);
        i += 1;
    }
    let mut out = vec![String::new()];
    for factor in factors {
        let mut next = Vec::with_capacity(out.len() * factor.len());
        for prefix in &out {
            for alt in &factor {
                next.push(if prefix.is_empty() {
                    alt.clone()
                } else {
                    format!("{prefix}, {alt}")
                });
            }
        }
        out = next;
    }
    Ok(out)
}

/// Split on commas and whitespace, re-attaching a bare operator (`>= 1.2`) to its version.
fn tokenize(group: &str) -> Vec<String> {
    let raw: Vec<&str> = group
        .split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut pending_op: Option<&str> = None;
    for t in raw {
        if t.chars().all(|c| "<>=!~^".contains(c)) {
            pending_op = Some(t);
            continue;
        }
        match pending_op.take() {
            Some(op) => tokens.push(format!("{op}{t}")),
            None => tokens.push(t.to_owned()),
        }
    }
    if let Some(op) = pending_op {
        tokens.push(op.to_owned());
    }
    tokens
}

fn translate_comparator(token: &str) -> Result<Vec<String>, String> {
    // Longest operators first so that `>=` is not read as `>`.
    const OPS: [&str; 10] = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~"];
    let (op, version) = OPS
        .iter()
        .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
        .or_else(|| token.strip_prefix('^').map(|rest| ("^", rest)))
        .unwrap_or(("", token));
    let version = version.trim();
    if version.is_empty() {
        return Err(format!("operator {op:?} without a version"));
    }
    let v = Partial::parse(version)?;
    if v.is_wildcard() {
        return Ok(vec![match op {
            // Masterminds: `<*` and `>*` can never match.
            "<" | ">" | "!=" => "<0.0.0-0".to_owned(),
            _ => "*".to_owned(),
        }]);
    }
    let r = v.render();
    Ok(match op {
        // A bare version is an exact match in Masterminds, but caret in the `semver` crate.
        "" | "=" => vec![format!("={r}")],
        "!=" => vec![format!("<{r}"), format!(">{r}")],
        ">=" | "=>" => vec![format!(">={r}")],
        "<=" | "=<" => vec![format!("<={r}")],
        ">" => vec![format!(">{r}")],
        "<" => vec![format!("<{r}")],
        "~" | "~>" => vec![format!("~{r}")],
        "^" => vec![format!("^{r}")],
        _ => return Err(format!("unsupported operator {op:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(input: &str) -> Vec<String> {
        input
            .split("||")
            .flat_map(|g| translate_group(g).unwrap())
            .collect()
    }

    fn ok(range: &str, version: &str) -> bool {
        Constraint::parse(range)
            .unwrap()
            .matches(&parse_tag_version(version).unwrap())
    }

    #[test]
    fn translation_of_operators() {
        assert_eq!(translated(">=1.0.0 <2.0.0"), [">=1.0.0, <2.0.0"]);
        assert_eq!(translated(">= 1.2, < 3.0.0"), [">=1.2, <3.0.0"]);
        assert_eq!(translated("1.2.3"), ["=1.2.3"]);
        assert_eq!(translated("v1.2.3"), ["=1.2.3"]);
        assert_eq!(translated("1.x"), ["=1"]);
        assert_eq!(translated("1.2.*"), ["=1.2"]);
        assert_eq!(translated("*"), ["*"]);
        assert_eq!(translated("~1.2"), ["~1.2"]);
        assert_eq!(translated("~>1.2.3"), ["~1.2.3"]);
        assert_eq!(translated("^1.2"), ["^1.2"]);
        assert_eq!(translated("1.2 - 1.4.5"), [">=1.2, <=1.4.5"]);
        assert_eq!(translated("=<2 =>1"), ["<=2, >=1"]);
        assert_eq!(translated("^1.0 || ~2.1"), ["^1.0", "~2.1"]);
        assert_eq!(translated(">=1, !=1.5.0"), [">=1, <1.5.0", ">=1, >1.5.0"]);
    }

    #[test]
    fn matching_semantics() {
        assert!(ok(">=1.0.0 <2.0.0", "1.9.9"));
        assert!(!ok(">=1.0.0 <2.0.0", "2.0.0"));
        assert!(ok(">= 1.2, < 3.0.0", "v2.5"));
        assert!(ok("1.2 - 1.4.5", "1.4.5"));
        assert!(!ok("1.2 - 1.4.5", "1.4.6"));
        assert!(!ok("1.2 - 1.4.5", "1.1.9"));
        assert!(ok("1.2 - 1.4", "1.4.9"));
        assert!(!ok("1.2 - 1.4", "1.5.0"));
        assert!(ok("1.x", "1.9.0"));
        assert!(!ok("1.x", "2.0.0"));
        assert!(ok("1.2.*", "1.2.7"));
        assert!(!ok("1.2.*", "1.3.0"));
        assert!(ok("*", "9.9.9"));
        assert!(ok("~1.2", "1.2.9"));
        assert!(!ok("~1.2", "1.3.0"));
        assert!(ok("^1.2", "1.9.0"));
        assert!(!ok("^1.2", "2.0.0"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("1.2.3", "v1.2.3"));
        assert!(!ok("1.2.3", "1.2.4"));
        assert!(ok(">1.2", "1.3.0"));
        assert!(!ok(">1.2", "1.2.9"));
        assert!(ok("<=1.2", "1.2.9"));
        assert!(ok("^1.0 || ~2.1", "2.1.3"));
        assert!(!ok("^1.0 || ~2.1", "2.2.0"));
        assert!(ok(">=1, !=1.5.0", "1.5.1"));
        assert!(!ok(">=1, !=1.5.0", "1.5.0"));
        assert!(!ok("<*", "1.0.0"));
    }

    #[test]
    fn prereleases_only_match_prerelease_constraints() {
        assert!(!ok(">=1.0.0", "2.0.0-rc.1"));
        assert!(!ok("*", "1.0.0-alpha"));
        assert!(ok(">=2.0.0-rc.0", "2.0.0-rc.1"));
    }

    #[test]
    fn lenient_tag_parsing() {
        assert_eq!(parse_tag_version("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(parse_tag_version("3"), Some(Version::new(3, 0, 0)));
        assert_eq!(
            parse_tag_version("1.0.0-rc.1+build.5").map(|v| v.to_string()),
            Some("1.0.0-rc.1+build.5".to_owned())
        );
        assert_eq!(parse_tag_version("release-1"), None);
        assert_eq!(parse_tag_version("1.2.3.4"), None);
        assert_eq!(parse_tag_version("v"), None);
        assert_eq!(parse_tag_version("latest"), None);
    }

    #[test]
    fn invalid_ranges_are_rejected() {
        for bad in ["", ">=", "1.2.3.4", "abc", ">= foo", "1.2-beta", "||"] {
            assert!(
                Constraint::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
