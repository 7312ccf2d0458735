//! Tests of the patch engine.
//!
//! The oracle cases are the conformance directories `tests/kustomize/cases/smp-*`
//! and `json6902-*`; `testdata/<case>.yaml` holds what `kustomize build`
//! (v5.8.0) printed for each, `<case>.error` its error for cases where it
//! fails. [`oracle_cases`] applies the patches of each case with this module
//! (a minimal driver reading `resources`, `patches`, `patchesStrategicMerge`
//! and `patchesJson6902`) and compares the resulting documents with the
//! recorded output. `testdata_matches_kustomize_binary` (ignored; needs the
//! binary) re-checks the recorded output against kustomize itself.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{PatchError, json6902, json6902_ops_from_text, strategic_merge};
use crate::yaml::{Limits, Node, parse_documents, parse_single, to_json};

/// The case directories (`WEIR_PATCH_CASES` overrides, for differential runs
/// on generated cases).
fn cases_dir() -> PathBuf {
    std::env::var_os("WEIR_PATCH_CASES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/kustomize/cases"),
        PathBuf::from,
    )
}

/// The recorded outputs (`WEIR_PATCH_TESTDATA` overrides).
fn testdata_dir() -> PathBuf {
    std::env::var_os("WEIR_PATCH_TESTDATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src/patch/testdata"),
        PathBuf::from,
    )
}

fn parse(text: &str) -> Node {
    parse_single(text, &Limits::default()).expect("test YAML parses")
}

fn docs(text: &str) -> Vec<Node> {
    parse_documents(text, &Limits::default())
        .expect("test YAML parses")
        .into_iter()
        .filter(|d| !d.empty)
        .map(|d| d.root)
        .collect()
}

fn json(node: &Node) -> Value {
    to_json(node).expect("converts to JSON")
}

// ---------------------------------------------------------------------------
// A minimal kustomization driver for the patch cases.

fn str_at<'a>(n: &'a Node, path: &[&str]) -> &'a str {
    n.get_str(path).unwrap_or("")
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

fn version_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(api_version, |(_, v)| v)
}

fn matches_target(res: &Node, target: &Node) -> bool {
    let api = str_at(res, &["apiVersion"]);
    let checks = [
        ("kind", str_at(res, &["kind"])),
        ("name", str_at(res, &["metadata", "name"])),
        ("group", group_of(api)),
        ("version", version_of(api)),
    ];
    checks
        .iter()
        .all(|(field, actual)| target.get_str(&[field]).is_none_or(|want| want == *actual))
}

fn same_id(res: &Node, patch: &Node) -> bool {
    ["apiVersion", "kind"]
        .iter()
        .all(|f| str_at(res, &[f]) == str_at(patch, &[f]))
        && str_at(res, &["metadata", "name"]) == str_at(patch, &["metadata", "name"])
}

/// kustomize's `Resource.ApplySmPatch`: merge, then keep name, kind and
/// namespace. Returns false when the resource is deleted.
fn apply_smp(res: &mut Node, patch: &Node) -> Result<bool, PatchError> {
    let name = str_at(res, &["metadata", "name"]).to_owned();
    let kind = str_at(res, &["kind"]).to_owned();
    let namespace = str_at(res, &["metadata", "namespace"]).to_owned();
    strategic_merge(res, patch)?;
    let empty = match &*res {
        Node::Map(m) => m.is_empty(),
        Node::Seq(s) => s.is_empty(),
        Node::Scalar(s) => s.is_null(),
    };
    if empty {
        return Ok(false);
    }
    res.set_path(&["kind"], Node::string(kind));
    res.set_path(&["metadata", "name"], Node::string(name));
    if namespace.is_empty() {
        if let Some(m) = res.get_mut("metadata").and_then(Node::as_map_mut) {
            m.remove("namespace");
        }
    } else {
        res.set_path(&["metadata", "namespace"], Node::string(namespace));
    }
    Ok(true)
}

fn smp_patch(resources: &mut Vec<Node>, text: &str, target: Option<&Node>) -> Result<(), String> {
    for patch in docs(text) {
        let mut kept = Vec::new();
        let mut matched = false;
        for mut res in resources.drain(..) {
            let selected = match target {
                Some(t) => matches_target(&res, t),
                None => same_id(&res, &patch),
            };
            if !selected {
                kept.push(res);
                continue;
            }
            matched = true;
            let mut p = patch.clone();
            if target.is_some() {
                // The patch takes the target's apiVersion (kustomize copies the GVK).
                let api = str_at(&res, &["apiVersion"]).to_owned();
                p.set_path(&["apiVersion"], Node::string(api));
            }
            if apply_smp(&mut res, &p).map_err(|e| e.to_string())? {
                kept.push(res);
            }
        }
        *resources = kept;
        if !matched && target.is_none() {
            return Err("no resource matches the strategic merge patch".into());
        }
    }
    Ok(())
}

fn json_patch(resources: &mut [Node], text: &str, target: &Node) -> Result<(), String> {
    let ops = json6902_ops_from_text(text).map_err(|e| e.to_string())?;
    for res in resources.iter_mut().filter(|r| matches_target(r, target)) {
        json6902(res, &ops).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn patch_text(dir: &Path, entry: &Node) -> String {
    match (entry.get_str(&["path"]), entry.get_str(&["patch"])) {
        (Some(path), _) => std::fs::read_to_string(dir.join(path)).expect("patch file readable"),
        (None, Some(inline)) => inline.trim().to_owned(),
        (None, None) => panic!("patch entry without path or patch"),
    }
}

fn is_json_patch(text: &str) -> bool {
    text.trim_start().starts_with('[') || docs(text).first().is_some_and(Node::is_seq)
}

fn run_case(dir: &Path) -> Result<Vec<Node>, String> {
    let kust =
        parse(&std::fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization"));
    let mut resources = Vec::new();
    for r in kust
        .get("resources")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let file = r.as_str().expect("resource path");
        resources.extend(docs(
            &std::fs::read_to_string(dir.join(file)).expect("resource file"),
        ));
    }
    for entry in kust
        .get("patchesStrategicMerge")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let text = std::fs::read_to_string(dir.join(entry.as_str().expect("path"))).expect("patch");
        smp_patch(&mut resources, &text, None)?;
    }
    for entry in kust
        .get("patchesJson6902")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let target = entry.get("target").expect("target");
        json_patch(&mut resources, &patch_text(dir, entry), target)?;
    }
    for entry in kust
        .get("patches")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let text = patch_text(dir, entry);
        let target = entry.get("target");
        if is_json_patch(&text) {
            json_patch(
                &mut resources,
                &text,
                target.expect("json patches need a target"),
            )?;
        } else {
            smp_patch(&mut resources, &text, target)?;
        }
    }
    Ok(resources)
}

fn sort_key(v: &Value) -> (String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (s("/kind"), s("/metadata/name"))
}

/// Each document as `kustomize build` prints it, ordered by kind and name.
fn printed(nodes: &[Node]) -> Vec<String> {
    let mut out: Vec<(Value, String)> = nodes
        .iter()
        .map(|n| (json(n), crate::yaml::emit::to_yaml(n).expect("prints")))
        .collect();
    out.sort_by_key(|(v, _)| sort_key(v));
    out.into_iter().map(|(_, s)| s).collect()
}

/// The documents of recorded `kustomize build` output, verbatim, ordered by
/// kind and name.
fn split_printed(text: &str) -> Vec<String> {
    let mut out: Vec<(Value, String)> = text
        .split("\n---\n")
        .map(|d| {
            let d = if d.ends_with('\n') {
                d.to_owned()
            } else {
                format!("{d}\n")
            };
            (json(&parse(&d)), d)
        })
        .collect();
    out.sort_by_key(|(v, _)| sort_key(v));
    out.into_iter().map(|(_, s)| s).collect()
}

fn oracle_case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/kustomize/cases exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("smp-") || n.starts_with("json6902-"))
        .collect();
    names.sort();
    names
}

#[test]
fn oracle_cases() {
    let names = oracle_case_names();
    assert!(
        names.len() >= 40,
        "expected at least 40 patch cases, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    let mut ran = 0;
    for name in &names {
        let td = testdata_dir();
        if td.join(format!("{name}.skip")).exists() {
            continue;
        }
        ran += 1;
        let result = run_case(&cases_dir().join(name));
        let expected_ok = td.join(format!("{name}.yaml"));
        match (result, std::fs::read_to_string(&expected_ok)) {
            (Ok(got), Ok(want)) => {
                let (got, want) = (printed(&got), split_printed(&want));
                if got != want {
                    failures.push(format!(
                        "{name}: output differs\n--- got:\n{}\n--- want:\n{}",
                        got.join("---\n"),
                        want.join("---\n")
                    ));
                }
            }
            (Err(e), Ok(_)) => failures.push(format!("{name}: failed: {e}")),
            (Ok(_), Err(_)) => failures.push(format!("{name}: succeeded where kustomize fails")),
            (Err(_), Err(_)) => {
                assert!(
                    td.join(format!("{name}.error")).exists(),
                    "{name}: no recorded output"
                );
            }
        }
    }
    assert!(ran >= 40, "only {ran} cases ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Re-checks the recorded outputs against the kustomize binary
/// (`KUSTOMIZE_BIN`, default `~/.cache/weir/tools/kustomize-v5.8.0/kustomize`).
#[test]
#[ignore = "needs the kustomize binary"]
fn testdata_matches_kustomize_binary() {
    let bin = std::env::var_os("KUSTOMIZE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME set");
            Path::new(&home).join(".cache/weir/tools/kustomize-v5.8.0/kustomize")
        });
    let mut mismatches = Vec::new();
    for name in oracle_case_names() {
        let out = std::process::Command::new(&bin)
            .arg("build")
            .arg(cases_dir().join(&name))
            .output()
            .expect("kustomize runs");
        let td = testdata_dir();
        let ok = std::fs::read_to_string(td.join(format!("{name}.yaml")));
        match (out.status.success(), ok) {
            (true, Ok(want)) if String::from_utf8_lossy(&out.stdout) == want => {}
            (false, Err(_)) if td.join(format!("{name}.error")).exists() => {}
            _ => mismatches.push(name),
        }
    }
    assert!(
        mismatches.is_empty(),
        "recorded output differs from kustomize: {mismatches:?}"
    );
}

// ---------------------------------------------------------------------------
// Focused unit tests.

fn merged(target: &str, patch: &str) -> Value {
    let mut t = parse(target);
    strategic_merge(&mut t, &parse(patch)).expect("patch applies");
    json(&t)
}

fn expect(yaml: &str) -> Value {
    json(&parse(yaml))
}

#[test]
fn smp_custom_resource_merges_maps_and_replaces_lists() {
    let got = merged(
        "apiVersion: x/v1\nkind: W\nspec:\n  a: {b: 1, c: 2}\n  l: [{name: a, v: 1}, {name: b}]\n",
        "spec:\n  a: {c: null, d: 4}\n  l: [{name: a, v: 2}]\n",
    );
    assert_eq!(
        got,
        expect("apiVersion: x/v1\nkind: W\nspec:\n  a: {b: 1, d: 4}\n  l: [{name: a, v: 2}]\n")
    );
}

#[test]
fn smp_list_order_puts_patch_elements_first() {
    let got = merged(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a}, {name: b}]\n",
        "spec:\n  containers: [{name: c}, {name: b, image: x}]\n",
    );
    assert_eq!(
        got,
        expect(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c}, {name: b, image: x}, {name: a}]\n"
        )
    );
}

#[test]
fn smp_primitive_merge_list_deduplicates() {
    let got = merged(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  finalizers: [a, b]\n",
        "metadata:\n  finalizers: [c, a]\n",
    );
    assert_eq!(
        got,
        expect("apiVersion: v1\nkind: Pod\nmetadata:\n  finalizers: [c, a, b]\n")
    );
}

#[test]
fn smp_top_level_delete_empties_the_target() {
    let mut t = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
    strategic_merge(&mut t, &parse("$patch: delete\n")).expect("applies");
    assert!(t.is_null());
}

#[test]
fn smp_unknown_directive_names_the_field() {
    let mut t = parse("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a}]\n");
    let err = strategic_merge(&mut t, &parse("spec:\n  $patch: nope\n")).expect_err("fails");
    assert_eq!(
        err,
        PatchError::Smp {
            path: "spec".into(),
            message: "unknown patch strategy 'nope'".into()
        }
    );
    let err = strategic_merge(&mut t, &parse("spec:\n  containers:\n  - $patch: nope\n"))
        .expect_err("fails");
    assert!(err.to_string().contains("spec.containers"), "{err}");
}

#[test]
fn smp_kind_mismatch_is_an_error_with_path() {
    let mut t = parse("apiVersion: v1\nkind: Pod\nspec:\n  hostname: a\n");
    let err = strategic_merge(&mut t, &parse("spec:\n  hostname: [a]\n")).expect_err("fails");
    assert!(err.to_string().contains("spec.hostname"), "{err}");
}

#[test]
fn smp_null_target_field_kept_unless_patched() {
    let got = merged(
        "apiVersion: v1\nkind: Pod\nspec:\n  a: null\n  b:\n  c: ~\n",
        "spec:\n  c: null\n  d: 1\n",
    );
    assert_eq!(
        got,
        expect("apiVersion: v1\nkind: Pod\nspec:\n  a: null\n  d: 1\n")
    );
}

fn patched(target: &str, ops: &str) -> Result<Value, PatchError> {
    let mut t = parse(target);
    json6902(&mut t, &json6902_ops_from_text(ops)?)?;
    Ok(json(&t))
}

const DOC: &str = "a:\n  list: [1, 2, 3]\n  m: {x: y}\n  'k/e~y': v\n";

#[test]
fn json6902_every_operation() {
    let cases = [
        (
            "- {op: add, path: /a/list/1, value: 9}",
            "a: {list: [1, 9, 2, 3], m: {x: y}, 'k/e~y': v}",
        ),
        (
            "- {op: add, path: /a/list/-, value: 9}",
            "a: {list: [1, 2, 3, 9], m: {x: y}, 'k/e~y': v}",
        ),
        (
            "- {op: add, path: /a/list/-1, value: 9}",
            "a: {list: [1, 2, 3, 9], m: {x: y}, 'k/e~y': v}",
        ),
        (
            "- {op: remove, path: /a/list/-1}",
            "a: {list: [1, 2], m: {x: y}, 'k/e~y': v}",
        ),
        (
            "- {op: remove, path: /a/k~1e~0y}",
            "a: {list: [1, 2, 3], m: {x: y}}",
        ),
        (
            "- {op: replace, path: /a/m/x, value: z}",
            "a: {list: [1, 2, 3], m: {x: z}, 'k/e~y': v}",
        ),
        (
            "- {op: replace, path: /a/new, value: 1}",
            "a: {list: [1, 2, 3], m: {x: y}, 'k/e~y': v, new: 1}",
        ),
        (
            "- {op: move, from: /a/list/0, path: /a/list/2}",
            "a: {list: [2, 3, 1], m: {x: y}, 'k/e~y': v}",
        ),
        (
            "- {op: copy, from: /a/m, path: /b}",
            "a: {list: [1, 2, 3], m: {x: y}, 'k/e~y': v}\nb: {x: y}",
        ),
        ("- {op: test, path: /a/list, value: [1, 2, 3]}", DOC),
        ("- {op: test, path: /a/missing, value: null}", DOC),
        (
            "[{\"op\": \"add\", \"path\": \"/a/j\", \"value\": 1.5}]",
            "a: {list: [1, 2, 3], m: {x: y}, 'k/e~y': v, j: 1.5}",
        ),
        (
            "- {op: add, path: /a/y, value: yes}",
            "a: {list: [1, 2, 3], m: {x: y}, 'k/e~y': v, y: true}",
        ),
        ("- {op: replace, path: '', value: {z: 1}}", "z: 1"),
    ];
    for (ops, want) in cases {
        let got = patched(DOC, ops).unwrap_or_else(|e| panic!("{ops}: {e}"));
        assert_eq!(got, expect(want), "{ops}");
    }
}

#[test]
fn json6902_errors_name_the_operation() {
    let cases = [
        (
            "- {op: test, path: /a/m/x, value: q}",
            "test",
            "test failed",
        ),
        ("- {op: remove, path: /a/nope}", "remove", "nonexistent key"),
        (
            "- {op: add, path: /a/nope/x, value: 1}",
            "add",
            "missing path",
        ),
        (
            "- {op: replace, path: /a/list/7, value: 1}",
            "replace",
            "invalid index",
        ),
        (
            "- {op: add, path: /a/list/x, value: 1}",
            "add",
            "not a proper array index",
        ),
        (
            "- {op: frobnicate, path: /a}",
            "frobnicate",
            "Unexpected kind",
        ),
        ("- {op: move, path: /a/b}", "move", "from"),
    ];
    for (ops, op, fragment) in cases {
        let err = patched(DOC, ops).expect_err(ops);
        match &err {
            PatchError::Json6902 {
                index,
                op: got_op,
                message,
                ..
            } => {
                assert_eq!(*index, 0, "{ops}");
                assert_eq!(got_op, op, "{ops}");
                assert!(message.contains(fragment), "{ops}: {message}");
            }
            other => panic!("{ops}: unexpected error {other:?}"),
        }
        assert!(
            err.to_string().starts_with("json patch operation 1 ("),
            "{err}"
        );
    }
    let not_array = json6902(&mut parse(DOC), &serde_json::json!({"op": "add"}));
    assert!(matches!(not_array, Err(PatchError::Json6902Decode(_))));
}

#[test]
fn json6902_numbers_go_through_float() {
    let got = patched("a: 1\n", "- {op: add, path: /b, value: 1000000}").expect("applies");
    assert_eq!(got, serde_json::json!({"a": 1, "b": 1_000_000.0}));
}
