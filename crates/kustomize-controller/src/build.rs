//! From an unpacked artifact to the objects to apply, as Flux does it:
//! generate a `kustomization.yaml` when the path has none, merge the
//! Kustomization's own kustomize settings into it, build with the native
//! engine confined to the artifact, then apply `postBuild` substitution and
//! `commonMetadata`.
//!
//! Builds share nothing, so any number run at once (Flux serialises every
//! build behind one global lock).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use weir_api::kustomize::v1::Kustomization;
use weir_kustomize::fs::{FileSystem, RealFs};
use weir_kustomize::yaml::{Limits, parse_documents, parse_single, to_json};

/// kustomize's recognised file names, in its order of preference.
const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A build failure; the message names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// A filesystem that refuses anything outside the artifact root (after
/// resolving links), so a kustomization can use `../base` inside its
/// repository but never read the controller's own files.
struct ConfinedFs {
    root: PathBuf,
}

impl ConfinedFs {
    fn check(&self, path: &Path) -> io::Result<PathBuf> {
        let real = std::fs::canonicalize(path)?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("'{}' is outside the source artifact", path.display()),
            ))
        }
    }
}

impl FileSystem for ConfinedFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        RealFs.read_file(&self.check(path)?)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.check(path).is_ok_and(|p| p.is_dir())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.check(path).is_ok_and(|p| p.is_file())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.check(path)
    }
}

/// `spec.path` inside `root`, refusing anything that climbs out of it.
pub fn resolve_path(root: &Path, spec_path: Option<&str>) -> Result<PathBuf, BuildError> {
    let raw = spec_path.unwrap_or("./");
    let mut out = root.to_path_buf();
    for c in Path::new(raw).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if out == root {
                    return Err(BuildError(format!(
                        "path '{raw}' points outside the source artifact"
                    )));
                }
                out.pop();
            }
            Component::Prefix(_) => return Err(BuildError(format!("path '{raw}' is not valid"))),
        }
    }
    if !out.is_dir() {
        return Err(BuildError(format!(
            "kustomization path not found: '{raw}' does not exist in the source artifact"
        )));
    }
    Ok(out)
}

/// Builds the objects of `ks` from the directory `dir` within `root`.
pub fn build(root: &Path, dir: &Path, ks: &Kustomization) -> Result<Vec<Value>, BuildError> {
    let root = std::fs::canonicalize(root)
        .map_err(|e| BuildError(format!("reading the artifact: {e}")))?;
    let file = match existing_kustomization(dir) {
        Some(file) => file,
        None => {
            generate(&root, dir)?;
            dir.join(KUSTOMIZATION_FILES[0])
        }
    };
    merge_spec(&file, ks)?;

    let fs: Arc<dyn FileSystem> = Arc::new(ConfinedFs { root });
    let opts = weir_kustomize::Options {
        // Flux loads files from anywhere inside the artifact.
        load_restrictions: weir_kustomize::LoadRestrictions::None,
        ..Default::default()
    };
    let built = weir_kustomize::build(fs, dir, &opts)
        .map_err(|e| BuildError(format!("kustomize build failed: {e}")))?;
    let mut objects = Vec::with_capacity(built.resources().len());
    for r in built.resources() {
        let obj =
            to_json(&r.node).map_err(|e| BuildError(format!("converting {}: {e}", r.cur_id())))?;
        objects.push(obj);
    }
    Ok(objects)
}

fn existing_kustomization(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// Flux's generator: every `.yaml`/`.yml` file below `dir` that decodes as
/// Kubernetes objects becomes a resource; a subdirectory holding its own
/// kustomization is added as a whole and not descended into.
fn generate(root: &Path, dir: &Path) -> Result<(), BuildError> {
    let mut resources = Vec::new();
    scan(root, dir, dir, &mut resources)?;
    let doc = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    write_json(&dir.join(KUSTOMIZATION_FILES[0]), &doc)
}

fn scan(root: &Path, base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BuildError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .and_then(|rd| {
            rd.map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| BuildError(format!("reading '{}': {e}", rel(root, dir))))?;
    entries.sort();
    for path in entries {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| BuildError(format!("reading '{}': {e}", rel(root, &path))))?;
        let relative = format!("./{}", path.strip_prefix(base).unwrap_or(&path).display());
        if meta.is_dir() {
            if existing_kustomization(&path).is_some() {
                out.push(relative);
            } else {
                scan(root, base, &path, out)?;
            }
            continue;
        }
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if !meta.is_file() || !is_yaml {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| BuildError(format!("reading '{}': {e}", rel(root, &path))))?;
        let docs = parse_documents(&text, &Limits::default()).map_err(|e| {
            BuildError(format!(
                "failed to decode Kubernetes YAML from '{}': {e}",
                rel(root, &path)
            ))
        })?;
        for doc in docs {
            let value = to_json(&doc.root).map_err(|e| {
                BuildError(format!(
                    "failed to decode Kubernetes YAML from '{}': {e}",
                    rel(root, &path)
                ))
            })?;
            let is_object = value.get("kind").is_some_and(Value::is_string)
                && value.get("apiVersion").is_some_and(Value::is_string);
            if !value.is_null() && !is_object {
                return Err(BuildError(format!(
                    "failed to decode Kubernetes YAML from '{}': missing apiVersion or kind",
                    rel(root, &path)
                )));
            }
        }
        out.push(relative);
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Writes JSON (which is YAML) so kustomize reads it back unchanged.
fn write_json(path: &Path, doc: &Value) -> Result<(), BuildError> {
    let text = serde_json::to_string_pretty(doc).map_err(|e| BuildError(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| BuildError(format!("writing {}: {e}", path.display())))
}

/// Adds `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `images`
/// and `components` from the Kustomization to the kustomization file, as
/// Flux's generator does (images replace entries of the same name).
fn merge_spec(file: &Path, ks: &Kustomization) -> Result<(), BuildError> {
    let spec = &ks.spec;
    let wanted = spec.target_namespace.is_some()
        || spec.name_prefix.is_some()
        || spec.name_suffix.is_some()
        || spec.patches.as_ref().is_some_and(|p| !p.is_empty())
        || spec.images.as_ref().is_some_and(|i| !i.is_empty())
        || spec.components.as_ref().is_some_and(|c| !c.is_empty());
    if !wanted {
        return Ok(());
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text =
        std::fs::read_to_string(file).map_err(|e| BuildError(format!("reading {name}: {e}")))?;
    let node =
        parse_single(&text, &Limits::default()).map_err(|e| BuildError(format!("{name}: {e}")))?;
    let mut doc = to_json(&node).map_err(|e| BuildError(format!("{name}: {e}")))?;
    if doc.is_null() {
        doc = json!({});
    }
    let Some(map) = doc.as_object_mut() else {
        return Err(BuildError(format!("{name} is not a mapping")));
    };
    if let Some(ns) = &spec.target_namespace {
        map.insert("namespace".into(), json!(ns));
    }
    if let Some(prefix) = &spec.name_prefix {
        map.insert("namePrefix".into(), json!(prefix));
    }
    if let Some(suffix) = &spec.name_suffix {
        map.insert("nameSuffix".into(), json!(suffix));
    }
    let mut append = |key: &str, items: Vec<Value>| {
        let list = map.entry(key.to_owned()).or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        if let Some(list) = list.as_array_mut() {
            list.extend(items);
        }
    };
    if let Some(patches) = &spec.patches {
        append(
            "patches",
            patches
                .iter()
                .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
                .collect(),
        );
    }
    if let Some(components) = &spec.components {
        append("components", components.iter().map(|c| json!(c)).collect());
    }
    if let Some(images) = &spec.images {
        let list = map.entry("images".to_owned()).or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        if let Some(list) = list.as_array_mut() {
            for image in images {
                let v = serde_json::to_value(image).unwrap_or(Value::Null);
                match list
                    .iter_mut()
                    .find(|e| e.get("name").and_then(Value::as_str) == Some(image.name.as_str()))
                {
                    Some(existing) => *existing = v,
                    None => list.push(v),
                }
            }
        }
    }
    write_json(file, &doc)
}

/// `postBuild.substitute` (and the values read from `substituteFrom`,
/// merged by the caller) applied to every object not opted out.
pub fn substitute(
    objects: Vec<Value>,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, BuildError> {
    let opts = weir_envsubst::Options { strict };
    objects
        .into_iter()
        .map(|obj| {
            weir_envsubst::substitute_object(&obj, vars, &opts).map_err(|e| {
                let id = object_id(&obj);
                BuildError(format!("post-build substitution failed for {id}: {e}"))
            })
        })
        .collect()
}

/// `Kind/namespace/name` for messages.
pub fn object_id(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("?");
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Adds labels and annotations to every object (`commonMetadata`, and the
/// owner labels Flux uses to find what a Kustomization applied).
pub fn add_metadata(
    objects: &mut [Value],
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) {
    for obj in objects {
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, values) in [("labels", labels), ("annotations", annotations)] {
            if values.is_empty() {
                continue;
            }
            let entry = meta.entry(field.to_owned()).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            if let Some(map) = entry.as_object_mut() {
                for (k, v) in values {
                    map.insert(k.clone(), json!(v));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(spec: Value) -> Kustomization {
        let mut base = json!({"interval": "10m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "repo"}});
        if let (Some(b), Some(s)) = (base.as_object_mut(), spec.as_object()) {
            for (k, v) in s {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "x", "namespace": "ns"}, "spec": base})).unwrap()
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        dir
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n";

    #[test]
    fn generates_a_kustomization_for_plain_manifests() {
        let t = tree(&[
            ("apps/cm.yaml", CM),
            ("apps/README.md", "not yaml"),
            (
                "apps/sub/deploy.yml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
            ),
            ("apps/base/kustomization.yaml", "resources: [cm.yaml]\n"),
            (
                "apps/base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-base\n",
            ),
        ]);
        let dir = resolve_path(t.path(), Some("./apps")).unwrap();
        let objects = build(t.path(), &dir, &ks(json!({}))).unwrap();
        let ids: Vec<String> = objects.iter().map(object_id).collect();
        assert_eq!(ids, ["ConfigMap/cm", "ConfigMap/from-base", "Service/svc"]);
    }

    #[test]
    fn spec_settings_are_merged() {
        let t = tree(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml, deploy.yaml]\nimages:\n- name: nginx\n  newTag: \"1.0\"\n",
            ),
            ("cm.yaml", CM),
            (
                "deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n",
            ),
        ]);
        let spec = json!({
            "targetNamespace": "prod", "namePrefix": "p-", "nameSuffix": "-s",
            "images": [{"name": "nginx", "newTag": "2.0"}],
            "patches": [{"patch": "- op: add\n  path: /data/b\n  value: \"2\"\n", "target": {"kind": "ConfigMap"}}],
        });
        let objects = build(t.path(), t.path(), &ks(spec)).unwrap();
        let cm = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
        assert_eq!(cm["metadata"]["name"], "p-cm-s");
        assert_eq!(cm["metadata"]["namespace"], "prod");
        assert_eq!(cm["data"]["b"], "2");
        let deploy = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        assert_eq!(
            deploy["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:2.0"
        );
    }

    #[test]
    fn broken_yaml_names_the_file() {
        let t = tree(&[
            ("good.yaml", CM),
            ("bad.yaml", "apiVersion: v1\nkind: [unclosed\n"),
        ]);
        let err = build(t.path(), t.path(), &ks(json!({}))).unwrap_err();
        assert!(err.0.contains("bad.yaml"), "{err}");
        let t = tree(&[
            ("kustomization.yaml", "resources: [bad.yaml]\n"),
            ("bad.yaml", "kind: [\n"),
        ]);
        let err = build(t.path(), t.path(), &ks(json!({}))).unwrap_err();
        assert!(err.0.contains("bad.yaml"), "{err}");
    }

    #[test]
    fn paths_stay_inside_the_artifact() {
        let t = tree(&[("a/cm.yaml", CM)]);
        assert!(resolve_path(t.path(), Some("../..")).is_err());
        assert!(
            resolve_path(t.path(), Some("./missing"))
                .unwrap_err()
                .0
                .contains("not found")
        );
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yaml"), CM).unwrap();
        let escape = format!(
            "resources:\n- {}\n",
            outside.path().join("secret.yaml").display()
        );
        let t = tree(&[("kustomization.yaml", escape.as_str())]);
        let err = build(t.path(), t.path(), &ks(json!({}))).unwrap_err();
        assert!(
            err.0.contains("outside") || err.0.contains("secret.yaml"),
            "{err}"
        );
    }

    #[test]
    fn substitution_and_metadata() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"env": "${env:=dev}", "region": "${region}"}}),
        ];
        let vars = BTreeMap::from([("region".to_owned(), "eu".to_owned())]);
        let mut out = substitute(objs.clone(), &vars, true).unwrap();
        assert_eq!(out[0]["data"], json!({"env": "dev", "region": "eu"}));
        let err = substitute(
            objs,
            &BTreeMap::from([("other".to_owned(), "x".to_owned())]),
            true,
        )
        .unwrap_err();
        assert!(
            err.0.contains("region") && err.0.contains("ConfigMap/c"),
            "{err}"
        );
        add_metadata(
            &mut out,
            &BTreeMap::from([("team".to_owned(), "a".to_owned())]),
            &BTreeMap::new(),
        );
        assert_eq!(out[0]["metadata"]["labels"]["team"], "a");
    }
}
