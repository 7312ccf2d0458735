//! `replacements:` — copying a field of one resource into fields of others.

use crate::error::{Error, Result};
use crate::kustomization::{FieldOptions, Replacement, Selector, TargetSelector};
use crate::resid::ResId;
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::yaml::{Mapping, Node, Scalar, ScalarStyle, Tag};

/// Splits a field path on `.`, keeping bracketed parts (`[name=a.b]`) whole
/// and honouring `\.` escapes.
pub fn split_field_path(path: &str) -> Vec<String> {
    let raw = crate::fieldspec::split_escaped(path, '.');
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let elem = &raw[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut parts = vec![elem.clone()];
            while i < raw.len() - 1 {
                i += 1;
                parts.push(raw[i].clone());
                if raw[i].ends_with(']') {
                    break;
                }
            }
            let joined = parts.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(|c| c == '[' || c == ']').to_string());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

fn is_index(p: &str) -> Option<usize> {
    p.parse::<usize>().ok()
}

fn split_name_value(p: &str) -> Result<(String, String)> {
    let inner = p.trim_end_matches(']').trim_start_matches('[');
    match inner.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => Err(Error::new(
            "list path element must contain fieldName=fieldValue for element to match",
        )),
    }
}

fn scalar_text(n: &Node) -> Option<&str> {
    n.as_scalar().map(|s| s.value.as_str())
}

/// Looks a path up without creating anything (exact `[k=v]` matches).
fn lookup<'a>(node: &'a Node, path: &[String]) -> Result<Option<&'a Node>> {
    let Some(first) = path.first() else {
        return Ok(Some(node));
    };
    if first.starts_with('[') && first.ends_with(']') {
        let (k, v) = split_name_value(first)?;
        let Node::Seq(items) = node else {
            return Ok(None);
        };
        for it in items {
            let hit = if k.is_empty() {
                scalar_text(it) == Some(v.as_str())
            } else {
                it.get(&k).and_then(scalar_text) == Some(v.as_str())
            };
            if hit {
                return lookup(it, &path[1..]);
            }
        }
        return Ok(None);
    }
    if let (Some(i), Node::Seq(items)) = (is_index(first), node) {
        return match items.get(i) {
            Some(it) => lookup(it, &path[1..]),
            None => Ok(None),
        };
    }
    match node {
        Node::Map(m) => match m.get(first) {
            Some(v) => lookup(v, &path[1..]),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

fn empty_of_kind(kind: &Node) -> Node {
    match kind {
        Node::Map(_) => Node::empty_map(),
        Node::Seq(_) => Node::Seq(Vec::new()),
        Node::Scalar(_) => Node::Scalar(Scalar {
            value: String::new(),
            tag: Tag::Other(String::new()),
            style: ScalarStyle::Plain,
        }),
    }
}

fn part_kind(next: Option<&String>, create: &Node) -> Node {
    match next {
        None => empty_of_kind(create),
        Some(p)
            if is_index(p).is_some() || (p.starts_with('[') && p.ends_with(']')) || p == "*" =>
        {
            Node::Seq(Vec::new())
        }
        Some(_) => Node::empty_map(),
    }
}

/// Visits every node a target path matches (regex `[k=v]` matches, `*`,
/// indexes), creating missing parts when `create` gives a kind.
fn visit_targets(
    node: &mut Node,
    path: &[String],
    create: Option<&Node>,
    f: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<usize> {
    let Some(first) = path.first() else {
        f(node)?;
        return Ok(1);
    };
    if let Some(idx) = is_index(first) {
        let Node::Seq(items) = node else {
            return Err(Error::wrong_node_kind("SequenceNode", node));
        };
        if items.len() == idx
            && let Some(c) = create
        {
            items.push(part_kind(path.get(1), c));
        }
        let len = items.len();
        let Some(it) = items.get_mut(idx) else {
            return Err(Error::new(format!(
                "index {idx} specified but only {len} elements found"
            )));
        };
        return visit_targets(it, &path[1..], create, f);
    }
    if first.starts_with('[') && first.ends_with(']') {
        let (k, pat) = split_name_value(first)?;
        let re = regex::Regex::new(&pat).map_err(|e| Error::new(e.to_string()))?;
        let Node::Seq(items) = node else {
            return Err(Error::wrong_node_kind("SequenceNode", node));
        };
        let mut count = 0;
        for it in items.iter_mut() {
            let text = if k.is_empty() {
                scalar_text(it).map(str::to_string)
            } else {
                it.get(&k).and_then(scalar_text).map(str::to_string)
            };
            if text.is_some_and(|t| re.is_match(&t)) {
                count += visit_targets(it, &path[1..], create, f)?;
            }
        }
        if count == 0
            && let Some(c) = create
        {
            let value = Node::Scalar(Scalar {
                value: pat.clone(),
                tag: Tag::Other(String::new()),
                style: ScalarStyle::Plain,
            });
            let elem = if k.is_empty() {
                value
            } else {
                let mut m = Mapping::new();
                m.insert(k.clone(), value);
                Node::Map(m)
            };
            items.push(elem);
            return visit_targets(node, path, Some(c), f);
        }
        return Ok(count);
    }
    if first == "*" {
        let Node::Seq(items) = node else {
            return Err(Error::wrong_node_kind("SequenceNode", node));
        };
        let mut count = 0;
        for it in items.iter_mut() {
            count += visit_targets(it, &path[1..], create, f)?;
        }
        return Ok(count);
    }
    let Node::Map(m) = node else {
        return Err(Error::wrong_node_kind("MappingNode", node));
    };
    if !m.contains_key(first) {
        let Some(c) = create else { return Ok(0) };
        m.insert(first.clone(), part_kind(path.get(1), c));
    }
    let Some(field) = m.get_mut(first) else {
        return Ok(0);
    };
    if field.is_scalar() && path.len() > 1 {
        return Err(Error::new(format!(
            "cannot traverse scalar field {first:?}"
        )));
    }
    visit_targets(field, &path[1..], create, f)
}

fn selector_regex(p: &str) -> Result<Option<regex::Regex>> {
    if p.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| Error::new(format!("error creating target selector: {e}")))
}

struct SelRegex {
    group: Option<regex::Regex>,
    version: Option<regex::Regex>,
    kind: Option<regex::Regex>,
    name: Option<regex::Regex>,
    namespace: Option<regex::Regex>,
}

impl SelRegex {
    fn new(s: &Selector) -> Result<SelRegex> {
        Ok(SelRegex {
            group: selector_regex(&s.id.gvk.group)?,
            version: selector_regex(&s.id.gvk.version)?,
            kind: selector_regex(&s.id.gvk.kind)?,
            name: selector_regex(&s.id.name)?,
            namespace: selector_regex(&s.id.namespace)?,
        })
    }

    fn matches(&self, id: &ResId) -> bool {
        let m = |r: &Option<regex::Regex>, v: &str| r.as_ref().is_none_or(|r| r.is_match(v));
        m(&self.group, &id.gvk.group)
            && m(&self.version, &id.gvk.version)
            && m(&self.kind, &id.gvk.kind)
            && m(&self.name, &id.name)
            && m(&self.namespace, &id.namespace)
    }
}

fn all_ids(r: &Resource) -> Vec<ResId> {
    let mut ids = vec![r.cur_id()];
    ids.extend(r.prev_res_ids());
    ids
}

fn matches_anno_label(r: &Resource, s: &Selector) -> Result<bool> {
    let a = r
        .matches_annotation_selector(&s.annotation_selector)
        .map_err(Error::new)?;
    let l = r
        .matches_label_selector(&s.label_selector)
        .map_err(Error::new)?;
    Ok(a && l)
}

/// Where a replacement's value comes from. Kustomize reads the source field
/// in place, so a target that modifies the source resource changes what
/// later targets receive; a value refined by a delimiter is a snapshot.
enum Source {
    Fixed(Node),
    Live { index: usize, path: Vec<String> },
}

impl Source {
    fn current(&self, rm: &ResMap) -> Option<Node> {
        match self {
            Source::Fixed(n) => Some(n.clone()),
            Source::Live { index, path } => {
                lookup(&rm.get(*index).node, path).ok().flatten().cloned()
            }
        }
    }
}

fn source_value(rm: &ResMap, r: &Replacement) -> Result<Source> {
    if r.source_value.is_some() && r.source.is_some() {
        return Err(Error::new(
            "value and resource selectors are mutually exclusive",
        ));
    }
    if let Some(v) = &r.source_value {
        return Ok(Source::Fixed(Node::Scalar(Scalar {
            value: v.clone(),
            tag: Tag::Other(String::new()),
            style: ScalarStyle::Plain,
        })));
    }
    let Some(src) = &r.source else {
        return Err(Error::new(
            "replacements must specify a source and at least one target",
        ));
    };
    let mut found: Option<(usize, &Resource)> = None;
    for (i, res) in rm.resources().iter().enumerate() {
        if all_ids(res).iter().any(|id| id.is_selected_by(&src.id)) {
            if found.is_some() {
                return Err(Error::new(format!(
                    "multiple matches for selector {}",
                    src.id
                )));
            }
            found = Some((i, res));
        }
    }
    let Some((index, res)) = found else {
        return Err(Error::new(format!("nothing selected by {}", src.id)));
    };
    let fp = if src.field_path.is_empty() {
        "metadata.name".to_string()
    } else {
        src.field_path.clone()
    };
    let path = split_field_path(&fp);
    let node =
        lookup(&res.node, &path).map_err(|e| e.context("error looking up replacement source"))?;
    let node = match node {
        Some(n) if !is_nil_or_empty(n) => n.clone(),
        _ => {
            return Err(Error::new(format!(
                "fieldPath `{fp}` is missing for replacement source {}",
                src.id
            )));
        }
    };
    if src
        .options
        .as_ref()
        .is_some_and(|o| !o.delimiter.is_empty())
    {
        return Ok(Source::Fixed(refine(src.options.as_ref(), node)?));
    }
    Ok(Source::Live { index, path })
}

fn is_nil_or_empty(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => s.is_null(),
        Node::Seq(s) => s.is_empty(),
        Node::Map(m) => m.is_empty(),
    }
}

fn refine(options: Option<&FieldOptions>, node: Node) -> Result<Node> {
    let Some(o) = options.filter(|o| !o.delimiter.is_empty()) else {
        return Ok(node);
    };
    let Node::Scalar(mut s) = node else {
        return Err(Error::new(
            "delimiter option can only be used with scalar nodes",
        ));
    };
    let parts: Vec<&str> = s.value.split(o.delimiter.as_str()).collect();
    if o.index < 0 || o.index as usize >= parts.len() {
        return Err(Error::new(format!(
            "options.index {} is out of bounds for value {}",
            o.index, s.value
        )));
    }
    s.value = parts[o.index as usize].to_string();
    Ok(Node::Scalar(s))
}

fn set_field_value(options: Option<&FieldOptions>, target: &mut Node, value: &Node) -> Result<()> {
    // The text kustomize copies into a scalar target: the value's own text
    // (none for a mapping or list), or with a delimiter the target's parts
    // with one of them replaced, prepended or appended.
    let mut text = match value {
        Node::Scalar(v) => v.value.clone(),
        _ => String::new(),
    };
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty()) {
        let Node::Scalar(ts) = &*target else {
            return Err(Error::new(
                "delimiter option can only be used with scalar nodes",
            ));
        };
        let mut tv: Vec<String> = ts
            .value
            .split(o.delimiter.as_str())
            .map(str::to_string)
            .collect();
        if o.index < 0 {
            tv.insert(0, text);
        } else if o.index as usize >= tv.len() {
            tv.push(text);
        } else {
            tv[o.index as usize] = text;
        }
        text = tv.join(&o.delimiter);
    }
    match target {
        Node::Scalar(t) => {
            t.value = text;
            if t.tag == Tag::Null {
                // The tag goes with the old text; type the new text when read.
                t.tag = Tag::Other(String::new());
            }
        }
        t => *t = value.clone(),
    }
    Ok(())
}

fn apply_targets(rm: &mut ResMap, source: &Source, targets: &[TargetSelector]) -> Result<()> {
    let mut last = source.current(rm).unwrap_or_default();
    for t in targets {
        let Some(select) = &t.select else {
            return Err(Error::new("target must specify resources to select"));
        };
        let field_paths = if t.field_paths.is_empty() {
            vec!["metadata.name".to_string()]
        } else {
            t.field_paths.clone()
        };
        let sel = SelRegex::new(select)?;
        let rejects: Vec<(SelRegex, &Selector)> = t
            .reject
            .iter()
            .map(|r| SelRegex::new(r).map(|x| (x, r)))
            .collect::<Result<_>>()?;
        for i in 0..rm.len() {
            let res = rm.get(i);
            let ids = all_ids(res);
            if !matches_anno_label(res, select)? {
                continue;
            }
            let mut rejected = false;
            for r in &t.reject {
                if (!r.annotation_selector.is_empty() || !r.label_selector.is_empty())
                    && matches_anno_label(res, r)?
                {
                    rejected = true;
                }
            }
            if rejected {
                continue;
            }
            if rejects
                .iter()
                .any(|(rx, r)| !r.id.is_empty() && ids.iter().any(|id| rx.matches(id)))
            {
                continue;
            }
            if !ids.iter().any(|id| sel.matches(id)) {
                continue;
            }
            let create = t.options.as_ref().is_some_and(|o| o.create);
            for fp in &field_paths {
                if let Some(v) = source.current(rm) {
                    last = v;
                }
                let value = &last;
                let r = rm.get_mut(i);
                let path = split_field_path(fp);
                if set_in_structured_data(&mut r.node, value, &path, create)? {
                    continue;
                }
                let what = if create {
                    format!("unable to find or create field {fp:?} in replacement target")
                } else {
                    format!("unable to find field {fp:?} in replacement target")
                };
                let n = visit_targets(&mut r.node, &path, create.then_some(value), &mut |n| {
                    set_field_value(t.options.as_ref(), n, value)
                })
                .map_err(|e| e.context(&what))?;
                if n == 0 {
                    return Err(Error::new(what));
                }
            }
        }
    }
    Ok(())
}

/// Kustomize's replacement into data held as text inside a scalar (such as
/// JSON in a ConfigMap value): when the path reaches a scalar before its
/// end, the rest of the path is applied inside the parsed text, which is then
/// written back. Returns false when the path does not go through such a
/// scalar, or when the inner path cannot be applied (the caller then tries
/// the plain path). JSON text is rewritten as Go's JSON encoder writes it;
/// other (YAML) text is not supported and is left to the plain path.
fn set_in_structured_data(
    target: &mut Node,
    value: &Node,
    path: &[String],
    create: bool,
) -> Result<bool> {
    if path.len() < 2 {
        return Ok(false);
    }
    let mut split = None;
    for i in 1..path.len() {
        match lookup(target, &path[..i]) {
            Ok(Some(Node::Scalar(_))) => {
                split = Some(i);
                break;
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let Some(i) = split else { return Ok(false) };
    let Ok(Some(Node::Scalar(sc))) = lookup(target, &path[..i]) else {
        return Ok(false);
    };
    let original = sc.value.clone();
    let trimmed = original.trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Ok(false);
    }
    let Ok(mut inner) = crate::yaml::parse_single(&original, &crate::yaml::Limits::default())
    else {
        return Ok(false);
    };
    let n = match visit_targets(&mut inner, &path[i..], create.then_some(value), &mut |n| {
        set_field_value(None, n, value)
    }) {
        Ok(n) => n,
        Err(_) => return Ok(false),
    };
    if n == 0 {
        return Ok(false);
    }
    let json = crate::yaml::to_json(&inner).map_err(Error::new)?;
    let text = if original.contains('\n') && original.contains("  ") {
        let mut out = String::new();
        go_json_indent(&json, 0, &mut out);
        out
    } else {
        let mut out = String::new();
        crate::generate::go_json(&json, &mut out);
        out
    };
    if let Some(Node::Scalar(sc)) = lookup_mut(target, &path[..i]) {
        sc.value = text;
    }
    Ok(true)
}

fn lookup_mut<'a>(node: &'a mut Node, path: &[String]) -> Option<&'a mut Node> {
    let Some(first) = path.first() else {
        return Some(node);
    };
    if first.starts_with('[') && first.ends_with(']') {
        let (k, v) = split_name_value(first).ok()?;
        let Node::Seq(items) = node else { return None };
        let it = items.iter_mut().find(|it| {
            if k.is_empty() {
                scalar_text(it) == Some(v.as_str())
            } else {
                it.get(&k).and_then(scalar_text) == Some(v.as_str())
            }
        })?;
        return lookup_mut(it, &path[1..]);
    }
    match node {
        Node::Seq(items) => {
            let i = is_index(first)?;
            lookup_mut(items.get_mut(i)?, &path[1..])
        }
        Node::Map(m) => lookup_mut(m.get_mut(first)?, &path[1..]),
        Node::Scalar(_) => None,
    }
}

/// Go's `json.MarshalIndent(v, "", "  ")`.
fn go_json_indent(v: &serde_json::Value, level: usize, out: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        serde_json::Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, it) in items.iter().enumerate() {
                out.push_str(&pad(level + 1));
                go_json_indent(it, level + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(level));
            out.push(']');
        }
        serde_json::Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(level + 1));
                crate::generate::go_json(&serde_json::Value::String((*k).clone()), out);
                out.push_str(": ");
                go_json_indent(&m[*k], level + 1, out);
                if i + 1 < keys.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(level));
            out.push('}');
        }
        other => crate::generate::go_json(other, out),
    }
}

/// Applies replacements in order.
pub fn apply(rm: &mut ResMap, replacements: &[Replacement]) -> Result<()> {
    for r in replacements {
        if (r.source_value.is_none() && r.source.is_none()) || r.targets.is_empty() {
            return Err(Error::new(
                "replacements must specify a source and at least one target",
            ));
        }
        let source = source_value(rm, r)?;
        apply_targets(rm, &source, &r.targets)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths() {
        assert_eq!(
            split_field_path("spec.template.spec.containers.[name=a.b].image"),
            vec![
                "spec",
                "template",
                "spec",
                "containers",
                "[name=a.b]",
                "image"
            ]
        );
        assert_eq!(
            split_field_path("metadata.annotations.a\\.b"),
            vec!["metadata", "annotations", "a.b"]
        );
    }
}
