//! Building [`Node`] trees from `saphyr-parser` events, with bounds.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle as PStyle, Tag as PTag};

use super::node::{Mapping, Node, Scalar, ScalarStyle, Tag};
use super::resolve::resolve_plain;

/// Bounds applied while parsing untrusted YAML.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Largest number of nodes in one stream after alias expansion.
    pub max_nodes: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_nodes: 4_000_000,
            max_depth: 500,
        }
    }
}

/// A YAML syntax or bound error, with a 1-based position when known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}{}", position.map(|(l, c)| format!(" (line {l}, column {c})")).unwrap_or_default())]
pub struct YamlError {
    pub message: String,
    pub position: Option<(usize, usize)>,
}

impl YamlError {
    fn at(message: impl Into<String>, line: usize, col: usize) -> YamlError {
        YamlError {
            message: message.into(),
            position: Some((line, col + 1)),
        }
    }

    fn new(message: impl Into<String>) -> YamlError {
        YamlError {
            message: message.into(),
            position: None,
        }
    }
}

/// One parsed document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root node; an empty document has a null root.
    pub root: Node,
    /// True when the root is null (no content, only comments, or `null`):
    /// kustomize skips such documents.
    pub empty: bool,
}

/// Parses every document of a YAML stream.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<Document>, YamlError> {
    parse_stream(text, limits, false)
}

/// Parses only the first document of a stream (what a single decode call of
/// go-yaml reads); anything after its end is not looked at. `None` when the
/// stream holds no document.
pub fn parse_first_document(text: &str, limits: &Limits) -> Result<Option<Document>, YamlError> {
    let has_directive = text.lines().any(|l| l.starts_with('%'));
    let has_start = text.lines().any(|l| l.starts_with("---"));
    if has_directive && !has_start {
        return Err(YamlError::new("did not find expected <document start>"));
    }
    Ok(parse_stream(text, limits, true)?.into_iter().next())
}

fn parse_stream(text: &str, limits: &Limits, first_only: bool) -> Result<Vec<Document>, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError::new(format!(
            "document is {} bytes, more than the limit of {} bytes",
            text.len(),
            limits.max_bytes
        )));
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("%YAML") {
            let version = rest.split_whitespace().next().unwrap_or("");
            if version != "1.1" {
                return Err(YamlError::new(format!(
                    "found incompatible YAML document (%YAML {version}; only 1.1 is accepted)"
                )));
            }
        }
    }
    let mut b = Builder {
        limits: *limits,
        anchors: HashMap::new(),
        stack: Vec::new(),
        docs: Vec::new(),
        nodes: 0,
        doc_root: None,
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = match item {
            Ok(x) => x,
            Err(_) if first_only && b.stack.is_empty() && b.doc_root.is_some() => {
                // The first document is complete; go-yaml ends it implicitly
                // and never looks at what follows.
                let root = b.doc_root.take().unwrap_or_default();
                let empty = root.is_null();
                b.docs.push(Document { root, empty });
                break;
            }
            Err(e) => {
                return Err(YamlError::at(
                    e.info().to_string(),
                    e.marker().line(),
                    e.marker().col(),
                ));
            }
        };
        // go-yaml rejects a block mapping entry whose key is empty and
        // implicit (a line starting with `:`); saphyr accepts it.
        if let Event::Scalar(v, PStyle::Plain, _, None) = &event
            && v.is_empty()
            && b.expects_key()
            && text.chars().nth(span.start.index()) == Some(':')
        {
            return Err(YamlError::at(
                "did not find expected key",
                span.start.line(),
                span.start.col(),
            ));
        }
        b.event(event, span.start.line(), span.start.col())?;
        if first_only && !b.docs.is_empty() {
            break;
        }
    }
    Ok(b.docs)
}

/// Parses a stream that must hold exactly one document (or none: null).
pub fn parse_single(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    let mut docs = parse_documents(text, limits)?;
    match docs.len() {
        0 => Ok(Node::null()),
        1 => Ok(docs.remove(0).root),
        n => Err(YamlError::new(format!(
            "expected a single YAML document, found {n}"
        ))),
    }
}

enum Frame {
    Seq {
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        entries: Vec<(String, Node, bool)>,
        /// Some key is not a string (an int, bool, null...).
        non_string_keys: bool,
        pending_key: Option<(String, bool, usize, usize)>,
        line: usize,
        col: usize,
    },
}

struct Builder {
    limits: Limits,
    anchors: HashMap<usize, Node>,
    stack: Vec<Frame>,
    docs: Vec<Document>,
    nodes: usize,
    doc_root: Option<Node>,
}

fn short_tag(tag: &PTag) -> Tag {
    if tag.handle == "tag:yaml.org,2002:" {
        return Tag::from_short(&format!("!!{}", tag.suffix));
    }
    if tag.handle.is_empty() && tag.suffix == "!" {
        // Non-specific tag: the scalar is a string.
        return Tag::Str;
    }
    Tag::Other(format!("{}{}", tag.handle, tag.suffix))
}

fn style_of(s: PStyle) -> ScalarStyle {
    match s {
        PStyle::Plain => ScalarStyle::Plain,
        PStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        PStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        PStyle::Literal => ScalarStyle::Literal,
        PStyle::Folded => ScalarStyle::Folded,
    }
}

impl Builder {
    fn count(&mut self, n: usize, line: usize, col: usize) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::at(
                format!(
                    "document expands to more than {} nodes (alias bomb?)",
                    self.limits.max_nodes
                ),
                line,
                col,
            ));
        }
        Ok(())
    }

    /// Whether the next node completes a mapping key.
    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn event(&mut self, ev: Event<'_>, line: usize, col: usize) -> Result<(), YamlError> {
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.doc_root = None;
            }
            Event::DocumentEnd => {
                let root = self.doc_root.take().unwrap_or_default();
                let empty = root.is_null();
                self.docs.push(Document { root, empty });
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(YamlError::at("unknown or recursive alias", line, col));
                };
                let target = target.clone();
                self.count(target.count_nodes(), line, col)?;
                self.finish_node(target, false, line, col)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1, line, col)?;
                let style = style_of(style);
                let tag = match tag {
                    Some(t) => short_tag(&t),
                    None if style.is_quoted_or_block() => Tag::Str,
                    None => resolve_plain(&value),
                };
                let is_merge_key = tag == Tag::Merge;
                let node = Node::Scalar(Scalar {
                    value: Cow::into_owned(value),
                    tag,
                    style,
                });
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.finish_node(node, is_merge_key, line, col)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.count(1, line, col)?;
                self.push(
                    Frame::Seq {
                        anchor,
                        items: Vec::new(),
                    },
                    line,
                    col,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                self.count(1, line, col)?;
                self.push(
                    Frame::Map {
                        anchor,
                        entries: Vec::new(),
                        non_string_keys: false,
                        pending_key: None,
                        line,
                        col,
                    },
                    line,
                    col,
                )?;
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { anchor, items }) = self.stack.pop() {
                    let node = Node::Seq(items);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.finish_node(node, false, line, col)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    anchor,
                    entries,
                    non_string_keys,
                    line: mline,
                    col: mcol,
                    ..
                }) = self.stack.pop()
                {
                    let mut m = build_mapping(entries, mline, mcol)?;
                    m.set_non_string_keys(non_string_keys);
                    let node = Node::Map(m);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.finish_node(node, false, line, col)?;
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, line: usize, col: usize) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::at(
                format!("nesting deeper than {} levels", self.limits.max_depth),
                line,
                col,
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn finish_node(
        &mut self,
        node: Node,
        is_merge_key: bool,
        line: usize,
        col: usize,
    ) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.doc_root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                non_string_keys,
                ..
            }) => match pending_key.take() {
                None => {
                    if let Node::Scalar(s) = &node
                        && !matches!(s.tag, Tag::Str | Tag::Merge)
                    {
                        *non_string_keys = true;
                    }
                    let key = match node {
                        Node::Scalar(s) if s.is_null() => String::new(),
                        Node::Scalar(s) => s.value,
                        other => {
                            return Err(YamlError::at(
                                format!("a {} cannot be a mapping key", other.kind_name()),
                                line,
                                col,
                            ));
                        }
                    };
                    *pending_key = Some((key, is_merge_key, line, col));
                }
                Some((key, merge, kline, kcol)) => {
                    if !merge && let Some(prev) = entries.iter().find(|(k, _, m)| !m && *k == key) {
                        let _ = prev;
                        return Err(YamlError::at(
                            format!("mapping key {key:?} already defined"),
                            kline,
                            kcol,
                        ));
                    }
                    entries.push((key, node, merge));
                }
            },
        }
        Ok(())
    }
}

/// Applies `<<` merge keys: explicit keys win, then earlier merge sources.
fn build_mapping(
    entries: Vec<(String, Node, bool)>,
    line: usize,
    col: usize,
) -> Result<Mapping, YamlError> {
    if !entries.iter().any(|(_, _, m)| *m) {
        return Ok(entries.into_iter().map(|(k, v, _)| (k, v)).collect());
    }
    let mut out = Mapping::new();
    let mut sources = Vec::new();
    for (k, v, merge) in entries {
        if merge {
            match v {
                Node::Map(m) => sources.push(m),
                Node::Seq(items) => {
                    for item in items {
                        match item {
                            Node::Map(m) => sources.push(m),
                            _ => {
                                return Err(YamlError::at(
                                    "map merge requires map or sequence of maps as the value",
                                    line,
                                    col,
                                ));
                            }
                        }
                    }
                }
                _ => {
                    return Err(YamlError::at(
                        "map merge requires map or sequence of maps as the value",
                        line,
                        col,
                    ));
                }
            }
        } else {
            out.insert(k, v);
        }
    }
    for src in sources {
        for (k, v) in src.into_entries() {
            if !out.contains_key(&k) {
                out.insert(k, v);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Node {
        parse_single(s, &Limits::default()).expect("parses")
    }

    #[test]
    fn styles_and_tags() {
        let n = one("a: 'x'\nb: \"3\"\nc: 3\nd: |\n  l\ne: !!str 4\nf: ~\n");
        let s = |k: &str| n.get(k).and_then(Node::as_scalar).cloned().expect("scalar");
        assert_eq!(s("a").style, ScalarStyle::SingleQuoted);
        assert_eq!(s("b").tag, Tag::Str);
        assert_eq!(s("c").tag, Tag::Int);
        assert_eq!(s("d").value, "l\n");
        assert_eq!(s("d").style, ScalarStyle::Literal);
        assert_eq!(s("e").tag, Tag::Str);
        assert!(s("f").is_null());
        let keys: Vec<_> = n.as_map().expect("map").keys().cloned().collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
    }

    #[test]
    fn aliases_and_merge() {
        let n = one("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n");
        assert_eq!(n.get_str(&["c", "x"]), Some("1"));
        assert_eq!(n.get_str(&["c", "y"]), Some("3"));
        assert_eq!(n.get_str(&["d", "y"]), Some("2"));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            s.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        let err = parse_single(&s, &Limits::default()).expect_err("bounded");
        assert!(err.message.contains("nodes"), "{err}");
    }

    #[test]
    fn empty_implicit_keys_fail() {
        assert!(parse_single("a: 1\n: 2\n", &Limits::default()).is_err());
        assert!(parse_single("a: 1\n\"\": 2\n", &Limits::default()).is_ok());
    }

    #[test]
    fn duplicate_keys_fail() {
        assert!(parse_single("a: 1\na: 2\n", &Limits::default()).is_err());
    }

    #[test]
    fn documents() {
        let docs = parse_documents(
            "a: 1\n---\n# only a comment\n---\nb: 2\n",
            &Limits::default(),
        )
        .expect("parses");
        assert_eq!(docs.len(), 3);
        assert!(docs[1].empty);
    }
}
