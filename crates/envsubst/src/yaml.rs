//! The YAML round trip of Flux's `SubstituteVariables`.
//!
//! Out: kustomize's `Resource.AsYAML` marshals the object to JSON and turns
//! that into YAML with go-yaml v2 (`sigs.k8s.io/yaml.JSONToYAML`);
//! `weir-kustomize` already writes YAML byte for byte that way.
//!
//! Back: `sigs.k8s.io/yaml.YAMLToJSON` decodes the substituted text with
//! go-yaml v2, i.e. YAML 1.1 typing of plain scalars (`yes`/`on`/`y` are
//! booleans, `0777` is octal, `1_000` is 1000), stringifies non-string map
//! keys, and writes JSON. The resource then re-reads that JSON through Go's
//! `float64`, which [`normalize`] reproduces.

use serde_json::{Map, Number, Value};
use weir_kustomize::yaml::{Mapping, Node as YNode, Scalar as YScalar, emit, from_json, to_json};

use crate::Error;

/// Serialises an object as `Resource.AsYAML` does.
pub(crate) fn to_yaml(obj: &Value) -> Result<String, Error> {
    emit::to_yaml(&json_to_node(obj))
        .map_err(|_| Error::Yaml("cannot serialize the object to YAML".to_string()))
}

/// JSON to a YAML tree. Integers keep their exact text (the resource holds
/// them as YAML ints, not floats); everything else as `weir-kustomize` reads JSON.
fn json_to_node(v: &Value) -> YNode {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            YNode::Scalar(YScalar::plain(n.to_string()))
        }
        Value::Array(items) => YNode::Seq(items.iter().map(json_to_node).collect()),
        Value::Object(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                out.insert(k.clone(), json_to_node(v));
            }
            YNode::Map(out)
        }
        other => from_json(other),
    }
}

/// Re-reads a JSON value the way the kustomize resource does after
/// substitution (numbers through `float64`: `2.0` becomes `2`, integers
/// beyond 2^53 lose precision, as in Flux).
pub(crate) fn normalize(v: &Value) -> Result<Value, Error> {
    let mut out = to_json(&from_json(v))
        .map_err(|_| Error::Yaml("cannot convert the result to JSON".to_string()))?;
    integralize(&mut out);
    Ok(out)
}

/// Go's `json.Marshal` prints an integral `float64` below 1e21 without a
/// fraction or exponent (`1e+06` becomes `1000000`), and Kubernetes reads
/// that back as an integer; do the same here.
fn integralize(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 1e21
            {
                if f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                    *v = Value::Number((f as i64).into());
                } else if f >= 0.0 && f < 2f64.powi(64) {
                    *v = Value::Number((f as u64).into());
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integralize),
        Value::Object(m) => m.values_mut().for_each(integralize),
        _ => {}
    }
}

/// Largest number of nodes a document may expand to through aliases.
const MAX_NODES: usize = 1_000_000;
/// Deepest accepted collection nesting.
const MAX_DEPTH: usize = 1_000;

/// A decoded scalar, typed as go-yaml v2 types it into `interface{}`.
#[derive(Clone, Debug, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

/// A decoded node: a scalar keeps its type (for map keys), collections are
/// JSON already.
#[derive(Clone, Debug)]
enum Item {
    Scalar(Scalar),
    /// `<<` as a mapping key.
    Merge,
    Value(Value),
}

enum Frame {
    Seq {
        anchor: usize,
        items: Vec<Value>,
    },
    Map {
        anchor: usize,
        map: Map<String, Value>,
        key: Option<Item>,
    },
}

/// Decodes the first document of `text` to JSON as `YAMLToJSON` does.
/// Error messages carry positions and descriptions, never scalar text (the
/// text may hold secret values).
pub(crate) fn yaml_to_json(text: &str) -> Result<Value, Error> {
    use saphyr_parser::{Event, Parser};

    let mut anchors: std::collections::HashMap<usize, Item> = std::collections::HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes = 0usize;
    let mut root: Option<Value> = None;

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let info = e.info();
            // Keep the description, never the offending character.
            let info = if info.starts_with("unexpected character") {
                "unexpected character"
            } else {
                info
            };
            Error::Yaml(format!(
                "{info} at line {} column {}",
                e.marker().line(),
                e.marker().col() + 1
            ))
        })?;
        let at = |msg: &str| {
            Error::Yaml(format!(
                "{msg} at line {} column {}",
                span.start.line(),
                span.start.col() + 1
            ))
        };
        let finished: Option<(Item, usize)> = match event {
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => None,
            // go-yaml v2 `Unmarshal` reads the first document only.
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Alias(id) => {
                let target = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| at("unknown anchor referenced"))?;
                nodes += count_nodes(&target);
                if nodes > MAX_NODES {
                    return Err(at("document expands to too many nodes"));
                }
                Some((target, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(at("document expands to too many nodes"));
                }
                let plain = matches!(style, saphyr_parser::ScalarStyle::Plain);
                let item = decode_scalar(&value, plain, tag.as_deref()).map_err(|m| at(&m))?;
                Some((item, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(at("document nested too deeply"));
                }
                stack.push(Frame::Seq {
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(at("document nested too deeply"));
                }
                stack.push(Frame::Map {
                    anchor,
                    map: Map::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { anchor, items }) => {
                    Some((Item::Value(Value::Array(items)), anchor))
                }
                _ => return Err(at("unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { anchor, map, .. }) => {
                    Some((Item::Value(Value::Object(map)), anchor))
                }
                _ => return Err(at("unbalanced mapping")),
            },
        };
        let Some((item, anchor)) = finished else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, item.clone());
        }
        match stack.last_mut() {
            None => root = Some(item_to_value(item)?),
            Some(Frame::Seq { items, .. }) => items.push(item_to_value(item)?),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => *key = Some(item),
                Some(Item::Merge) => merge(map, item).map_err(at)?,
                Some(k) => {
                    let k = key_string(k).map_err(at)?;
                    map.insert(k, item_to_value(item)?);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn count_nodes(item: &Item) -> usize {
    fn value_nodes(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(value_nodes).sum::<usize>(),
            Value::Object(m) => 1 + m.values().map(|v| 1 + value_nodes(v)).sum::<usize>(),
            _ => 1,
        }
    }
    match item {
        Item::Value(v) => value_nodes(v),
        _ => 1,
    }
}

fn item_to_value(item: Item) -> Result<Value, Error> {
    Ok(match item {
        Item::Value(v) => v,
        Item::Merge => Value::String("<<".to_string()),
        Item::Scalar(s) => match s {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Number(i.into()),
            Scalar::Uint(u) => Value::Number(u.into()),
            Scalar::Float(f) => Value::Number(Number::from_f64(f).ok_or_else(|| {
                Error::Yaml(format!("json: unsupported value: {}", go_special_float(f)))
            })?),
            Scalar::Str(s) => Value::String(s),
        },
    })
}

fn go_special_float(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// `<<: map` or `<<: [map, ...]`: merged keys overwrite what is already set
/// (keys after the merge overwrite them in turn); in a list, earlier maps win.
fn merge(map: &mut Map<String, Value>, item: Item) -> Result<(), &'static str> {
    const MSG: &str = "map merge requires map or sequence of maps as the value";
    match item {
        Item::Value(Value::Object(m)) => {
            map.extend(m);
            Ok(())
        }
        Item::Value(Value::Array(list)) => {
            for v in list.into_iter().rev() {
                match v {
                    Value::Object(m) => map.extend(m),
                    _ => return Err(MSG),
                }
            }
            Ok(())
        }
        _ => Err(MSG),
    }
}

/// `sigs.k8s.io/yaml` turns go-yaml v2 map keys into JSON keys.
fn key_string(k: Item) -> Result<String, &'static str> {
    match k {
        Item::Scalar(Scalar::Str(s)) => Ok(s),
        Item::Scalar(Scalar::Int(i)) => Ok(i.to_string()),
        Item::Scalar(Scalar::Uint(u)) => Ok(u.to_string()),
        Item::Scalar(Scalar::Bool(b)) => Ok(b.to_string()),
        Item::Scalar(Scalar::Float(f)) => Ok(go_format_g32(f)),
        Item::Merge => Ok("<<".to_string()),
        Item::Scalar(Scalar::Null) => Err("unsupported map key of type <nil>"),
        Item::Value(_) => Err("unsupported map key of a collection type"),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with YAML's spelling of the
/// non-finite values.
fn go_format_g32(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let f32v = f as f32;
    if f32v == 0.0 {
        return if f32v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Shortest digits of the 32-bit value: `d.ddde±x`.
    let e = format!("{:e}", f32v.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f32v < 0.0 { "-" } else { "" };
    // With the shortest precision, Go's 'g' switches to the exponent form
    // when exp < -4 || exp >= 6.
    let nd = digits.len() as i32;
    if !(-4..6).contains(&exp) {
        let mut out = format!("{sign}{}", &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign_e = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{sign_e}{:02}", exp.abs()));
        return out;
    }
    let dp = exp + 1; // digits before the decimal point
    let mut out = sign.to_string();
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        out.push_str(&"0".repeat((dp - nd) as usize));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// Types one scalar as go-yaml v2 does when decoding into `interface{}`.
fn decode_scalar(
    value: &str,
    plain: bool,
    tag: Option<&saphyr_parser::Tag>,
) -> Result<Item, String> {
    let tag = tag.map(|t| {
        if t.handle == "tag:yaml.org,2002:" || t.handle == "!!" {
            format!("!!{}", t.suffix)
        } else {
            format!("{}{}", t.handle, t.suffix)
        }
    });
    match tag.as_deref() {
        None if plain => {
            if value == "<<" {
                return Ok(Item::Merge);
            }
            Ok(Item::Scalar(resolve_plain(value)))
        }
        // Quoted and block scalars are strings.
        None => Ok(Item::Scalar(Scalar::Str(value.to_string()))),
        Some("!!str") => Ok(Item::Scalar(Scalar::Str(value.to_string()))),
        Some("!!merge") => Ok(Item::Merge),
        Some("!!binary") => decode_binary(value).map(|s| Item::Scalar(Scalar::Str(s))),
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp")) => {
            let resolved = resolve_plain(value);
            let ok = matches!(
                (t, &resolved),
                ("!!int", Scalar::Int(_) | Scalar::Uint(_))
                    | ("!!float", Scalar::Float(_))
                    | ("!!bool", Scalar::Bool(_))
                    | ("!!null", Scalar::Null)
                    | ("!!timestamp", Scalar::Str(_))
            );
            if ok {
                return Ok(Item::Scalar(resolved));
            }
            // An integer is accepted where a float is asked for.
            match (t, resolved) {
                ("!!float", Scalar::Int(i)) => Ok(Item::Scalar(Scalar::Float(i as f64))),
                ("!!float", Scalar::Uint(u)) => Ok(Item::Scalar(Scalar::Float(u as f64))),
                _ => Err(format!("cannot decode the scalar as {t}")),
            }
        }
        // Other tags (local ones, `!`) are not resolvable: the text as a string.
        Some(_) => Ok(Item::Scalar(Scalar::Str(value.to_string()))),
    }
}

fn decode_binary(value: &str) -> Result<String, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let clean: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let err = || "cannot decode the !!binary scalar".to_string();
    if !clean.len().is_multiple_of(4) {
        return Err(err());
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' && i >= 2 {
                pad += 1;
                0
            } else if pad > 0 {
                return Err(err());
            } else {
                ALPHABET.iter().position(|&a| a == c).ok_or_else(err)? as u32
            };
            acc = (acc << 6) | v;
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// go-yaml v2 `resolve` for an untagged plain scalar.
fn resolve_plain(s: &str) -> Scalar {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Scalar::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let str_ = || Scalar::Str(s.to_string());
    match s.as_bytes()[0] {
        b'.' => match go_parse_float(s) {
            Some(f) => Scalar::Float(f),
            None => str_(),
        },
        b'0'..=b'9' | b'+' | b'-' => {
            // (Timestamps stay strings when decoding into interface{}, and
            // never parse as numbers, so they need no check here.)
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Scalar::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Scalar::Uint(u);
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Scalar::Float(f);
            }
            if let Some(b) = plain.strip_prefix("0b")
                && let Some(u) = parse_radix(b, 2)
                && let Ok(i) = i64::try_from(u)
            {
                return Scalar::Int(i);
            }
            if let Some(b) = plain.strip_prefix("-0b")
                && let Some(u) = parse_radix(b, 2)
                && let Ok(i) = i64::try_from(u)
            {
                return Scalar::Int(-i);
            }
            str_()
        }
        _ => str_(),
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: an overflow is an
/// error (Go returns ErrRange), so the scalar stays a string.
fn go_parse_float(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

fn parse_radix(digits: &str, radix: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|_| !digits.starts_with(['+', '-']))
}

/// `strconv.ParseUint(s, 0, 64)`: base prefixes `0x`, `0o`, `0b`, or a
/// leading `0` for octal; no sign.
fn go_parse_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    if b[0] == b'0' && b.len() > 1 {
        return match b[1] {
            b'x' | b'X' => parse_radix(&s[2..], 16),
            b'o' | b'O' => parse_radix(&s[2..], 8),
            b'b' | b'B' => parse_radix(&s[2..], 2),
            _ => parse_radix(&s[1..], 8),
        };
    }
    parse_radix(s, 10)
}

/// `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = go_parse_uint(body)?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scalar(s: &str) -> Value {
        let doc = format!("v: {s}\n");
        yaml_to_json(&doc).unwrap()["v"].clone()
    }

    #[test]
    fn yaml11_typing() {
        assert_eq!(scalar("2"), json!(2));
        assert_eq!(scalar("-2"), json!(-2));
        assert_eq!(scalar("1_000"), json!(1000));
        assert_eq!(scalar("0777"), json!(511));
        assert_eq!(scalar("0x1F"), json!(31));
        assert_eq!(scalar("0o17"), json!(15));
        assert_eq!(scalar("0b101"), json!(5));
        assert_eq!(scalar("-0b101"), json!(-5));
        assert_eq!(
            scalar("18446744073709551615"),
            json!(18446744073709551615u64)
        );
        assert_eq!(scalar("1.5"), json!(1.5));
        assert_eq!(scalar(".5"), json!(0.5));
        assert_eq!(scalar("1e3"), json!(1000.0));
        assert_eq!(scalar("09"), json!(9.0));
        assert_eq!(scalar("1e400"), json!("1e400"));
        assert_eq!(scalar("yes"), json!(true));
        assert_eq!(scalar("On"), json!(true));
        assert_eq!(scalar("y"), json!(true));
        assert_eq!(scalar("NO"), json!(false));
        assert_eq!(scalar("off"), json!(false));
        assert_eq!(scalar("~"), json!(null));
        assert_eq!(scalar(""), json!(null));
        assert_eq!(scalar("2001-12-14"), json!("2001-12-14"));
        assert_eq!(scalar("1.2.3"), json!("1.2.3"));
        assert_eq!(scalar("'2'"), json!("2"));
        assert_eq!(scalar("\"yes\""), json!("yes"));
        assert_eq!(scalar("!!str 2"), json!("2"));
        assert_eq!(scalar("!!float 2"), json!(2.0));
        assert_eq!(scalar("!custom 2"), json!("2"));
        assert_eq!(scalar("!!binary aGVsbG8="), json!("hello"));
        assert!(yaml_to_json("v: !!int abc\n").is_err());
        assert!(yaml_to_json("v: .nan\n").is_err());
        assert!(yaml_to_json("v: .inf\n").is_err());
    }

    #[test]
    fn integral_floats_become_integers() {
        let v = normalize(&json!({"a": 1e6, "b": 2.5, "c": 1e21, "d": -3.0, "e": 1e19})).unwrap();
        assert_eq!(
            v,
            json!({"a": 1000000, "b": 2.5, "c": 1e21, "d": -3, "e": 10000000000000000000u64})
        );
        assert!(v["a"].is_i64());
    }

    #[test]
    fn keys_are_stringified() {
        let v = yaml_to_json("1: a\ntrue: b\non: c\n1.5: d\n0x10: e\n").unwrap();
        assert_eq!(v, json!({"1": "a", "true": "c", "1.5": "d", "16": "e"}));
        assert!(yaml_to_json("~: a\n").is_err());
    }

    #[test]
    fn anchors_and_merges() {
        let v = yaml_to_json("a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\nc: *x\n").unwrap();
        assert_eq!(
            v,
            json!({"a": {"p": 1, "q": 2}, "b": {"p": 1, "q": 3}, "c": {"p": 1, "q": 2}})
        );
        let v = yaml_to_json("a: &x {p: 1}\nb: &y {p: 2, r: 1}\nc:\n  <<: [*x, *y]\n").unwrap();
        assert_eq!(v["c"], json!({"p": 1, "r": 1}));
        assert!(yaml_to_json("a: *nope\n").is_err());
    }

    #[test]
    fn first_document_only() {
        let v = yaml_to_json("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(v, json!({"a": 1}));
    }

    #[test]
    fn float_keys_use_32_bit_formatting() {
        assert_eq!(go_format_g32(1.0), "1");
        assert_eq!(go_format_g32(0.1), "0.1");
        assert_eq!(go_format_g32(1e6), "1e+06");
        assert_eq!(go_format_g32(123456.0), "123456");
        assert_eq!(go_format_g32(1234567.0), "1.234567e+06");
        assert_eq!(go_format_g32(0.0001), "0.0001");
        assert_eq!(go_format_g32(0.00001), "1e-05");
        assert_eq!(go_format_g32(-2.5), "-2.5");
    }

    #[test]
    fn errors_do_not_echo_input() {
        let err = yaml_to_json("a: b: s3cr3t\n").unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = yaml_to_json("a: !!int s3cr3t\n").unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = yaml_to_json("a: `s3cr3t\n").unwrap_err().to_string();
        assert!(!err.contains('`'), "{err}");
    }

    #[test]
    fn emits_like_kustomize() {
        let obj = json!({"kind": "X", "spec": {"replicas": "${replicas:=2}", "n": 3, "big": 9007199254740993u64}});
        let text = to_yaml(&obj).unwrap();
        assert_eq!(
            text,
            // go-yaml v2 quotes keys that YAML 1.1 reads as booleans.
            "kind: X\nspec:\n  big: 9007199254740993\n  \"n\": 3\n  replicas: ${replicas:=2}\n"
        );
    }
}
