//! The build pipeline: load a kustomization, accumulate resources from its
//! resources, generators and components, run its transformers, then fix
//! name references, add name hashes and order the result.

use std::path::Path;
use std::sync::Arc;

use crate::config::{ORDER_FIRST, ORDER_LAST, TransformerConfig, type_order_rank};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::kustomization::{COMPONENT_KIND, FILE_NAMES, Kustomization, Var};
use crate::loader::Loader;
use crate::resmap::ResMap;
use crate::resource::{Behavior, Resource};
use crate::yaml::{Limits, Node, parse_documents};

/// Output order of the built resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// kustomize's legacy kind order (the default).
    #[default]
    Legacy,
    /// Input order.
    None,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub reorder: Reorder,
    pub limits: Limits,
    /// Which files kustomizations may read (default: only inside their root).
    pub load_restrictions: crate::loader::LoadRestrictions,
}

struct Target {
    k: Kustomization,
    ldr: Loader,
    file: String,
    /// With build metadata on: the path of this kustomization relative to
    /// the top one, recorded in origin annotations.
    origin: Option<String>,
}

const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";

/// Go's `filepath.Join` of two relative paths (cleaned, `""` parts dropped).
fn join_origin(base: &str, path: &str) -> String {
    let joined = if base.is_empty() {
        path.to_string()
    } else if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{path}")
    };
    if joined.is_empty() {
        return String::new();
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

fn set_origin_annotation(r: &mut Resource, value: &str) {
    let Some(Node::Map(md)) = r.node.get_mut("metadata") else {
        return;
    };
    let ann = md.entry_or_insert_with("annotations", Node::empty_map);
    if !ann.is_map() {
        *ann = Node::empty_map();
    }
    if let Node::Map(m) = ann {
        m.insert(ORIGIN_ANNOTATION, Node::string(value));
    }
}

#[derive(Default)]
struct Acc {
    rm: ResMap,
    config: TransformerConfig,
    vars: Vec<Var>,
}

impl Acc {
    fn merge(&mut self, other: Acc) -> Result<()> {
        self.rm.append_all(other.rm)?;
        self.config.merge(&other.config)?;
        for v in other.vars {
            if self.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::new(format!("var '{}' already encountered", v.name)));
            }
            self.vars.push(v);
        }
        Ok(())
    }
}

fn load_target(ldr: Loader) -> Result<Target> {
    let mut found: Vec<(&str, Vec<u8>)> = Vec::new();
    for name in FILE_NAMES {
        let p = ldr.root().join(name);
        if ldr.fs().is_file(&p)
            && let Ok(c) = ldr.load(name)
        {
            found.push((name, c));
        }
    }
    let (file, content) = match found.len() {
        0 => {
            return Err(Error::new(format!(
                "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                ldr.root().display()
            )));
        }
        1 => found.remove(0),
        _ => {
            return Err(Error::new(format!(
                "Found multiple kustomization files under: {}",
                ldr.root().display()
            )));
        }
    };
    let path = ldr.root().join(file);
    let ctx = || path.display().to_string();
    let text =
        String::from_utf8(content).map_err(|_| Error::new("invalid UTF-8").context(ctx()))?;
    let docs = parse_documents(&text, &Limits::default())
        .map_err(|e| Error::new(format!("invalid Kustomization: {e}")).context(ctx()))?;
    let doc = docs.into_iter().next().map(|d| d.root).unwrap_or_default();
    let k = Kustomization::decode(&doc).map_err(|e| e.context(ctx()))?;
    if k.is_empty {
        return Err(Error::new("kustomization.yaml is empty").context(ctx()));
    }
    if k.helm {
        return Err(Error::new(
            "helm chart inflation is not supported (it would run an external program)",
        )
        .context(ctx()));
    }
    Ok(Target {
        k,
        ldr,
        file: file.to_string(),
        origin: None,
    })
}

/// Splits a stream the way kustomize's reader does: on lines starting with
/// `---` that follow a newline; such a line may only carry a comment.
fn split_documents(s: &str) -> Result<Vec<String>> {
    let mut docs = Vec::new();
    if s.is_empty() {
        return Ok(docs);
    }
    let bytes = s.as_bytes();
    let mut prev = 0;
    let mut i = 0;
    while let Some(off) = s[i..].find("\n---") {
        let start = i + off;
        let Some(nl) = s[start + 1..].find('\n') else {
            break;
        };
        let end = start + 1 + nl + 1;
        let rest = s[start + 4..end - 1].trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(Error::new(format!(
                "invalid document separator: {}",
                s[start..end].trim()
            )));
        }
        // A separator right after another one starts on the previous
        // separator's newline: the document between them is empty.
        docs.push(s.get(prev..start).unwrap_or_default().to_string());
        prev = end;
        i = end - 1;
        if i >= bytes.len() {
            break;
        }
    }
    docs.push(s[prev..].to_string());
    Ok(docs)
}

/// Parses a resource file into resources the way kustomize reads one: each
/// `---`-separated chunk is one document, empty ones are skipped, and
/// `*List` kinds are expanded into their items.
pub fn parse_resources(text: &str, limits: &Limits) -> Result<Vec<Resource>> {
    let text = text.replace("\r\n", "\n");
    let chunks = split_documents(&text)?;
    let n = chunks.len();
    let mut nodes = Vec::new();
    for (i, mut chunk) in chunks.into_iter().enumerate() {
        if i != n - 1 {
            chunk.push('\n');
        }
        let doc = crate::yaml::parse_first_document(&chunk, limits)
            .map_err(|e| Error::new(format!("MalformedYAMLError: {e}")))?;
        let Some(doc) = doc else { continue };
        // Null documents, and empty mappings or lists, are dropped.
        if doc.empty || is_nil_or_empty(&doc.root) {
            continue;
        }
        nodes.push(doc.root);
    }
    let mut queue: std::collections::VecDeque<Node> = nodes.into();
    let mut out = Vec::new();
    while let Some(node) = queue.pop_front() {
        validate(&node)?;
        let kind = node.get_str(&["kind"]).unwrap_or("").to_string();
        if kind.ends_with("List") {
            match node.get("items") {
                None => {}
                Some(Node::Seq(items)) => {
                    for it in items {
                        if it.is_null() {
                            continue;
                        }
                        queue.push_back(it.clone());
                    }
                    continue;
                }
                Some(n) if n.is_null() => continue,
                Some(_) => {
                    return Err(Error::new(format!("expected array in {kind}/items")));
                }
            }
        }
        out.push(Resource::new(node));
    }
    Ok(out)
}

fn validate(node: &Node) -> Result<()> {
    if !node.is_map() {
        return Err(Error::new(format!(
            "expected a mapping for a resource, found a {}",
            node.kind_name()
        )));
    }
    let kind = node.get_str(&["kind"]).unwrap_or("");
    if kind.is_empty() {
        return Err(Error::new("missing kind in object"));
    }
    if !kind.ends_with("List") && node.get_str(&["metadata", "name"]).unwrap_or("").is_empty() {
        return Err(Error::new(format!(
            "missing metadata.name in object of kind {kind}"
        )));
    }
    Ok(())
}

impl Target {
    fn ctx(&self) -> String {
        self.ldr.root().join(&self.file).display().to_string()
    }

    fn accumulate_file(
        &self,
        acc: &mut Acc,
        path: &str,
        limits: &Limits,
    ) -> std::result::Result<(), (Error, bool)> {
        let content = self.ldr.load(path).map_err(|e| (e, false))?;
        let text = String::from_utf8(content)
            .map_err(|_| (Error::new(format!("'{path}': invalid UTF-8")), true))?;
        let res = parse_resources(&text, limits).map_err(|e| {
            (
                e.context(format!("accumulating resources from '{path}'")),
                true,
            )
        })?;
        let mut res = res;
        for r in res.iter_mut() {
            if let Some(o) = &self.origin {
                set_origin_annotation(r, &format!("path: {}\n", join_origin(o, path)));
            }
        }
        {
            acc.rm
                .extend_checked(res)
                .map_err(|e| (e.context(format!("merging resources from '{path}'")), true))?;
        }
        Ok(())
    }

    fn accumulate_resources(&self, acc: &mut Acc, paths: &[String], opts: &Options) -> Result<()> {
        for path in paths {
            let ctx = || format!("resources entry '{path}' of {}", self.ctx());
            if crate::loader::is_remote(path) {
                return Err(Error::new(
                    "remote resources and bases (URLs, git repositories) are not supported",
                )
                .context(ctx()));
            }
            let is_dir = !crate::loader::is_remote(path)
                && !Path::new(path).is_absolute()
                && self.ldr.fs().is_dir(&self.ldr.root().join(path));
            if is_dir {
                let child = self.ldr.child(path).map_err(|e| e.context(ctx()))?;
                let sub = self
                    .accumulate_directory(child, path, false, None, opts)
                    .map_err(|e| e.context(ctx()))?;
                acc.merge(sub).map_err(|e| e.context(ctx()))?;
                continue;
            }
            match self.accumulate_file(acc, path, &opts.limits) {
                Ok(()) => {}
                Err((e, true)) => return Err(e.context(ctx())),
                Err((file_err, false)) => {
                    // Not a loadable file: kustomize then tries it as a
                    // directory, which reports the clearer error.
                    let child = self.ldr.child(path).map_err(|e| {
                        Error::new(format!("{file_err}; and as a directory: {e}")).context(ctx())
                    })?;
                    let sub = self
                        .accumulate_directory(child, path, false, None, opts)
                        .map_err(|e| e.context(ctx()))?;
                    acc.merge(sub).map_err(|e| e.context(ctx()))?;
                }
            }
        }
        Ok(())
    }

    fn accumulate_directory(
        &self,
        ldr: Loader,
        origin_path: &str,
        component: bool,
        into: Option<Acc>,
        opts: &Options,
    ) -> Result<Acc> {
        let root = ldr.root().display().to_string();
        let mut sub = load_target(ldr)
            .map_err(|e| e.context(format!("couldn't make target for path '{root}'")))?;
        sub.k.build_metadata = self.k.build_metadata.clone();
        sub.origin = self.origin.as_ref().map(|o| join_origin(o, origin_path));
        if sub.k.namespace.is_empty() && !self.k.namespace.is_empty() {
            sub.k.namespace = self.k.namespace.clone();
        }
        if component && sub.k.kind != COMPONENT_KIND {
            return Err(Error::new(format!(
                "expected kind '{COMPONENT_KIND}' for path '{root}' but got '{}'",
                sub.k.kind
            )));
        }
        if !component && sub.k.kind == COMPONENT_KIND {
            return Err(Error::new(format!(
                "expected kind != '{COMPONENT_KIND}' for path '{root}'"
            )));
        }
        sub.accumulate(into.unwrap_or_default(), opts)
            .map_err(|e| e.context(format!("recursed accumulation of path '{root}'")))
    }

    fn accumulate(&self, mut acc: Acc, opts: &Options) -> Result<Acc> {
        let ctx = self.ctx();
        self.accumulate_resources(&mut acc, &self.k.resources, opts)?;
        let mut config = TransformerConfig::builtin();
        for c in &self.k.configurations {
            let what = || format!("configurations entry '{c}' of {ctx}");
            let content = self.ldr.load(c).map_err(|e| e.context(what()))?;
            let text = String::from_utf8_lossy(&content).into_owned();
            let doc = crate::yaml::parse_single(&text, &opts.limits)
                .map_err(|e| Error::from(e).context(what()))?;
            let custom = TransformerConfig::decode(&doc, c).map_err(|e| e.context(what()))?;
            config.merge(&custom).map_err(|e| e.context(what()))?;
        }
        acc.config
            .merge(&config)
            .map_err(|e| e.context(format!("merging configurations of {ctx}")))?;
        let crd_config = crate::crds::load(&self.ldr, &self.k.crds, &opts.limits)
            .map_err(|e| e.context(format!("crds {:?} of {ctx}", self.k.crds)))?;
        acc.config
            .merge(&crd_config)
            .map_err(|e| e.context(format!("crds {:?} of {ctx}", self.k.crds)))?;
        self.run_generators(&mut acc)?;
        self.run_plugin_generators(&mut acc, opts)?;
        for path in &self.k.components {
            let what = || format!("components entry '{path}' of {ctx}");
            let child = self.ldr.child(path).map_err(|e| e.context(what()))?;
            let taken = std::mem::take(&mut acc);
            acc = self
                .accumulate_directory(child, path, true, Some(taken), opts)
                .map_err(|e| e.context(what()))?;
        }
        self.run_transformers(&mut acc, opts)?;
        self.run_plugin_transformers(&mut acc, opts)?;
        self.run_plugin_validators(&mut acc, opts)?;
        crate::vars::merge_vars(&mut acc.rm, &mut acc.vars, &self.k.vars)
            .map_err(|e| e.context(format!("vars of {ctx}")))?;
        Ok(acc)
    }

    fn run_generators(&self, acc: &mut Acc) -> Result<()> {
        let gopts = self.k.generator_options.as_ref();
        let mut generated = Vec::new();
        for g in &self.k.config_map_generator {
            generated.push((
                crate::generate::generate(&self.ldr, g, gopts, false)?,
                "ConfigMapGenerator",
            ));
        }
        for g in &self.k.secret_generator {
            generated.push((
                crate::generate::generate(&self.ldr, g, gopts, true)?,
                "SecretGenerator",
            ));
        }
        for (mut r, by) in generated {
            if let Some(o) = &self.origin {
                set_origin_annotation(
                    &mut r,
                    &format!(
                        "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {by}\n",
                        join_origin(o, &self.file)
                    ),
                );
            }
            absorb(&mut acc.rm, r).map_err(|e| e.context(self.ctx()))?;
        }
        Ok(())
    }

    /// Records that a builtin transformer ran over every resource (only when
    /// build metadata is on).
    fn record(&self, rm: &mut ResMap, kind: &str) {
        let Some(o) = &self.origin else { return };
        let entry = format!(
            "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
            join_origin(o, &self.file)
        );
        record_entry(rm, &entry);
    }

    /// Plugin configuration resources from `generators:`, `transformers:`
    /// or `validators:` entries: inline YAML, files or kustomization
    /// directories.
    fn plugin_configs(&self, entries: &[String], opts: &Options) -> Result<Vec<Resource>> {
        let mut acc = Acc::default();
        let mut paths = Vec::new();
        for e in entries {
            match parse_resources(e, &opts.limits) {
                Ok(mut rs) if !rs.is_empty() => {
                    if let Some(o) = &self.origin {
                        for r in rs.iter_mut() {
                            set_origin_annotation(
                                r,
                                &format!("path: {}\n", join_origin(o, &self.file)),
                            );
                        }
                    }
                    acc.rm.extend_checked(rs)?;
                }
                _ => paths.push(e.clone()),
            }
        }
        self.accumulate_resources(&mut acc, &paths, opts)?;
        Ok(acc.rm.into_resources())
    }

    fn run_plugin_generators(&self, acc: &mut Acc, opts: &Options) -> Result<()> {
        if self.k.generators.is_empty() {
            return Ok(());
        }
        let ctx = format!("generators of {}", self.ctx());
        for config in self
            .plugin_configs(&self.k.generators, opts)
            .map_err(|e| e.context(&ctx))?
        {
            let mut r = crate::plugins::generate(&self.ldr, &config, &opts.limits)
                .map_err(|e| e.context(&ctx))?;
            if let Some(entry) = custom_plugin_origin(&config) {
                set_origin_annotation(&mut r, &entry);
            }
            absorb(&mut acc.rm, r).map_err(|e| e.context(&ctx))?;
        }
        Ok(())
    }

    fn run_plugin_transformers(&self, acc: &mut Acc, opts: &Options) -> Result<()> {
        if self.k.transformers.is_empty() {
            return Ok(());
        }
        let ctx = format!("transformers of {}", self.ctx());
        for config in self
            .plugin_configs(&self.k.transformers, opts)
            .map_err(|e| e.context(&ctx))?
        {
            crate::plugins::transform(&mut acc.rm, &self.ldr, &config, &opts.limits)
                .map_err(|e| e.context(&ctx))?;
            if let Some(entry) = custom_plugin_origin(&config) {
                record_entry(&mut acc.rm, &entry);
            }
            acc.rm.resources_mut().retain(|r| !is_nil_or_empty(&r.node));
        }
        Ok(())
    }

    fn run_plugin_validators(&self, acc: &mut Acc, opts: &Options) -> Result<()> {
        if self.k.validators.is_empty() {
            return Ok(());
        }
        let ctx = format!("validators of {}", self.ctx());
        for config in self
            .plugin_configs(&self.k.validators, opts)
            .map_err(|e| e.context(&ctx))?
        {
            let before = acc.rm.clone();
            let mut after = acc.rm.clone();
            crate::plugins::transform(&mut after, &self.ldr, &config, &opts.limits)
                .map_err(|e| e.context(&ctx))?;
            for r in after.resources_mut() {
                if let Some(Node::Map(l)) = r.node.get_path_mut(&["metadata", "labels"]) {
                    l.remove("validated-by");
                }
            }
            let same = before.len() == after.len()
                && before
                    .resources()
                    .iter()
                    .zip(after.resources())
                    .all(|(a, b)| a.node == b.node);
            if !same {
                return Err(Error::new("validator shouldn't modify the resource map").context(&ctx));
            }
        }
        Ok(())
    }
}

fn is_nil_or_empty(n: &Node) -> bool {
    match n {
        Node::Scalar(s) => s.is_null(),
        Node::Map(m) => m.is_empty(),
        Node::Seq(s) => s.is_empty(),
    }
}

/// The origin kustomize records for what a configured plugin did, when the
/// plugin's configuration itself has an origin.
fn custom_plugin_origin(config: &Resource) -> Option<String> {
    let origin = config.annotations().get(ORIGIN_ANNOTATION).cloned()?;
    let path = origin
        .lines()
        .find_map(|l| l.strip_prefix("path: "))
        .unwrap_or("")
        .to_string();
    let mut entry = String::new();
    if !path.is_empty() {
        entry.push_str(&format!("configuredIn: {path}\n"));
    }
    entry.push_str(&format!(
        "configuredBy:\n  apiVersion: {}\n  kind: {}\n",
        config.api_version(),
        config.kind()
    ));
    if !config.name().is_empty() {
        entry.push_str(&format!("  name: {}\n", config.name()));
    }
    if !config.namespace().is_empty() {
        entry.push_str(&format!("  namespace: {}\n", config.namespace()));
    }
    Some(entry)
}

/// Appends a transformation record to every resource (or sets it as the
/// origin of resources that have none).
fn record_entry(rm: &mut ResMap, entry: &str) {
    {
        for r in rm.resources_mut() {
            let ann = r.annotations();
            if !ann.contains_key(ORIGIN_ANNOTATION) {
                set_origin_annotation(r, entry);
                continue;
            }
            let mut list = ann
                .get(TRANSFORMATIONS_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            for (i, line) in entry.lines().enumerate() {
                list.push_str(if i == 0 { "- " } else { "  " });
                list.push_str(line);
                list.push('\n');
            }
            r.node.set_path(
                &["metadata", "annotations", TRANSFORMATIONS_ANNOTATION],
                Node::string(list),
            );
        }
    }
}

impl Target {
    fn run_transformers(&self, acc: &mut Acc, opts: &Options) -> Result<()> {
        let k = &self.k;
        let tc = acc.config.clone();
        let ctx = self.ctx();
        if !k.patches_strategic_merge.is_empty() {
            crate::patches::strategic_merge_files(
                &mut acc.rm,
                &self.ldr,
                &k.patches_strategic_merge,
                &opts.limits,
            )
            .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "PatchStrategicMergeTransformer");
        }
        for p in &k.patches {
            crate::patches::apply_patch(&mut acc.rm, &self.ldr, p, &opts.limits)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            crate::transform::namespace(&mut acc.rm, &k.namespace, &tc.namespace)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            crate::transform::prefix_suffix(&mut acc.rm, &k.name_prefix, &tc.name_prefix, true)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            crate::transform::prefix_suffix(&mut acc.rm, &k.name_suffix, &tc.name_suffix, false)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "SuffixTransformer");
        }
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            for l in &k.labels {
                crate::transform::labels(
                    &mut acc.rm,
                    std::slice::from_ref(l),
                    &Default::default(),
                    &tc,
                )
                .map_err(|e| e.context(&ctx))?;
                self.record(&mut acc.rm, "LabelTransformer");
            }
            crate::transform::labels(&mut acc.rm, &[], &k.common_labels, &tc)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "LabelTransformer");
        }
        if !k.common_annotations.is_empty() {
            crate::transform::set_map_entries(
                &mut acc.rm,
                &k.common_annotations,
                &tc.common_annotations,
            )
            .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "AnnotationsTransformer");
        }
        for p in &k.patches_json6902 {
            crate::patches::apply_json6902_entry(&mut acc.rm, &self.ldr, p, &opts.limits)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "PatchJson6902Transformer");
        }
        for r in &k.replicas {
            crate::transform::replicas(&mut acc.rm, r, &tc.replicas)
                .map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "ReplicaCountTransformer");
        }
        for im in &k.images {
            crate::transform::images(&mut acc.rm, im, &tc.images).map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "ImageTagTransformer");
        }
        if !k.replacements.is_empty() {
            let mut list = Vec::new();
            for r in &k.replacements {
                if !r.path.is_empty() {
                    if r.source.is_some() || !r.targets.is_empty() {
                        return Err(
                            Error::new("cannot specify both path and inline replacement")
                                .context(&ctx),
                        );
                    }
                    let content = self.ldr.load(&r.path).map_err(|e| e.context(&ctx))?;
                    let text = String::from_utf8_lossy(&content).into_owned();
                    let doc = crate::yaml::parse_single(&text, &opts.limits)
                        .map_err(|e| Error::from(e).context(&r.path))?;
                    match &doc {
                        Node::Seq(items) => {
                            for it in items {
                                list.push(crate::kustomization::decode_replacement(it, &r.path)?);
                            }
                        }
                        Node::Map(_) => {
                            list.push(crate::kustomization::decode_replacement(&doc, &r.path)?)
                        }
                        _ => {
                            return Err(Error::new(format!(
                                "unsupported replacement type encountered within replacement path: {}",
                                r.path
                            )));
                        }
                    }
                } else {
                    list.push(r.clone());
                }
            }
            crate::replacement::apply(&mut acc.rm, &list).map_err(|e| e.context(&ctx))?;
            self.record(&mut acc.rm, "ReplacementTransformer");
        }
        Ok(())
    }
}

/// Adds a generated resource, honouring its create/merge/replace behavior.
fn absorb(rm: &mut ResMap, mut r: Resource) -> Result<()> {
    let id = r.cur_id();
    let matches = rm.by_any_id(|x| x.equals(&id));
    let behavior = r.behavior.unwrap_or_default();
    match matches.len() {
        0 => match behavior {
            Behavior::Merge | Behavior::Replace => Err(Error::new(format!(
                "id {id} does not exist; cannot merge or replace"
            ))),
            Behavior::Create => rm.append(r),
        },
        1 => {
            let idx = matches[0];
            let old = rm.get(idx).clone();
            match behavior {
                Behavior::Create => {
                    return Err(Error::new(format!(
                        "id {id} exists; can not use behavior: 'create', behavior must be merge or replace"
                    )));
                }
                Behavior::Replace | Behavior::Merge => {
                    let mut labels = old.labels();
                    labels.extend(r.labels());
                    r.set_string_map("labels", &labels);
                    let mut annotations = old.annotations();
                    annotations.extend(r.annotations());
                    if behavior == Behavior::Merge
                        && let Some(o) = old.annotations().get(ORIGIN_ANNOTATION)
                    {
                        annotations.insert(ORIGIN_ANNOTATION.to_string(), o.clone());
                    }
                    r.set_string_map("annotations", &annotations);
                    r.set_name(old.name());
                    let ns = old.namespace().to_string();
                    if ns.is_empty() {
                        if let Some(Node::Map(md)) = r.node.get_mut("metadata") {
                            md.remove("namespace");
                        }
                    } else {
                        r.set_namespace(&ns);
                    }
                    r.prev_ids = old.prev_ids.clone();
                    r.prefixes = old.prefixes.clone();
                    r.suffixes = old.suffixes.clone();
                    r.ref_by = old.ref_by.clone();
                    r.ref_var_names = old.ref_var_names.clone();
                    r.behavior = old.behavior;
                    r.needs_hash = r.needs_hash && old.needs_hash;
                    r.origin = old.origin.clone();
                    if behavior == Behavior::Merge {
                        for field in ["data", "binaryData"] {
                            let mut merged = string_map(old.node.get(field));
                            merged.extend(string_map(r.node.get(field)));
                            if merged.is_empty() && r.node.get(field).is_none() {
                                continue;
                            }
                            let m: crate::yaml::Mapping = merged
                                .into_iter()
                                .map(|(k, v)| (k, Node::string(v)))
                                .collect();
                            r.node.set_path(&[field], Node::Map(m));
                        }
                    }
                }
            }
            rm.replace(idx, r);
            Ok(())
        }
        _ => Err(Error::new(format!(
            "found multiple objects that could accept merge of {id}"
        ))),
    }
}

fn string_map(n: Option<&Node>) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(Node::Map(m)) = n {
        for (k, v) in m.iter() {
            out.insert(k.clone(), v.as_str().unwrap_or("").to_string());
        }
    }
    out
}

/// Sorts resources in kustomize's legacy order.
pub fn legacy_sort(rm: &mut ResMap, first: &[String], last: &[String]) {
    let rank = |kind: &str| type_order_rank(kind, first, last);
    let res = rm.resources_mut();
    let mut keyed: Vec<(Resource, crate::resid::ResId)> = res
        .drain(..)
        .map(|r| {
            let id = r.cur_id();
            (r, id)
        })
        .collect();
    crate::gosort::sort_by(&mut keyed, |(_, a), (_, b)| legacy_cmp(a, b, &rank).is_lt());
    res.extend(keyed.into_iter().map(|(r, _)| r));
}

fn legacy_cmp(
    a: &crate::resid::ResId,
    b: &crate::resid::ResId,
    rank: &dyn Fn(&str) -> i64,
) -> std::cmp::Ordering {
    {
        use std::cmp::Ordering;
        if a.gvk != b.gvk {
            let (ra, rb) = (rank(&a.gvk.kind), rank(&b.gvk.kind));
            if ra != rb {
                return ra.cmp(&rb);
            }
            if a.gvk.kind == "Namespace"
                && b.gvk.kind == "Namespace"
                && (a.gvk.group.is_empty() || b.gvk.group.is_empty())
            {
                return b.gvk.sort_string().cmp(&a.gvk.sort_string());
            }
            return a.gvk.sort_string().cmp(&b.gvk.sort_string());
        }
        let key = |id: &crate::resid::ResId| {
            format!(
                "{}|{}|{}",
                id.gvk.id_string(),
                if id.namespace.is_empty() {
                    "~X"
                } else {
                    &id.namespace
                },
                if id.name.is_empty() { "~N" } else { &id.name }
            )
        };
        let o = key(a).cmp(&key(b));
        if o == Ordering::Equal {
            Ordering::Equal
        } else {
            o
        }
    }
}

fn apply_sort(rm: &mut ResMap, k: &Kustomization, opts: &Options) -> Result<()> {
    let default_first: Vec<String> = ORDER_FIRST.iter().map(|s| s.to_string()).collect();
    let default_last: Vec<String> = ORDER_LAST.iter().map(|s| s.to_string()).collect();
    if let Some(so) = &k.sort_options {
        let order = if so.order.is_empty() {
            "fifo"
        } else {
            so.order.as_str()
        };
        match order {
            "legacy" => {
                let (f, l) = so.legacy.clone().unwrap_or((default_first, default_last));
                legacy_sort(rm, &f, &l);
            }
            "fifo" => {
                if so.legacy.is_some() {
                    return Err(Error::new(
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
            }
            _ => {
                return Err(Error::new(
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        }
        return Ok(());
    }
    if opts.reorder == Reorder::Legacy {
        legacy_sort(rm, &default_first, &default_last);
    }
    Ok(())
}

/// Builds the kustomization in `dir`.
pub fn build(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<ResMap> {
    let ldr = Loader::with_restrictions(fs, dir, opts.load_restrictions)?;
    let mut target = load_target(ldr)?;
    if !target.k.build_metadata.is_empty() {
        target.origin = Some(String::new());
    }
    let acc = target.accumulate(Acc::default(), opts)?;
    let Acc {
        mut rm,
        config,
        vars,
    } = acc;
    crate::generate::append_name_hashes(&mut rm)?;
    let top = target.ctx();
    crate::nameref::fix_back_references(&mut rm, &config.name_reference)
        .map_err(|e| e.context(&top))?;
    crate::vars::resolve(&mut rm, &vars, &config.var_reference)
        .map_err(|e| e.context(format!("vars of {top}")))?;
    // Every resource must still have a kind and a name; then local-config
    // resources are dropped.
    rm.resources_mut().retain(|r| !is_nil_or_empty(&r.node));
    for r in rm.resources() {
        validate(&r.node).map_err(|e| e.context(&top))?;
    }
    rm.resources_mut().retain(|r| {
        r.annotations()
            .get("config.kubernetes.io/local-config")
            .is_none_or(|v| v == "false")
    });
    apply_sort(&mut rm, &target.k, opts).map_err(|e| e.context(&top))?;
    if target
        .k
        .build_metadata
        .iter()
        .any(|b| b == "managedByLabel")
    {
        for r in rm.resources_mut() {
            r.node.ensure_path(&["metadata", "labels"]);
            r.node.set_path(
                &["metadata", "labels", "app.kubernetes.io/managed-by"],
                Node::string("kustomize-v5.8.0"),
            );
        }
    }
    let keep_origin = target
        .k
        .build_metadata
        .iter()
        .any(|b| b == "originAnnotations");
    let keep_transformations = target
        .k
        .build_metadata
        .iter()
        .any(|b| b == "transformerAnnotations");
    for r in rm.resources_mut() {
        if let Some(Node::Map(ann)) = r.node.get_path_mut(&["metadata", "annotations"]) {
            if !keep_origin {
                ann.remove(ORIGIN_ANNOTATION);
            }
            if !keep_transformations {
                ann.remove(TRANSFORMATIONS_ANNOTATION);
            }
        }
        // Kustomize rewrites every resource's annotations when it strips its
        // internal ones.
        crate::resource::stringify_metadata_map(&mut r.node, "annotations");
    }
    Ok(rm)
}

/// Builds and renders the output stream `kustomize build` prints.
pub fn build_yaml(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<String> {
    let rm = build(fs, dir, opts)?;
    render(&rm)
}

/// Renders resources as a `---`-separated stream.
pub fn render(rm: &ResMap) -> Result<String> {
    let mut out = String::new();
    for (i, r) in rm.resources().iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let y = crate::yaml::emit::to_yaml(&r.node)
            .map_err(|e| Error::new(e).context(r.cur_id().to_string()))?;
        out.push_str(&y);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemoryFs;

    fn memfs(files: &[(&str, &str)]) -> Arc<dyn FileSystem> {
        let mut fs = MemoryFs::new();
        for (p, c) in files {
            fs.add_file(p, *c);
        }
        Arc::new(fs)
    }

    #[test]
    fn builds_from_memory_in_both_orders() {
        let fs = memfs(&[
            (
                "app/kustomization.yaml",
                "namePrefix: x-\nresources:\n- r.yaml\n",
            ),
            (
                "app/r.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
            ),
        ]);
        let legacy = build_yaml(fs.clone(), Path::new("/app"), &Options::default()).expect("build");
        assert!(legacy.starts_with("apiVersion: v1\nkind: Service\nmetadata:\n  name: x-s\n---\n"));
        let none = build_yaml(
            fs,
            Path::new("/app"),
            &Options {
                reorder: Reorder::None,
                ..Options::default()
            },
        )
        .expect("build");
        assert!(none.starts_with("apiVersion: apps/v1\nkind: Deployment\n"));
    }

    #[test]
    fn errors_name_the_file() {
        let fs = memfs(&[("k/kustomization.yaml", "namePrefix: [a]\n")]);
        let err = build_yaml(fs, Path::new("/k"), &Options::default()).expect_err("fails");
        assert!(err.to_string().contains("/k/kustomization.yaml"), "{err}");
        assert!(err.to_string().contains("namePrefix"), "{err}");
    }

    #[test]
    fn files_outside_the_root_are_refused() {
        let fs = memfs(&[
            ("top/kustomization.yaml", "resources:\n- ../secret.yaml\n"),
            (
                "secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
            ),
        ]);
        let err = build_yaml(fs, Path::new("/top"), &Options::default()).expect_err("fails");
        assert!(err.to_string().contains("not in or below"), "{err}");
    }

    #[test]
    fn remote_bases_are_refused() {
        let fs = memfs(&[(
            "k/kustomization.yaml",
            "resources:\n- github.com/org/repo//base?ref=v1\n",
        )]);
        let err = build_yaml(fs, Path::new("/k"), &Options::default()).expect_err("fails");
        assert!(err.to_string().contains("remote"), "{err}");
    }

    #[test]
    fn document_splitting() {
        let docs = split_documents("a: 1\n---\nb: 2\n--- # c\nc: 3").expect("split");
        let adjacent = split_documents("a\n---\n---\n").expect("adjacent separators");
        assert_eq!(adjacent, ["a", "", ""]);
        assert_eq!(docs, vec!["a: 1", "b: 2", "c: 3"]);
        assert!(split_documents("a: 1\n--- x\nb: 2\n").is_err());
    }
}
