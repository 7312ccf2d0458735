//! Walking a resource along a field spec path (`spec/containers[]/image`)
//! and applying a setter to what it reaches.

use crate::error::{Error, Result};
use crate::kustomization::FieldSpec;
use crate::resid::Gvk;
use crate::yaml::{Mapping, Node, Scalar, ScalarStyle, Tag};

/// What to create for a missing last path element when the spec allows it.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateKind {
    /// Never create.
    Nothing,
    /// A scalar with this tag.
    Scalar(Tag),
    /// An empty mapping.
    Map,
}

/// Splits a path on `/`, honouring `\/` as an escaped slash.
pub fn split_path(path: &str) -> Vec<String> {
    split_escaped(path, '/')
}

/// Splits `path` on `sep`; a backslash before `sep` escapes it (the
/// backslash is dropped, the separator kept as text).
pub fn split_escaped(path: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&sep) {
            cur.push(sep);
            chars.next();
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Whether a field spec's group/version/kind selects a resource.
pub fn spec_matches(fs: &FieldSpec, gvk: &Gvk) -> bool {
    (fs.gvk.kind.is_empty() || fs.gvk.kind == gvk.kind)
        && (fs.gvk.group.is_empty() || fs.gvk.group == gvk.group)
        && (fs.gvk.version.is_empty() || fs.gvk.version == gvk.version)
}

/// Applies `set` at every node the field spec reaches in `obj` (a whole
/// resource). Missing fields are created when the spec says so.
pub fn apply(
    obj: &mut Node,
    fs: &FieldSpec,
    create: &CreateKind,
    set: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<()> {
    let gvk = Gvk::from_api_version(
        obj.get_str(&["apiVersion"]).unwrap_or(""),
        obj.get_str(&["kind"]).unwrap_or(""),
    );
    if !spec_matches(fs, &gvk) {
        return Ok(());
    }
    let path = split_path(&fs.path);
    walk(obj, &path, fs.create, create, set).map_err(|e| {
        e.context(format!(
            "considering field '{}' of object {}/{}",
            fs.path,
            gvk,
            obj.get_str(&["metadata", "name"]).unwrap_or("")
        ))
    })
}

fn walk(
    node: &mut Node,
    path: &[String],
    spec_create: bool,
    create: &CreateKind,
    set: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<()> {
    if path.is_empty() {
        return set(node);
    }
    match node {
        Node::Scalar(s) if s.is_null() => Ok(()),
        Node::Seq(items) => {
            for item in items.iter_mut() {
                walk(item, path, spec_create, create, set)?;
            }
            Ok(())
        }
        Node::Map(m) => walk_map(m, path, spec_create, create, set),
        Node::Scalar(_) => Err(Error::new("expected sequence or mapping node")),
    }
}

enum Made {
    None,
    Seq,
    Scalar(Tag),
    Map,
}

fn walk_map(
    m: &mut Mapping,
    path: &[String],
    spec_create: bool,
    create: &CreateKind,
    set: &mut dyn FnMut(&mut Node) -> Result<()>,
) -> Result<()> {
    let first = &path[0];
    let (name, is_seq) = match first.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (first.as_str(), false),
    };
    if name.is_empty() {
        return Err(Error::new("cannot set or create an empty field name"));
    }
    let kind;
    if !spec_create || *create == CreateKind::Nothing || is_seq {
        kind = if is_seq { Made::Seq } else { Made::None };
        if !m.contains_key(name) {
            return Ok(());
        }
    } else if path.len() <= 1 {
        kind = match create {
            CreateKind::Scalar(t) => Made::Scalar(t.clone()),
            CreateKind::Map => Made::Map,
            CreateKind::Nothing => Made::None,
        };
        if !m.contains_key(name) {
            let fresh = match create {
                CreateKind::Map => Node::empty_map(),
                _ => Node::Scalar(Scalar {
                    value: String::new(),
                    tag: Tag::Str,
                    style: ScalarStyle::Plain,
                }),
            };
            m.insert(name, fresh);
        }
    } else {
        kind = Made::Map;
        if !m.contains_key(name) {
            m.insert(name, Node::empty_map());
        }
    }
    let Some(field) = m.get_mut(name) else {
        return Ok(());
    };
    if field.is_null() {
        match kind {
            Made::None => {}
            Made::Seq => *field = Node::Seq(Vec::new()),
            Made::Map => *field = Node::empty_map(),
            Made::Scalar(t) => {
                if let Node::Scalar(s) = field {
                    s.tag = t;
                }
            }
        }
    }
    walk(field, &path[1..], spec_create, create, set)
}

/// Replaces a scalar's text, keeping its style; the tag is `tag`, or when
/// `None` resolved from the text (quoted styles stay strings).
pub fn set_scalar(node: &mut Node, value: &str, tag: Option<Tag>) -> Result<()> {
    let style = match node {
        Node::Scalar(s) => s.style,
        other => {
            return Err(Error::wrong_node_kind("ScalarNode", other));
        }
    };
    let tag = match tag {
        Some(t) => t,
        None if style.is_quoted_or_block() => Tag::Str,
        None => crate::yaml::resolve::resolve_plain(value),
    };
    *node = Node::Scalar(Scalar {
        value: value.to_string(),
        tag,
        style,
    });
    Ok(())
}

/// Sets `key` in a mapping node to a string value. A null node is left
/// alone (kustomize's setter accepts it and changes nothing visible).
pub fn set_entry(node: &mut Node, key: &str, value: &str) -> Result<()> {
    if node.is_null() {
        return Ok(());
    }
    match node {
        Node::Map(m) => {
            let style = m
                .get(key)
                .and_then(Node::as_scalar)
                .map(|s| s.style)
                .unwrap_or_default();
            m.insert(
                key,
                Node::Scalar(Scalar {
                    value: value.to_string(),
                    tag: Tag::Str,
                    style,
                }),
            );
            Ok(())
        }
        other => Err(Error::wrong_node_kind("MappingNode", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_single};

    #[test]
    fn paths() {
        assert_eq!(split_path("a/b\\/c/d"), vec!["a", "b/c", "d"]);
    }

    #[test]
    fn walks_and_creates() {
        let mut n = parse_single(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: a\n      - name: b\n",
            &Limits::default(),
        )
        .expect("parse");
        let fs = FieldSpec {
            gvk: Gvk::default(),
            path: "spec/template/spec/containers[]/image".into(),
            create: true,
        };
        let mut seen = 0;
        apply(&mut n, &fs, &CreateKind::Nothing, &mut |_n| {
            seen += 1;
            Ok(())
        })
        .expect("walk");
        assert_eq!(seen, 1, "only the container with an image");
        let mut seen = 0;
        apply(&mut n, &fs, &CreateKind::Scalar(Tag::Str), &mut |_n| {
            seen += 1;
            Ok(())
        })
        .expect("walk");
        assert_eq!(seen, 2, "the missing image field is created");
        let fs = FieldSpec {
            gvk: Gvk::default(),
            path: "metadata/labels".into(),
            create: true,
        };
        apply(&mut n, &fs, &CreateKind::Map, &mut |n| {
            set_entry(n, "a", "b")
        })
        .expect("walk");
        assert_eq!(n.get_str(&["metadata", "labels", "a"]), Some("b"));
    }
}
