//! A resource: its document plus what the build tracks about it.

use std::collections::BTreeMap;

use crate::resid::{Gvk, ResId, parse_group_version};
use crate::yaml::{Mapping, Node};

const ANNO_PREV_KINDS: &str = "internal.config.kubernetes.io/previousKinds";
const ANNO_PREV_NAMES: &str = "internal.config.kubernetes.io/previousNames";
const ANNO_PREV_NAMESPACES: &str = "internal.config.kubernetes.io/previousNamespaces";
const ANNO_PREFIXES: &str = "internal.config.kubernetes.io/prefixes";
const ANNO_SUFFIXES: &str = "internal.config.kubernetes.io/suffixes";
const ANNO_REF_BY: &str = "internal.config.kubernetes.io/refBy";
const ANNO_BEHAVIOR: &str = "internal.config.kubernetes.io/generatorBehavior";
const ANNO_NEEDS_HASH: &str = "internal.config.kubernetes.io/needsHashSuffix";
/// Set on patches allowed to rename their target.
pub const ANNO_ALLOW_NAME_CHANGE: &str = "internal.config.kubernetes.io/allowNameChange";
/// Set on patches allowed to change their target's kind.
pub const ANNO_ALLOW_KIND_CHANGE: &str = "internal.config.kubernetes.io/allowKindChange";

/// How a generated resource combines with an existing one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Create,
    Replace,
    Merge,
}

impl Behavior {
    pub fn parse(s: &str) -> Option<Behavior> {
        match s {
            "" | "create" => Some(Behavior::Create),
            "replace" => Some(Behavior::Replace),
            "merge" => Some(Behavior::Merge),
            _ => None,
        }
    }
}

/// A previous identity (name, effective namespace, kind) of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrevId {
    pub name: String,
    pub namespace: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub node: Node,
    /// Identities held before renames, oldest first.
    pub prev_ids: Vec<PrevId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Ids of resources whose references to this one were updated.
    pub ref_by: Vec<ResId>,
    /// Set on generated resources.
    pub behavior: Option<Behavior>,
    pub needs_hash: bool,
    /// Origin annotation value when buildMetadata asks for it.
    pub origin: Option<String>,
    /// Names of legacy vars whose value this resource provides.
    pub ref_var_names: Vec<String>,
}

fn str_at<'a>(node: &'a Node, path: &[&str]) -> &'a str {
    node.get_str(path).unwrap_or("")
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(Node::Map(m)) = node {
        for (k, v) in m.iter() {
            out.insert(k.clone(), v.as_str().unwrap_or("").to_string());
        }
    }
    out
}

/// Rewrites `metadata.<field>` as a map of strings, keys sorted, the way
/// kustomize round-trips it through a Go `map[string]string`: a scalar value
/// keeps its text (a null becomes the text of the null), any other value
/// becomes empty, and an empty map (or a value that is no map) is removed.
pub fn stringify_metadata_map(node: &mut Node, field: &str) {
    let Some(Node::Map(md)) = node.get_mut("metadata") else {
        return;
    };
    let Some(value) = md.get(field) else {
        return;
    };
    let mut out = Mapping::new();
    if let Node::Map(m) = value {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            let text = match m.get(k) {
                Some(Node::Scalar(s)) => s.value.clone(),
                _ => String::new(),
            };
            out.insert(k.clone(), Node::string(text));
        }
    }
    if out.is_empty() {
        md.remove(field);
    } else {
        md.insert(field, Node::Map(out));
    }
}

impl Resource {
    pub fn new(node: Node) -> Resource {
        Resource {
            node,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            ref_by: Vec::new(),
            behavior: None,
            needs_hash: false,
            origin: None,
            ref_var_names: Vec::new(),
        }
    }

    pub fn kind(&self) -> &str {
        str_at(&self.node, &["kind"])
    }

    pub fn api_version(&self) -> &str {
        str_at(&self.node, &["apiVersion"])
    }

    pub fn name(&self) -> &str {
        str_at(&self.node, &["metadata", "name"])
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.node, &["metadata", "namespace"])
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The current identity.
    pub fn cur_id(&self) -> ResId {
        ResId::new(self.gvk(), self.name(), self.namespace())
    }

    /// Previous identities, oldest first, with the current group/version.
    pub fn prev_res_ids(&self) -> Vec<ResId> {
        let (group, version) = parse_group_version(self.api_version());
        self.prev_ids
            .iter()
            .map(|p| {
                ResId::new(
                    Gvk {
                        group: group.clone(),
                        version: version.clone(),
                        kind: p.kind.clone(),
                    },
                    &p.name,
                    &p.namespace,
                )
            })
            .collect()
    }

    /// The original identity (before any rename).
    pub fn org_id(&self) -> ResId {
        self.prev_res_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Records the current identity as a previous one.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(PrevId {
            name: id.name.clone(),
            namespace: id.effective_namespace().to_string(),
            kind: id.gvk.kind.clone(),
        });
    }

    pub fn set_name(&mut self, name: &str) {
        self.node
            .set_path(&["metadata", "name"], Node::string(name));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        self.node
            .set_path(&["metadata", "namespace"], Node::string(ns));
    }

    pub fn set_kind(&mut self, kind: &str) {
        self.node.set_path(&["kind"], Node::string(kind));
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        string_map(self.node.get_path(&["metadata", "labels"]))
    }

    pub fn annotations(&self) -> BTreeMap<String, String> {
        string_map(self.node.get_path(&["metadata", "annotations"]))
    }

    /// Replaces `metadata.<field>` with the given map (removed when empty).
    pub fn set_string_map(&mut self, field: &str, map: &BTreeMap<String, String>) {
        if map.is_empty() {
            if let Some(Node::Map(md)) = self.node.get_path_mut(&["metadata"]) {
                md.remove(field);
            }
            return;
        }
        let m: Mapping = map
            .iter()
            .map(|(k, v)| (k.clone(), Node::string(v.clone())))
            .collect();
        self.node.set_path(&["metadata", field], Node::Map(m));
    }

    /// True when the resource's labels match every requirement of a selector.
    pub fn matches_label_selector(&self, selector: &str) -> Result<bool, String> {
        crate::selector::matches(selector, &self.labels())
    }

    pub fn matches_annotation_selector(&self, selector: &str) -> Result<bool, String> {
        crate::selector::matches(selector, &self.annotations())
    }

    /// Writes the build's bookkeeping into `metadata.annotations` the way
    /// kustomize keeps it, so that patches see what kustomize's patches see.
    pub fn materialize_build_annotations(&mut self) {
        let mut add: Vec<(&str, String)> = Vec::new();
        if !self.prev_ids.is_empty() {
            let join = |f: &dyn Fn(&PrevId) -> &str| {
                self.prev_ids.iter().map(f).collect::<Vec<_>>().join(",")
            };
            add.push((ANNO_PREV_KINDS, join(&|p| p.kind.as_str())));
            add.push((ANNO_PREV_NAMES, join(&|p| p.name.as_str())));
            add.push((ANNO_PREV_NAMESPACES, join(&|p| p.namespace.as_str())));
        }
        if !self.prefixes.is_empty() {
            add.push((ANNO_PREFIXES, self.prefixes.join(",")));
        }
        if !self.suffixes.is_empty() {
            add.push((ANNO_SUFFIXES, self.suffixes.join(",")));
        }
        if !self.ref_by.is_empty() {
            let ids: Vec<String> = self.ref_by.iter().map(|i| i.to_string()).collect();
            add.push((ANNO_REF_BY, ids.join(",")));
        }
        if let Some(b) = self.behavior {
            add.push((
                ANNO_BEHAVIOR,
                match b {
                    Behavior::Create => "create",
                    Behavior::Replace => "replace",
                    Behavior::Merge => "merge",
                }
                .to_string(),
            ));
        }
        if self.needs_hash {
            add.push((ANNO_NEEDS_HASH, "enabled".to_string()));
        }
        if add.is_empty() {
            return;
        }
        let Some(Node::Map(md)) = self.node.get_mut("metadata") else {
            return;
        };
        let ann = md.entry_or_insert_with("annotations", Node::empty_map);
        if ann.is_null() {
            *ann = Node::empty_map();
        }
        if let Node::Map(m) = ann {
            for (k, v) in add {
                m.insert(k, Node::string(v));
            }
        }
    }

    /// Reads the bookkeeping back from `metadata.annotations` (as a patch
    /// left it) and removes it from there.
    pub fn absorb_build_annotations(&mut self) {
        let Some(Node::Map(md)) = self.node.get_mut("metadata") else {
            self.clear_bookkeeping();
            return;
        };
        let Some(Node::Map(ann)) = md.get_mut("annotations") else {
            self.clear_bookkeeping();
            return;
        };
        let mut take = |k: &str| ann.remove(k).and_then(|n| n.as_str().map(str::to_string));
        let kinds = take(ANNO_PREV_KINDS);
        let names = take(ANNO_PREV_NAMES);
        let namespaces = take(ANNO_PREV_NAMESPACES);
        let prefixes = take(ANNO_PREFIXES);
        let suffixes = take(ANNO_SUFFIXES);
        let ref_by = take(ANNO_REF_BY);
        let behavior = take(ANNO_BEHAVIOR);
        let needs_hash = take(ANNO_NEEDS_HASH);
        take(ANNO_ALLOW_NAME_CHANGE);
        take(ANNO_ALLOW_KIND_CHANGE);
        self.prev_ids = match (names, namespaces, kinds) {
            (Some(n), Some(ns), Some(k)) => {
                let (n, ns, k): (Vec<&str>, Vec<&str>, Vec<&str>) = (
                    n.split(',').collect(),
                    ns.split(',').collect(),
                    k.split(',').collect(),
                );
                if n.len() == ns.len() && n.len() == k.len() {
                    (0..n.len())
                        .map(|i| PrevId {
                            name: n[i].to_string(),
                            namespace: ns[i].to_string(),
                            kind: k[i].to_string(),
                        })
                        .collect()
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let csv = |v: Option<String>| -> Vec<String> {
            v.map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        self.prefixes = csv(prefixes);
        self.suffixes = csv(suffixes);
        let kept_ref_by = std::mem::take(&mut self.ref_by);
        self.ref_by = if ref_by.is_some() {
            kept_ref_by
        } else {
            Vec::new()
        };
        self.behavior = behavior.and_then(|b| Behavior::parse(&b));
        self.needs_hash = needs_hash.as_deref() == Some("enabled");
    }

    fn clear_bookkeeping(&mut self) {
        self.prev_ids.clear();
        self.prefixes.clear();
        self.suffixes.clear();
        self.ref_by.clear();
        self.behavior = None;
        self.needs_hash = false;
    }

    /// Kustomize-style "name prefix/suffix context": the outermost prefix and suffix.
    pub fn outermost_prefix(&self) -> &str {
        self.prefixes.last().map(String::as_str).unwrap_or("")
    }
}
