//! Fuzzes kustomization loading and the whole build over an in-memory tree.
//!
//! Input: one flags byte, then file records separated by NUL bytes. Each
//! record starts with a selector byte: below 0x80 it picks a path from
//! [`NAMES`] (modulo its length) and the rest of the record is the file's
//! content; from 0x80 up the path is spelled out, up to the first newline,
//! and the content follows that newline. Paths are relative to the build
//! root `/app` (so `../x` lies outside it); a later record for the same path
//! replaces an earlier one. Flags bit 0 selects `LoadRestrictionsNone`.
//!
//! The tree is built under both reorder modes. Errors are fine, but both
//! modes must agree on success or failure, and their outputs must hold the
//! same documents (the order may differ: reordering is only a final sort).
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use weir_kustomize::fs::{FileSystem, MemoryFs};
use weir_kustomize::yaml::{Limits, emit};
use weir_kustomize::{LoadRestrictions, Options, Reorder, build, render};

const ROOT: &str = "/app";
const MAX_FILES: usize = 16;
const MAX_PATH: usize = 100;

const NAMES: [&str; 24] = [
    "kustomization.yaml",
    "r.yaml",
    "resource.yaml",
    "patch.yaml",
    "deploy.yaml",
    "cm.yaml",
    "a.yaml",
    "base/kustomization.yaml",
    "base/r.yaml",
    "base/cm.yaml",
    "comp/kustomization.yaml",
    "comp/r.yaml",
    "files/a.env",
    "a.env",
    "patch.json",
    "p.yaml",
    "svc.yaml",
    "cr.yaml",
    "config.yaml",
    "defs.json",
    "overlay/kustomization.yaml",
    "base/base2/kustomization.yaml",
    "kustomization.yml",
    "Kustomization",
];

fn limits() -> Limits {
    Limits {
        max_bytes: 64 * 1024,
        max_nodes: 20_000,
        max_depth: 64,
    }
}

fn tree(data: &[u8]) -> Option<(MemoryFs, LoadRestrictions)> {
    let (&flags, rest) = data.split_first()?;
    let restrictions = if flags & 1 == 1 {
        LoadRestrictions::None
    } else {
        LoadRestrictions::RootOnly
    };
    let mut fs = MemoryFs::new();
    for record in rest.split(|&b| b == 0).take(MAX_FILES) {
        let Some((&sel, body)) = record.split_first() else {
            continue;
        };
        let (path, content) = if sel < 0x80 {
            (NAMES[usize::from(sel) % NAMES.len()], body)
        } else {
            let nl = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            let Ok(path) = std::str::from_utf8(&body[..nl]) else {
                continue;
            };
            if path.is_empty() || path.len() > MAX_PATH {
                continue;
            }
            (path, body.get(nl + 1..).unwrap_or_default())
        };
        fs.add_file(Path::new(ROOT).join(path), content);
    }
    Some((fs, restrictions))
}

/// The build's rendered documents, sorted, or `None` when it fails.
fn run(
    fs: &Arc<dyn FileSystem>,
    restrictions: LoadRestrictions,
    reorder: Reorder,
) -> Option<Vec<String>> {
    let opts = Options {
        reorder,
        limits: limits(),
        load_restrictions: restrictions,
    };
    let rm = build(fs.clone(), Path::new(ROOT), &opts).ok()?;
    // Rendering the stream may fail (e.g. a value YAML cannot print); then
    // so must rendering some document on its own.
    let stream = render(&rm);
    let docs: Result<Vec<String>, _> = rm
        .resources()
        .iter()
        .map(|r| emit::to_yaml(&r.node))
        .collect();
    assert_eq!(
        stream.is_ok(),
        docs.is_ok(),
        "render and per-document emit disagree"
    );
    let mut docs = docs.ok()?;
    docs.sort_unstable();
    Some(docs)
}

fuzz_target!(|data: &[u8]| check(data));

fn check(data: &[u8]) {
    let Some((fs, restrictions)) = tree(data) else {
        return;
    };
    let fs: Arc<dyn FileSystem> = Arc::new(fs);
    let legacy = run(&fs, restrictions, Reorder::Legacy);
    let none = run(&fs, restrictions, Reorder::None);
    match (&legacy, &none) {
        (Some(l), Some(n)) => assert_eq!(l, n, "legacy and none orders hold different documents"),
        (None, None) => {}
        _ => panic!(
            "reorder modes disagree: legacy {}, none {}",
            if legacy.is_some() { "ok" } else { "failed" },
            if none.is_some() { "ok" } else { "failed" },
        ),
    }
}
