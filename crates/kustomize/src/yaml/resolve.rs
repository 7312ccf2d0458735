//! Implicit tag resolution of plain scalars and decoding of scalars to typed
//! values, following go-yaml v3 (what kustomize reads with).

use super::node::{Scalar, Tag};

/// A decoded scalar value.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

/// Parses an integer the way Go's `strconv.ParseInt(s, 0, 64)` does (sign,
/// then optional `0x`/`0o`/`0b` prefix, or a leading `0` for octal).
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    let mag = go_parse_uint_body(body)?;
    if neg {
        if mag <= (i64::MAX as u64) + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(mag as i64)
    } else {
        None
    }
}

/// Public form of the Go integer parser, for configuration decoding.
pub fn go_parse_int_pub(s: &str) -> Option<i64> {
    go_parse_int(s)
}

/// Public form of the Go float parser.
pub fn go_parse_float_pub(s: &str) -> Option<f64> {
    go_parse_float(s)
}

/// `strconv.ParseUint(s, 0, 64)`: no sign allowed.
pub(crate) fn go_parse_uint(s: &str) -> Option<u64> {
    go_parse_uint_body(s)
}

fn split_sign(s: &str) -> (bool, &str) {
    if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else {
        (false, s)
    }
}

fn go_parse_uint_body(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    parse_radix(digits, radix)
}

fn parse_radix(digits: &str, radix: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = v.checked_mul(radix as u64)?.checked_add(d as u64)?;
    }
    Some(v)
}

/// Matches `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML produces;
/// out-of-range values are failures, as in Go.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        // Go accepts these spellings.
        let v: f64 = match body {
            "nan" => f64::NAN,
            _ if lower.starts_with('-') => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        };
        return Some(v);
    }
    if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
        return None;
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_infinite() { None } else { Some(v) }
}

/// A timestamp as go-yaml reads one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset from UTC in minutes.
    offset: i32,
}

impl Timestamp {
    /// RFC 3339 with nanoseconds, trailing zeros dropped, as Go's JSON
    /// encoding of a time writes it.
    pub fn rfc3339_nano(&self) -> String {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let a = self.offset.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", a / 60, a % 60));
        }
        out
    }
}

/// go-yaml's timestamp recognition: `YYYY-M-D` optionally followed by a
/// time, as in `2001-12-14t21:59:43.10-05:00` or `2001-12-14 21:59:43.10`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i != 4 || i == b.len() || b[i] != b'-' {
        return None;
    }
    let year: u32 = s[..4].parse().ok()?;
    let mut p = Cursor { b, i: 5 };
    let month = p.num(1, 2)?;
    if !p.eat(b'-') {
        return None;
    }
    let day = p.num(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    let mut t = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: 0,
    };
    if p.i == b.len() {
        return Some(t);
    }
    let zone_required = match b[p.i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    p.i += 1;
    t.hour = p.num(1, 2)?;
    if !p.eat(b':') {
        return None;
    }
    t.minute = p.num(1, 2)?;
    if !p.eat(b':') {
        return None;
    }
    t.second = p.num(1, 2)?;
    if t.hour > 23 || t.minute > 59 || t.second > 59 {
        return None;
    }
    if p.i + 1 < b.len() && b[p.i] == b'.' && b[p.i + 1].is_ascii_digit() {
        p.i += 1;
        let start = p.i;
        while p.i < b.len() && b[p.i].is_ascii_digit() {
            p.i += 1;
        }
        let digits = &s[start..p.i];
        let nine: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        t.nanos = nine.parse().ok()?;
    }
    if !zone_required {
        return (p.i == b.len()).then_some(t);
    }
    if p.i < b.len() && b[p.i] == b'Z' {
        return (p.i + 1 == b.len()).then_some(t);
    }
    if p.i < b.len() && (b[p.i] == b'+' || b[p.i] == b'-') {
        let neg = b[p.i] == b'-';
        p.i += 1;
        let zh = p.num(2, 2)?;
        if !p.eat(b':') {
            return None;
        }
        let zm = p.num(2, 2)?;
        if zh > 24 || zm > 59 || p.i != b.len() {
            return None;
        }
        let off = (zh * 60 + zm) as i32;
        t.offset = if neg { -off } else { off };
        return Some(t);
    }
    None
}

pub(crate) fn looks_like_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() && self.i - start < max {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.i < self.b.len() && self.b[self.i] == c {
            self.i += 1;
            true
        } else {
            false
        }
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The tag go-yaml v3 gives a plain scalar with no explicit tag.
pub fn resolve_plain(s: &str) -> Tag {
    match s {
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return Tag::Bool,
        "" | "~" | "null" | "Null" | "NULL" => return Tag::Null,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Tag::Float,
        "<<" => return Tag::Merge,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' if go_parse_float(s).is_some() => return Tag::Float,
        b'0'..=b'9' | b'+' | b'-' => {
            if looks_like_timestamp(s) {
                return Tag::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if go_parse_int(&plain).is_some() || go_parse_uint(&plain).is_some() {
                return Tag::Int;
            }
            if is_yaml_style_float(&plain) && go_parse_float(&plain).is_some() {
                return Tag::Float;
            }
        }
        _ => {}
    }
    Tag::Str
}

/// Decodes a scalar to a typed value as go-yaml v3 decodes into `interface{}`.
/// A scalar whose text does not fit its explicit tag yields an error message.
pub fn decode(s: &Scalar) -> Result<Decoded, String> {
    let v = &s.value;
    match &s.tag {
        // An untyped scalar (set by a transformer without a tag): typed from
        // its text when it is read, as go-yaml does for an empty tag.
        Tag::Other(t) if t.is_empty() => {
            let tag = if s.style.is_quoted_or_block() {
                Tag::Str
            } else {
                resolve_plain(v)
            };
            decode(&Scalar {
                value: v.clone(),
                tag,
                style: s.style,
            })
        }
        Tag::Str | Tag::Other(_) => Ok(Decoded::Str(v.clone())),
        // Decoded as a time, which JSON writes in RFC 3339 form.
        Tag::Timestamp => Ok(Decoded::Str(
            parse_timestamp(v).map_or_else(|| v.clone(), |t| t.rfc3339_nano()),
        )),
        Tag::Merge => Ok(Decoded::Str(v.clone())),
        Tag::Binary => {
            use base64::Engine;
            let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|e| format!("cannot decode !!binary `{v}`: {e}"))?;
            Ok(Decoded::Str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Tag::Null => match v.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Ok(Decoded::Null),
            _ if s.style.is_quoted_or_block() => Ok(Decoded::Null),
            _ => Err(format!("cannot decode `{v}` as a !!null")),
        },
        Tag::Bool => match v.as_str() {
            "true" | "True" | "TRUE" => Ok(Decoded::Bool(true)),
            "false" | "False" | "FALSE" => Ok(Decoded::Bool(false)),
            _ => Err(format!("cannot decode `{v}` as a !!bool")),
        },
        Tag::Int => decode_number(v)
            .and_then(|d| match d {
                Decoded::Int(_) | Decoded::Uint(_) => Some(d),
                _ => None,
            })
            .ok_or_else(|| format!("cannot decode `{v}` as a !!int")),
        Tag::Float => match decode_number(v) {
            Some(Decoded::Int(i)) => Ok(Decoded::Float(i as f64)),
            Some(Decoded::Uint(u)) => Ok(Decoded::Float(u as f64)),
            Some(d @ Decoded::Float(_)) => Ok(d),
            _ => Err(format!("cannot decode `{v}` as a !!float")),
        },
    }
}

fn decode_number(s: &str) -> Option<Decoded> {
    match s {
        ".nan" | ".NaN" | ".NAN" => return Some(Decoded::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Decoded::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Decoded::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    if s.starts_with('.') {
        return go_parse_float(s).map(Decoded::Float);
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Decoded::Int(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Decoded::Uint(u));
    }
    if is_yaml_style_float(&plain) {
        return go_parse_float(&plain).map(Decoded::Float);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_resolution() {
        assert_eq!(resolve_plain("3"), Tag::Int);
        assert_eq!(resolve_plain("0x1F"), Tag::Int);
        assert_eq!(resolve_plain("017"), Tag::Int);
        assert_eq!(resolve_plain("08"), Tag::Float);
        assert_eq!(resolve_plain("1.5"), Tag::Float);
        assert_eq!(resolve_plain("1e3"), Tag::Float);
        assert_eq!(resolve_plain(".5"), Tag::Float);
        assert_eq!(resolve_plain("yes"), Tag::Str);
        assert_eq!(resolve_plain("~"), Tag::Null);
        assert_eq!(resolve_plain("True"), Tag::Bool);
        assert_eq!(resolve_plain("2001-12-14"), Tag::Timestamp);
        assert_eq!(
            parse_timestamp("2001-12-14t21:59:43.10-05:00").map(|t| t.rfc3339_nano()),
            Some("2001-12-14T21:59:43.1-05:00".to_string())
        );
        assert_eq!(
            parse_timestamp("2001-1-2").map(|t| t.rfc3339_nano()),
            Some("2001-01-02T00:00:00Z".to_string())
        );
        assert_eq!(resolve_plain("2001-13-14"), Tag::Str);
        assert_eq!(resolve_plain("1_000"), Tag::Int);
        assert_eq!(resolve_plain("-"), Tag::Str);
        assert_eq!(resolve_plain("1e400"), Tag::Str);
    }

    #[test]
    fn decoding() {
        assert_eq!(decode(&Scalar::plain("0o17")).ok(), Some(Decoded::Int(15)));
        assert_eq!(
            decode(&Scalar::plain("18446744073709551615")).ok(),
            Some(Decoded::Uint(u64::MAX))
        );
        let bad = Scalar {
            value: "x".into(),
            tag: Tag::Int,
            style: Default::default(),
        };
        assert!(decode(&bad).is_err());
    }
}
