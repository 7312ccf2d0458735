//! Fuzzes YAML loading, strategic merge patch and JSON 6902.
//!
//! Input: one selector byte, then the target document and the patch text
//! separated by a NUL byte. The selector picks strategic merge (even) or
//! JSON 6902 (odd). Every successful result must convert to JSON and print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_kustomize::patch::{json6902, json6902_ops_from_text, strategic_merge};
use weir_kustomize::yaml::{Limits, Node, emit, parse_documents, to_json};

fn limits() -> Limits {
    Limits {
        max_bytes: 64 * 1024,
        max_nodes: 20_000,
        max_depth: 64,
    }
}

fn first_doc(text: &str) -> Option<Node> {
    let docs = parse_documents(text, &limits()).ok()?;
    docs.into_iter().find(|d| !d.empty).map(|d| d.root)
}

fn check_printable(node: &Node) {
    // Converting to JSON may fail (NaN, .inf); printing must not panic.
    if to_json(node).is_ok() {
        let _ = emit::to_yaml(node);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (target_text, patch_text) = text.split_once('\0').unwrap_or((text, ""));
    let Some(mut target) = first_doc(target_text) else { return };
    check_printable(&target);
    if mode % 2 == 0 {
        let Some(patch) = first_doc(patch_text) else { return };
        if strategic_merge(&mut target, &patch).is_ok() {
            check_printable(&target);
        }
    } else if let Ok(ops) = json6902_ops_from_text(patch_text) {
        let before = target.clone();
        match json6902(&mut target, &ops) {
            Ok(()) => check_printable(&target),
            // A failed patch leaves the target untouched.
            Err(_) => assert_eq!(target, before),
        }
    }
});
