//! Builtin plugin configurations listed under `generators:`,
//! `transformers:` and `validators:` (`apiVersion: builtin`). Exec,
//! container and Go plugins are not supported.

use crate::decode::{
    self, list, object, opt_bool, opt_int, opt_string, opt_string_map, opt_strings,
};
use crate::error::{Error, Result};
use crate::kustomization::{
    FieldSpec, GeneratorArgs, Image, Patch, PatchOptions, Replacement, Replica, decode_field_spec,
    decode_replacement, decode_selector,
};
use crate::loader::Loader;
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::transform::SubjectMode;
use crate::yaml::{Limits, Node};

/// Whether a config resource names a builtin plugin (`apiVersion: builtin`).
pub fn is_builtin(r: &Resource) -> bool {
    let gvk = r.gvk();
    gvk.group.is_empty() && gvk.version == "builtin"
}

fn not_builtin(r: &Resource) -> Error {
    Error::new(format!(
        "plugin {} is not a builtin plugin: only builtin plugins (apiVersion: builtin) are supported",
        r.org_id()
    ))
}

/// The configuration as a plugin reads it: the resource written out and read
/// back with YAML 1.1 typing, as kustomize hands it to its plugins.
fn config_node(r: &Resource, limits: &Limits) -> Result<Node> {
    let text = crate::yaml::emit::to_yaml(&r.node).map_err(Error::new)?;
    Ok(crate::yaml::parse_single(&text, limits)?)
}

fn field_specs(f: &decode::Fields<'_>, required: bool) -> Result<Vec<FieldSpec>> {
    match f.get("fieldSpecs") {
        None if required => Err(Error::new("fieldSpecs is not expected to be nil")),
        n => {
            let mut out = Vec::new();
            for fs in list(n, "fieldSpecs")? {
                out.push(decode_field_spec(fs, "fieldSpecs")?);
            }
            Ok(out)
        }
    }
}

const META: &str = "metadata";

fn meta_field(f: &decode::Fields<'_>, name: &str) -> Result<String> {
    match f.get(META) {
        Some(m) => {
            let mf = object(
                m,
                "ObjectMeta",
                &["name", "namespace", "labels", "annotations"],
            )?;
            opt_string(mf.get(name), name)
        }
        None => Ok(String::new()),
    }
}

/// Runs a builtin generator configuration.
pub fn generate(ldr: &Loader, config: &Resource, limits: &Limits) -> Result<Resource> {
    if !is_builtin(config) {
        return Err(not_builtin(config));
    }
    let kind = config.kind().to_string();
    let node = config_node(config, limits)?;
    let ctx = || format!("plugin {} fails configuration", config.org_id());
    decode::lenient(|| -> Result<Resource> {
        let secret = match kind.as_str() {
            "ConfigMapGenerator" => false,
            "SecretGenerator" => true,
            other => {
                return Err(Error::new(format!(
                    "builtin generator {other} is not supported"
                )));
            }
        };
        let f = object(
            &node,
            &kind,
            &[
                "apiVersion",
                "kind",
                META,
                "behavior",
                "literals",
                "files",
                "envs",
                "env",
                "options",
                "type",
            ],
        )
        .map_err(|e| e.context(ctx()))?;
        let mut envs = opt_strings(f.get("envs"), "envs")?;
        let env = opt_string(f.get("env"), "env")?;
        if !env.is_empty() {
            envs.push(env);
        }
        let options = match f.get("options") {
            Some(o) if !o.is_null() => {
                let of = object(
                    o,
                    "GeneratorOptions",
                    &[
                        "labels",
                        "annotations",
                        "disableNameSuffixHash",
                        "immutable",
                    ],
                )?;
                Some(crate::kustomization::GeneratorOptions {
                    labels: opt_string_map(of.get("labels"), "labels")?,
                    annotations: opt_string_map(of.get("annotations"), "annotations")?,
                    disable_name_suffix_hash: opt_bool(of.get("disableNameSuffixHash"), "options")?,
                    immutable: opt_bool(of.get("immutable"), "options")?,
                })
            }
            _ => None,
        };
        let args = GeneratorArgs {
            namespace: meta_field(&f, "namespace")?,
            name: meta_field(&f, "name")?,
            behavior: opt_string(f.get("behavior"), "behavior")?,
            literals: opt_strings(f.get("literals"), "literals")?,
            files: opt_strings(f.get("files"), "files")?,
            envs,
            options,
            secret_type: opt_string(f.get("type"), "type")?,
        };
        crate::generate::generate(ldr, &args, None, secret)
    })
}

fn image_of(n: Option<&Node>) -> Result<Image> {
    let Some(n) = n else {
        return Ok(Image::default());
    };
    let f = object(
        n,
        "Image",
        &["name", "newName", "tagSuffix", "newTag", "digest"],
    )?;
    Ok(Image {
        name: opt_string(f.get("name"), "name")?,
        new_name: opt_string(f.get("newName"), "newName")?,
        tag_suffix: opt_string(f.get("tagSuffix"), "tagSuffix")?,
        new_tag: opt_string(f.get("newTag"), "newTag")?,
        digest: opt_string(f.get("digest"), "digest")?,
    })
}

fn target_of(n: Option<&Node>) -> Result<Option<crate::kustomization::Selector>> {
    match n {
        Some(t) if !t.is_null() => Ok(Some(decode_selector(t, "target")?)),
        _ => Ok(None),
    }
}

/// Loads the replacements a replacement transformer lists (inline or from
/// files).
pub fn load_replacements(
    ldr: &Loader,
    entries: &[Replacement],
    limits: &Limits,
) -> Result<Vec<Replacement>> {
    let mut out = Vec::new();
    for r in entries {
        if r.path.is_empty() {
            out.push(r.clone());
            continue;
        }
        if r.source.is_some() || !r.targets.is_empty() {
            return Err(Error::new(
                "cannot specify both path and inline replacement",
            ));
        }
        let content = ldr.load(&r.path)?;
        let text = String::from_utf8_lossy(&content).into_owned();
        let doc = crate::yaml::parse_single(&text, limits)
            .map_err(|e| Error::from(e).context(&r.path))?;
        decode::lenient(|| -> Result<()> {
            match &doc {
                Node::Seq(items) => {
                    for it in items {
                        out.push(decode_replacement(it, &r.path)?);
                    }
                }
                Node::Map(_) => out.push(decode_replacement(&doc, &r.path)?),
                _ => {
                    return Err(Error::new(format!(
                        "unsupported replacement type encountered within replacement path: {}",
                        r.path
                    )));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Runs a builtin transformer configuration over the resources.
pub fn transform(rm: &mut ResMap, ldr: &Loader, config: &Resource, limits: &Limits) -> Result<()> {
    if !is_builtin(config) {
        return Err(not_builtin(config));
    }
    let kind = config.kind().to_string();
    let node = config_node(config, limits)?;
    let id = config.org_id();
    let run = || -> Result<()> {
        let known: &[&'static str] = &[
            "apiVersion",
            "kind",
            META,
            "prefix",
            "suffix",
            "fieldSpecs",
            "labels",
            "annotations",
            "unsetOnly",
            "setRoleBindingSubjects",
            "imageTag",
            "replica",
            "path",
            "patch",
            "target",
            "options",
            "paths",
            "patches",
            "jsonOp",
            "replacements",
        ];
        let f = object(&node, &kind, known)?;
        match kind.as_str() {
            "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
                let specs = field_specs(&f, true)?;
                if kind != "SuffixTransformer" {
                    let prefix = opt_string(f.get("prefix"), "prefix")?;
                    crate::transform::prefix_suffix(rm, &prefix, &specs, true)?;
                }
                if kind != "PrefixTransformer" {
                    let suffix = opt_string(f.get("suffix"), "suffix")?;
                    crate::transform::prefix_suffix(rm, &suffix, &specs, false)?;
                }
                Ok(())
            }
            "LabelTransformer" => {
                let labels = opt_string_map(f.get("labels"), "labels")?;
                crate::transform::set_map_entries(rm, &labels, &field_specs(&f, false)?)
            }
            "AnnotationsTransformer" => {
                let ann = opt_string_map(f.get("annotations"), "annotations")?;
                crate::transform::set_map_entries(rm, &ann, &field_specs(&f, false)?)
            }
            "NamespaceTransformer" => {
                let mode = match opt_string(
                    f.get("setRoleBindingSubjects"),
                    "setRoleBindingSubjects",
                )?
                .as_str()
                {
                    "" | "defaultOnly" => SubjectMode::DefaultOnly,
                    "allServiceAccounts" => SubjectMode::AllServiceAccounts,
                    "none" => SubjectMode::None,
                    other => {
                        return Err(Error::new(format!(
                            "invalid value {other:?} for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                        )));
                    }
                };
                let ns = meta_field(&f, "namespace")?;
                let unset_only = opt_bool(f.get("unsetOnly"), "unsetOnly")?;
                crate::transform::namespace_with(
                    rm,
                    &ns,
                    &field_specs(&f, false)?,
                    unset_only,
                    mode,
                )
            }
            "ImageTagTransformer" => {
                let image = image_of(f.get("imageTag"))?;
                crate::transform::images(rm, &image, &field_specs(&f, false)?)
            }
            "ReplicaCountTransformer" => {
                let rep = match f.get("replica") {
                    Some(r) => {
                        let rf = object(r, "Replica", &["name", "count"])?;
                        Replica {
                            name: opt_string(rf.get("name"), "name")?,
                            count: opt_int(rf.get("count"), "count")?,
                        }
                    }
                    None => Replica::default(),
                };
                crate::transform::replicas(rm, &rep, &field_specs(&f, false)?)
            }
            "PatchTransformer" => {
                let options = match f.get("options") {
                    Some(o) if !o.is_null() => {
                        let of = object(o, "PatchArgs", &["allowNameChange", "allowKindChange"])?;
                        PatchOptions {
                            allow_name_change: opt_bool(of.get("allowNameChange"), "options")?,
                            allow_kind_change: opt_bool(of.get("allowKindChange"), "options")?,
                        }
                    }
                    _ => PatchOptions::default(),
                };
                let p = Patch {
                    path: opt_string(f.get("path"), "path")?,
                    patch: opt_string(f.get("patch"), "patch")?,
                    target: target_of(f.get("target"))?,
                    options,
                };
                crate::patches::apply_patch(rm, ldr, &p, limits)
            }
            "PatchStrategicMergeTransformer" => {
                let mut entries = opt_strings(f.get("paths"), "paths")?;
                let inline = opt_string(f.get("patches"), "patches")?;
                if entries.is_empty() && inline.is_empty() {
                    return Err(Error::new("empty file path and empty patch content"));
                }
                if !inline.is_empty() {
                    entries.push(inline);
                }
                crate::patches::strategic_merge_files(rm, ldr, &entries, limits)
            }
            "PatchJson6902Transformer" => {
                let p = Patch {
                    path: opt_string(f.get("path"), "path")?,
                    patch: opt_string(f.get("jsonOp"), "jsonOp")?,
                    target: target_of(f.get("target"))?,
                    options: PatchOptions::default(),
                };
                crate::patches::apply_json6902_entry(rm, ldr, &p, limits)
            }
            "ReplacementTransformer" => {
                let mut entries = Vec::new();
                for r in list(f.get("replacements"), "replacements")? {
                    entries.push(decode_replacement(r, "replacements")?);
                }
                let all = load_replacements(ldr, &entries, limits)?;
                crate::replacement::apply(rm, &all)
            }
            "HashTransformer" => crate::generate::append_name_hashes(rm),
            other => Err(Error::new(format!(
                "builtin transformer {other} is not supported"
            ))),
        }
    };
    decode::lenient(run).map_err(|e| e.context(format!("plugin {id}")))
}
