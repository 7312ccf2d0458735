//! What ends up on disk: modes, symlinks, size limits, unsafe names, submodules, shallowness.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use weir_git::{FetchOutcome, GitError};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn modes_and_symlinks() {
    let repo = Repo::new();
    repo.write("plain.txt", "plain\n");
    repo.write("bin/run.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(
        repo.path().join("bin/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("passwd")).unwrap();
    std::os::unix::fs::symlink("../..", repo.path().join("bin/up")).unwrap();
    std::os::unix::fs::symlink("plain.txt", repo.path().join("harmless")).unwrap();
    repo.commit("files");
    assert_eq!(
        repo.git(&["ls-tree", "-r", "HEAD", "passwd"])
            .split_whitespace()
            .next(),
        Some("120000"),
        "fixture must contain a real symlink entry"
    );

    let (dest, res) = Fetch::new(repo.url()).run();
    assert!(matches!(res, Ok(FetchOutcome::CheckedOut(_))), "{res:?}");
    assert_eq!(listing(dest.path()), ["bin/", "bin/run.sh", "plain.txt"]);
    assert_eq!(mode(&dest.path().join("plain.txt")), 0o644);
    assert_eq!(mode(&dest.path().join("bin/run.sh")), 0o755);
    for link in ["passwd", "bin/up", "harmless"] {
        assert!(
            std::fs::symlink_metadata(dest.path().join(link)).is_err(),
            "{link} must not exist"
        );
    }
}

#[test]
fn file_too_large() {
    let repo = Repo::new();
    repo.write("small.txt", "ok\n");
    repo.write("dir/big.bin", &"x".repeat(4096));
    repo.commit("big");
    let mut fetch = Fetch::new(repo.url());
    fetch.max_file_size = 4095;
    let (_dest, res) = fetch.run();
    match res {
        Err(GitError::FileTooLarge { path, size, limit }) => {
            assert_eq!(path, "dir/big.bin");
            assert_eq!(size, 4096);
            assert_eq!(limit, 4095);
        }
        other => panic!("expected FileTooLarge, got {other:?}"),
    }
    fetch.max_file_size = 4096;
    let (dest, res) = fetch.run();
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(
        std::fs::metadata(dest.path().join("dir/big.bin"))
            .unwrap()
            .len(),
        4096
    );
}

/// Build a commit whose root tree contains an entry called `bad_name` (written with
/// `hash-object --literally`, since git's porcelain refuses such names) and point master at it.
fn repo_with_entry(bad_name: &[u8], nested: bool) -> Repo {
    let repo = Repo::new();
    let blob = git_stdin(repo.path(), &["hash-object", "-w", "--stdin"], b"evil\n");
    let raw_id = |hex: &str| -> Vec<u8> {
        (0..20)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    let mut tree = b"100644 ".to_vec();
    tree.extend_from_slice(bad_name);
    tree.push(0);
    tree.extend(raw_id(&blob));
    let mut tree_id = git_stdin(
        repo.path(),
        &["hash-object", "-w", "-t", "tree", "--literally", "--stdin"],
        &tree,
    );
    if nested {
        let mut outer = b"40000 sub\0".to_vec();
        outer.extend(raw_id(&tree_id));
        tree_id = git_stdin(
            repo.path(),
            &["hash-object", "-w", "-t", "tree", "--literally", "--stdin"],
            &outer,
        );
    }
    let commit = repo.git(&["commit-tree", "-m", "evil", &tree_id]);
    repo.git(&["update-ref", "refs/heads/master", &commit]);
    repo
}

#[test]
fn unsafe_entry_names_are_rejected() {
    for (name, nested) in [
        (&b".."[..], false),
        (b".", false),
        (b".git", false),
        (b".GIT", true),
        (b"a/b", true),
        (b"..", true),
    ] {
        let repo = repo_with_entry(name, nested);
        let (dest, res) = Fetch::new(repo.url()).run();
        assert!(
            matches!(res, Err(GitError::UnsafePath(_))),
            "{:?} nested={nested}: {res:?}",
            String::from_utf8_lossy(name)
        );
        // Nothing escaped the destination.
        let parent = dest.path().parent().unwrap();
        assert!(!parent.join("evil").exists());
        assert!(!dest.path().join(".git").exists() && !dest.path().join(".GIT").exists());
    }
    // Control: the same construction with an ordinary name works.
    let repo = repo_with_entry(b"fine.txt", true);
    let (dest, res) = Fetch::new(repo.url()).run();
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(listing(dest.path()), ["sub/", "sub/fine.txt"]);
}

#[test]
fn fetch_is_shallow_and_narrow() {
    // Served repository where everything except master's tip is unreadable: the first commit's
    // blob and the tip of another branch are deleted. Only a depth-1 fetch of master can succeed.
    let repo = Repo::new();
    repo.write("old.txt", "old content only in the first commit\n");
    repo.commit("first");
    let old_blob = repo.git(&["rev-parse", "HEAD:old.txt"]);
    std::fs::remove_file(repo.path().join("old.txt")).unwrap();
    repo.write("new.txt", "new\n");
    let tip = repo.commit("second");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("other.txt", "other branch content\n");
    repo.commit("other");
    let other_blob = repo.git(&["rev-parse", "HEAD:other.txt"]);
    repo.git(&["checkout", "-q", "master"]);
    for blob in [&old_blob, &other_blob] {
        let loose = repo
            .path()
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]);
        std::fs::remove_file(loose).unwrap();
    }
    let (dest, res) = Fetch::new(repo.url()).run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.commit == tip),
        "{res:?}"
    );
    assert_eq!(listing(dest.path()), ["new.txt"]);
    // Control: the full history really is broken, so the success above is due to depth 1.
    let out = std::process::Command::new("git")
        .args(["fsck", "--no-progress"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn submodules() {
    let root = tempfile::tempdir().unwrap();
    let lib = Repo::new();
    lib.write("lib.txt", "library\n");
    lib.write("nested/deep.txt", "deep\n");
    let lib_commit = lib.commit("lib");
    // Served next to the superproject so that a relative URL resolves.
    let lib_path = root.path().join("lib");
    git(
        root.path(),
        &["clone", "-q", &lib.path().display().to_string(), "lib"],
    );
    let sup_path = root.path().join("super");
    std::fs::create_dir(&sup_path).unwrap();
    git(&sup_path, &["init", "-q", "-b", "master", "."]);
    git(
        &sup_path,
        &["config", "uploadpack.allowAnySHA1InWant", "true"],
    );
    std::fs::write(sup_path.join("top.txt"), "top\n").unwrap();
    git(
        &sup_path,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            &format!("file://{}", lib_path.display()),
            "vendor/lib",
        ],
    );
    // Store a relative URL, like real projects do.
    git(
        &sup_path,
        &[
            "config",
            "-f",
            ".gitmodules",
            "submodule.vendor/lib.url",
            "../lib",
        ],
    );
    git(&sup_path, &["add", "-A"]);
    git(&sup_path, &["commit", "-q", "-m", "with submodule"]);
    let sup_url = format!("file://{}", sup_path.display());

    let mut fetch = Fetch::new(&sup_url);
    let (dest, res) = fetch.run();
    assert!(res.is_ok(), "{res:?}");
    // Not recursing: an empty directory, like `git clone` without --recurse-submodules.
    assert_eq!(
        listing(dest.path()),
        [".gitmodules", "top.txt", "vendor/", "vendor/lib/"]
    );

    fetch.recurse_submodules = true;
    let (dest, res) = fetch.run();
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(
        listing(dest.path()),
        [
            ".gitmodules",
            "top.txt",
            "vendor/",
            "vendor/lib/",
            "vendor/lib/lib.txt",
            "vendor/lib/nested/",
            "vendor/lib/nested/deep.txt"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dest.path().join("vendor/lib/lib.txt")).unwrap(),
        "library\n"
    );
    assert_eq!(git(&lib_path, &["rev-parse", "HEAD"]), lib_commit);

    // The submodule commit must be fetched by id: move the served branch away from it.
    std::fs::write(lib_path.join("lib.txt"), "changed later\n").unwrap();
    git(&lib_path, &["commit", "-q", "-am", "later"]);
    let (dest, res) = fetch.run();
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(
        std::fs::read_to_string(dest.path().join("vendor/lib/lib.txt")).unwrap(),
        "library\n"
    );
}

#[test]
fn submodule_urls_must_not_reach_local_files_from_remote_superprojects() {
    // A superproject served over HTTP whose .gitmodules points at file:// is refused.
    let root = tempfile::tempdir().unwrap();
    let sup = Repo::new();
    sup.write(
        ".gitmodules",
        "[submodule \"x\"]\n\tpath = x\n\turl = file:///etc\n",
    );
    sup.git(&["add", ".gitmodules"]);
    let some_commit = sup.commit("base");
    sup.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{some_commit},x"),
    ]);
    sup.git(&["commit", "-q", "-m", "gitlink"]);
    bare_clone(&sup, root.path(), "super.git");
    let server = HttpServer::start(root.path(), HttpConfig::default());
    let mut fetch = Fetch::new(format!("http://127.0.0.1:{}/super.git", server.port));
    fetch.recurse_submodules = true;
    let (_dest, res) = fetch.run();
    match res {
        Err(GitError::Checkout(msg)) => assert!(msg.contains("not allowed"), "{msg}"),
        other => panic!("expected refusal, got {other:?}"),
    }
}
