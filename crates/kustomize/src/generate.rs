//! configMapGenerator / secretGenerator and the content hash in their names.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::kustomization::{GeneratorArgs, GeneratorOptions};
use crate::loader::Loader;
use crate::resource::{Behavior, Resource};
use crate::yaml::{Mapping, Node, Scalar, ScalarStyle, Tag};

/// Merges kustomization-wide generator options into an entry's options.
pub fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> Option<GeneratorOptions> {
    let Some(global) = global else {
        return local.cloned();
    };
    let mut out = local.cloned().unwrap_or_default();
    for (k, v) in &global.labels {
        out.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &global.annotations {
        out.annotations
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    out.disable_name_suffix_hash |= global.disable_name_suffix_hash;
    out.immutable |= global.immutable;
    Some(out)
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return s;
    }
    if b[0] == b'"' || b[0] == b'\'' {
        return &s[1..s.len() - 1];
    }
    s
}

fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            ".".into()
        } else {
            "/".into()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Key/value pairs from envs, literals and files, in that order.
fn load_pairs(ldr: &Loader, args: &GeneratorArgs) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for env in &args.envs {
        let content = ldr
            .load(env)
            .map_err(|e| e.context(format!("env source files: [{env}]")))?;
        let text = String::from_utf8_lossy(&content).into_owned();
        for (i, raw) in text.split('\n').enumerate() {
            let mut line = raw.strip_suffix('\r').unwrap_or(raw);
            if i == 0 {
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k, v),
                None => (line, ""),
            };
            out.push((key.to_string(), value.as_bytes().to_vec()));
        }
    }
    for lit in &args.literals {
        if lit.starts_with('=') {
            return Err(Error::new(format!(
                "literal sources [{lit}]: invalid literal source {lit}, expected key=value"
            )));
        }
        let Some((k, v)) = lit.split_once('=') else {
            return Err(Error::new(format!(
                "literal sources [{lit}]: invalid literal source {lit}, expected key=value"
            )));
        };
        out.push((k.to_string(), remove_quotes(v).as_bytes().to_vec()));
    }
    for src in &args.files {
        let seps = src.matches('=').count();
        let (key, path) = match seps {
            0 => (base_name(src), src.as_str()),
            1 if src.starts_with('=') => {
                return Err(Error::new(format!(
                    "file sources: [{src}]: missing key name for file path {:?} in source {src:?}",
                    &src[1..]
                )));
            }
            1 if src.ends_with('=') => {
                return Err(Error::new(format!(
                    "file sources: [{src}]: missing file path for key name {:?} in source {src:?}",
                    &src[..src.len() - 1]
                )));
            }
            1 => {
                let (k, p) = src.split_once('=').unwrap_or((src, src));
                (k.to_string(), p)
            }
            _ => {
                return Err(Error::new(format!(
                    "file sources: [{src}]: source {src:?} key name or file path contains '='"
                )));
            }
        };
        let content = ldr
            .load(path)
            .map_err(|e| e.context(format!("file sources: [{src}]")))?;
        out.push((key, content));
    }
    Ok(out)
}

/// Base64 as kustomize writes it: lines of 70 characters, each ending in a
/// newline once the encoding reaches 70 characters.
pub fn encode_base64(data: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn str_node(value: String) -> Node {
    let style = if value.contains('\n') {
        ScalarStyle::Literal
    } else {
        ScalarStyle::Plain
    };
    Node::Scalar(Scalar {
        value,
        tag: Tag::Str,
        style,
    })
}

/// Builds the ConfigMap or Secret an entry describes.
pub fn generate(
    ldr: &Loader,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    secret: bool,
) -> Result<Resource> {
    let what = if secret {
        "secretGenerator"
    } else {
        "configMapGenerator"
    };
    let ctx = || format!("{what} '{}'", args.name);
    let options = merge_options(args.options.as_ref(), global);
    let kind = if secret { "Secret" } else { "ConfigMap" };
    let mut root = Mapping::new();
    root.insert("apiVersion", Node::string("v1"));
    root.insert("kind", Node::string(kind));
    if args.name.is_empty() {
        return Err(Error::new("a configmap must have a name").context(ctx()));
    }
    let mut md = Mapping::new();
    md.insert("name", Node::string(args.name.clone()));
    if !args.namespace.is_empty() {
        md.insert("namespace", Node::string(args.namespace.clone()));
    }
    root.insert("metadata", Node::Map(md));
    if secret {
        let t = if args.secret_type.is_empty() {
            "Opaque"
        } else {
            &args.secret_type
        };
        root.insert("type", Node::string(t));
    }
    let pairs = load_pairs(ldr, args).map_err(|e| e.context("loading KV pairs").context(ctx()))?;
    let mut known: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in pairs {
        if known.contains_key(&k) {
            return Err(Error::new(format!(
                "configmap {} illegally repeats the key `{k}`",
                args.name
            ))
            .context(ctx()));
        }
        known.insert(k, v);
    }
    if secret {
        let mut data = Mapping::new();
        for (k, v) in &known {
            data.insert(k.clone(), str_node(encode_base64(v)));
        }
        root.insert("data", Node::Map(data));
    } else {
        let mut data = Mapping::new();
        let mut binary = Mapping::new();
        for (k, v) in known {
            match String::from_utf8(v) {
                Ok(s) => {
                    data.insert(k, str_node(s));
                }
                Err(e) => {
                    binary.insert(k, str_node(encode_base64(e.as_bytes())));
                }
            }
        }
        if !data.is_empty() {
            root.insert("data", Node::Map(data));
        }
        if !binary.is_empty() {
            root.insert("binaryData", Node::Map(binary));
        }
    }
    let mut node = Node::Map(root);
    if let Some(o) = &options {
        for (k, v) in &o.labels {
            node.set_path(&["metadata", "labels", k], Node::string(v.clone()));
        }
        for (k, v) in &o.annotations {
            node.set_path(&["metadata", "annotations", k], Node::string(v.clone()));
        }
        if o.immutable {
            node.set_path(&["immutable"], Node::bool(true));
        }
    }
    let mut r = Resource::new(node);
    r.needs_hash = !options.as_ref().is_some_and(|o| o.disable_name_suffix_hash);
    // Unknown behaviors act as "create" (kustomize treats them as unspecified).
    r.behavior = Some(Behavior::parse(&args.behavior).unwrap_or(Behavior::Create));
    Ok(r)
}

/// Go's JSON string encoding (HTML-safe escapes, U+2028/2029 escaped).
fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `json.Marshal` of a decoded value (map keys sorted bytewise).
pub fn go_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&crate::yaml::emit::go_json_number(
                    n.as_f64().unwrap_or(0.0),
                ));
            } else {
                out.push_str(&n.to_string());
            }
        }
        serde_json::Value::String(s) => go_json_string(s, out),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(it, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&m[*k], out);
            }
            out.push('}');
        }
    }
}

fn field_value(node: &Node, field: &str) -> Result<serde_json::Value> {
    match node.get(field) {
        None => Ok(serde_json::Value::String(String::new())),
        Some(Node::Scalar(s)) => Ok(serde_json::Value::String(s.value.clone())),
        Some(n @ Node::Map(_)) => crate::yaml::to_json(n).map_err(Error::new),
        Some(Node::Seq(_)) => Ok(serde_json::Value::Null),
    }
}

/// Appends the content hash to the name of every resource that asks for one
/// (generated resources without `disableNameSuffixHash`), keeping the old
/// name as a previous id.
pub fn append_name_hashes(rm: &mut crate::resmap::ResMap) -> Result<()> {
    for r in rm.resources_mut() {
        if r.needs_hash {
            let h = content_hash(&r.node)?;
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    Ok(())
}

/// The 10-character name suffix kustomize derives from a generated
/// resource's content.
pub fn content_hash(node: &Node) -> Result<String> {
    let kind = node.get_str(&["kind"]).unwrap_or("");
    let mut m = serde_json::Map::new();
    // The name never contributes (kustomize looks it up under a key that
    // does not exist), so it is always empty.
    m.insert("name".into(), serde_json::Value::String(String::new()));
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), "ConfigMap".into());
            m.insert("data".into(), field_value(node, "data")?);
            let bd = field_value(node, "binaryData")?;
            if bd.is_object() {
                m.insert("binaryData".into(), bd);
            }
        }
        "Secret" => {
            m.insert("kind".into(), "Secret".into());
            m.insert("type".into(), field_value(node, "type")?);
            m.insert("data".into(), field_value(node, "data")?);
            let sd = field_value(node, "stringData")?;
            if sd.is_object() {
                m.insert("stringData".into(), sd);
            }
        }
        other => {
            return Err(Error::new(format!(
                "cannot compute a name hash for kind {other:?}"
            )));
        }
    }
    let mut encoded = String::new();
    go_json(&serde_json::Value::Object(m), &mut encoded);
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_wrapping() {
        assert_eq!(encode_base64(b"abc"), "YWJj");
        let long = encode_base64(&[b'x'; 60]);
        assert!(long.ends_with('\n'));
        assert_eq!(long.lines().next().map(str::len), Some(70));
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        go_json(&serde_json::json!({"b": "<&>", "a": 1}), &mut s);
        assert_eq!(s, "{\"a\":1,\"b\":\"\\u003c\\u0026\\u003e\"}");
    }
}
