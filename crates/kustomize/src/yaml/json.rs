//! Conversions between [`Node`] trees and JSON values, matching how kustomize
//! marshals a resource to JSON and reads JSON back into a node.

use serde_json::{Map, Number, Value};

use super::node::{Mapping, Node, Scalar, ScalarStyle, Tag};
use super::resolve::{Decoded, decode};

/// Converts a tree to JSON. Fails on values JSON cannot hold (NaN, infinities)
/// and on scalars whose text does not fit their explicit tag.
pub fn to_json(node: &Node) -> Result<Value, String> {
    to_json_at(node, 0)
}

fn to_json_at(node: &Node, depth: usize) -> Result<Value, String> {
    check_nested_map_keys(node, depth)?;
    Ok(match node {
        Node::Scalar(s) => match decode(s)? {
            Decoded::Null => Value::Null,
            Decoded::Bool(b) => Value::Bool(b),
            Decoded::Int(i) => Value::Number(i.into()),
            Decoded::Uint(u) => Value::Number(u.into()),
            Decoded::Float(f) => Value::Number(
                Number::from_f64(f)
                    .ok_or_else(|| format!("json: unsupported value: {}", go_format_g(f)))?,
            ),
            Decoded::Str(s) => Value::String(s),
        },
        Node::Seq(items) => Value::Array(
            items
                .iter()
                .map(|i| to_json_at(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Node::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), to_json_at(v, depth + 1)?);
            }
            Value::Object(out)
        }
    })
}

/// Go's `json.Marshal` refuses a nested mapping with a non-string key (go-yaml
/// decodes one as `map[interface{}]interface{}`); the top level is exempt.
pub(super) fn check_nested_map_keys(node: &Node, depth: usize) -> Result<(), String> {
    if let Node::Map(m) = node
        && depth > 0
        && m.has_non_string_keys()
    {
        return Err("json: unsupported type: map[interface {}]interface {}".to_string());
    }
    Ok(())
}

/// Converts JSON to a tree. Numbers become `f64` first and are written as Go
/// writes a float64 (`5`, `1.5`, `1e+21`), then typed as a plain scalar.
pub fn from_json(value: &Value) -> Node {
    match value {
        Value::Null => Node::null(),
        Value::Bool(b) => Node::bool(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            let text = go_format_g(f);
            let tag = super::resolve::resolve_plain(&text);
            Node::Scalar(Scalar {
                value: text,
                tag,
                style: ScalarStyle::Plain,
            })
        }
        Value::String(s) => Node::Scalar(Scalar {
            value: s.clone(),
            tag: Tag::Str,
            style: ScalarStyle::Plain,
        }),
        Value::Array(items) => Node::Seq(items.iter().map(from_json).collect()),
        Value::Object(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                out.insert(k.clone(), from_json(v));
            }
            Node::Map(out)
        }
    }
}

/// Shortest decimal digits and decimal-point position of a finite float:
/// `f = 0.d1d2d3... * 10^dp`.
fn shortest_digits(f: f64) -> (String, i32) {
    // `{:e}` prints the shortest round-trip representation, e.g. `1.2345e8`.
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    (digits.to_string(), exp + 1)
}

fn fmt_e(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

fn fmt_f(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(digits);
            for _ in digits.len()..dp {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (YAML spellings for NaN/Inf).
pub(crate) fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let neg = f.is_sign_negative();
    if f == 0.0 {
        return if neg { "-0" } else { "0" }.to_string();
    }
    let (digits, dp) = shortest_digits(f);
    // Shortest formatting uses the exponent form below 1e-4 and from 1e6 on.
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        return fmt_e(neg, &digits, dp);
    }
    fmt_f(neg, &digits, dp)
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn go_format_f(f: f64) -> String {
    if !f.is_finite() {
        return go_format_g(f);
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, dp) = shortest_digits(f);
    fmt_f(f.is_sign_negative(), &digits, dp)
}

/// Go's `json.Marshal` text of a float64 (`'f'` form unless the magnitude is
/// below 1e-6 or at least 1e21, exponent without leading zero).
pub(crate) fn go_json_float(f: f64) -> String {
    let neg = f.is_sign_negative() && f != 0.0;
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, dp) = shortest_digits(f);
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        let s = fmt_e(neg, &digits, dp);
        // e-07 -> e-7
        if let Some(i) = s.find("e-0") {
            return format!("{}e-{}", &s[..i], &s[i + 3..]);
        }
        return s;
    }
    fmt_f(neg, &digits, dp)
}
