//! The document tree: [`Node`], [`Scalar`], [`Mapping`], [`Tag`], [`ScalarStyle`].

use std::fmt;

/// How a scalar was written in its source (or should be, for new nodes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ScalarStyle {
    #[default]
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl ScalarStyle {
    /// Quoted and block scalars are always strings unless explicitly tagged.
    pub fn is_quoted_or_block(self) -> bool {
        !matches!(self, ScalarStyle::Plain)
    }
}

/// The resolved tag of a scalar, as go-yaml v3 resolves it while parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Str,
    /// A plain scalar that looks like a timestamp; decoded as a string.
    Timestamp,
    /// Base64 content (`!!binary`).
    Binary,
    /// The `<<` merge key.
    Merge,
    /// Any other tag, in short form (`!foo`, `!!set`, `tag:example.com,2000:x`).
    Other(String),
}

impl Tag {
    /// The short spelling of the tag (`!!str`, `!!int`, ...).
    pub fn as_short(&self) -> &str {
        match self {
            Tag::Null => "!!null",
            Tag::Bool => "!!bool",
            Tag::Int => "!!int",
            Tag::Float => "!!float",
            Tag::Str => "!!str",
            Tag::Timestamp => "!!timestamp",
            Tag::Binary => "!!binary",
            Tag::Merge => "!!merge",
            Tag::Other(s) => s,
        }
    }

    /// Parse a short tag spelling.
    pub fn from_short(s: &str) -> Tag {
        match s {
            "!!null" => Tag::Null,
            "!!bool" => Tag::Bool,
            "!!int" => Tag::Int,
            "!!float" => Tag::Float,
            "!!str" => Tag::Str,
            "!!timestamp" => Tag::Timestamp,
            "!!binary" => Tag::Binary,
            "!!merge" => Tag::Merge,
            other => Tag::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_short())
    }
}

/// A scalar: its text (after unescaping / folding), its resolved tag and its style.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub value: String,
    pub tag: Tag,
    pub style: ScalarStyle,
}

impl Scalar {
    /// A scalar whose tag is resolved from the text as a plain scalar would be
    /// (`3` is an int, `true` a bool, `x` a string).
    pub fn plain(value: impl Into<String>) -> Scalar {
        let value = value.into();
        let tag = super::resolve::resolve_plain(&value);
        Scalar {
            value,
            tag,
            style: ScalarStyle::Plain,
        }
    }

    /// A string scalar, whatever its text looks like.
    pub fn string(value: impl Into<String>) -> Scalar {
        Scalar {
            value: value.into(),
            tag: Tag::Str,
            style: ScalarStyle::Plain,
        }
    }

    pub fn null() -> Scalar {
        Scalar {
            value: "null".to_string(),
            tag: Tag::Null,
            style: ScalarStyle::Plain,
        }
    }

    pub fn int(v: i64) -> Scalar {
        Scalar {
            value: v.to_string(),
            tag: Tag::Int,
            style: ScalarStyle::Plain,
        }
    }

    pub fn bool(v: bool) -> Scalar {
        Scalar {
            value: v.to_string(),
            tag: Tag::Bool,
            style: ScalarStyle::Plain,
        }
    }

    pub fn is_null(&self) -> bool {
        self.tag == Tag::Null
    }

    /// True when the scalar decodes to a string (str, timestamp, custom tags).
    pub fn is_string(&self) -> bool {
        matches!(self.tag, Tag::Str | Tag::Timestamp | Tag::Other(_))
    }
}

/// An ordered mapping with string keys (input order kept).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Mapping {
    entries: Vec<(String, Node)>,
    /// Set when the source had keys that are not strings (`1: a`, `true:`),
    /// which kustomize cannot marshal below the top level.
    non_string_keys: bool,
}

impl Mapping {
    pub fn new() -> Mapping {
        Mapping::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Position of a key in the entry list.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// Sets `key`: replaces the value in place when present (returning the old
    /// value), appends otherwise.
    pub fn insert(&mut self, key: impl Into<String>, value: Node) -> Option<Node> {
        let key = key.into();
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        self.entries.push((key, value));
        None
    }

    /// Removes `key`, keeping the order of the other entries.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let i = self.index_of(key)?;
        Some(self.entries.remove(i).1)
    }

    /// The value at `key`, inserted by `make` first when missing.
    pub fn entry_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> Node) -> &mut Node {
        let i = match self.index_of(key) {
            Some(i) => i,
            None => {
                self.entries.push((key.to_string(), make()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Node)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The raw entry list, for reordering or positional edits.
    pub fn entries(&self) -> &[(String, Node)] {
        &self.entries
    }

    pub fn entries_mut(&mut self) -> &mut Vec<(String, Node)> {
        &mut self.entries
    }

    pub fn into_entries(self) -> Vec<(String, Node)> {
        self.entries
    }

    /// Whether the source mapping had non-string keys.
    pub fn has_non_string_keys(&self) -> bool {
        self.non_string_keys
    }

    pub fn set_non_string_keys(&mut self, v: bool) {
        self.non_string_keys = v;
    }
}

impl FromIterator<(String, Node)> for Mapping {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(iter: I) -> Self {
        let mut m = Mapping::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// A YAML node. Aliases are expanded and merge keys applied at parse time, so
/// the tree is a plain owned value.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Mapping),
}

impl Default for Node {
    fn default() -> Self {
        Node::Scalar(Scalar::null())
    }
}

impl Node {
    pub fn null() -> Node {
        Node::Scalar(Scalar::null())
    }

    /// A string scalar node.
    pub fn string(s: impl Into<String>) -> Node {
        Node::Scalar(Scalar::string(s))
    }

    /// A scalar node whose tag is resolved as for plain text.
    pub fn plain(s: impl Into<String>) -> Node {
        Node::Scalar(Scalar::plain(s))
    }

    pub fn int(v: i64) -> Node {
        Node::Scalar(Scalar::int(v))
    }

    pub fn bool(v: bool) -> Node {
        Node::Scalar(Scalar::bool(v))
    }

    pub fn empty_map() -> Node {
        Node::Map(Mapping::new())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s) if s.is_null())
    }

    pub fn is_map(&self) -> bool {
        matches!(self, Node::Map(_))
    }

    pub fn is_seq(&self) -> bool {
        matches!(self, Node::Seq(_))
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Node::Scalar(_))
    }

    /// `"scalar"`, `"sequence"` or `"mapping"`, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Node::Scalar(_) => "scalar",
            Node::Seq(_) => "sequence",
            Node::Map(_) => "mapping",
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Mapping> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_scalar_mut(&mut self) -> Option<&mut Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a non-null scalar, whatever its tag (`3` gives `"3"`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) if !s.is_null() => Some(&s.value),
            _ => None,
        }
    }

    /// Field of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?.get_mut(key)
    }

    /// Walks mapping fields.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut cur = self;
        for p in path {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Node> {
        let mut cur = self;
        for p in path {
            cur = cur.get_mut(p)?;
        }
        Some(cur)
    }

    /// Text of the scalar at a mapping path (`None` when absent, null or not a scalar).
    pub fn get_str(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path)?.as_str()
    }

    /// Walks mapping fields, creating empty mappings for missing or null ones.
    /// Returns `None` when a non-null, non-mapping node is in the way.
    pub fn ensure_path(&mut self, path: &[&str]) -> Option<&mut Node> {
        let mut cur = self;
        for p in path {
            if cur.is_null() {
                *cur = Node::empty_map();
            }
            let m = cur.as_map_mut()?;
            cur = m.entry_or_insert_with(p, Node::empty_map);
        }
        if cur.is_null() {
            *cur = Node::empty_map();
        }
        Some(cur)
    }

    /// Sets a field at a mapping path, creating intermediate mappings.
    /// Returns false when a non-mapping node is in the way.
    pub fn set_path(&mut self, path: &[&str], value: Node) -> bool {
        let Some((last, parents)) = path.split_last() else {
            *self = value;
            return true;
        };
        match self.ensure_path(parents).and_then(|n| n.as_map_mut()) {
            Some(m) => {
                m.insert(*last, value);
                true
            }
            None => false,
        }
    }

    /// Number of nodes in the tree (for size bounds).
    pub fn count_nodes(&self) -> usize {
        match self {
            Node::Scalar(_) => 1,
            Node::Seq(items) => 1 + items.iter().map(Node::count_nodes).sum::<usize>(),
            Node::Map(m) => 1 + m.iter().map(|(_, v)| 1 + v.count_nodes()).sum::<usize>(),
        }
    }
}

impl From<Mapping> for Node {
    fn from(m: Mapping) -> Node {
        Node::Map(m)
    }
}

impl From<Scalar> for Node {
    fn from(s: Scalar) -> Node {
        Node::Scalar(s)
    }
}

impl From<Vec<Node>> for Node {
    fn from(v: Vec<Node>) -> Node {
        Node::Seq(v)
    }
}
