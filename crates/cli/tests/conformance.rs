//! Kustomize conformance: every case under `tests/kustomize/cases/` is built
//! by `weir kustomize build` and by the pinned upstream kustomize binary,
//! under `--reorder legacy` and `--reorder none`, and the outputs must be
//! byte-identical. A case whose directory name contains `error`, that holds
//! a file named `EXPECT_ERROR`, or that is listed in
//! `tests/kustomize/expected-errors.txt` must fail in both; any other case
//! must succeed in both.
//!
//! A case may hold a `BUILD_FLAGS` file with extra flags passed to both
//! tools (such as `--load-restrictor LoadRestrictionsNone`).
//!
//! The kustomize binary is installed with `go install` into
//! `$HOME/.cache/weir/tools/kustomize-<version>/` when missing (override the
//! binary with `WEIR_KUSTOMIZE_BIN`). Select cases with
//! `WEIR_CONFORMANCE_FILTER=<substring>`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn kustomize_bin() -> PathBuf {
    weir_test_support::tools::kustomize().unwrap_or_else(|e| panic!("installing kustomize: {e:#}"))
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(bin: &Path, args: &[&str], dir: &Path) -> Run {
    let out = Command::new(bin)
        .args(args)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A line diff (longest common subsequence), `-` for expected, `+` for actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    if a.len() * b.len() > 25_000_000 {
        return format!(
            "(outputs too large to diff: {} vs {} lines)",
            a.len(),
            b.len()
        );
    }
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    // Show changes with three lines of context.
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for &k in &changed {
        let start = k.saturating_sub(3);
        let end = (k + 3).min(lines.len() - 1);
        for (m, (tag, text)) in lines.iter().enumerate().take(end + 1).skip(start) {
            if last_shown.is_some_and(|l| m <= l) {
                continue;
            }
            if last_shown.is_some_and(|l| m > l + 1) {
                out.push_str("  ...\n");
            }
            out.push_str(&format!("{tag} {text}\n"));
            last_shown = Some(m);
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(final newline differs)\n");
    }
    out
}

fn check_case(
    case: &Path,
    kustomize: &Path,
    weir: &Path,
    listed_errors: &[String],
) -> Result<(), String> {
    let name = case
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expect_error = name.contains("error")
        || case.join("EXPECT_ERROR").is_file()
        || listed_errors.contains(&name);
    // Optional extra flags for both tools, one per line (e.g. `--load-restrictor`).
    let extra: Vec<String> = std::fs::read_to_string(case.join("BUILD_FLAGS"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut problems = Vec::new();
    for reorder in ["legacy", "none"] {
        let mut kargs: Vec<&str> = vec!["build", "--reorder", reorder];
        kargs.extend(extra.iter().map(String::as_str));
        let mut wargs: Vec<&str> = vec!["kustomize", "build", "--reorder", reorder];
        wargs.extend(extra.iter().map(String::as_str));
        let k = run(kustomize, &kargs, case);
        let w = run(weir, &wargs, case);
        if expect_error && k.ok {
            problems.push(format!(
                "[{reorder}] the case is expected to fail but kustomize succeeded"
            ));
            continue;
        }
        if !expect_error && !k.ok {
            problems.push(format!(
                "[{reorder}] kustomize failed on a case expected to build:\n{}",
                k.stderr.trim()
            ));
            continue;
        }
        match (k.ok, w.ok) {
            (true, true) => {
                if k.stdout != w.stdout {
                    problems.push(format!(
                        "[{reorder}] output differs (- kustomize, + weir):\n{}",
                        diff(&k.stdout, &w.stdout)
                    ));
                }
            }
            (false, false) => {}
            (true, false) => problems.push(format!(
                "[{reorder}] kustomize succeeded but weir failed:\n{}",
                w.stderr.trim()
            )),
            (false, true) => problems.push(format!(
                "[{reorder}] kustomize failed but weir succeeded.\nkustomize: {}\nweir output:\n{}",
                k.stderr.trim(),
                w.stdout
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("=== {name}\n{}", problems.join("\n")))
    }
}

#[test]
fn kustomize_conformance() {
    let cases_dir = repo_root().join("tests/kustomize/cases");
    let listed_errors: Vec<String> =
        std::fs::read_to_string(repo_root().join("tests/kustomize/expected-errors.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
    let filter = std::env::var("WEIR_CONFORMANCE_FILTER").unwrap_or_default();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", cases_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no conformance cases found under {}",
        cases_dir.display()
    );
    let kustomize = kustomize_bin();
    let weir = PathBuf::from(env!("CARGO_BIN_EXE_weir"));
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    if let Err(msg) = check_case(case, &kustomize, &weir, &listed_errors) {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort();
    let passed = cases.len() - failures.len();
    println!("conformance: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
