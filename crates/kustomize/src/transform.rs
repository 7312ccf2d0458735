//! The field transformers: namespace, name prefix/suffix, labels,
//! annotations, replicas and images.

use std::collections::BTreeMap;

use crate::config::TransformerConfig;
use crate::error::{Error, Result};
use crate::fieldspec::{CreateKind, apply, set_entry, set_scalar};
use crate::kustomization::{FieldSpec, Image, Label, Replica};
use crate::resid::Gvk;
use crate::resmap::ResMap;
use crate::yaml::{Node, Tag};

fn set_namespace_value(node: &mut Node, ns: &str) -> Result<()> {
    set_scalar(node, ns, Some(Tag::Str))
}

/// `namespace:` — sets metadata.namespace on namespaced resources and the
/// namespace field specs, and the namespace of `default` service account
/// subjects of role bindings.
pub fn namespace(rm: &mut ResMap, ns: &str, specs: &[FieldSpec]) -> Result<()> {
    namespace_with(rm, ns, specs, false, SubjectMode::DefaultOnly)
}

/// Which role binding subjects get the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectMode {
    /// Subjects named `default` (kustomize's default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    None,
}

fn has_value(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => !s.is_null() && !s.value.is_empty(),
        Node::Map(m) => !m.is_empty(),
        Node::Seq(s) => !s.is_empty(),
    }
}

/// The namespace transformer with its plugin options: `unset_only` leaves
/// namespaces that are already set.
pub fn namespace_with(
    rm: &mut ResMap,
    ns: &str,
    specs: &[FieldSpec],
    unset_only: bool,
    subjects_mode: SubjectMode,
) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    let set_namespace_value = |n: &mut Node, ns: &str| -> Result<()> {
        if unset_only && has_value(n) {
            return Ok(());
        }
        set_namespace_value(n, ns)
    };
    for i in 0..rm.len() {
        let r = rm.get_mut(i);
        if r.annotations()
            .get("kustomize.config.k8s.io/helm-generated")
            .map(String::as_str)
            == Some("true")
        {
            continue;
        }
        r.store_previous_id();
        let api_version = r.api_version().to_string();
        let gvk = r.gvk();
        let mut fs: Vec<FieldSpec> = specs
            .iter()
            .filter(|f| f.path != "metadata/namespace")
            .filter(|f| api_version == "v1" || f.path != "metadata/name")
            .cloned()
            .collect();
        if !gvk.is_cluster_scoped() {
            let meta = FieldSpec {
                gvk: Gvk::default(),
                path: "metadata/namespace".into(),
                create: true,
            };
            apply(
                &mut r.node,
                &meta,
                &CreateKind::Scalar(Tag::Str),
                &mut |n| set_namespace_value(n, ns),
            )?;
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            fs.retain(|f| f.path != "subjects/namespace");
            if let Some(Node::Seq(subjects)) = r.node.get_mut("subjects") {
                for s in subjects.iter_mut() {
                    let Node::Map(m) = s else { continue };
                    let selected = match subjects_mode {
                        SubjectMode::None => false,
                        SubjectMode::DefaultOnly => {
                            m.get("name").and_then(Node::as_str) == Some("default")
                        }
                        SubjectMode::AllServiceAccounts => {
                            m.get("kind").and_then(Node::as_str) == Some("ServiceAccount")
                        }
                    };
                    if selected {
                        let slot = m.entry_or_insert_with("namespace", || Node::string(""));
                        set_namespace_value(slot, ns)?;
                    }
                }
            }
        }
        for f in &fs {
            apply(&mut r.node, f, &CreateKind::Scalar(Tag::Str), &mut |n| {
                set_namespace_value(n, ns)
            })
            .map_err(|e| e.context("namespace transformation failed"))?;
        }
    }
    if let Some(id) = rm.first_duplicate_id() {
        return Err(Error::new(format!(
            "namespace transformation produces ID conflict: {id}"
        )));
    }
    Ok(())
}

fn skips_name_change(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
        || gvk.kind == "Namespace"
}

/// `namePrefix:` / `nameSuffix:`.
pub fn prefix_suffix(
    rm: &mut ResMap,
    value: &str,
    specs: &[FieldSpec],
    prefix: bool,
) -> Result<()> {
    for r in rm.resources_mut() {
        let org = r.org_id();
        if skips_name_change(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" && !value.is_empty() {
                if prefix {
                    r.prefixes.push(value.to_string());
                } else {
                    r.suffixes.push(value.to_string());
                }
                r.store_previous_id();
            }
            apply(&mut r.node, fs, &CreateKind::Scalar(Tag::Str), &mut |n| {
                let cur = n.as_scalar().map(|s| s.value.clone()).unwrap_or_default();
                let v = if prefix {
                    format!("{value}{cur}")
                } else {
                    format!("{cur}{value}")
                };
                set_scalar(n, &v, None)
            })?;
        }
    }
    Ok(())
}

/// Sets string entries in the mappings the field specs reach.
pub fn set_map_entries(
    rm: &mut ResMap,
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in rm.resources_mut() {
        for (k, v) in pairs {
            for fs in specs {
                apply(&mut r.node, fs, &CreateKind::Map, &mut |n| {
                    set_entry(n, k, v)
                })?;
            }
        }
    }
    Ok(())
}

/// `labels:` entries and `commonLabels:`.
pub fn labels(
    rm: &mut ResMap,
    labels: &[Label],
    common: &BTreeMap<String, String>,
    tc: &TransformerConfig,
) -> Result<()> {
    for l in labels {
        let mut fss = l.fields.clone();
        crate::config::merge_all(&mut fss, &tc.labels)
            .map_err(|e| e.context("failed to merge labels"))?;
        if l.include_selectors {
            crate::config::merge_all(&mut fss, &tc.common_labels)
                .map_err(|e| e.context("failed to merge labels"))?;
        } else {
            if l.include_templates {
                crate::config::merge_all(&mut fss, &tc.template_labels)
                    .map_err(|e| e.context("failed to merge template fieldSpec"))?;
            }
            crate::config::merge_one(
                &mut fss,
                FieldSpec {
                    gvk: Gvk::default(),
                    path: "metadata/labels".into(),
                    create: true,
                },
            )
            .map_err(|e| e.context("failed to merge labels"))?;
        }
        set_map_entries(rm, &l.pairs, &fss)?;
    }
    set_map_entries(rm, common, &tc.common_labels)
}

/// `replicas:`.
pub fn replicas(rm: &mut ResMap, rep: &Replica, specs: &[FieldSpec]) -> Result<()> {
    let mut found = false;
    for fs in specs {
        let idx = rm.by_any_id(|id| id.name == rep.name && id.gvk.is_selected_by(&fs.gvk));
        if !idx.is_empty() {
            found = true;
        }
        for i in idx {
            let r = rm.get_mut(i);
            apply(&mut r.node, fs, &CreateKind::Scalar(Tag::Int), &mut |n| {
                set_scalar(n, &rep.count.to_string(), Some(Tag::Int))
            })?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|f| f.gvk.to_string()).collect();
        return Err(Error::new(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            rep.name,
            gvks.join(" ")
        )));
    }
    Ok(())
}

/// Splits an image reference into name, tag and digest.
pub fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (ic, Some(d)) if ic.is_none() || Some(d) < ic => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

struct ImageMatcher {
    re: regex::Regex,
    image: Image,
}

impl ImageMatcher {
    fn new(image: &Image) -> Result<ImageMatcher> {
        let re = regex::Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            image.name
        ))
        .map_err(|e| Error::new(format!("images: invalid name {:?}: {e}", image.name)))?;
        Ok(ImageMatcher {
            re,
            image: image.clone(),
        })
    }

    fn update(&self, node: &mut Node) -> Result<()> {
        let Node::Scalar(s) = node else {
            return Err(Error::wrong_node_kind("ScalarNode", node));
        };
        let value = s.value.clone();
        if !self.re.is_match(&value) {
            return Ok(());
        }
        let (mut name, mut tag, mut digest) = split_image(&value);
        let im = &self.image;
        if !im.new_name.is_empty() {
            name = im.new_name.clone();
        }
        if !im.new_tag.is_empty() && !im.digest.is_empty() {
            tag = im.new_tag.clone();
            digest = im.digest.clone();
        } else if !im.new_tag.is_empty() {
            tag = im.new_tag.clone();
            digest.clear();
        } else if !im.digest.is_empty() {
            tag.clear();
            digest = im.digest.clone();
        } else if !im.tag_suffix.is_empty() {
            tag.push_str(&im.tag_suffix);
            digest.clear();
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        set_scalar(node, &name, None)
    }
}

fn legacy_walk(node: &mut Node, m: &ImageMatcher) -> Result<()> {
    match node {
        Node::Map(map) => {
            for (k, v) in map.iter_mut() {
                legacy_walk(v, m)?;
                if (k == "containers" || k == "initContainers")
                    && let Node::Seq(items) = v
                {
                    for item in items.iter_mut() {
                        if let Some(img) = item.get_mut("image")
                            && !img.is_null()
                        {
                            m.update(img)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Node::Seq(items) => {
            for it in items.iter_mut() {
                legacy_walk(it, m)?;
            }
            Ok(())
        }
        Node::Scalar(_) => Ok(()),
    }
}

/// `images:` — one entry.
pub fn images(rm: &mut ResMap, image: &Image, specs: &[FieldSpec]) -> Result<()> {
    let m = ImageMatcher::new(image)?;
    for r in rm.resources_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        legacy_walk(&mut r.node, &m)?;
    }
    for r in rm.resources_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        for fs in specs {
            apply(&mut r.node, fs, &CreateKind::Nothing, &mut |n| m.update(n))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split() {
        let s = |x: &str| split_image(x);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/app:v1@sha256:ab"),
            ("reg:5000/app".into(), "v1".into(), "sha256:ab".into())
        );
        assert_eq!(
            s("app@sha256:ab"),
            ("app".into(), "".into(), "sha256:ab".into())
        );
    }
}
