//! Strategic merge patch as kustomize applies it (kyaml's `merge2` walker with
//! `ListIncreaseDirection: prepend`).
//!
//! The algorithm relies on node identity: a merged list element is the same
//! node as the one in the target list, a patch subtree added to the target is
//! walked against itself, and directives are removed from the patch in place.
//! To reproduce kustomize's results exactly (including its quirks with
//! duplicate keys, elements lacking a merge key, `$patch: replace` inside
//! lists), the trees are copied into an arena where every node has an id, the
//! walk runs on ids, and the result is copied back.
//!
//! Semantics, by node kind:
//! * Maps are merged field by field (fields visited in sorted order; new
//!   fields appended). A patch value `null` removes the field. `$patch:
//!   delete` removes the map, `$patch: replace` replaces it, `$patch: merge`
//!   merges (the directive is removed from the result).
//! * Lists whose schema strategy includes `merge` are merged by their merge
//!   keys (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`),
//!   or by value for lists of primitives; patch elements come first, then the
//!   target elements not in the patch. An element `{$patch: delete}` (with its
//!   keys) deletes the matching element; a list element `{$patch: replace}` or
//!   `{$patch: delete}` alone applies to the whole list.
//! * Every other list (no schema, or a `replace`/`retainKeys` strategy) is
//!   replaced by the patch's list, directives included.
//! * Scalars are replaced; the new value takes the style of the one it
//!   replaces, and kustomize reads values back by style, so a value written
//!   over a quoted or block scalar becomes a string (`count: "3"` patched
//!   with `count: 5` gives `"5"`).
//! * Merge-keyed lists are rebuilt even when the patch does not touch them,
//!   as kustomize does: elements are deduplicated by merge key, null and `{}` elements are
//!   dropped, an element lacking its merge key wipes the keyed elements, and
//!   `$patch: replace` on a single element is undone by the target element.
//! * Kinds without a built-in schema (custom resources) have no merge-keyed
//!   lists, so they merge like a JSON merge patch (RFC 7386): maps merged, lists replaced, null deletes.
//!   A nested map with its own `apiVersion` and `kind` of a built-in type is
//!   merged with that type's schema.
//! * `$retainKeys`, `$setElementOrder/<list>` and
//!   `$deleteFromPrimitiveList/<list>` are not directives for kustomize: they
//!   are merged as ordinary fields and stay in the output.

use crate::yaml::{Mapping, Node, Scalar, ScalarStyle, Tag};

use super::PatchError;
use super::schema::Schema;

type Id = usize;

#[derive(Clone, Debug)]
enum Body {
    Scalar(Scalar),
    Seq(Vec<Id>),
    Map(Vec<(String, Id)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar,
    Seq,
    Map,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Scalar => "ScalarNode",
            Kind::Seq => "SequenceNode",
            Kind::Map => "MappingNode",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directive {
    Unknown,
    Replace,
    Delete,
    Merge,
}

/// Deepest tree the copy back to [`Node`] accepts (the parser bounds depth
/// far below this).
const MAX_DEPTH: usize = 10_000;

struct Arena {
    nodes: Vec<Body>,
    /// A null created to keep an explicit `null` of the target (kept even
    /// though null values normally remove their field).
    keep: Vec<bool>,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            nodes: Vec::new(),
            keep: Vec::new(),
        }
    }

    fn push(&mut self, body: Body) -> Id {
        self.nodes.push(body);
        self.keep.push(false);
        self.nodes.len() - 1
    }

    fn add(&mut self, node: &Node) -> Id {
        let body = match node {
            Node::Scalar(s) => Body::Scalar(s.clone()),
            Node::Seq(items) => Body::Seq(items.iter().map(|n| self.add(n)).collect()),
            Node::Map(m) => Body::Map(m.iter().map(|(k, v)| (k.clone(), self.add(v))).collect()),
        };
        self.push(body)
    }

    fn to_node(&self, id: Id, depth: usize) -> Result<Node, PatchError> {
        if depth > MAX_DEPTH {
            return Err(PatchError::smp("", "merged tree too deep"));
        }
        Ok(match &self.nodes[id] {
            Body::Scalar(s) => Node::Scalar(s.clone()),
            Body::Seq(items) => Node::Seq(
                items
                    .iter()
                    .map(|&c| self.to_node(c, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Body::Map(entries) => {
                // Keys are unique in the inputs and stay so through the merge;
                // keep the first occurrence should that ever not hold.
                let mut m = Mapping::new();
                for (k, v) in entries {
                    if !m.contains_key(k) {
                        m.insert(k.clone(), self.to_node(*v, depth + 1)?);
                    }
                }
                Node::Map(m)
            }
        })
    }

    fn kind(&self, id: Id) -> Kind {
        match self.nodes[id] {
            Body::Scalar(_) => Kind::Scalar,
            Body::Seq(_) => Kind::Seq,
            Body::Map(_) => Kind::Map,
        }
    }

    fn is_tagged_null(&self, id: Option<Id>) -> bool {
        matches!(id.map(|i| &self.nodes[i]), Some(Body::Scalar(s)) if s.tag == Tag::Null)
    }

    fn is_missing_or_null(&self, id: Option<Id>) -> bool {
        id.is_none() || self.is_tagged_null(id)
    }

    fn is_empty_map(&self, id: Option<Id>) -> bool {
        self.is_missing_or_null(id)
            || matches!(id.map(|i| &self.nodes[i]), Some(Body::Map(m)) if m.is_empty())
    }

    fn is_nil_or_empty(&self, id: Option<Id>) -> bool {
        match id {
            None => true,
            Some(i) => match &self.nodes[i] {
                Body::Scalar(s) => s.tag == Tag::Null,
                Body::Seq(items) => items.is_empty(),
                Body::Map(m) => m.is_empty(),
            },
        }
    }

    /// The node's scalar text (`""` for collections).
    fn text(&self, id: Id) -> &str {
        match &self.nodes[id] {
            Body::Scalar(s) => &s.value,
            _ => "",
        }
    }

    fn is_map(&self, id: Id) -> bool {
        matches!(self.nodes[id], Body::Map(_))
    }

    fn children(&self, id: Id) -> Vec<Id> {
        match &self.nodes[id] {
            Body::Seq(items) => items.clone(),
            _ => Vec::new(),
        }
    }

    fn map_len(&self, id: Id) -> usize {
        match &self.nodes[id] {
            Body::Map(m) => m.len(),
            _ => 0,
        }
    }

    /// First value of `key` in a map (`None` for other nodes).
    fn field(&self, id: Option<Id>, key: &str) -> Option<Id> {
        match &self.nodes[id?] {
            Body::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
            _ => None,
        }
    }

    fn field_names(&self, id: Option<Id>) -> Vec<String> {
        match id.map(|i| &self.nodes[i]) {
            Some(Body::Map(m)) => m.iter().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        }
    }

    fn set_children(&mut self, id: Id, items: Vec<Id>) {
        if let Body::Seq(s) = &mut self.nodes[id] {
            *s = items;
        }
    }

    /// kyaml `ErrorIfInvalid`: null passes, other kinds must match.
    fn check_kind(&self, id: Option<Id>, kind: Kind) -> Result<(), String> {
        if self.is_missing_or_null(id) {
            return Ok(());
        }
        let Some(i) = id else { return Ok(()) };
        let actual = self.kind(i);
        if actual != kind {
            return Err(format!(
                "wrong node kind: expected {} but got {}",
                kind.name(),
                actual.name()
            ));
        }
        Ok(())
    }

    /// Removes the first `key` of a map (kyaml `FieldClearer`).
    fn clear(&mut self, id: Id, key: &str) -> Result<(), String> {
        self.check_kind(Some(id), Kind::Map)?;
        if let Body::Map(m) = &mut self.nodes[id]
            && let Some(i) = m.iter().position(|(k, _)| k == key)
        {
            m.remove(i);
        }
        Ok(())
    }

    /// kyaml `FieldMatcher{Name, StringValue}`.
    fn field_matcher(&self, id: Id, name: &str, string_value: &str) -> Result<Option<Id>, String> {
        if self.is_missing_or_null(Some(id)) {
            return Ok(None);
        }
        if name.is_empty() {
            self.check_kind(Some(id), Kind::Scalar)?;
            return Ok((self.text(id) == string_value).then_some(id));
        }
        self.check_kind(Some(id), Kind::Map)?;
        let Some(v) = self.field(Some(id), name) else {
            return Ok(None);
        };
        Ok((string_value.is_empty() || self.text(v) == string_value).then_some(v))
    }

    /// kyaml `FieldSetter` for a field of a map: null (unless kept) or absent
    /// values clear the field, existing fields are overwritten in place, new
    /// ones appended.
    fn set_field(&mut self, id: Id, key: &str, value: Option<Id>) -> Result<(), String> {
        let value = match value {
            Some(v) if !self.is_tagged_null(Some(v)) || self.keep[v] => v,
            _ => return self.clear(id, key),
        };
        if self.is_missing_or_null(Some(id)) {
            return Ok(());
        }
        self.check_kind(Some(id), Kind::Map)?;
        let existing = match &self.nodes[id] {
            Body::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
            _ => None,
        };
        if let Some(old) = existing
            && old != value
        {
            // The new value takes the style of the value it overwrites, and
            // kustomize re-reads the node by its style: a scalar written into
            // a quoted or block scalar's place becomes a string.
            let old_style = match &self.nodes[old] {
                Body::Scalar(s) => s.style,
                _ => ScalarStyle::Plain,
            };
            if let Body::Scalar(s) = &mut self.nodes[value] {
                s.style = old_style;
                if old_style != ScalarStyle::Plain {
                    s.tag = Tag::Str;
                }
            }
        }
        if let Body::Map(m) = &mut self.nodes[id] {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, slot)) => *slot = value,
                None => m.push((key.to_owned(), value)),
            }
        }
        Ok(())
    }

    /// kyaml `FieldSetter` without a field name: the scalar takes the new text
    /// (untagged, so its type is resolved again from its style and text).
    fn reset_scalar(&mut self, id: Id, value: &str) -> Result<(), String> {
        self.check_kind(Some(id), Kind::Scalar)?;
        if let Body::Scalar(s) = &mut self.nodes[id] {
            s.tag = if s.style == ScalarStyle::Plain {
                crate::yaml::resolve::resolve_plain(value)
            } else {
                Tag::Str
            };
            s.value = value.to_owned();
        }
        Ok(())
    }

    /// kyaml `ElementSetter`: replaces (or, with no element, deletes) the
    /// elements matching `keys`/`values`, appends the element when none
    /// matched. Null and empty-map elements are dropped on the way.
    fn element_setter(
        &mut self,
        list: Id,
        element: Option<Id>,
        keys: &[String],
        values: &[String],
    ) -> Result<Option<Id>, String> {
        let empty_key = [String::new()];
        let keys = if keys.is_empty() {
            &empty_key[..]
        } else {
            keys
        };
        self.check_kind(Some(list), Kind::Seq)?;
        let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
        let mut out = Vec::new();
        let mut matched = false;
        for elem in self.children(list) {
            if self.is_missing_or_null(Some(elem)) || self.is_empty_map(Some(elem)) {
                continue;
            }
            if !self.is_map(elem) && mapping_setter {
                out.push(elem);
                continue;
            }
            let mut val = None;
            let mut found = true;
            for (j, key) in keys.iter().enumerate() {
                if let Some(v) = values.get(j) {
                    val = self.field_matcher(elem, key, v)?;
                }
                if val.is_none() {
                    found = false;
                    break;
                }
            }
            if !found {
                if !values.is_empty() {
                    out.push(elem);
                }
                continue;
            }
            matched = true;
            if let Some(e) = element {
                out.push(e);
            }
        }
        self.set_children(list, out);
        let Some(e) = element else { return Ok(None) };
        if self.is_missing_or_null(Some(e)) {
            return Ok(None);
        }
        if !matched && let Body::Seq(items) = &mut self.nodes[list] {
            items.push(e);
        }
        Ok(Some(e))
    }

    /// kyaml `ElementMatcher`: the first element matching `keys`/`values`
    /// (or, with `any_value`, having the keys at all).
    fn element_matcher(
        &self,
        list: Id,
        keys: &[String],
        values: &[String],
        any_value: bool,
    ) -> Result<Option<Id>, String> {
        let empty = [String::new()];
        let keys = if keys.is_empty() { &empty[..] } else { keys };
        let values = if values.is_empty() {
            &empty[..]
        } else {
            values
        };
        self.check_kind(Some(list), Kind::Seq)?;
        if any_value && !values[0].is_empty() {
            return Err("Values must be empty when MatchAnyValue is set to true".into());
        }
        if keys[0].is_empty() {
            return Ok(self
                .children(list)
                .into_iter()
                .find(|&c| self.text(c) == values[0]));
        }
        for c in self.children(list) {
            if !self.is_map(c) {
                continue;
            }
            if !any_value && keys.len() != values.len() {
                return Err(
                    "length of keys must equal length of values when MatchAnyValue is false".into(),
                );
            }
            let all = keys
                .iter()
                .enumerate()
                .all(|(i, k)| match self.field(Some(c), k) {
                    None => false,
                    Some(_) if any_value => true,
                    Some(f) => self.text(f) == values[i],
                });
            if all {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// kyaml `ElementList`: like the matcher, `None` on any mismatch.
    fn element_list(&self, list: Id, keys: &[String], values: &[String]) -> Option<Id> {
        if !matches!(self.nodes[list], Body::Seq(_)) {
            return None;
        }
        self.element_matcher(list, keys, values, false)
            .ok()
            .flatten()
    }
}

/// kyaml's merge walker over an arena.
struct Walker {
    a: Arena,
    path: Vec<String>,
}

impl Walker {
    fn err(&self, message: impl Into<String>) -> PatchError {
        PatchError::smp(self.path.join("."), message)
    }

    fn ctx<T>(&self, r: Result<T, String>) -> Result<T, PatchError> {
        r.map_err(|m| self.err(m))
    }

    /// The schema of a node: the one inherited from the parent, else the
    /// built-in schema of the first source carrying `apiVersion` and `kind`.
    fn schema_for(&self, sources: [Option<Id>; 2], inherited: Option<Schema>) -> Option<Schema> {
        if inherited.is_some() {
            return inherited;
        }
        for src in sources {
            if self.a.is_missing_or_null(src) {
                continue;
            }
            let meta = |field: &str| {
                let f = self.a.field(src, field);
                if self.a.is_nil_or_empty(f) {
                    return "";
                }
                f.map_or("", |id| self.a.text(id))
            };
            let (api_version, kind) = (meta("apiVersion"), meta("kind"));
            if api_version.is_empty() || kind.is_empty() {
                continue;
            }
            if let Some(s) = Schema::for_kind(api_version, kind) {
                return Some(s);
            }
        }
        None
    }

    fn walk(
        &mut self,
        sources: [Option<Id>; 2],
        schema: Option<Schema>,
    ) -> Result<Option<Id>, PatchError> {
        let schema = self.schema_for(sources, schema);
        let kind = sources
            .iter()
            .find(|s| !self.a.is_missing_or_null(**s))
            .and_then(|s| s.map(|id| self.a.kind(id)));
        let Some(kind) = kind else {
            return self.walk_map(sources, schema);
        };
        for s in sources {
            let r = self.a.check_kind(s, kind);
            self.ctx(r)?;
        }
        match kind {
            Kind::Map => self.walk_map(sources, schema),
            Kind::Seq => {
                if schema.is_some_and(Schema::is_associative) {
                    self.walk_associative(sources, schema)
                } else {
                    // Non-associative lists are replaced by the patch's list.
                    Ok(sources[1].or(sources[0]))
                }
            }
            Kind::Scalar => Ok(sources[1].or(sources[0])),
        }
    }

    fn walk_map(
        &mut self,
        sources: [Option<Id>; 2],
        schema: Option<Schema>,
    ) -> Result<Option<Id>, PatchError> {
        let Some(dest) = self.visit_map(sources)? else {
            return Ok(None);
        };
        let sources = [Some(dest), sources[1]];
        let mut names = self.a.field_names(sources[0]);
        names.extend(self.a.field_names(sources[1]));
        names.sort();
        names.dedup();
        for key in names {
            let child_schema = schema.and_then(|s| s.field(&key));
            let values = [
                self.a.field(sources[0], &key),
                self.a.field(sources[1], &key),
            ];
            self.path.push(key.clone());
            let val = self.walk(values, child_schema)?;
            let r = self.a.set_field(dest, &key, val);
            let r = self.ctx(r);
            self.path.pop();
            r?;
        }
        Ok(Some(dest))
    }

    fn visit_map(&mut self, [dest, origin]: [Option<Id>; 2]) -> Result<Option<Id>, PatchError> {
        if self.a.is_missing_or_null(dest) {
            // Adding: a delete directive drops it; errors are not reported here.
            let ps = self.directive(origin).unwrap_or(Directive::Unknown);
            if ps == Directive::Delete {
                return Ok(None);
            }
            if origin.is_none()
                && let Some(d) = dest
                && !self.a.text(d).is_empty()
            {
                // Keep an explicit `null`/`~` of the target.
                let text = self.a.text(d).to_owned();
                let id = self.a.push(Body::Scalar(Scalar {
                    value: text,
                    tag: Tag::Null,
                    style: ScalarStyle::Plain,
                }));
                self.a.keep[id] = true;
                return Ok(Some(id));
            }
            return Ok(origin);
        }
        self.visit_existing(dest, origin)
    }

    fn visit_associative_list(
        &mut self,
        [dest, origin]: [Option<Id>; 2],
    ) -> Result<Option<Id>, PatchError> {
        if self.a.is_missing_or_null(dest) {
            return Ok(origin);
        }
        self.visit_existing(dest, origin)
    }

    /// The result for a map or associative list present in the target: a
    /// tagged null in the patch clears it, else the patch's `$patch`
    /// directive decides (delete, replace, or keep the target to merge into).
    fn visit_existing(
        &mut self,
        dest: Option<Id>,
        origin: Option<Id>,
    ) -> Result<Option<Id>, PatchError> {
        if self.a.is_tagged_null(origin) {
            return Ok(None);
        }
        let r = self.directive(origin);
        Ok(match self.ctx(r)? {
            Directive::Delete => None,
            Directive::Replace => origin,
            _ => dest,
        })
    }

    /// Reads (and removes from the patch) a `$patch` directive.
    fn directive(&mut self, patch: Option<Id>) -> Result<Directive, String> {
        let Some(p) = patch else {
            return Ok(Directive::Merge);
        };
        match self.a.kind(p) {
            Kind::Seq => self.list_directive(p),
            Kind::Map => {
                let Some(v) = self.a.field(Some(p), "$patch") else {
                    return Ok(Directive::Merge);
                };
                let d = parse_directive(self.a.text(v))?;
                self.a.clear(p, "$patch")?;
                Ok(d)
            }
            Kind::Scalar => {
                let (tag, text) = match &self.a.nodes[p] {
                    Body::Scalar(s) => (s.tag.as_short().to_owned(), s.value.clone()),
                    _ => (String::new(), String::new()),
                };
                Err(format!(
                    "no implemented strategic merge patch strategy for '{tag}' ('{text}')"
                ))
            }
        }
    }

    /// A list directive is an element that is exactly `{$patch: <value>}`.
    fn list_directive(&mut self, p: Id) -> Result<Directive, String> {
        let key = ["$patch".to_owned()];
        let node = match self.a.element_matcher(p, &key, &[], true) {
            Ok(Some(n)) => n,
            _ => return Ok(Directive::Merge),
        };
        if self.a.map_len(node) > 1 {
            return Ok(Directive::Merge);
        }
        let Some(v) = self.a.field(Some(node), "$patch") else {
            return Ok(Directive::Merge);
        };
        let text = self.a.text(v).to_owned();
        let d = parse_directive(&text)?;
        self.a.element_setter(p, None, &key, &[text])?;
        Ok(d)
    }

    fn walk_associative(
        &mut self,
        sources: [Option<Id>; 2],
        schema: Option<Schema>,
    ) -> Result<Option<Id>, PatchError> {
        let Some(dest) = self.visit_associative_list(sources)? else {
            return Ok(None);
        };
        let sources = [Some(dest), sources[1]];
        let keys: Vec<String> = schema
            .map(|s| s.merge_keys().iter().map(|k| (*k).to_owned()).collect())
            .unwrap_or_default();
        let values = self.element_values(sources, &keys);
        if !values.is_empty() || !keys.is_empty() {
            return self.set_elements(sources, values, keys, dest, schema);
        }
        let primitive = self.primitive_values(sources);
        self.set_elements(sources, primitive, vec![String::new()], dest, schema)
    }

    /// Merge-key values of every element, patch elements first, deduplicated.
    fn element_values(&self, [dest, origin]: [Option<Id>; 2], keys: &[String]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for src in [origin, dest].into_iter().flatten() {
            if !matches!(self.a.nodes[src], Body::Seq(_)) {
                continue;
            }
            for elem in self.a.children(src) {
                let vals: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let f = self.a.field(Some(elem), k);
                        if self.a.is_nil_or_empty(f) {
                            String::new()
                        } else {
                            f.map_or_else(String::new, |f| self.a.text(f).to_owned())
                        }
                    })
                    .collect();
                if vals.is_empty() || out.contains(&vals) {
                    continue;
                }
                out.push(vals);
            }
        }
        out
    }

    /// Values of a list of primitives, patch first, deduplicated.
    fn primitive_values(&self, [dest, origin]: [Option<Id>; 2]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for src in [origin, dest].into_iter().flatten() {
            for item in self.a.children(src) {
                let v = vec![self.a.text(item).to_owned()];
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    fn set_elements(
        &mut self,
        sources: [Option<Id>; 2],
        mut values_list: Vec<Vec<String>>,
        keys: Vec<String>,
        dest: Id,
        schema: Option<Schema>,
    ) -> Result<Option<Id>, PatchError> {
        let items = self.a.push(Body::Seq(Vec::new()));
        let elem_schema = schema.and_then(Schema::elements);
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = Vec::new();
        for i in 0..values_list.len() {
            let values = values_list[i].clone();
            if values.is_empty() {
                continue;
            }
            let (vk, vv) = validate_keys(&values_list, &values, &keys);
            valid_keys = vk;
            let valid_values = vv;
            let elems = self.element_value_list(sources, &valid_keys, &valid_values);
            self.path
                .push(format!("[{}]", describe(&valid_keys, &valid_values)));
            let val = self.walk(elems, elem_schema);
            self.path.pop();
            let val = val?;
            let mut exit = false;
            for (k, key) in valid_keys.iter().enumerate() {
                if self.a.is_missing_or_null(val) || self.a.is_empty_map(val) {
                    let r = self
                        .a
                        .element_setter(dest, None, &valid_keys, &valid_values);
                    self.ctx(r)?;
                    exit = true;
                } else if let Some(v) = val {
                    let value = valid_values.get(k).cloned().unwrap_or_default();
                    if self.a.field(Some(v), key).is_none() && !value.is_empty() {
                        let r = if key.is_empty() {
                            // A nameless field setter rewrites the scalar itself.
                            self.a.reset_scalar(v, &value)
                        } else {
                            let scalar = self.a.push(Body::Scalar(Scalar::plain(value)));
                            self.a.set_field(v, key, Some(scalar))
                        };
                        self.ctx(r)?;
                    }
                }
            }
            if exit {
                continue;
            }
            let r = self
                .a
                .element_setter(items, val, &valid_keys, &valid_values);
            self.ctx(r)?;
        }
        if values_list.is_empty() {
            return Ok(Some(dest));
        }
        if valid_keys.is_empty() {
            return Err(self.err("no merge key values"));
        }
        let r = self.append_list(items, dest, &valid_keys);
        self.ctx(r)?;
        Ok(Some(items))
    }

    /// The element matching the keys in each source.
    fn element_value_list(
        &self,
        sources: [Option<Id>; 2],
        keys: &[String],
        values: &[String],
    ) -> [Option<Id>; 2] {
        let (keys, values) = validate_keys(&[values.to_vec()], values, keys);
        sources.map(|s| s.and_then(|id| self.a.element_list(id, &keys, &values)))
    }

    /// kyaml `appendListNode(dst, src, keys)`: puts every `src` element into
    /// `dst`, replacing the matching one.
    fn append_list(&mut self, dst: Id, src: Id, keys: &[String]) -> Result<(), String> {
        for elem in self.a.children(src) {
            if keys[0].is_empty() {
                let v = self.a.text(elem).to_owned();
                self.a
                    .element_setter(dst, Some(elem), &[String::new()], &[v])?;
                continue;
            }
            let mut v = Vec::new();
            for key in keys {
                match self.a.field_matcher(elem, key, "")? {
                    None => {
                        if let Body::Seq(items) = &mut self.a.nodes[dst] {
                            items.push(elem);
                        }
                    }
                    Some(value) => v.push(self.a.text(value).to_owned()),
                }
            }
            if keys.len() > 1 {
                self.a.element_setter(dst, None, keys, &v)?;
            }
            self.a.element_setter(dst, Some(elem), keys, &v)?;
        }
        Ok(())
    }
}

fn parse_directive(v: &str) -> Result<Directive, String> {
    match v {
        "delete" => Ok(Directive::Delete),
        "replace" => Ok(Directive::Replace),
        "merge" => Ok(Directive::Merge),
        other => Err(format!("unknown patch strategy '{other}'")),
    }
}

fn describe(keys: &[String], values: &[String]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| {
            if k.is_empty() {
                v.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Keeps the keys that have a value in some element (all of them when none do).
fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut valid = std::collections::BTreeSet::new();
    for vs in values_list {
        for (i, v) in vs.iter().enumerate() {
            if !v.is_empty()
                && let Some(k) = keys.get(i)
            {
                valid.insert(k.as_str());
            }
        }
    }
    if valid.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys
        .iter()
        .filter(|k| valid.contains(k.as_str()))
        .cloned()
        .collect();
    let vv = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(|k| valid.contains(k.as_str())))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// Unifies key tuples that agree where both are set (e.g. a port with and
/// without an explicit protocol).
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        let v1 = list[i].clone();
        for j in 0..list.len() {
            if let Some(merged) = match_values(&v1, &list[j]) {
                list[i] = merged.clone();
                list[j] = merged;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            out.push(x.clone());
        } else {
            out.push(y.clone());
        }
    }
    common.then_some(out)
}

/// Applies a strategic merge patch to a resource. When the patch deletes the
/// resource, `target` becomes null.
pub fn strategic_merge(target: &mut Node, patch: &Node) -> Result<(), PatchError> {
    let mut w = Walker {
        a: Arena::new(),
        path: Vec::new(),
    };
    let t = w.a.add(target);
    let p = w.a.add(patch);
    let merged = w.walk([Some(t), Some(p)], None)?;
    *target = match merged {
        Some(id) => w.a.to_node(id, 0)?,
        None => Node::null(),
    };
    Ok(())
}
