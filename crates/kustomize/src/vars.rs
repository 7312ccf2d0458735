//! Legacy `vars:`: `$(NAME)` references in the var-reference fields are
//! replaced by a field of a named resource.

use crate::error::{Error, Result};
use crate::fieldspec::{CreateKind, apply};
use crate::kustomization::{FieldSpec, Var};
use crate::resmap::ResMap;
use crate::yaml::{Node, Scalar, ScalarStyle, Tag};

/// Attaches a kustomization's vars to the resources they name and adds them
/// to the set (names must be unique).
pub fn merge_vars(rm: &mut ResMap, set: &mut Vec<Var>, incoming: &[Var]) -> Result<()> {
    for v in incoming {
        let target = &v.obj_ref;
        let strict = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
        let idx = rm.by_any_id(|id| {
            if strict {
                id.equals(target)
            } else {
                id.gvkn_equals(target)
            }
        });
        if idx.len() > 1 {
            return Err(Error::new(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                idx.len(),
                v.name
            )));
        }
        if let Some(&i) = idx.first() {
            rm.get_mut(i).ref_var_names.push(v.name.clone());
        }
    }
    for v in incoming {
        if set.iter().any(|x| x.name == v.name) {
            return Err(Error::new(format!("var '{}' already encountered", v.name)));
        }
        set.push(v.clone());
    }
    Ok(())
}

/// A var's value, typed as kustomize reads it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A mapping or list: not substituted.
    Structured,
}

impl Value {
    /// `%v` formatting, for values embedded in a longer string.
    fn embedded(&self, name: &str) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => crate::yaml::json_go_format_g(*f),
            Value::Bool(b) => b.to_string(),
            Value::Structured => format!("$({name})"),
        }
    }
}

fn split_path(field_path: &str) -> Vec<String> {
    let mut path = Vec::new();
    for p in crate::replacement::split_field_path(field_path) {
        // `name[0]` addresses an element of the list `name`.
        if p.ends_with(']')
            && let Some(open) = p.rfind('[')
            && !p[open + 1..p.len() - 1].is_empty()
            && p[open + 1..p.len() - 1].bytes().all(|c| c.is_ascii_digit())
        {
            if open > 0 {
                path.push(p[..open].to_string());
            }
            path.push(p[open + 1..p.len() - 1].to_string());
            continue;
        }
        path.push(p);
    }
    path
}

fn lookup<'a>(node: &'a Node, path: &[String]) -> Option<&'a Node> {
    let mut cur = node;
    for p in path {
        if p.starts_with('[') && p.ends_with(']') {
            let inner = &p[1..p.len() - 1];
            let (k, v) = inner.split_once('=')?;
            cur = cur.as_seq()?.iter().find(|it| {
                if k.is_empty() {
                    it.as_str() == Some(v)
                } else {
                    it.get(k).and_then(Node::as_str) == Some(v)
                }
            })?;
        } else if let Node::Seq(items) = cur {
            cur = items.get(p.parse::<usize>().ok()?)?;
        } else {
            cur = cur.get(p)?;
        }
    }
    Some(cur)
}

fn field_value(node: &Node, field_path: &str) -> Option<Value> {
    let n = lookup(node, &split_path(field_path))?;
    let s = match n {
        Node::Map(_) | Node::Seq(_) => return Some(Value::Structured),
        Node::Scalar(s) => s,
    };
    match s.tag {
        Tag::Int => {
            let t = s.value.strip_prefix('+').unwrap_or(&s.value);
            if t.is_empty()
                || !t
                    .trim_start_matches('-')
                    .bytes()
                    .all(|c| c.is_ascii_digit())
            {
                return None;
            }
            t.parse().ok().map(Value::Int)
        }
        Tag::Float => crate::yaml::resolve::go_parse_float_pub(&s.value).map(Value::Float),
        Tag::Bool => match s.value.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(Value::Bool(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => Some(Value::Str(s.value.clone())),
    }
}

enum Replaced {
    Whole(Value),
    Text(String),
}

/// Expands `$(VAR)` references; `$$` is a literal `$`.
fn expand(input: &str, vars: &[(String, Value)], used: &mut Vec<String>) -> Replaced {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let (read, is_var, advance): (String, bool, usize) = match rest.as_bytes()[0] {
                b'$' => ("$".to_string(), false, 1),
                b'(' => match rest[1..].find(')') {
                    Some(i) => (rest[1..1 + i].to_string(), true, i + 2),
                    None => ("$(".to_string(), false, 1),
                },
                _ => {
                    let c = rest.chars().next().unwrap_or('$');
                    (format!("${c}"), false, c.len_utf8())
                }
            };
            if is_var {
                let mapped = vars.iter().find(|(n, _)| *n == read).map(|(_, v)| v);
                let whole = input.len() == read.len() + 3;
                match mapped {
                    Some(v) if !matches!(v, Value::Structured) => {
                        used.push(read.clone());
                        if whole {
                            return Replaced::Whole(v.clone());
                        }
                        out.push_str(&v.embedded(&read));
                    }
                    _ => {
                        if whole {
                            return Replaced::Whole(Value::Str(input.to_string()));
                        }
                        out.push_str(&format!("$({read})"));
                    }
                }
            } else {
                out.push_str(&read);
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Replaced::Text(out)
}

fn is_string(n: &Node) -> bool {
    matches!(n, Node::Scalar(s) if s.tag == Tag::Str || matches!(&s.tag, Tag::Other(t) if t.is_empty()))
}

fn update(node: &mut Node, r: Replaced) {
    let (value, tag) = match r {
        Replaced::Text(s) | Replaced::Whole(Value::Str(s)) => (s, Tag::Str),
        Replaced::Whole(Value::Int(i)) => (i.to_string(), Tag::Int),
        Replaced::Whole(Value::Bool(b)) => (b.to_string(), Tag::Bool),
        Replaced::Whole(Value::Float(f)) => (crate::yaml::json_go_format_f(f), Tag::Float),
        Replaced::Whole(Value::Structured) => return,
    };
    *node = Node::Scalar(Scalar {
        value,
        tag,
        style: ScalarStyle::Plain,
    });
}

fn set(node: &mut Node, vars: &[(String, Value)], used: &mut Vec<String>) -> Result<()> {
    if node.is_null() {
        return Ok(());
    }
    match node {
        Node::Scalar(_) => {
            if is_string(node) {
                let text = node
                    .as_scalar()
                    .map(|s| s.value.clone())
                    .unwrap_or_default();
                let r = expand(&text, vars, used);
                update(node, r);
            }
            Ok(())
        }
        Node::Map(m) => {
            for (_, v) in m.iter_mut() {
                if !is_string(v) {
                    continue;
                }
                let text = v.as_scalar().map(|s| s.value.clone()).unwrap_or_default();
                let r = expand(&text, vars, used);
                update(v, r);
            }
            Ok(())
        }
        Node::Seq(items) => {
            for it in items.iter_mut() {
                if !is_string(it) {
                    return Err(Error::new("invalid value type expect a string"));
                }
                let text = it.as_scalar().map(|s| s.value.clone()).unwrap_or_default();
                let r = expand(&text, vars, used);
                update(it, r);
            }
            Ok(())
        }
    }
}

/// Resolves vars and substitutes them.
pub fn resolve(rm: &mut ResMap, vars: &[Var], specs: &[FieldSpec]) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values = Vec::new();
    for v in sorted {
        let Some(r) = rm
            .resources()
            .iter()
            .find(|r| r.ref_var_names.contains(&v.name))
        else {
            return Err(Error::new(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.name
            )));
        };
        let value = field_value(&r.node, &v.field_path).ok_or_else(|| {
            Error::new(format!(
                "field '{}' specified in var '{}' not found in corresponding resource",
                v.field_path, v.name
            ))
        })?;
        values.push((v.name.clone(), value));
    }
    let mut used = Vec::new();
    for r in rm.resources_mut() {
        for fs in specs {
            apply(&mut r.node, fs, &CreateKind::Nothing, &mut |n| {
                set(n, &values, &mut used)
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Replaced) -> String {
        match r {
            Replaced::Text(s) => s,
            Replaced::Whole(v) => v.embedded("?"),
        }
    }

    #[test]
    fn expansion() {
        let vars = vec![
            ("A".to_string(), Value::Str("x".into())),
            ("N".to_string(), Value::Int(5)),
        ];
        let mut used = Vec::new();
        assert_eq!(text(expand("a-$(A)-$(N)", &vars, &mut used)), "a-x-5");
        assert_eq!(
            text(expand("$$(A) $(B) $(", &vars, &mut used)),
            "$(A) $(B) $("
        );
        assert!(matches!(
            expand("$(N)", &vars, &mut used),
            Replaced::Whole(Value::Int(5))
        ));
    }

    #[test]
    fn paths() {
        assert_eq!(
            split_path("spec.ports[0].port"),
            vec!["spec", "ports", "0", "port"]
        );
        assert_eq!(
            split_path("spec.ports[name=pg].port"),
            vec!["spec", "ports[name=pg]", "port"]
        );
    }
}
