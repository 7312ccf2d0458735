//! An order-preserving document tree, with the YAML, JSON and dotenv readers
//! and writers sops' stores amount to.
//!
//! Scalars are typed the way sops' Go stores type them (yaml.v3 decoding into
//! `interface{}`, `encoding/json` tokens), because unencrypted values enter
//! the MAC through their Go string form.
//!
//! `Value` deliberately has no `Debug`: it holds decrypted secrets.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::SopsError;

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 256;
/// Most nodes one YAML stream may expand to through aliases.
const MAX_NODES: usize = 1_000_000;

#[derive(Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits,
/// never an exponent. Rust's `Display` for `f64` has the same contract.
pub(crate) fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{f}")
    }
}

// ---------------------------------------------------------------- YAML input

/// Parses every document of a YAML stream (sops keeps one branch per document).
pub(crate) fn parse_yaml(bytes: &[u8]) -> Result<Vec<Value>, SopsError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| SopsError::Parse(format!("YAML is not valid UTF-8: {e}")))?;
    let mut b = YamlBuilder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            SopsError::Parse(format!(
                "invalid YAML at line {}, column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        b.event(event).map_err(|msg| {
            SopsError::Parse(format!(
                "invalid YAML at line {}, column {}: {msg}",
                span.start.line(),
                span.start.col() + 1
            ))
        })?;
    }
    Ok(b.docs)
}

enum Frame {
    Seq {
        anchor: usize,
        items: Vec<Value>,
    },
    Map {
        anchor: usize,
        entries: Vec<(String, Value)>,
        key: Option<String>,
    },
}

#[derive(Default)]
struct YamlBuilder {
    anchors: HashMap<usize, Value>,
    stack: Vec<Frame>,
    docs: Vec<Value>,
    root: Option<Value>,
    nodes: usize,
}

impl YamlBuilder {
    fn event(&mut self, ev: Event<'_>) -> Result<(), String> {
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Value::Null);
                self.docs.push(root);
            }
            Event::Alias(id) => {
                let target = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| "unknown alias".to_string())?;
                self.nodes += count_nodes(&target);
                self.finish(target)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let v = resolve_scalar(text, style, tag.as_deref());
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.nodes += 1;
                self.finish(v)?;
            }
            Event::SequenceStart(anchor, _) => self.push(Frame::Seq {
                anchor,
                items: Vec::new(),
            })?,
            Event::MappingStart(anchor, _) => self.push(Frame::Map {
                anchor,
                entries: Vec::new(),
                key: None,
            })?,
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, v) = match self.stack.pop() {
                    Some(Frame::Seq { anchor, items }) => (anchor, Value::Seq(items)),
                    Some(Frame::Map {
                        anchor, entries, ..
                    }) => (anchor, Value::Map(entries)),
                    None => return Err("unbalanced collection end".to_string()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.finish(v)?;
            }
        }
        if self.nodes > MAX_NODES {
            return Err(format!("document expands to more than {MAX_NODES} nodes"));
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.nodes += 1;
        self.stack.push(frame);
        Ok(())
    }

    fn finish(&mut self, v: Value) -> Result<(), String> {
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, v)),
                // sops only supports string keys ("Tree contains a non-string
                // key"); the message names the type, never the key itself.
                None => match v {
                    Value::Str(s) => *key = Some(s),
                    Value::Null => return Err("mapping key is null".to_string()),
                    Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                        return Err(
                            "mapping key is not a string (sops only supports string keys)"
                                .to_string(),
                        );
                    }
                    Value::Seq(_) | Value::Map(_) => {
                        return Err("mapping key is a collection".to_string());
                    }
                },
            },
        }
        Ok(())
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| count_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Types a scalar like yaml.v3 does when decoding into `interface{}`.
fn resolve_scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let text = text.into_owned();
    let explicit = tag.and_then(|t| {
        if t.handle == "tag:yaml.org,2002:" {
            Some(t.suffix.as_str())
        } else {
            None
        }
    });
    match explicit {
        Some("str") => return Value::Str(text),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") => return resolve_plain(text),
        _ => {}
    }
    // Any other tag (custom, `!`) and every quoted or block scalar is a string.
    if tag.is_some() || style != ScalarStyle::Plain {
        return Value::Str(text);
    }
    resolve_plain(text)
}

fn resolve_plain(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
        // Go's strconv.ParseInt(s, 0, 64) after yaml.v3 drops underscores.
        let plain = text.replace('_', "");
        if let Some(i) = parse_go_int(&plain) {
            return Value::Int(i);
        }
        if is_yaml_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return Value::Float(f);
        }
    }
    // Timestamps and everything else stay strings (yaml.v3 keeps
    // timestamp-looking scalars as strings for interface{} targets).
    Value::Str(text)
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then 0x/0o/0b prefixes
/// or a leading 0 for octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// yaml.v3's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && matches!(b[i], b'+' | b'-') {
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
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

// ---------------------------------------------------------------- YAML output

/// Writes documents as block YAML, keeping key order; documents are
/// separated by `---`.
pub(crate) fn emit_yaml(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        match doc {
            Value::Map(entries) if entries.is_empty() => out.push_str("{}\n"),
            Value::Seq(items) if items.is_empty() => out.push_str("[]\n"),
            Value::Map(_) | Value::Seq(_) => emit_block(doc, 0, &mut out),
            scalar => {
                out.push_str(&yaml_scalar(scalar));
                out.push('\n');
            }
        }
    }
    out
}

/// Emits a non-empty collection, every line indented by `indent`.
fn emit_block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Map(entries) => {
            for (k, val) in entries {
                let _ = write!(out, "{pad}{}:", yaml_string(k));
                emit_child(val, indent, out);
            }
        }
        Value::Seq(items) => {
            for item in items {
                match item {
                    Value::Map(e) if !e.is_empty() => emit_seq_item(item, indent, out),
                    Value::Seq(s) if !s.is_empty() => emit_seq_item(item, indent, out),
                    other => {
                        let _ = writeln!(out, "{pad}- {}", yaml_inline(other));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", yaml_inline(other));
        }
    }
}

/// A collection inside a sequence: its first line goes after `- `.
fn emit_seq_item(item: &Value, indent: usize, out: &mut String) {
    let mut inner = String::new();
    emit_block(item, indent + 2, &mut inner);
    let pad = " ".repeat(indent);
    let _ = write!(out, "{pad}- {}", &inner[indent + 2..]);
}

fn emit_child(val: &Value, indent: usize, out: &mut String) {
    match val {
        Value::Map(e) if !e.is_empty() => {
            out.push('\n');
            emit_block(val, indent + 2, out);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            emit_block(val, indent + 2, out);
        }
        other => {
            let _ = writeln!(out, " {}", yaml_inline(other));
        }
    }
}

fn yaml_inline(v: &Value) -> String {
    match v {
        Value::Map(_) => "{}".to_string(),
        Value::Seq(_) => "[]".to_string(),
        scalar => yaml_scalar(scalar),
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => yaml_float(*f),
        Value::Str(s) => yaml_string(s),
        Value::Seq(_) | Value::Map(_) => yaml_inline(v),
    }
}

fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else if f != 0.0 && (f.abs() >= 1e16 || f.abs() < 1e-5) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

/// A string as a YAML scalar: plain when that cannot be read back as
/// anything else (under YAML 1.1 or 1.2 rules), double-quoted otherwise.
fn yaml_string(s: &str) -> String {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ];
    let plain_ok = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-'))
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s));
    if plain_ok {
        return s.to_string();
    }
    // JSON string escapes are a subset of YAML double-quoted escapes.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.escape_default()))
}

// ---------------------------------------------------------------- JSON

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    // encoding/json tokens are float64 for every number, so sops treats
    // (and MACs) JSON integers as floats too.
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Float(i as f64))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Float(u as f64))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            // Go's encoding/json writes integral floats without a fraction.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => s.serialize_i64(*f as i64),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, SopsError> {
    // serde_json's error names a position and category only, never content.
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| SopsError::Parse(format!("invalid JSON: {e}")))?;
    if !matches!(v, Value::Map(_)) {
        return Err(SopsError::Parse(
            "sops JSON documents must have a top-level object".to_string(),
        ));
    }
    Ok(v)
}

pub(crate) fn emit_json(v: &Value) -> Result<Vec<u8>, SopsError> {
    let mut out = serde_json::to_vec_pretty(v)
        .map_err(|e| SopsError::Parse(format!("cannot write JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

// ---------------------------------------------------------------- dotenv

/// A dotenv file as sops reads it: `KEY=value` lines (a literal `\n` in a
/// value means a newline), `#` comments and blank lines skipped.
pub(crate) fn parse_dotenv(bytes: &[u8]) -> Result<Vec<(String, String)>, SopsError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| SopsError::Parse(format!("dotenv is not valid UTF-8: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(SopsError::Parse(format!(
                "invalid dotenv line {}: no '=' found",
                n + 1
            )));
        };
        out.push((k.to_string(), v.replace("\\n", "\n")));
    }
    Ok(out)
}

pub(crate) fn emit_dotenv(entries: &[(String, Value)]) -> Result<Vec<u8>, SopsError> {
    let mut out = String::new();
    for (k, v) in entries {
        let s = match v {
            Value::Str(s) => s.clone(),
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => go_format_float(*f),
            Value::Seq(_) | Value::Map(_) => {
                return Err(SopsError::Unsupported(format!(
                    "dotenv value of {k:?} is a collection"
                )));
            }
        };
        let _ = writeln!(out, "{k}={}", s.replace('\n', "\\n"));
    }
    Ok(out.into_bytes())
}

/// Rebuilds the nested metadata object from dotenv's flattened `sops_*`
/// keys (`age__list_0__map_enc` → `age[0].enc`), like sops' Unflatten.
pub(crate) fn unflatten(entries: &[(String, String)]) -> Value {
    let mut root = Value::Map(Vec::new());
    for (key, value) in entries {
        let tokens = tokenize_flat(key);
        insert_path(&mut root, &tokens, Value::Str(value.clone()));
    }
    root
}

enum FlatToken {
    Key(String),
    Index(usize),
}

fn tokenize_flat(path: &str) -> Vec<FlatToken> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut tokens = Vec::new();
    let mut rest = path;
    let mut kind_is_list = false;
    loop {
        let next_map = rest.find(MAP);
        let next_list = rest.find(LIST);
        let (cut, sep_len, next_is_list) = match (next_map, next_list) {
            (Some(m), Some(l)) if l < m => (l, LIST.len(), true),
            (Some(m), _) => (m, MAP.len(), false),
            (None, Some(l)) => (l, LIST.len(), true),
            (None, None) => (rest.len(), 0, false),
        };
        let piece = &rest[..cut];
        tokens.push(if kind_is_list {
            FlatToken::Index(piece.parse().unwrap_or(0))
        } else {
            FlatToken::Key(piece.to_string())
        });
        if sep_len == 0 {
            break;
        }
        rest = &rest[cut + sep_len..];
        kind_is_list = next_is_list;
    }
    tokens
}

fn insert_path(node: &mut Value, tokens: &[FlatToken], leaf: Value) {
    let Some((first, rest)) = tokens.split_first() else {
        *node = leaf;
        return;
    };
    let fresh = || match rest.first() {
        Some(FlatToken::Index(_)) => Value::Seq(Vec::new()),
        Some(FlatToken::Key(_)) => Value::Map(Vec::new()),
        None => Value::Null,
    };
    match first {
        FlatToken::Key(k) => {
            if !matches!(node, Value::Map(_)) {
                *node = Value::Map(Vec::new());
            }
            if let Value::Map(entries) = node {
                let idx = match entries.iter().position(|(ek, _)| ek == k) {
                    Some(i) => i,
                    None => {
                        entries.push((k.clone(), fresh()));
                        entries.len() - 1
                    }
                };
                insert_path(&mut entries[idx].1, rest, leaf);
            }
        }
        FlatToken::Index(i) => {
            if !matches!(node, Value::Seq(_)) {
                *node = Value::Seq(Vec::new());
            }
            if let Value::Seq(items) = node {
                // Bound growth: metadata lists are short; a huge index is junk.
                if *i > 10_000 {
                    return;
                }
                while items.len() <= *i {
                    items.push(fresh());
                }
                insert_path(&mut items[*i], rest, leaf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        parse_yaml(yaml.as_bytes())
            .expect("parse")
            .into_iter()
            .next()
            .expect("one doc")
    }

    #[test]
    fn yaml_scalars_are_typed_like_yaml_v3() {
        let v = doc(
            "a: 1\nb: 0x1F\nc: 1.50\nd: true\ne: yes\nf: ~\ng: '1'\nh: 2024-01-01\ni: .inf\nj: 1_000\n",
        );
        assert!(matches!(v.get("a"), Some(Value::Int(1))));
        assert!(matches!(v.get("b"), Some(Value::Int(31))));
        assert!(matches!(v.get("c"), Some(Value::Float(f)) if *f == 1.5));
        assert!(matches!(v.get("d"), Some(Value::Bool(true))));
        assert_eq!(v.get("e").and_then(Value::as_str), Some("yes"));
        assert!(matches!(v.get("f"), Some(Value::Null)));
        assert_eq!(v.get("g").and_then(Value::as_str), Some("1"));
        assert_eq!(v.get("h").and_then(Value::as_str), Some("2024-01-01"));
        assert!(matches!(v.get("i"), Some(Value::Float(f)) if f.is_infinite()));
        assert!(matches!(v.get("j"), Some(Value::Int(1000))));
    }

    #[test]
    fn yaml_round_trips_structure_and_order() {
        let src = "z: 1\na:\n  - x: \"yes\"\n    y: [1, 2]\n  - - nested\n  - ''\nm: {}\ns: []\nt: \"multi\\nline\"\nu: null\n";
        let v = doc(src);
        let out = emit_yaml(std::slice::from_ref(&v));
        let back = doc(&out);
        assert!(back == v, "round trip changed the document:\n{out}");
        assert!(out.starts_with("z: 1\na:\n"), "{out}");
    }

    #[test]
    fn yaml_aliases_are_expanded() {
        let v = doc("a: &x {k: v}\nb: *x\n");
        assert!(v.get("a") == v.get("b"));
    }

    #[test]
    fn go_float_format() {
        assert_eq!(go_format_float(42.0), "42");
        assert_eq!(go_format_float(1.5), "1.5");
        assert_eq!(go_format_float(0.1), "0.1");
        assert_eq!(go_format_float(1e21), "1000000000000000000000");
    }

    #[test]
    fn dotenv_metadata_unflattens() {
        let md = unflatten(&[
            ("age__list_0__map_recipient".into(), "r0".into()),
            ("age__list_1__map_enc".into(), "e1".into()),
            ("mac".into(), "m".into()),
        ]);
        let Some(Value::Seq(age)) = md.get("age") else {
            panic!("age list");
        };
        assert_eq!(age.len(), 2);
        assert_eq!(age[1].get("enc").and_then(Value::as_str), Some("e1"));
        assert_eq!(md.get("mac").and_then(Value::as_str), Some("m"));
    }
}
