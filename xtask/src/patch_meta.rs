//! `cargo xtask patch-meta`: generates the strategic-merge-patch schema table
//! used by `weir-kustomize` (`crates/kustomize/src/patch/schema_table.rs`).
//!
//! Kustomize resolves strategic merge patches against the Kubernetes OpenAPI
//! schema compiled into kyaml (`kyaml/openapi/kubernetesapi/<version>/swagger.pb`,
//! the upstream Kubernetes v1.21.2 schema as served by the API server, plus
//! kyaml's small Kustomization schema). To produce byte-identical output we
//! read that exact schema from the kyaml Go module that kustomize v5.8.0 pins,
//! fetched through the Go module cache. `run_from_swagger_json` builds the
//! same table from any upstream `swagger.json` (e.g. `api/openapi-spec/swagger.json`
//! of `k8s.io/kubernetes`) for comparison.
//!
//! The table keeps, for every schema reachable from a type that carries
//! `x-kubernetes-group-version-kind`, its properties (by name, pointing at the
//! resolved schema of the property), the element schema of arrays, the value
//! schema of maps, and the list patch metadata (`x-kubernetes-patch-strategy`,
//! and the merge keys: `x-kubernetes-list-map-keys` when present, else
//! `x-kubernetes-patch-merge-key`), exactly the information kyaml's walker
//! consults.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

/// The kyaml module version that kustomize v5.8.0 builds with.
pub const KYAML_MODULE: &str = "sigs.k8s.io/kustomize/kyaml@v0.21.0";
/// The Kubernetes OpenAPI version kyaml embeds as its default schema.
pub const KUBERNETES_SCHEMA_VERSION: &str = "v1.21.2";

/// Where the table lives in the workspace.
pub const DEFAULT_OUTPUT: &str = "crates/kustomize/src/patch/schema_table.rs";

/// Generates the table from kustomize's embedded schema and writes it to `out`.
pub fn run(out: &Path) -> Result<()> {
    let dir = go_module_dir(KYAML_MODULE)?;
    let pb_rel = format!(
        "openapi/kubernetesapi/{}/swagger.pb",
        KUBERNETES_SCHEMA_VERSION.replace('.', "_")
    );
    let pb_path = dir.join(&pb_rel);
    let pb = std::fs::read(&pb_path).with_context(|| format!("reading {}", pb_path.display()))?;
    let mut defs = decode_openapi_v2_definitions(&pb)
        .with_context(|| format!("decoding {}", pb_path.display()))?;
    let kust_rel = "openapi/kustomizationapi/swagger.json";
    let kust_path = dir.join(kust_rel);
    let kust = std::fs::read_to_string(&kust_path)
        .with_context(|| format!("reading {}", kust_path.display()))?;
    let kust_defs =
        definitions_from_json(&kust).with_context(|| format!("parsing {}", kust_path.display()))?;
    // kyaml adds the Kustomization definitions after the Kubernetes ones.
    defs.extend(kust_defs);
    let source = format!(
        "the Kubernetes {KUBERNETES_SCHEMA_VERSION} OpenAPI schema embedded in {KYAML_MODULE} \
         ({pb_rel}, {kust_rel})"
    );
    write_table(&defs, &source, out)
}

/// Generates the table from an upstream `swagger.json` instead.
pub fn run_from_swagger_json(swagger: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(swagger)
        .with_context(|| format!("reading {}", swagger.display()))?;
    let defs =
        definitions_from_json(&text).with_context(|| format!("parsing {}", swagger.display()))?;
    write_table(&defs, &swagger.display().to_string(), out)
}

fn write_table(defs: &BTreeMap<String, RawSchema>, source: &str, out: &Path) -> Result<()> {
    let table = build_table(defs)?;
    let text = render(&table, source);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} schemas, {} kinds)",
        out.display(),
        table.entries.len(),
        table.gvks.len()
    );
    Ok(())
}

/// `go mod download -json MODULE@VERSION` → its directory in the module cache.
fn go_module_dir(module: &str) -> Result<PathBuf> {
    let output = Command::new("go")
        .args(["mod", "download", "-json", module])
        .env("GOFLAGS", "-mod=mod")
        .output()
        .context("running `go mod download` (is Go installed?)")?;
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "parsing `go mod download -json {module}` output: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if let Some(err) = parsed.get("Error").and_then(|e| e.as_str()) {
        bail!("go mod download {module}: {err}");
    }
    let dir = parsed
        .get("Dir")
        .and_then(|d| d.as_str())
        .ok_or_else(|| anyhow!("go mod download {module}: no Dir in output"))?;
    Ok(PathBuf::from(dir))
}

// ---------------------------------------------------------------------------
// Source model: the subset of an OpenAPI v2 schema kyaml's walker reads.

#[derive(Clone, Debug, Default)]
struct RawSchema {
    reference: Option<String>,
    types: Vec<String>,
    items: Option<Box<RawSchema>>,
    properties: Vec<(String, RawSchema)>,
    additional: Option<Box<RawSchema>>,
    patch_strategy: Option<String>,
    merge_key: Option<String>,
    list_map_keys: Option<Vec<String>>,
    gvks: Vec<Gvk>,
}

#[derive(Clone, Debug, Default)]
struct Gvk {
    group: String,
    version: String,
    kind: String,
}

impl Gvk {
    fn from_map(m: &BTreeMap<String, String>) -> Gvk {
        let get = |k: &str| m.get(k).cloned().unwrap_or_default();
        Gvk {
            group: get("group"),
            version: get("version"),
            kind: get("kind"),
        }
    }
}

fn definitions_from_json(text: &str) -> Result<BTreeMap<String, RawSchema>> {
    let root: serde_json::Value = serde_json::from_str(text)?;
    let defs = root
        .get("definitions")
        .and_then(|d| d.as_object())
        .ok_or_else(|| anyhow!("no `definitions` object"))?;
    let mut out = BTreeMap::new();
    for (name, schema) in defs {
        out.insert(
            name.clone(),
            schema_from_json(schema).with_context(|| format!("definition {name}"))?,
        );
    }
    Ok(out)
}

fn schema_from_json(v: &serde_json::Value) -> Result<RawSchema> {
    let mut s = RawSchema::default();
    let Some(obj) = v.as_object() else {
        return Ok(s);
    };
    s.reference = obj.get("$ref").and_then(|r| r.as_str()).map(str::to_owned);
    match obj.get("type") {
        Some(serde_json::Value::String(t)) => s.types.push(t.clone()),
        Some(serde_json::Value::Array(ts)) => {
            s.types = ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
        }
        _ => {}
    }
    match obj.get("items") {
        Some(serde_json::Value::Array(items)) => {
            // kube-openapi keeps the first schema of an items list.
            if let Some(first) = items.first() {
                s.items = Some(Box::new(schema_from_json(first)?));
            }
        }
        Some(item @ serde_json::Value::Object(_)) => {
            s.items = Some(Box::new(schema_from_json(item)?));
        }
        _ => {}
    }
    if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
        for (name, p) in props {
            s.properties.push((
                name.clone(),
                schema_from_json(p).with_context(|| format!("property {name}"))?,
            ));
        }
    }
    if let Some(add @ serde_json::Value::Object(_)) = obj.get("additionalProperties") {
        s.additional = Some(Box::new(schema_from_json(add)?));
    }
    s.patch_strategy = obj
        .get("x-kubernetes-patch-strategy")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    s.merge_key = obj
        .get("x-kubernetes-patch-merge-key")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if let Some(keys) = obj
        .get("x-kubernetes-list-map-keys")
        .and_then(|v| v.as_array())
    {
        s.list_map_keys = Some(
            keys.iter()
                .map(|k| {
                    k.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("x-kubernetes-list-map-keys holds a non-string"))
                })
                .collect::<Result<_>>()?,
        );
    }
    if let Some(gvks) = obj.get("x-kubernetes-group-version-kind") {
        let maps: Vec<BTreeMap<String, String>> =
            serde_json::from_value(gvks.clone()).context("x-kubernetes-group-version-kind")?;
        s.gvks = maps.iter().map(Gvk::from_map).collect();
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Protobuf decoding of gnostic's `openapi_v2.Document` (OpenAPIv2.proto).
// Only the fields the table needs are read; everything else is skipped.

struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum WireValue<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Wire<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Wire { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| anyhow!("truncated varint at {}", self.pos))?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(out);
            }
        }
        bail!("varint too long at {}", self.pos)
    }

    fn next_field(&mut self) -> Result<Option<(u64, WireValue<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let value = match key & 7 {
            0 => {
                self.varint()?;
                WireValue::Varint
            }
            1 => {
                self.skip(8)?;
                WireValue::Fixed
            }
            5 => {
                self.skip(4)?;
                WireValue::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?)?;
                let start = self.pos;
                self.skip(len)?;
                WireValue::Bytes(&self.buf[start..start + len])
            }
            other => bail!("unsupported wire type {other} at {}", self.pos),
        };
        Ok(Some((field, value)))
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| anyhow!("truncated field at {}", self.pos))?;
        self.pos = end;
        Ok(())
    }
}

fn bytes_fields(buf: &[u8]) -> Result<Vec<(u64, &[u8])>> {
    let mut w = Wire::new(buf);
    let mut out = Vec::new();
    while let Some((field, value)) = w.next_field()? {
        if let WireValue::Bytes(b) = value {
            out.push((field, b));
        }
    }
    Ok(out)
}

fn utf8(b: &[u8]) -> Result<String> {
    Ok(std::str::from_utf8(b)?.to_owned())
}

// Field numbers from gnostic-models openapiv2/OpenAPIv2.proto.
const DOCUMENT_DEFINITIONS: u64 = 9;
const DEFINITIONS_ADDITIONAL_PROPERTIES: u64 = 1;
const NAMED_NAME: u64 = 1;
const NAMED_VALUE: u64 = 2;
const SCHEMA_REF: u64 = 1;
const SCHEMA_ADDITIONAL_PROPERTIES: u64 = 21;
const SCHEMA_TYPE: u64 = 22;
const SCHEMA_ITEMS: u64 = 23;
const SCHEMA_PROPERTIES: u64 = 25;
const SCHEMA_VENDOR_EXTENSION: u64 = 31;
const ADDITIONAL_PROPERTIES_SCHEMA: u64 = 1;
const TYPE_ITEM_VALUE: u64 = 1;
const ITEMS_ITEM_SCHEMA: u64 = 1;
const PROPERTIES_ADDITIONAL_PROPERTIES: u64 = 1;
const ANY_YAML: u64 = 2;

fn decode_openapi_v2_definitions(pb: &[u8]) -> Result<BTreeMap<String, RawSchema>> {
    let mut out = BTreeMap::new();
    for (field, doc_field) in bytes_fields(pb)? {
        if field != DOCUMENT_DEFINITIONS {
            continue;
        }
        for (f, named) in bytes_fields(doc_field)? {
            if f != DEFINITIONS_ADDITIONAL_PROPERTIES {
                continue;
            }
            let (name, schema) = decode_named_schema(named)?;
            out.insert(name, schema);
        }
    }
    if out.is_empty() {
        bail!("no definitions found");
    }
    Ok(out)
}

fn decode_named_schema(buf: &[u8]) -> Result<(String, RawSchema)> {
    let mut name = String::new();
    let mut schema = RawSchema::default();
    for (f, b) in bytes_fields(buf)? {
        match f {
            NAMED_NAME => name = utf8(b)?,
            NAMED_VALUE => schema = decode_schema(b)?,
            _ => {}
        }
    }
    Ok((name, schema))
}

fn decode_schema(buf: &[u8]) -> Result<RawSchema> {
    let mut s = RawSchema::default();
    for (f, b) in bytes_fields(buf)? {
        match f {
            SCHEMA_REF => s.reference = Some(utf8(b)?),
            SCHEMA_TYPE => {
                for (g, t) in bytes_fields(b)? {
                    if g == TYPE_ITEM_VALUE {
                        s.types.push(utf8(t)?);
                    }
                }
            }
            SCHEMA_ITEMS => {
                if let Some((_, first)) = bytes_fields(b)?
                    .into_iter()
                    .find(|(g, _)| *g == ITEMS_ITEM_SCHEMA)
                {
                    s.items = Some(Box::new(decode_schema(first)?));
                }
            }
            SCHEMA_PROPERTIES => {
                for (g, named) in bytes_fields(b)? {
                    if g == PROPERTIES_ADDITIONAL_PROPERTIES {
                        let (name, p) = decode_named_schema(named)?;
                        s.properties.push((name, p));
                    }
                }
            }
            SCHEMA_ADDITIONAL_PROPERTIES => {
                for (g, inner) in bytes_fields(b)? {
                    if g == ADDITIONAL_PROPERTIES_SCHEMA {
                        s.additional = Some(Box::new(decode_schema(inner)?));
                    }
                }
            }
            SCHEMA_VENDOR_EXTENSION => {
                let mut name = String::new();
                let mut yaml = String::new();
                for (g, v) in bytes_fields(b)? {
                    match g {
                        NAMED_NAME => name = utf8(v)?,
                        NAMED_VALUE => {
                            for (h, y) in bytes_fields(v)? {
                                if h == ANY_YAML {
                                    yaml = utf8(y)?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                apply_yaml_extension(&mut s, &name, &yaml)
                    .with_context(|| format!("vendor extension {name}"))?;
            }
            _ => {}
        }
    }
    Ok(s)
}

fn apply_yaml_extension(s: &mut RawSchema, name: &str, yaml: &str) -> Result<()> {
    match name {
        "x-kubernetes-patch-strategy" => s.patch_strategy = Some(serde_saphyr::from_str(yaml)?),
        "x-kubernetes-patch-merge-key" => s.merge_key = Some(serde_saphyr::from_str(yaml)?),
        "x-kubernetes-list-map-keys" => s.list_map_keys = Some(serde_saphyr::from_str(yaml)?),
        "x-kubernetes-group-version-kind" => {
            let maps: Vec<BTreeMap<String, String>> = serde_saphyr::from_str(yaml)?;
            s.gvks = maps.iter().map(Gvk::from_map).collect();
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Table building.

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Entry {
    /// Definition name, for the comment in the generated file.
    label: String,
    props: Vec<(String, u32)>,
    additional: Option<u32>,
    items: Option<u32>,
    strategy: String,
    keys: Vec<String>,
}

struct Table {
    entries: Vec<Entry>,
    /// (apiVersion, kind) → entry.
    gvks: BTreeMap<(String, String), u32>,
}

struct Builder<'a> {
    defs: &'a BTreeMap<String, RawSchema>,
    entries: Vec<Entry>,
    by_def: HashMap<String, u32>,
    by_shape: HashMap<Entry, u32>,
}

const REF_PREFIX: &str = "#/definitions/";

impl Builder<'_> {
    /// Follows `$ref`s the way kyaml does (the referenced schema replaces the
    /// referring one, extensions included). `None` when a reference dangles.
    fn resolve<'s>(&'s self, mut s: &'s RawSchema) -> Option<(&'s RawSchema, Option<&'s str>)> {
        let mut def_name = None;
        let mut hops = 0;
        while let Some(r) = &s.reference {
            let name = r.strip_prefix(REF_PREFIX)?;
            let (key, next) = self.defs.get_key_value(name)?;
            s = next;
            def_name = Some(key.as_str());
            hops += 1;
            if hops > 64 {
                return None;
            }
        }
        Some((s, def_name))
    }

    /// Entry index of a schema, after resolving references.
    fn index_of(&mut self, s: &RawSchema) -> Result<Option<u32>> {
        let Some((resolved, def_name)) = self.resolve(s) else {
            return Ok(None);
        };
        let resolved = resolved.clone();
        if let Some(name) = def_name {
            if let Some(&i) = self.by_def.get(name) {
                return Ok(Some(i));
            }
            // Reserve the slot first: definitions may be recursive.
            let i = u32::try_from(self.entries.len())?;
            let name = name.to_owned();
            self.by_def.insert(name.clone(), i);
            self.entries.push(Entry {
                label: name.clone(),
                props: Vec::new(),
                additional: None,
                items: None,
                strategy: String::new(),
                keys: Vec::new(),
            });
            let entry = self.entry_for(&resolved, name)?;
            self.entries[i as usize] = entry;
            return Ok(Some(i));
        }
        let entry = self.entry_for(&resolved, String::new())?;
        if let Some(&i) = self.by_shape.get(&entry) {
            return Ok(Some(i));
        }
        let i = u32::try_from(self.entries.len())?;
        self.entries.push(entry.clone());
        self.by_shape.insert(entry, i);
        Ok(Some(i))
    }

    fn entry_for(&mut self, s: &RawSchema, label: String) -> Result<Entry> {
        let mut props = Vec::with_capacity(s.properties.len());
        for (name, p) in &s.properties {
            if let Some(i) = self.index_of(p)? {
                props.push((name.clone(), i));
            }
        }
        props.sort();
        props.dedup_by(|a, b| a.0 == b.0);
        let additional = match &s.additional {
            Some(a) => self.index_of(a)?,
            None => None,
        };
        // kyaml only descends into the items of a schema typed exactly "array".
        let items = match &s.items {
            Some(it) if s.types.len() == 1 && s.types[0] == "array" => self.index_of(it)?,
            _ => None,
        };
        let strategy = s.patch_strategy.clone().unwrap_or_default();
        let keys = if s.patch_strategy.is_none() {
            Vec::new()
        } else if let Some(list) = &s.list_map_keys {
            list.clone()
        } else if let Some(k) = &s.merge_key {
            vec![k.clone()]
        } else {
            Vec::new()
        };
        Ok(Entry {
            label,
            props,
            additional,
            items,
            strategy,
            keys,
        })
    }
}

fn build_table(defs: &BTreeMap<String, RawSchema>) -> Result<Table> {
    let mut b = Builder {
        defs,
        entries: Vec::new(),
        by_def: HashMap::new(),
        by_shape: HashMap::new(),
    };
    let mut gvks = BTreeMap::new();
    for (name, def) in defs {
        if def.gvks.is_empty() {
            continue;
        }
        let reference = RawSchema {
            reference: Some(format!("{REF_PREFIX}{name}")),
            ..RawSchema::default()
        };
        let Some(i) = b.index_of(&reference)? else {
            continue;
        };
        for g in &def.gvks {
            let api_version = if g.group.is_empty() {
                g.version.clone()
            } else {
                format!("{}/{}", g.group, g.version)
            };
            // Several definitions share a GVK only for DeleteOptions/WatchEvent;
            // the last one (by name) wins, deterministically.
            gvks.insert((api_version, g.kind.clone()), i);
        }
    }
    if gvks.is_empty() {
        bail!("the schema declares no x-kubernetes-group-version-kind");
    }
    if b.entries.len() >= usize::from(u16::MAX) {
        bail!("too many schemas for a u16 index: {}", b.entries.len());
    }
    Ok(Table {
        entries: b.entries,
        gvks,
    })
}

fn render(table: &Table, source: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "// @generated by `cargo xtask patch-meta` (xtask/src/patch_meta.rs). DO NOT EDIT."
    );
    let _ = writeln!(o, "//");
    let _ = writeln!(o, "// Source: {source}.");
    let _ = writeln!(
        o,
        "// Regenerate with `cargo xtask patch-meta` (needs Go to fetch the module)."
    );
    o.push_str(
        "//\n\
         // Every schema reachable from a built-in kind: its properties (sorted, each\n\
         // pointing at the resolved schema of the property), the element schema of an\n\
         // array, the value schema of a map, and the list patch metadata\n\
         // (`x-kubernetes-patch-strategy` and the merge keys).\n\n",
    );
    o.push_str(
        "/// One schema node (a definition, or an inline property schema).\n\
         #[derive(Debug)]\n\
         pub struct SchemaEntry {\n\
         \x20   /// Property name → index into [`SCHEMAS`], sorted by name.\n\
         \x20   pub props: &'static [(&'static str, u16)],\n\
         \x20   /// Value schema of a map (`additionalProperties`), or [`NONE`].\n\
         \x20   pub additional: u16,\n\
         \x20   /// Element schema of an array, or [`NONE`].\n\
         \x20   pub items: u16,\n\
         \x20   /// `x-kubernetes-patch-strategy` (empty when absent).\n\
         \x20   pub strategy: &'static str,\n\
         \x20   /// Merge keys: `x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`\n\
         \x20   /// (empty without a strategy).\n\
         \x20   pub keys: &'static [&'static str],\n\
         }\n\n\
         /// No schema.\n\
         pub const NONE: u16 = u16::MAX;\n\n",
    );
    let _ = writeln!(
        o,
        "/// All schema nodes.\npub static SCHEMAS: [SchemaEntry; {}] = [",
        table.entries.len()
    );
    for (i, e) in table.entries.iter().enumerate() {
        if !e.label.is_empty() {
            let _ = writeln!(o, "    // {i}: {}", e.label);
        }
        o.push_str("    SchemaEntry { props: &[");
        for (j, (name, idx)) in e.props.iter().enumerate() {
            if j > 0 {
                o.push_str(", ");
            }
            let _ = write!(o, "({name:?}, {idx})");
        }
        let opt = |v: Option<u32>| v.map_or_else(|| "NONE".to_owned(), |v| v.to_string());
        let _ = write!(
            o,
            "], additional: {}, items: {}, strategy: {:?}, keys: &[",
            opt(e.additional),
            opt(e.items),
            e.strategy
        );
        for (j, k) in e.keys.iter().enumerate() {
            if j > 0 {
                o.push_str(", ");
            }
            let _ = write!(o, "{k:?}");
        }
        let _ = writeln!(o, "] }}, // {i}");
    }
    o.push_str("];\n\n");
    let _ = writeln!(
        o,
        "/// (apiVersion, kind, schema index), sorted by apiVersion then kind.\n\
         pub static GVKS: [(&str, &str, u16); {}] = [",
        table.gvks.len()
    );
    for ((api_version, kind), idx) in &table.gvks {
        let _ = writeln!(o, "    ({api_version:?}, {kind:?}, {idx}),");
    }
    o.push_str("];\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_defs(text: &str) -> BTreeMap<String, RawSchema> {
        definitions_from_json(text).expect("valid test schema")
    }

    const SAMPLE: &str = r##"{"definitions": {
        "a.Pod": {"type": "object", "properties": {
            "spec": {"$ref": "#/definitions/a.PodSpec"},
            "kind": {"type": "string"}},
          "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}]},
        "a.PodSpec": {"type": "object", "properties": {
            "containers": {"type": "array", "items": {"$ref": "#/definitions/a.Container"},
              "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
            "finalizers": {"type": "array", "items": {"type": "string"},
              "x-kubernetes-patch-strategy": "merge"},
            "strategy": {"$ref": "#/definitions/a.Strategy", "x-kubernetes-patch-strategy": "retainKeys"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "a.Container": {"type": "object", "properties": {
            "name": {"type": "string"},
            "ports": {"type": "array", "items": {"$ref": "#/definitions/a.Port"},
              "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
              "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "containerPort"}}},
        "a.Port": {"type": "object", "properties": {"containerPort": {"type": "integer"}}},
        "a.Strategy": {"type": "object", "properties": {"type": {"type": "string"}}}
    }}"##;

    #[test]
    fn builds_entries_with_keys_and_strategies() {
        let defs = json_defs(SAMPLE);
        let table = build_table(&defs).expect("table");
        let pod = *table
            .gvks
            .get(&("v1".to_owned(), "Pod".to_owned()))
            .expect("Pod gvk");
        let pod = &table.entries[pod as usize];
        assert_eq!(pod.label, "a.Pod");
        let spec = pod.props.iter().find(|(n, _)| n == "spec").expect("spec").1;
        let spec = &table.entries[spec as usize];
        let get = |e: &Entry, n: &str| e.props.iter().find(|(p, _)| p == n).map(|(_, i)| *i);
        let containers = &table.entries[get(spec, "containers").expect("containers") as usize];
        assert_eq!(containers.strategy, "merge");
        assert_eq!(containers.keys, vec!["name".to_owned()]);
        let container = &table.entries[containers.items.expect("items") as usize];
        assert_eq!(container.label, "a.Container");
        let ports = &table.entries[get(container, "ports").expect("ports") as usize];
        assert_eq!(
            ports.keys,
            vec!["containerPort".to_owned(), "protocol".to_owned()]
        );
        let finalizers = &table.entries[get(spec, "finalizers").expect("finalizers") as usize];
        assert_eq!(finalizers.strategy, "merge");
        assert!(finalizers.keys.is_empty());
        // A $ref property takes the referenced schema, dropping its own extensions.
        let strategy = &table.entries[get(spec, "strategy").expect("strategy") as usize];
        assert_eq!(strategy.label, "a.Strategy");
        assert_eq!(strategy.strategy, "");
        let labels = &table.entries[get(spec, "labels").expect("labels") as usize];
        assert!(labels.additional.is_some());
        let rendered = render(&table, "test");
        assert!(rendered.contains("(\"v1\", \"Pod\", "));
        assert!(rendered.starts_with("// @generated"));
    }

    #[test]
    fn decodes_protobuf_document() {
        // Hand-encoded Document{definitions{NamedSchema{name:"x.A", value:Schema{
        //   type{value:"array"}, vendor_extension{name:"x-kubernetes-patch-strategy",
        //   value:Any{yaml:"merge\n"}}}}}}.
        fn varint(mut n: u64, out: &mut Vec<u8>) {
            while n >= 0x80 {
                out.push(u8::try_from(n & 0x7f).expect("7 bits") | 0x80);
                n >>= 7;
            }
            out.push(u8::try_from(n).expect("7 bits"));
        }
        fn ld(field: u64, body: &[u8]) -> Vec<u8> {
            let mut v = Vec::new();
            varint((field << 3) | 2, &mut v);
            varint(body.len() as u64, &mut v);
            v.extend_from_slice(body);
            v
        }
        let any = ld(2, b"merge\n");
        let ext = [ld(1, b"x-kubernetes-patch-strategy"), ld(2, &any)].concat();
        let ty = ld(1, b"array");
        let schema = [ld(22, &ty), ld(31, &ext)].concat();
        let named = [ld(1, b"x.A"), ld(2, &schema)].concat();
        let defs = ld(1, &named);
        let doc = ld(9, &defs);
        let out = decode_openapi_v2_definitions(&doc).expect("decodes");
        let a = out.get("x.A").expect("x.A");
        assert_eq!(a.types, vec!["array".to_owned()]);
        assert_eq!(a.patch_strategy.as_deref(), Some("merge"));
    }

    #[test]
    fn truncated_protobuf_is_an_error() {
        assert!(decode_openapi_v2_definitions(&[0x4a, 0x05, 0x0a]).is_err());
    }
}
