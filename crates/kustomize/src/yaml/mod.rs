//! YAML document model of the kustomize engine.
//!
//! # Design
//!
//! * [`Node`] is an owned tree: `Node::Scalar(Scalar)`, `Node::Seq(Vec<Node>)`,
//!   `Node::Map(Mapping)`. Aliases are expanded and `<<` merge keys applied at
//!   parse time (as kustomize's de-anchoring does), so there are no shared
//!   references; clone freely. Comments are dropped.
//! * [`Scalar`] keeps the text (`value`, already unescaped), the resolved
//!   [`Tag`] (`Null`, `Bool`, `Int`, `Float`, `Str`, `Timestamp`, `Binary`,
//!   `Merge`, `Other`) as go-yaml v3 resolves it when parsing (quoted and block
//!   scalars are `Str`; plain ones by the v3 rules; explicit tags win), and the
//!   source [`ScalarStyle`]. A YAML null (`~`, `null`, empty) is a scalar with
//!   `Tag::Null`: test with [`Node::is_null`].
//! * [`Mapping`] is an ordered list of `(String, Node)` entries (keys are the
//!   scalar texts; duplicates are rejected at parse time). `get`, `get_mut`,
//!   `insert` (replace in place or append), `remove`, `index_of`,
//!   `entries_mut` for positional edits. A mapping parsed with non-string
//!   keys (`1: a`) is flagged ([`Mapping::has_non_string_keys`]): like
//!   kustomize, marshalling it below the top level fails.
//! * Constructors: [`Node::string`] (always a string), [`Node::plain`] (tag
//!   resolved from the text), [`Node::int`], [`Node::bool`], [`Node::null`],
//!   [`Node::empty_map`]. Paths: [`Node::get_path`], [`Node::get_str`],
//!   [`Node::ensure_path`], [`Node::set_path`].
//! * JSON: [`to_json`] converts a tree the way kustomize marshals a resource to
//!   JSON (ints stay ints, floats are `f64`, plain timestamps become RFC 3339
//!   strings, NaN/Inf fail); [`from_json`] converts back the way kustomize reads JSON into a
//!   node (every number goes through `f64`). JSON 6902 patches run on these.
//! * Output: [`emit::to_yaml`] writes a resource exactly as `kustomize build`
//!   prints it. Kustomize prints each resource by marshalling it to JSON and
//!   converting that JSON to YAML with go-yaml v2, so the output is canonical:
//!   keys sorted (go-yaml v2's natural order, with Go's own sort algorithm,
//!   see [`crate::gosort`]), strings quoted only where a
//!   plain scalar would read as something else, multi-line strings as literal
//!   blocks, long plain strings folded at 80 columns; input styles and key
//!   order do not survive into the output.
//! * Parsing: [`parse_documents`] / [`parse_single`] with [`Limits`] (input
//!   bytes, node count after alias expansion, nesting depth); errors carry a
//!   1-based line and column.

pub mod emit;
mod json;
mod node;
mod parse;
pub mod resolve;

pub use json::{from_json, to_json};

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn json_go_format_g(f: f64) -> String {
    json::go_format_g(f)
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub fn json_go_format_f(f: f64) -> String {
    json::go_format_f(f)
}
pub use node::{Mapping, Node, Scalar, ScalarStyle, Tag};
pub use parse::{Document, Limits, YamlError, parse_documents, parse_first_document, parse_single};
pub use resolve::Decoded;
