//! JSON patch (RFC 6902) as kustomize applies it.
//!
//! Kustomize converts the resource to JSON, applies the operations with
//! `gopkg.in/evanphx/json-patch.v4` and reads the JSON back, so the result
//! carries JSON's types (every number goes through `f64`, see
//! [`crate::yaml::from_json`]). The library's behaviour is reproduced,
//! including its departures from the RFC:
//! * negative array indices count from the end (`-1` is the last element;
//!   for `add`, `-1` appends);
//! * `replace` of a missing object member adds it;
//! * `test` of a missing member passes when the expected value is `null`;
//! * a path is split on `/` and its first segment ignored, so `a/b` means `/b`;
//! * a `replace` of the whole document (path `""`) with a scalar is a no-op.
//!
//! Pointer segments are unescaped (`~1` → `/`, then `~0` → `~`).
//! [`json6902_ops_from_text`] decodes patch text the way kustomize does: JSON
//! when it starts with `[`, otherwise YAML read with YAML 1.1 rules
//! (`yes`/`on` are booleans, `0755` is an octal integer).

use serde_json::{Map, Number, Value};

use crate::yaml::{Limits, Node, ScalarStyle, Tag, from_json, parse_documents, to_json};

use super::PatchError;

/// Applies JSON 6902 operations (a JSON array; `null` means none) to a resource.
pub fn json6902(target: &mut Node, ops: &Value) -> Result<(), PatchError> {
    let ops: Vec<Option<&Map<String, Value>>> = match ops {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                Value::Object(m) => Ok(Some(m)),
                Value::Null => Ok(None),
                other => Err(PatchError::Json6902Decode(format!(
                    "operation {} is {}, not an object",
                    i + 1,
                    type_name(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(PatchError::Json6902Decode(format!(
                "expected an array of operations, found {}",
                type_name(other)
            )));
        }
    };
    let mut doc = to_json(target).map_err(|m| {
        PatchError::Json6902Decode(format!("cannot convert the resource to JSON: {m}"))
    })?;
    for (index, op) in ops.into_iter().enumerate() {
        let empty = Map::new();
        let op = op.unwrap_or(&empty);
        let kind = match op.get("op") {
            Some(Value::String(s)) => s.as_str(),
            _ => "unknown",
        };
        apply_op(&mut doc, kind, op).map_err(|message| PatchError::Json6902 {
            index,
            op: kind.to_owned(),
            path: match op.get("path") {
                Some(Value::String(p)) => p.clone(),
                _ => String::new(),
            },
            message,
        })?;
    }
    match doc {
        Value::Object(_) => {
            *target = from_json(&doc);
            Ok(())
        }
        other => Err(PatchError::Json6902Decode(format!(
            "the patched document is {}, not an object",
            type_name(&other)
        ))),
    }
}

/// Decodes JSON 6902 patch text as kustomize does: JSON when the text starts
/// with `[`, otherwise the first YAML document, read with YAML 1.1 scalars.
pub fn json6902_ops_from_text(text: &str) -> Result<Value, PatchError> {
    if text.starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| PatchError::Json6902Decode(format!("invalid JSON patch: {e}")));
    }
    let docs = parse_documents(text, &Limits::default())
        .map_err(|e| PatchError::Json6902Decode(format!("invalid YAML patch: {e}")))?;
    match docs.into_iter().next() {
        None => Ok(Value::Null),
        Some(doc) => yaml11_to_json(&doc.root),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A YAML tree to JSON the way `sigs.k8s.io/yaml.YAMLToJSON` (go-yaml v2,
/// YAML 1.1) converts it.
fn yaml11_to_json(node: &Node) -> Result<Value, PatchError> {
    Ok(match node {
        Node::Seq(items) => {
            Value::Array(items.iter().map(yaml11_to_json).collect::<Result<_, _>>()?)
        }
        Node::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), yaml11_to_json(v)?);
            }
            Value::Object(out)
        }
        Node::Scalar(s) => {
            let explicit_string = s.tag == Tag::Str && s.style != ScalarStyle::Plain;
            if explicit_string || matches!(s.tag, Tag::Binary | Tag::Merge | Tag::Other(_)) {
                Value::String(s.value.clone())
            } else {
                resolve_yaml11(&s.value)?
            }
        }
    })
}

/// go-yaml v2's resolution of a plain scalar, as a JSON value.
fn resolve_yaml11(s: &str) -> Result<Value, PatchError> {
    use crate::yaml::resolve::{
        go_parse_float, go_parse_int, go_parse_uint, is_yaml_style_float, looks_like_timestamp,
    };
    let unsupported = |v: &str| PatchError::Json6902Decode(format!("json: unsupported value: {v}"));
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false));
        }
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        ".nan" | ".NaN" | ".NAN" => return Err(unsupported("NaN")),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Err(unsupported("+Inf")),
        "-.inf" | "-.Inf" | "-.INF" => return Err(unsupported("-Inf")),
        _ => {}
    }
    let float = |f: f64| {
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| unsupported(&f.to_string()))
    };
    match s.as_bytes()[0] {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if looks_like_timestamp(s) {
                return Ok(Value::String(s.to_owned()));
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Ok(Value::Number(i.into()));
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Ok(Value::Number(u.into()));
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return float(f);
            }
        }
        _ => {}
    }
    Ok(Value::String(s.to_owned()))
}

fn pointer_segment(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// Go's `strconv.Atoi`.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// Resolves everything but the last segment of a path to a container (an
/// object or an array); `None` when a step is missing, null or a scalar.
fn find_container<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let key = pointer_segment(split[split.len() - 1]);
    let mut cur = doc;
    for part in &split[1..split.len() - 1] {
        let part = pointer_segment(part);
        cur = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let idx = array_index(&part, a.len()).ok()?;
                a.get_mut(idx)?
            }
            _ => return None,
        };
        if !(cur.is_object() || cur.is_array()) {
            return None;
        }
    }
    Some((cur, key))
}

/// An existing-element index (negative counts from the end).
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    resolve_index(atoi(key)?, len)
}

/// Checks `idx` against an array of `len` elements, a negative index counting
/// from the end.
fn resolve_index(idx: i64, len: usize) -> Result<usize, String> {
    let len_i = i64::try_from(len).map_err(|e| e.to_string())?;
    let adjusted = if idx < 0 {
        if idx < -len_i {
            return Err(invalid_index(idx));
        }
        idx + len_i
    } else {
        idx
    };
    if adjusted >= len_i {
        return Err(invalid_index(idx));
    }
    usize::try_from(adjusted).map_err(|e| e.to_string())
}

/// The member or element at `key`; `None` for a missing member or a null.
fn get<'a>(con: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    Ok(match con {
        Value::Object(m) => m.get(key).filter(|v| !v.is_null()),
        Value::Array(a) => Some(&a[array_index(key, a.len())?]).filter(|v| !v.is_null()),
        _ => None,
    })
}

fn add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let idx = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            // One past the last element appends.
            let i = resolve_index(idx, a.len() + 1)?;
            a.insert(i, val);
        }
        _ => return Err("not a container".into()),
    }
    Ok(())
}

fn remove(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Object(m) => m
            .remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: missing value")),
        Value::Array(a) => Ok(a.remove(array_index(key, a.len())?)),
        _ => Err("not a container".into()),
    }
}

fn string_field<'a>(op: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match op.get(name) {
        None | Some(Value::Null) => Err(format!("operation missing {name} field: missing value")),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type string",
            type_name(other)
        )),
    }
}

fn missing(op: &str, what: &str, path: &str) -> String {
    format!("{op} operation does not apply: doc is missing {what}: \"{path}\": missing value")
}

fn apply_op(doc: &mut Value, kind: &str, op: &Map<String, Value>) -> Result<(), String> {
    let value = op.get("value");
    match kind {
        "add" => {
            let path = string_field(op, "path")?;
            let (con, key) =
                find_container(doc, path).ok_or_else(|| missing("add", "path", path))?;
            add(con, &key, value.cloned().unwrap_or(Value::Null))
                .map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path = string_field(op, "path")?;
            let (con, key) =
                find_container(doc, path).ok_or_else(|| missing("remove", "path", path))?;
            remove(con, &key)
                .map(|_| ())
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "replace" => {
            let path = string_field(op, "path")?;
            if path.is_empty() {
                match value {
                    Some(v @ (Value::Object(_) | Value::Array(_))) => *doc = v.clone(),
                    Some(_) => {}
                    None => return Err("replace operation has no value".into()),
                }
                return Ok(());
            }
            let (con, key) =
                find_container(doc, path).ok_or_else(|| missing("replace", "path", path))?;
            let val = value.cloned().unwrap_or(Value::Null);
            match con {
                Value::Object(m) => {
                    m.insert(key, val);
                }
                Value::Array(a) => {
                    let i = array_index(&key, a.len()).map_err(|e| {
                        format!("replace operation does not apply: doc is missing key: {path}: {e}")
                    })?;
                    a[i] = val;
                }
                _ => return Err(missing("replace", "path", path)),
            }
            Ok(())
        }
        "move" => {
            let from = string_field(op, "from")?;
            let (con, key) =
                find_container(doc, from).ok_or_else(|| missing("move", "from path", from))?;
            let val = get(con, &key)
                .map_err(|e| format!("error in move for path: '{key}': {e}"))?
                .cloned();
            remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let path = string_field(op, "path")?;
            let (con, key) = find_container(doc, path)
                .ok_or_else(|| missing("move", "destination path", path))?;
            add(con, &key, val.unwrap_or(Value::Null))
                .map_err(|e| format!("error in move for path: '{path}': {e}"))
        }
        "copy" => {
            let from = string_field(op, "from")?;
            let (con, key) =
                find_container(doc, from).ok_or_else(|| missing("copy", "from path", from))?;
            let val = get(con, &key)
                .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                .cloned();
            let path = string_field(op, "path")?;
            let (con, key) = find_container(doc, path)
                .ok_or_else(|| missing("copy", "destination path", path))?;
            add(con, &key, val.unwrap_or(Value::Null))
                .map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => {
            let path = string_field(op, "path")?;
            let failed = || format!("testing value {path} failed: test failed");
            if path.is_empty() {
                let expected = value.ok_or_else(failed)?;
                return if go_equal(doc, expected) {
                    Ok(())
                } else {
                    Err(failed())
                };
            }
            let (con, key) = find_container(doc, path).ok_or_else(|| {
                format!("test operation does not apply: is missing path: {path}: missing value")
            })?;
            let actual =
                get(con, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
            match (actual, value) {
                (None, Some(Value::Null)) => Ok(()),
                (Some(a), Some(e)) if go_equal(a, e) => Ok(()),
                _ => Err(failed()),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

/// json-patch's structural equality: objects by members (nulls equal),
/// arrays element-wise, numbers by value.
fn go_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| go_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| go_equal(v, w)))
        }
        _ => false,
    }
}
