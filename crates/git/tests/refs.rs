//! Reference resolution against real repositories over `file://`.

mod common;

use common::*;
use weir_git::{FetchOutcome, GitError, GitRef};

/// master: c1 <- c2 ; branch `feature`: c3 ; tags: light (c1), annotated v1.0.0 (c2).
struct Fixture {
    repo: Repo,
    c1: String,
    c2: String,
    c3: String,
}

fn fixture() -> Fixture {
    let repo = Repo::new();
    repo.write("file.txt", "one\n");
    let c1 = repo.commit("c1");
    repo.git(&["tag", "light"]);
    repo.write("file.txt", "two\n");
    let c2 = repo.commit("c2");
    repo.git(&["tag", "-a", "-m", "release", "v1.0.0"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", "feature\n");
    let c3 = repo.commit("c3");
    repo.git(&["checkout", "-q", "master"]);
    Fixture { repo, c1, c2, c3 }
}

fn checked_out(res: Result<FetchOutcome, GitError>) -> weir_git::Resolved {
    match res {
        Ok(FetchOutcome::CheckedOut(r)) => r,
        other => panic!("expected CheckedOut, got {other:?}"),
    }
}

#[test]
fn default_reference_is_master() {
    let f = fixture();
    let (dest, res) = Fetch::new(f.repo.url()).run();
    let r = checked_out(res);
    assert_eq!(r.commit, f.c2);
    assert_eq!(r.revision, format!("master@sha1:{}", f.c2));
    assert_eq!(listing(dest.path()), ["file.txt"]);
    assert_eq!(
        std::fs::read_to_string(dest.path().join("file.txt")).unwrap(),
        "two\n"
    );
}

#[test]
fn branch() {
    let f = fixture();
    let (dest, res) = Fetch::new(f.repo.url())
        .reference(common::branch("feature"))
        .run();
    let r = checked_out(res);
    assert_eq!(r.revision, format!("feature@sha1:{}", f.c3));
    assert_eq!(listing(dest.path()), ["feature.txt", "file.txt"]);
}

#[test]
fn lightweight_and_annotated_tags() {
    let f = fixture();
    let (dest, res) = Fetch::new(f.repo.url()).reference(tag("light")).run();
    assert_eq!(checked_out(res).revision, format!("light@sha1:{}", f.c1));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("file.txt")).unwrap(),
        "one\n"
    );

    // Annotated tags resolve to the commit they peel to, not the tag object.
    let tag_object = f.repo.git(&["rev-parse", "v1.0.0"]);
    assert_ne!(tag_object, f.c2);
    let (_dest, res) = Fetch::new(f.repo.url()).reference(tag("v1.0.0")).run();
    let r = checked_out(res);
    assert_eq!(r.commit, f.c2);
    assert_eq!(r.revision, format!("v1.0.0@sha1:{}", f.c2));
}

#[test]
fn semver_picks_highest_matching_tag() {
    let repo = Repo::new();
    let mut commits = std::collections::HashMap::new();
    for (i, t) in [
        "v0.9.0",
        "1.0.0",
        "v1.2.0",
        "v1.10.1",
        "v2.0.0-rc.1",
        "not-a-version",
    ]
    .iter()
    .enumerate()
    {
        repo.write("version", &format!("{t}\n"));
        commits.insert(*t, repo.commit(&format!("commit {i}")));
        if i % 2 == 0 {
            repo.git(&["tag", "-a", "-m", t, t]);
        } else {
            repo.git(&["tag", t]);
        }
    }
    let cases = [
        (">=1.0.0", "v1.10.1"),
        (">= 1.0, < 1.5", "v1.2.0"),
        ("~1.0", "1.0.0"),
        ("^0.9", "v0.9.0"),
        ("1.2 - 1.9", "v1.2.0"),
        ("*", "v1.10.1"),
        (">=2.0.0-rc.0", "v2.0.0-rc.1"),
    ];
    for (range, expected_tag) in cases {
        let (dest, res) = Fetch::new(repo.url()).reference(semver(range)).run();
        let r = checked_out(res);
        assert_eq!(
            r.revision,
            format!("{expected_tag}@sha1:{}", commits[expected_tag]),
            "range {range}"
        );
        assert_eq!(
            std::fs::read_to_string(dest.path().join("version")).unwrap(),
            format!("{expected_tag}\n")
        );
    }

    let (_d, res) = Fetch::new(repo.url()).reference(semver(">=3.0.0")).run();
    assert!(matches!(res, Err(GitError::RefNotFound(_))), "{res:?}");
    let (_d, res) = Fetch::new(repo.url()).reference(semver(">= banana")).run();
    assert!(matches!(res, Err(GitError::InvalidRef(_))), "{res:?}");
}

#[test]
fn name_refs_including_custom_namespaces() {
    let f = fixture();
    let (_d, res) = Fetch::new(f.repo.url())
        .reference(name("refs/heads/feature"))
        .run();
    assert_eq!(
        checked_out(res).revision,
        format!("refs/heads/feature@sha1:{}", f.c3)
    );

    f.repo.git(&["update-ref", "refs/pull/1/head", &f.c1]);
    let (dest, res) = Fetch::new(f.repo.url())
        .reference(name("refs/pull/1/head"))
        .run();
    assert_eq!(
        checked_out(res).revision,
        format!("refs/pull/1/head@sha1:{}", f.c1)
    );
    assert_eq!(
        std::fs::read_to_string(dest.path().join("file.txt")).unwrap(),
        "one\n"
    );

    let (_d, res) = Fetch::new(f.repo.url())
        .reference(name("refs/tags/v1.0.0"))
        .run();
    assert_eq!(
        checked_out(res).revision,
        format!("refs/tags/v1.0.0@sha1:{}", f.c2)
    );
}

#[test]
fn commit_alone_and_with_branch() {
    let f = fixture();
    let (dest, res) = Fetch::new(f.repo.url()).reference(commit(&f.c1)).run();
    let r = checked_out(res);
    assert_eq!(r.commit, f.c1);
    assert_eq!(r.revision, format!("sha1:{}", f.c1));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("file.txt")).unwrap(),
        "one\n"
    );

    let with_branch = GitRef {
        branch: Some("feature".into()),
        commit: Some(f.c3.clone()),
        ..Default::default()
    };
    let (dest, res) = Fetch::new(f.repo.url()).reference(with_branch).run();
    assert_eq!(checked_out(res).revision, format!("feature@sha1:{}", f.c3));
    assert!(dest.path().join("feature.txt").exists());
}

#[test]
fn unchanged_when_last_commit_matches() {
    let f = fixture();
    for (reference, expected_commit, revision) in [
        (GitRef::default(), &f.c2, format!("master@sha1:{}", f.c2)),
        (tag("v1.0.0"), &f.c2, format!("v1.0.0@sha1:{}", f.c2)),
        (semver("^1"), &f.c2, format!("v1.0.0@sha1:{}", f.c2)),
        (
            name("refs/heads/feature"),
            &f.c3,
            format!("refs/heads/feature@sha1:{}", f.c3),
        ),
        (commit(&f.c1), &f.c1, format!("sha1:{}", f.c1)),
    ] {
        let mut fetch = Fetch::new(f.repo.url()).reference(reference.clone());
        fetch.last_commit = Some(expected_commit.to_uppercase());
        let (dest, res) = fetch.run();
        match res {
            Ok(FetchOutcome::Unchanged(r)) => {
                assert_eq!(&r.commit, expected_commit, "{reference:?}");
                assert_eq!(r.revision, revision);
            }
            other => panic!("{reference:?}: expected Unchanged, got {other:?}"),
        }
        // Nothing was checked out.
        assert!(listing(dest.path()).is_empty());
    }

    // A different stored commit means a real fetch.
    let mut fetch = Fetch::new(f.repo.url());
    fetch.last_commit = Some(f.c1.clone());
    let (dest, res) = fetch.run();
    assert_eq!(checked_out(res).commit, f.c2);
    assert_eq!(listing(dest.path()), ["file.txt"]);
}

#[test]
fn unchanged_does_not_receive_a_pack() {
    // Proof by construction: drop the objects of the tip commit's tree from the served
    // repository. Resolving still works (refs are intact), but any attempt to fetch would fail.
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let head = repo.commit("only");
    repo.git(&["gc", "-q"]);
    for pack in std::fs::read_dir(repo.path().join(".git/objects/pack")).unwrap() {
        std::fs::remove_file(pack.unwrap().path()).unwrap();
    }
    let mut fetch = Fetch::new(repo.url());
    fetch.last_commit = Some(head.clone());
    let (dest, res) = fetch.run();
    assert!(
        matches!(res, Ok(FetchOutcome::Unchanged(ref r)) if r.commit == head),
        "{res:?}"
    );
    assert!(listing(dest.path()).is_empty());

    fetch.last_commit = None;
    let (_dest, res) = fetch.run();
    assert!(res.is_err(), "fetching without objects must fail: {res:?}");
}

#[test]
fn missing_references() {
    let f = fixture();
    for reference in [
        common::branch("nope"),
        tag("v9.9.9"),
        name("refs/heads/nope"),
        commit("0123456789abcdef0123456789abcdef01234567"),
    ] {
        let (dest, res) = Fetch::new(f.repo.url()).reference(reference.clone()).run();
        assert!(
            matches!(res, Err(GitError::RefNotFound(_))),
            "{reference:?}: {res:?}"
        );
        assert!(listing(dest.path()).is_empty());
    }
    let (_d, res) = Fetch::new(f.repo.url()).reference(commit("abc")).run();
    assert!(matches!(res, Err(GitError::InvalidRef(_))), "{res:?}");
}
