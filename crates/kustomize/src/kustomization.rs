//! The kustomization file: its fields, decoded strictly.

use std::collections::BTreeMap;

use crate::decode::{
    self, Fields, list, object, opt_bool, opt_int, opt_string, opt_string_map, opt_strings,
};
use crate::error::{Error, Result};
use crate::resid::{Gvk, ResId};
use crate::yaml::Node;

pub const KUSTOMIZATION_VERSION: &str = "kustomize.config.k8s.io/v1beta1";
pub const KUSTOMIZATION_KIND: &str = "Kustomization";
pub const COMPONENT_VERSION: &str = "kustomize.config.k8s.io/v1alpha1";
pub const COMPONENT_KIND: &str = "Component";

/// File names kustomize recognizes, in its lookup order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Where a field spec applies and whether it creates missing fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

/// Selects resources by id and label/annotation selectors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    pub id: ResId,
    pub annotation_selector: String,
    pub label_selector: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchOptions {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub options: PatchOptions,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub tag_suffix: String,
    pub new_tag: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldOptions {
    pub delimiter: String,
    pub index: i64,
    pub encoding: String,
    pub create: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceSelector {
    pub id: ResId,
    pub field_path: String,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetSelector {
    pub select: Option<Selector>,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replacement {
    pub path: String,
    pub source: Option<SourceSelector>,
    pub targets: Vec<TargetSelector>,
    pub source_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeneratorOptions {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

/// A configMapGenerator or secretGenerator entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeneratorArgs {
    pub namespace: String,
    pub name: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: Option<GeneratorOptions>,
    /// Secrets only.
    pub secret_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SortOptions {
    pub order: String,
    pub legacy: Option<(Vec<String>, Vec<String>)>,
}

/// A legacy `vars` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Var {
    pub name: String,
    pub obj_ref: ResId,
    pub field_path: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    pub common_annotations: BTreeMap<String, String>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
    pub replacements: Vec<Replacement>,
    pub replicas: Vec<Replica>,
    pub vars: Vec<Var>,
    pub sort_options: Option<SortOptions>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
    pub helm: bool,
    pub openapi: BTreeMap<String, String>,
    /// True when no field other than apiVersion/kind was set.
    pub is_empty: bool,
}

const KUSTOMIZATION_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

fn gvk_fields(f: &Fields<'_>, ctx: &str) -> Result<Gvk> {
    Ok(Gvk {
        group: opt_string(f.get("group"), &format!("{ctx}.group"))?,
        version: opt_string(f.get("version"), &format!("{ctx}.version"))?,
        kind: opt_string(f.get("kind"), &format!("{ctx}.kind"))?,
    })
}

pub fn decode_field_spec(n: &Node, ctx: &str) -> Result<FieldSpec> {
    let f = object(
        n,
        "FieldSpec",
        &["group", "version", "kind", "path", "create"],
    )?;
    Ok(FieldSpec {
        gvk: gvk_fields(&f, ctx)?,
        path: opt_string(f.get("path"), &format!("{ctx}.path"))?,
        create: opt_bool(f.get("create"), &format!("{ctx}.create"))?,
    })
}

pub fn decode_selector(n: &Node, ctx: &str) -> Result<Selector> {
    let f = object(
        n,
        "Selector",
        &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "annotationSelector",
            "labelSelector",
        ],
    )?;
    Ok(Selector {
        id: ResId {
            gvk: gvk_fields(&f, ctx)?,
            name: opt_string(f.get("name"), &format!("{ctx}.name"))?,
            namespace: opt_string(f.get("namespace"), &format!("{ctx}.namespace"))?,
        },
        annotation_selector: opt_string(f.get("annotationSelector"), ctx)?,
        label_selector: opt_string(f.get("labelSelector"), ctx)?,
    })
}

fn decode_patch(n: &Node, ctx: &str) -> Result<Patch> {
    let f = object(n, "Patch", &["path", "patch", "target", "options"])?;
    let target = match f.get("target") {
        Some(t) if !t.is_null() => Some(decode_selector(t, &format!("{ctx}.target"))?),
        _ => None,
    };
    let options = match f.get("options") {
        Some(o) => {
            let of = object(o, "PatchArgs", &["allowNameChange", "allowKindChange"])?;
            PatchOptions {
                allow_name_change: opt_bool(of.get("allowNameChange"), ctx)?,
                allow_kind_change: opt_bool(of.get("allowKindChange"), ctx)?,
            }
        }
        None => PatchOptions::default(),
    };
    Ok(Patch {
        path: opt_string(f.get("path"), &format!("{ctx}.path"))?,
        patch: opt_string(f.get("patch"), &format!("{ctx}.patch"))?,
        target,
        options,
    })
}

fn decode_generator_options(n: &Node, ctx: &str) -> Result<GeneratorOptions> {
    let f = object(
        n,
        "GeneratorOptions",
        &[
            "labels",
            "annotations",
            "disableNameSuffixHash",
            "immutable",
        ],
    )?;
    Ok(GeneratorOptions {
        labels: opt_string_map(f.get("labels"), &format!("{ctx}.labels"))?,
        annotations: opt_string_map(f.get("annotations"), &format!("{ctx}.annotations"))?,
        disable_name_suffix_hash: opt_bool(f.get("disableNameSuffixHash"), ctx)?,
        immutable: opt_bool(f.get("immutable"), ctx)?,
    })
}

fn decode_generator(n: &Node, ctx: &str, secret: bool) -> Result<GeneratorArgs> {
    let mut known = vec![
        "namespace",
        "name",
        "behavior",
        "literals",
        "files",
        "envs",
        "env",
        "options",
    ];
    if secret {
        known.push("type");
    }
    let f = object(n, "GeneratorArgs", &known)?;
    let mut envs = opt_strings(f.get("envs"), &format!("{ctx}.envs"))?;
    let env = opt_string(f.get("env"), &format!("{ctx}.env"))?;
    if !env.is_empty() {
        envs.push(env);
    }
    let options = match f.get("options") {
        Some(o) if !o.is_null() => Some(decode_generator_options(o, &format!("{ctx}.options"))?),
        _ => None,
    };
    Ok(GeneratorArgs {
        namespace: opt_string(f.get("namespace"), &format!("{ctx}.namespace"))?,
        name: opt_string(f.get("name"), &format!("{ctx}.name"))?,
        behavior: opt_string(f.get("behavior"), &format!("{ctx}.behavior"))?,
        literals: opt_strings(f.get("literals"), &format!("{ctx}.literals"))?,
        files: opt_strings(f.get("files"), &format!("{ctx}.files"))?,
        envs,
        options,
        secret_type: opt_string(f.get("type"), &format!("{ctx}.type"))?,
    })
}

fn decode_field_options(n: Option<&Node>, ctx: &str) -> Result<Option<FieldOptions>> {
    let Some(n) = n else { return Ok(None) };
    if n.is_null() {
        return Ok(None);
    }
    let f = object(
        n,
        "FieldOptions",
        &["delimiter", "index", "encoding", "create"],
    )?;
    Ok(Some(FieldOptions {
        delimiter: opt_string(f.get("delimiter"), ctx)?,
        index: opt_int(f.get("index"), ctx)?,
        encoding: opt_string(f.get("encoding"), ctx)?,
        create: opt_bool(f.get("create"), ctx)?,
    }))
}

/// Decodes a replacement entry (from the kustomization or a replacement file).
pub fn decode_replacement(n: &Node, ctx: &str) -> Result<Replacement> {
    let f = object(
        n,
        "ReplacementField",
        &["path", "source", "targets", "sourceValue"],
    )?;
    let source = match f.get("source") {
        Some(s) if !s.is_null() => {
            let sf = object(
                s,
                "SourceSelector",
                &[
                    "group",
                    "version",
                    "kind",
                    "name",
                    "namespace",
                    "fieldPath",
                    "options",
                ],
            )?;
            Some(SourceSelector {
                id: ResId {
                    gvk: gvk_fields(&sf, ctx)?,
                    name: opt_string(sf.get("name"), ctx)?,
                    namespace: opt_string(sf.get("namespace"), ctx)?,
                },
                field_path: opt_string(sf.get("fieldPath"), ctx)?,
                options: decode_field_options(sf.get("options"), ctx)?,
            })
        }
        _ => None,
    };
    let mut targets = Vec::new();
    for t in list(f.get("targets"), &format!("{ctx}.targets"))? {
        let tf = object(
            t,
            "TargetSelector",
            &["select", "reject", "fieldPaths", "options"],
        )?;
        let select = match tf.get("select") {
            Some(s) if !s.is_null() => Some(decode_selector(s, ctx)?),
            _ => None,
        };
        let mut reject = Vec::new();
        for r in list(tf.get("reject"), ctx)? {
            reject.push(decode_selector(r, ctx)?);
        }
        targets.push(TargetSelector {
            select,
            reject,
            field_paths: opt_strings(tf.get("fieldPaths"), ctx)?,
            options: decode_field_options(tf.get("options"), ctx)?,
        });
    }
    let source_value = match f.get("sourceValue") {
        Some(v) if !v.is_null() => Some(decode::string(v, "sourceValue")?),
        _ => None,
    };
    Ok(Replacement {
        path: opt_string(f.get("path"), &format!("{ctx}.path"))?,
        source,
        targets,
        source_value,
    })
}

/// Decodes each entry of the kustomization's list field `field`, naming the
/// entry `field[i]` in errors.
fn decode_entries<'a, T>(
    f: &Fields<'a>,
    field: &str,
    decode: impl Fn(&'a Node, &str) -> Result<T>,
) -> Result<Vec<T>> {
    list(f.get(field), &format!("Kustomization.{field}"))?
        .into_iter()
        .enumerate()
        .map(|(i, n)| decode(n, &format!("{field}[{i}]")))
        .collect()
}

impl Kustomization {
    /// Decodes a kustomization document.
    pub fn decode(doc: &Node) -> Result<Kustomization> {
        Self::decode_inner(doc).map_err(|e| e.context("invalid Kustomization"))
    }

    fn decode_inner(doc: &Node) -> Result<Kustomization> {
        let f = object(doc, "Kustomization", KUSTOMIZATION_FIELDS)?;
        let mut k = Kustomization {
            api_version: opt_string(f.get("apiVersion"), "Kustomization.apiVersion")?,
            kind: opt_string(f.get("kind"), "Kustomization.kind")?,
            name_prefix: opt_string(f.get("namePrefix"), "Kustomization.namePrefix")?,
            name_suffix: opt_string(f.get("nameSuffix"), "Kustomization.nameSuffix")?,
            namespace: opt_string(f.get("namespace"), "Kustomization.namespace")?,
            common_labels: opt_string_map(f.get("commonLabels"), "Kustomization.commonLabels")?,
            common_annotations: opt_string_map(
                f.get("commonAnnotations"),
                "Kustomization.commonAnnotations",
            )?,
            patches_strategic_merge: opt_strings(
                f.get("patchesStrategicMerge"),
                "Kustomization.patchesStrategicMerge",
            )?,
            resources: opt_strings(f.get("resources"), "Kustomization.resources")?,
            components: opt_strings(f.get("components"), "Kustomization.components")?,
            crds: opt_strings(f.get("crds"), "Kustomization.crds")?,
            configurations: opt_strings(f.get("configurations"), "Kustomization.configurations")?,
            generators: opt_strings(f.get("generators"), "Kustomization.generators")?,
            transformers: opt_strings(f.get("transformers"), "Kustomization.transformers")?,
            validators: opt_strings(f.get("validators"), "Kustomization.validators")?,
            build_metadata: opt_strings(f.get("buildMetadata"), "Kustomization.buildMetadata")?,
            openapi: opt_string_map(f.get("openapi"), "Kustomization.openapi")?,
            ..Kustomization::default()
        };
        if let Some(m) = f.get("metadata") {
            let mf = object(
                m,
                "ObjectMeta",
                &["name", "namespace", "labels", "annotations"],
            )?;
            opt_string(mf.get("name"), "ObjectMeta.name")?;
            opt_string(mf.get("namespace"), "ObjectMeta.namespace")?;
            opt_string_map(mf.get("labels"), "ObjectMeta.labels")?;
            opt_string_map(mf.get("annotations"), "ObjectMeta.annotations")?;
        }
        k.resources
            .extend(opt_strings(f.get("bases"), "Kustomization.bases")?);
        for (i, l) in list(f.get("labels"), "Kustomization.labels")?
            .into_iter()
            .enumerate()
        {
            let ctx = format!("labels[{i}]");
            let lf = object(
                l,
                "Label",
                &["pairs", "includeSelectors", "includeTemplates", "fields"],
            )?;
            let mut fields = Vec::new();
            for fs in list(lf.get("fields"), &ctx)? {
                fields.push(decode_field_spec(fs, &ctx)?);
            }
            k.labels.push(Label {
                pairs: opt_string_map(lf.get("pairs"), &format!("{ctx}.pairs"))?,
                include_selectors: opt_bool(lf.get("includeSelectors"), &ctx)?,
                include_templates: opt_bool(lf.get("includeTemplates"), &ctx)?,
                fields,
            });
        }
        k.patches_json6902 = decode_entries(&f, "patchesJson6902", decode_patch)?;
        k.patches = decode_entries(&f, "patches", decode_patch)?;
        for field in ["images", "imageTags"] {
            for (i, im) in list(f.get(field), field)?.into_iter().enumerate() {
                let ctx = format!("{field}[{i}]");
                let imf = object(
                    im,
                    "Image",
                    &["name", "newName", "tagSuffix", "newTag", "digest"],
                )?;
                k.images.push(Image {
                    name: opt_string(imf.get("name"), &format!("{ctx}.name"))?,
                    new_name: opt_string(imf.get("newName"), &format!("{ctx}.newName"))?,
                    tag_suffix: opt_string(imf.get("tagSuffix"), &format!("{ctx}.tagSuffix"))?,
                    new_tag: opt_string(imf.get("newTag"), &format!("{ctx}.newTag"))?,
                    digest: opt_string(imf.get("digest"), &format!("{ctx}.digest"))?,
                });
            }
        }
        k.replacements = decode_entries(&f, "replacements", decode_replacement)?;
        for (i, r) in list(f.get("replicas"), "Kustomization.replicas")?
            .into_iter()
            .enumerate()
        {
            let ctx = format!("replicas[{i}]");
            let rf = object(r, "Replica", &["name", "count"])?;
            k.replicas.push(Replica {
                name: opt_string(rf.get("name"), &format!("{ctx}.name"))?,
                count: opt_int(rf.get("count"), "Replica.count")?,
            });
        }
        for (i, v) in list(f.get("vars"), "Kustomization.vars")?
            .into_iter()
            .enumerate()
        {
            let ctx = format!("vars[{i}]");
            let vf = object(v, "Var", &["name", "objref", "fieldref"])?;
            let mut obj_ref = ResId::default();
            if let Some(o) = vf.get("objref") {
                let of = object(
                    o,
                    "Target",
                    &[
                        "apiVersion",
                        "group",
                        "version",
                        "kind",
                        "name",
                        "namespace",
                    ],
                )?;
                obj_ref.gvk = gvk_fields(&of, &ctx)?;
                let av = opt_string(of.get("apiVersion"), &ctx)?;
                if !av.is_empty() {
                    let parts: Vec<&str> = av.split('/').collect();
                    if parts.len() == 2 {
                        obj_ref.gvk.group = parts[0].to_string();
                        obj_ref.gvk.version = parts[1].to_string();
                    } else if parts.len() == 1 {
                        obj_ref.gvk.version = parts[0].to_string();
                    }
                }
                obj_ref.name = opt_string(of.get("name"), &ctx)?;
                obj_ref.namespace = opt_string(of.get("namespace"), &ctx)?;
            }
            let mut field_path = String::new();
            if let Some(fr) = vf.get("fieldref") {
                let ff = object(fr, "FieldSelector", &["fieldPath"])?;
                field_path = opt_string(ff.get("fieldPath"), &ctx)?;
            }
            if field_path.is_empty() {
                field_path = "metadata.name".to_string();
            }
            k.vars.push(Var {
                name: opt_string(vf.get("name"), &ctx)?,
                obj_ref,
                field_path,
            });
        }
        if let Some(s) = f.get("sortOptions")
            && !s.is_null()
        {
            let sf = object(s, "SortOptions", &["order", "legacySortOptions"])?;
            let legacy = match sf.get("legacySortOptions") {
                Some(l) if !l.is_null() => {
                    let lf = object(l, "LegacySortOptions", &["orderFirst", "orderLast"])?;
                    Some((
                        opt_strings(lf.get("orderFirst"), "orderFirst")?,
                        opt_strings(lf.get("orderLast"), "orderLast")?,
                    ))
                }
                _ => None,
            };
            k.sort_options = Some(SortOptions {
                order: opt_string(sf.get("order"), "SortOptions.order")?,
                legacy,
            });
        }
        k.config_map_generator = decode_entries(&f, "configMapGenerator", |g, ctx| {
            decode_generator(g, ctx, false)
        })?;
        k.secret_generator = decode_entries(&f, "secretGenerator", |g, ctx| {
            decode_generator(g, ctx, true)
        })?;
        if let Some(g) = f.get("generatorOptions")
            && !g.is_null()
        {
            k.generator_options = Some(decode_generator_options(g, "generatorOptions")?);
        }
        k.helm = ["helmGlobals", "helmCharts", "helmChartInflationGenerator"]
            .iter()
            .any(|h| {
                f.get(h)
                    .is_some_and(|n| !n.is_null() && !matches!(n, Node::Seq(s) if s.is_empty()))
            });
        k.is_empty = KUSTOMIZATION_FIELDS
            .iter()
            .filter(|n| **n != "apiVersion" && **n != "kind")
            .all(|n| f.get(n).is_none_or(is_empty_value));
        if k.kind.is_empty() {
            k.kind = KUSTOMIZATION_KIND.to_string();
        }
        let required = if k.kind == COMPONENT_KIND {
            COMPONENT_VERSION
        } else {
            KUSTOMIZATION_VERSION
        };
        if k.kind != KUSTOMIZATION_KIND && k.kind != COMPONENT_KIND {
            return Err(Error::new(format!(
                "kind should be {KUSTOMIZATION_KIND} or {COMPONENT_KIND}"
            )));
        }
        if !k.api_version.is_empty() && k.api_version != required {
            return Err(Error::new(format!(
                "apiVersion for {} should be {required}",
                k.kind
            )));
        }
        Ok(k)
    }
}

/// Go's zero value test after JSON decoding: null, or an empty string.
/// Empty lists and maps decode to non-nil values and count as set.
fn is_empty_value(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => s.is_null() || s.value.is_empty(),
        Node::Seq(_) | Node::Map(_) => false,
    }
}
