//! The plumbing of `patches`, `patchesStrategicMerge` and `patchesJson6902`:
//! loading patch text, choosing targets, and keeping identity fields; the
//! merge itself is in [`crate::patch`].

use crate::build::parse_resources;
use crate::error::{Error, Result};
use crate::kustomization::{Patch, Selector};
use crate::loader::Loader;
use crate::patch::{json6902, json6902_ops_from_text, strategic_merge};
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::yaml::{Limits, Node};

fn anchored(p: &str) -> Result<Option<regex::Regex>> {
    if p.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| Error::new(format!("invalid patch target selector {p:?}: {e}")))
}

/// Indices of the resources a selector picks (regexes on group, version,
/// kind, name and namespace; label and annotation selectors).
pub fn select(rm: &ResMap, s: &Selector) -> Result<Vec<usize>> {
    let g = anchored(&s.id.gvk.group)?;
    let v = anchored(&s.id.gvk.version)?;
    let k = anchored(&s.id.gvk.kind)?;
    let n = anchored(&s.id.name)?;
    let ns = anchored(&s.id.namespace)?;
    let m = |r: &Option<regex::Regex>, x: &str| r.as_ref().is_none_or(|r| r.is_match(x));
    let mut out = Vec::new();
    for (i, r) in rm.resources().iter().enumerate() {
        let cur = r.cur_id();
        let org = r.org_id();
        if !m(&ns, org.effective_namespace()) && !m(&ns, cur.effective_namespace()) {
            continue;
        }
        if !m(&n, &org.name) && !m(&n, &cur.name) {
            continue;
        }
        let gvk = r.gvk();
        if !(m(&g, &gvk.group) && m(&v, &gvk.version) && m(&k, &gvk.kind)) {
            continue;
        }
        if !r
            .matches_label_selector(&s.label_selector)
            .map_err(Error::new)?
        {
            continue;
        }
        if !r
            .matches_annotation_selector(&s.annotation_selector)
            .map_err(Error::new)?
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

struct SmPatch {
    node: Node,
    allow_name_change: bool,
    allow_kind_change: bool,
}

fn set_or_drop(node: &mut Node, path: &[&str], value: &str) {
    if value.is_empty() {
        if let Some((last, parents)) = path.split_last()
            && let Some(Node::Map(m)) = node.get_path_mut(parents)
        {
            m.remove(last);
        }
    } else {
        node.set_path(path, Node::plain(value));
    }
}

/// Applies a strategic merge patch to one resource, keeping its kind, name
/// and namespace unless the patch may change them. Returns false when the
/// patch deleted the resource.
fn apply_sm(r: &mut Resource, patch: &SmPatch) -> Result<bool> {
    let (name, ns, kind) = (
        r.name().to_string(),
        r.namespace().to_string(),
        r.kind().to_string(),
    );
    if patch.allow_name_change || patch.allow_kind_change {
        r.store_previous_id();
    }
    // The patch takes the target's apiVersion (kind stays the patch's).
    let mut p = patch.node.clone();
    let av = r.api_version().to_string();
    if let Node::Map(_) = p {
        set_or_drop(&mut p, &["apiVersion"], &av);
        for (allowed, key) in [
            (
                patch.allow_name_change,
                crate::resource::ANNO_ALLOW_NAME_CHANGE,
            ),
            (
                patch.allow_kind_change,
                crate::resource::ANNO_ALLOW_KIND_CHANGE,
            ),
        ] {
            if allowed {
                p.set_path(&["metadata", "annotations", key], Node::string("enabled"));
            }
        }
    }
    r.materialize_build_annotations();
    let merged = strategic_merge(&mut r.node, &p);
    r.absorb_build_annotations();
    merged.map_err(|e| Error::new(e.to_string()))?;
    if is_nil_or_empty(&r.node) {
        return Ok(false);
    }
    if !patch.allow_kind_change {
        set_or_drop(&mut r.node, &["kind"], &kind);
    }
    if !patch.allow_name_change {
        set_or_drop(&mut r.node, &["metadata", "name"], &name);
    }
    set_or_drop(&mut r.node, &["metadata", "namespace"], &ns);
    Ok(true)
}

fn is_nil_or_empty(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => s.is_null(),
        Node::Map(m) => m.is_empty(),
        Node::Seq(s) => s.is_empty(),
    }
}

/// How kustomize hands a patch to its resource-map level merge: the patch's
/// labels and annotations are rewritten as string maps (a null value becomes
/// the text of the null, an empty map is dropped).
fn stringify_patch_metadata(patch: &Node) -> Node {
    let mut p = patch.clone();
    for field in ["labels", "annotations"] {
        crate::resource::stringify_metadata_map(&mut p, field);
    }
    p
}

/// Applies a strategic merge patch to the given resources. At the resource
/// map level (`resmap_level`, used for targeted patches and
/// patchesStrategicMerge) kustomize stringifies the patch's metadata maps and
/// re-checks that ids stay unique.
fn apply_sm_to(
    rm: &mut ResMap,
    targets: &[usize],
    patch: &SmPatch,
    resmap_level: bool,
) -> Result<()> {
    let stringified;
    let patch = if resmap_level {
        stringified = SmPatch {
            node: stringify_patch_metadata(&patch.node),
            allow_name_change: patch.allow_name_change,
            allow_kind_change: patch.allow_kind_change,
        };
        &stringified
    } else {
        patch
    };
    let mut deleted = Vec::new();
    for &i in targets {
        let r = rm.get_mut(i);
        let id = r.cur_id();
        if !apply_sm(r, patch).map_err(|e| e.context(format!("applying patch to {id}")))? {
            deleted.push(i);
        }
    }
    for i in deleted.into_iter().rev() {
        rm.remove(i);
    }
    if resmap_level && let Some(id) = rm.first_duplicate_id() {
        return Err(Error::new(format!(
            "may not add resource with an already registered id: {id}"
        )));
    }
    Ok(())
}

/// Applies a patch without target to the one resource its id names.
fn apply_sm_by_id(rm: &mut ResMap, patch: &SmPatch, resmap_level: bool) -> Result<()> {
    let pr = Resource::new(patch.node.clone());
    let id = pr.org_id();
    let idx = rm.by_any_id(|x| x.equals(&id));
    match idx.len() {
        1 => apply_sm_to(rm, &idx, patch, resmap_level),
        0 => Err(Error::new(format!(
            "no resource matches strategic merge patch {id}"
        ))),
        _ => Err(Error::new(format!(
            "multiple matches for Id {id}; failed to find unique target for patch {id}"
        ))),
    }
}

/// `patchesStrategicMerge:` — each entry is inline YAML or a file path.
pub fn strategic_merge_files(
    rm: &mut ResMap,
    ldr: &Loader,
    entries: &[String],
    limits: &Limits,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut patches = Vec::new();
    for e in entries {
        let res = match parse_resources(e, limits) {
            Ok(r) if !r.is_empty() => r,
            _ => {
                let content = ldr.load(e)?;
                let text = String::from_utf8_lossy(&content).into_owned();
                parse_resources(&text, limits)
                    .map_err(|err| err.context(format!("patch file '{e}'")))?
            }
        };
        patches.extend(res);
    }
    if patches.is_empty() {
        return Err(Error::new(format!(
            "patch appears to be empty; files={entries:?}"
        )));
    }
    for p in patches {
        apply_sm_by_id(
            rm,
            &SmPatch {
                node: p.node,
                allow_name_change: false,
                allow_kind_change: false,
            },
            true,
        )?;
    }
    Ok(())
}

fn patch_text(ldr: &Loader, p: &Patch) -> Result<(String, String)> {
    let inline = p.patch.trim();
    match (inline.is_empty(), p.path.is_empty()) {
        (true, true) => Err(Error::new("must specify one of patch and path")),
        (false, false) => Err(Error::new("patch and path can't be set at the same time")),
        (false, true) => Ok((inline.to_string(), format!("[patch: {inline:?}]"))),
        (true, false) => {
            let content = ldr.load(&p.path).map_err(|e| {
                e.context(format!(
                    "failed to get the patch file from path({})",
                    p.path
                ))
            })?;
            Ok((
                String::from_utf8_lossy(&content).into_owned(),
                format!("[path: {:?}]", p.path),
            ))
        }
    }
}

fn json_ops(text: &str) -> Option<serde_json::Value> {
    if text.is_empty() {
        return None;
    }
    match json6902_ops_from_text(text) {
        Ok(v @ serde_json::Value::Array(_)) => Some(v),
        _ => None,
    }
}

/// A `patches:` entry: strategic merge or JSON 6902, detected from the text.
pub fn apply_patch(rm: &mut ResMap, ldr: &Loader, p: &Patch, limits: &Limits) -> Result<()> {
    let (text, source) = patch_text(ldr, p)?;
    let sm = parse_resources(&text, limits);
    let js = json_ops(&text);
    if let (Ok(sm), Some(serde_json::Value::Array(ops))) = (&sm, &js)
        && !sm.is_empty()
        && !ops.is_empty()
    {
        return Err(Error::new(format!(
            "illegally qualifies as both an SM and JSON patch: {source}"
        )));
    }
    match (sm, js) {
        (Ok(patches), _) => {
            let patches: Vec<SmPatch> = patches
                .into_iter()
                .map(|r| SmPatch {
                    node: r.node,
                    allow_name_change: p.options.allow_name_change,
                    allow_kind_change: p.options.allow_kind_change,
                })
                .collect();
            match &p.target {
                Some(t) => {
                    if patches.len() > 1 {
                        return Err(Error::new(format!(
                            "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {source}"
                        )));
                    }
                    let Some(patch) = patches.first() else {
                        return Ok(());
                    };
                    let idx =
                        select(rm, t).map_err(|e| e.context("unable to find patch target"))?;
                    apply_sm_to(rm, &idx, patch, true)
                }
                None => {
                    for patch in &patches {
                        apply_sm_by_id(rm, patch, false).map_err(|e| e.context(&source))?;
                    }
                    Ok(())
                }
            }
        }
        (Err(_), Some(ops)) => {
            let Some(t) = &p.target else {
                return Err(Error::new(format!(
                    "must specify a target for JSON patch {source}"
                )));
            };
            for i in select(rm, t)? {
                let r = rm.get_mut(i);
                r.store_previous_id();
                let id = r.cur_id();
                r.materialize_build_annotations();
                let res = json6902(&mut r.node, &ops);
                r.absorb_build_annotations();
                res.map_err(|e| {
                    Error::new(e.to_string())
                        .context(format!("applying JSON patch {source} to {id}"))
                })?;
            }
            Ok(())
        }
        (Err(_), None) => Err(Error::new(format!(
            "unable to parse SM or JSON patch from {source}"
        ))),
    }
}

/// A `patchesJson6902:` entry.
pub fn apply_json6902_entry(
    rm: &mut ResMap,
    ldr: &Loader,
    p: &Patch,
    _limits: &Limits,
) -> Result<()> {
    let Some(target) = &p.target else {
        return Err(Error::new("must specify a target for patch"));
    };
    if target.id.name.is_empty() {
        return Err(Error::new("must specify the target name"));
    }
    let text = match (p.path.is_empty(), p.patch.is_empty()) {
        (true, true) => return Err(Error::new("empty file path and empty jsonOp")),
        (false, false) => return Err(Error::new("must specify a file path or jsonOp, not both")),
        (false, true) => {
            let c = ldr.load(&p.path)?;
            let t = String::from_utf8_lossy(&c).into_owned();
            if t.is_empty() {
                return Err(Error::new(format!(
                    "patch file '{}' empty seems to be empty",
                    p.path
                )));
            }
            t
        }
        (true, false) => p.patch.clone(),
    };
    let ops = json6902_ops_from_text(&text).map_err(|e| Error::new(e.to_string()))?;
    match &ops {
        serde_json::Value::Array(a) if !a.is_empty() => {}
        serde_json::Value::Array(_) => {
            return Err(Error::new(format!(
                "patch appears to be empty; file={}, JsonOp={}",
                p.path, text
            )));
        }
        _ => return Err(Error::new(format!("decoding {text}: invalid JSON patch"))),
    }
    for i in select(rm, target)? {
        let r = rm.get_mut(i);
        let id = r.cur_id();
        r.materialize_build_annotations();
        let res = json6902(&mut r.node, &ops);
        r.absorb_build_annotations();
        res.map_err(|e| Error::new(e.to_string()).context(format!("applying JSON patch to {id}")))?;
    }
    Ok(())
}
