//! Strict decoding of configuration documents into typed values, with the
//! typing kustomize applies to its own configuration: YAML 1.1 scalars
//! (`yes`/`on` are booleans) and JSON-style strictness (a number is not a
//! string, unknown fields are errors, field names match case-insensitively).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::yaml::{Mapping, Node, ScalarStyle, Tag};

/// How a scalar is typed under YAML 1.1 rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Kind {
    Null,
    Bool(bool),
    Number,
    Str,
}

/// Types a scalar as go-yaml v2 would (plain scalars re-resolved).
pub fn v1_kind(node: &Node) -> Option<V1Kind> {
    let s = node.as_scalar()?;
    if s.style != ScalarStyle::Plain {
        return Some(match s.tag {
            Tag::Null => V1Kind::Null,
            Tag::Bool => V1Kind::Bool(s.value == "true"),
            Tag::Int | Tag::Float => V1Kind::Number,
            _ => V1Kind::Str,
        });
    }
    match s.tag {
        Tag::Str | Tag::Timestamp | Tag::Other(_) | Tag::Binary | Tag::Merge => {}
        Tag::Null => return Some(V1Kind::Null),
        Tag::Bool => {
            return Some(V1Kind::Bool(matches!(
                s.value.as_str(),
                "true" | "True" | "TRUE"
            )));
        }
        Tag::Int | Tag::Float => return Some(V1Kind::Number),
    }
    Some(match s.value.as_str() {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => V1Kind::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => V1Kind::Bool(false),
        _ if s.tag == Tag::Timestamp => V1Kind::Str,
        _ => V1Kind::Str,
    })
}

fn type_name(node: &Node) -> &'static str {
    match node {
        Node::Seq(_) => "array",
        Node::Map(_) => "object",
        Node::Scalar(_) => match v1_kind(node) {
            Some(V1Kind::Bool(_)) => "bool",
            Some(V1Kind::Number) => "number",
            Some(V1Kind::Null) => "null",
            _ => "string",
        },
    }
}

fn mismatch(node: &Node, field: &str, want: &str) -> Error {
    Error::new(format!(
        "json: cannot unmarshal {} into Go struct field {field} of type {want}",
        type_name(node)
    ))
}

/// A string field: null gives `""`, numbers and booleans are errors.
pub fn string(node: &Node, field: &str) -> Result<String> {
    match v1_kind(node) {
        Some(V1Kind::Null) => Ok(String::new()),
        Some(V1Kind::Str) => Ok(node
            .as_scalar()
            .map(|s| s.value.clone())
            .unwrap_or_default()),
        _ => Err(mismatch(node, field, "string")),
    }
}

pub fn opt_string(node: Option<&Node>, field: &str) -> Result<String> {
    node.map_or(Ok(String::new()), |n| string(n, field))
}

pub fn boolean(node: &Node, field: &str) -> Result<bool> {
    match v1_kind(node) {
        Some(V1Kind::Null) => Ok(false),
        Some(V1Kind::Bool(b)) => Ok(b),
        _ => Err(mismatch(node, field, "bool")),
    }
}

pub fn opt_bool(node: Option<&Node>, field: &str) -> Result<bool> {
    node.map_or(Ok(false), |n| boolean(n, field))
}

/// An integer field (floats with a fraction and strings are errors).
pub fn int(node: &Node, field: &str) -> Result<i64> {
    match v1_kind(node) {
        Some(V1Kind::Null) => Ok(0),
        Some(V1Kind::Number) => {
            let text = node.as_scalar().map(|s| s.value.as_str()).unwrap_or("");
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            if let Some(i) = crate::yaml::resolve::go_parse_int_pub(&plain) {
                return Ok(i);
            }
            match plain.parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
                _ => Err(mismatch(node, field, "int64")),
            }
        }
        _ => Err(mismatch(node, field, "int64")),
    }
}

pub fn opt_int(node: Option<&Node>, field: &str) -> Result<i64> {
    node.map_or(Ok(0), |n| int(n, field))
}

/// A list of strings.
pub fn strings(node: &Node, field: &str) -> Result<Vec<String>> {
    match node {
        Node::Seq(items) => items.iter().map(|i| string(i, field)).collect(),
        n if n.is_null() => Ok(Vec::new()),
        n => Err(mismatch(n, field, "[]string")),
    }
}

pub fn opt_strings(node: Option<&Node>, field: &str) -> Result<Vec<String>> {
    node.map_or(Ok(Vec::new()), |n| strings(n, field))
}

/// A map of strings (keys sorted, as Go maps iterate in no given order and
/// kustomize always sorts before use).
pub fn string_map(node: &Node, field: &str) -> Result<BTreeMap<String, String>> {
    match node {
        Node::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), string(v, field)?);
            }
            Ok(out)
        }
        n if n.is_null() => Ok(BTreeMap::new()),
        n => Err(mismatch(n, field, "map[string]string")),
    }
}

pub fn opt_string_map(node: Option<&Node>, field: &str) -> Result<BTreeMap<String, String>> {
    node.map_or(Ok(BTreeMap::new()), |n| string_map(n, field))
}

/// A list of objects.
pub fn list<'a>(node: Option<&'a Node>, field: &str) -> Result<Vec<&'a Node>> {
    match node {
        None => Ok(Vec::new()),
        Some(Node::Seq(items)) => Ok(items.iter().collect()),
        Some(n) if n.is_null() => Ok(Vec::new()),
        Some(n) => Err(mismatch(n, field, "array")),
    }
}

/// The fields of an object, checked against the known names. Matching is
/// exact first, then case-insensitive (as Go's JSON decoding does).
pub struct Fields<'a> {
    found: Vec<(&'static str, &'a Node)>,
}

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Node> {
        self.found
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

thread_local! {
    static LENIENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with unknown fields ignored instead of rejected (how kustomize
/// reads plugin configurations and replacement files).
pub fn lenient<T>(f: impl FnOnce() -> T) -> T {
    let before = LENIENT.with(|l| l.replace(true));
    let out = f();
    LENIENT.with(|l| l.set(before));
    out
}

/// Reads an object with the given known field names; unknown fields fail
/// (unless inside [`lenient`]).
pub fn object<'a>(node: &'a Node, type_name: &str, known: &[&'static str]) -> Result<Fields<'a>> {
    let m: &Mapping = match node {
        Node::Map(m) => m,
        n if n.is_null() => {
            return Ok(Fields { found: Vec::new() });
        }
        n => {
            return Err(Error::new(format!(
                "json: cannot unmarshal {} into Go value of type {type_name}",
                self::type_name(n)
            )));
        }
    };
    let mut found = Vec::new();
    for (k, v) in m.iter() {
        let name = known
            .iter()
            .find(|n| **n == k.as_str())
            .or_else(|| known.iter().find(|n| n.eq_ignore_ascii_case(k)));
        match name {
            Some(n) => found.push((*n, v)),
            None if LENIENT.with(|l| l.get()) => {}
            None => {
                return Err(Error::new(format!("json: unknown field \"{k}\"")));
            }
        }
    }
    Ok(Fields { found })
}
