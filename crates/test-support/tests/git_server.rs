//! The test Git server against the real `git` CLI as client.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use weir_test_support::git_server::{Entry, GitServer, GitServerOptions};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "weir-git-client-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The git CLI, isolated from the machine's configuration, never prompting.
fn git(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env_remove("GIT_SSH_COMMAND")
        .args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn git_ok(envs: &[(&str, &str)], args: &[&str]) -> String {
    let out = git(envs, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn clone(envs: &[(&str, &str)], url: &str, branch: &str, dest: &Path) {
    git_ok(
        envs,
        &["clone", "-q", "-b", branch, url, dest.to_str().unwrap()],
    );
}

fn rev_parse(dir: &Path, rev: &str) -> String {
    git_ok(&[], &["-C", dir.to_str().unwrap(), "rev-parse", rev])
        .trim()
        .to_owned()
}

#[test]
fn anonymous_http_clone_and_repo_operations() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("app").unwrap();
    assert_eq!(repo.path(), server.root().join("app.git"));
    assert_eq!(repo.head("main").unwrap(), None);

    let first = repo
        .commit(
            "main",
            &[
                ("README.md", Entry::File(b"hello\n")),
                ("deploy/app.yaml", Entry::File(b"kind: ConfigMap\n")),
                ("bin/run.sh", Entry::Executable(b"#!/bin/sh\necho hi\n")),
                ("link", Entry::Symlink("deploy/app.yaml")),
                ("old.txt", Entry::File(b"old\n")),
            ],
            "first",
        )
        .unwrap();
    assert_eq!(first.len(), 40);
    assert_eq!(repo.head("main").unwrap().as_deref(), Some(first.as_str()));
    let second = repo
        .commit(
            "main",
            &[("README.md", Entry::File(b"hello again\n"))],
            "second",
        )
        .unwrap();
    let third = repo.remove("main", &["old.txt"], "remove old").unwrap();
    assert!(repo.remove("nope", &["x"], "m").is_err());

    // Submodule pointing at another repository's commit.
    let lib = server.repo("lib").unwrap();
    let lib_sha = lib
        .commit("main", &[("lib.txt", Entry::File(b"lib\n"))], "lib")
        .unwrap();
    let with_sub = repo
        .add_submodule(
            "main",
            "vendor/lib",
            &server.http_url("lib"),
            &lib_sha,
            "add lib",
        )
        .unwrap();

    repo.tag("v1.0.0", &second, false).unwrap();
    repo.tag("v2.0.0", &third, true).unwrap();
    repo.set_ref("refs/pull/1/head", &first).unwrap();
    let orphan = repo
        .commit("other", &[("other.txt", Entry::File(b"o\n"))], "orphan")
        .unwrap();
    repo.set_head("main").unwrap();

    let before = server.requests();
    let scratch = Scratch::new("anon");
    let dest = scratch.0.join("clone");
    // Default branch from HEAD.
    git_ok(
        &[],
        &[
            "clone",
            "-q",
            &server.http_url("app"),
            dest.to_str().unwrap(),
        ],
    );
    assert!(server.requests() > before, "the clone went over HTTP");
    assert_eq!(rev_parse(&dest, "HEAD"), with_sub);
    assert_eq!(
        fs::read_to_string(dest.join("README.md")).unwrap(),
        "hello again\n"
    );
    assert!(!dest.join("old.txt").exists());
    let mode = fs::metadata(dest.join("bin/run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o111, 0, "executable bit kept");
    assert_eq!(
        fs::read_link(dest.join("link")).unwrap(),
        Path::new("deploy/app.yaml")
    );
    let gitmodules = fs::read_to_string(dest.join(".gitmodules")).unwrap();
    assert!(gitmodules.contains("path = vendor/lib"), "{gitmodules}");
    assert!(gitmodules.contains(&server.http_url("lib")), "{gitmodules}");
    let tree = git_ok(
        &[],
        &[
            "-C",
            dest.to_str().unwrap(),
            "ls-tree",
            "HEAD",
            "vendor/lib",
        ],
    );
    assert!(
        tree.starts_with(&format!("160000 commit {lib_sha}")),
        "{tree}"
    );

    // The submodule itself is fetchable over HTTP too.
    git_ok(
        &[],
        &[
            "-C",
            dest.to_str().unwrap(),
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "update",
            "--init",
            "-q",
        ],
    );
    assert_eq!(
        fs::read_to_string(dest.join("vendor/lib/lib.txt")).unwrap(),
        "lib\n"
    );

    // Tags, the extra ref and the orphan branch.
    let refs = git_ok(&[], &["ls-remote", &server.http_url("app")]);
    assert!(
        refs.contains(&format!("{second}\trefs/tags/v1.0.0")),
        "{refs}"
    );
    assert!(
        refs.contains(&format!("{third}\trefs/tags/v2.0.0^{{}}")),
        "{refs}"
    );
    assert!(
        refs.contains(&format!("{first}\trefs/pull/1/head")),
        "{refs}"
    );
    assert!(
        refs.contains(&format!("{orphan}\trefs/heads/other")),
        "{refs}"
    );
    let tag_type = git_ok(
        &[],
        &["-C", dest.to_str().unwrap(), "cat-file", "-t", "v2.0.0"],
    );
    assert_eq!(tag_type.trim(), "tag");
    let parents = git_ok(
        &[],
        &[
            "-C",
            dest.to_str().unwrap(),
            "rev-list",
            "--parents",
            "-n1",
            &third,
        ],
    );
    assert_eq!(parents.trim(), format!("{third} {second}"));

    // Fetch an arbitrary sha (allowAnySHA1InWant).
    git_ok(
        &[],
        &[
            "-C",
            dest.to_str().unwrap(),
            "fetch",
            "-q",
            "origin",
            &first,
        ],
    );

    // A second clone of the orphan branch has only its own commit.
    let other = scratch.0.join("other");
    clone(&[], &server.http_url("app"), "other", &other);
    let count = git_ok(
        &[],
        &["-C", other.to_str().unwrap(), "rev-list", "--count", "HEAD"],
    );
    assert_eq!(count.trim(), "1");

    // A push over HTTP is accepted (http.receivepack).
    fs::write(dest.join("pushed.txt"), "p\n").unwrap();
    let d = dest.to_str().unwrap();
    git_ok(&[], &["-C", d, "add", "pushed.txt"]);
    git_ok(
        &[
            ("GIT_AUTHOR_NAME", "t"),
            ("GIT_AUTHOR_EMAIL", "t@t"),
            ("GIT_COMMITTER_NAME", "t"),
            ("GIT_COMMITTER_EMAIL", "t@t"),
        ],
        &["-C", d, "commit", "-q", "-m", "pushed"],
    );
    git_ok(&[], &["-C", d, "push", "-q", "origin", "HEAD:main"]);
    assert_eq!(
        repo.head("main").unwrap().unwrap(),
        rev_parse(&dest, "HEAD")
    );

    // Unknown repositories are a 404 from http-backend.
    let out = git(&[], &["ls-remote", &server.http_url("missing")]);
    assert!(!out.status.success());
}

#[test]
fn requests_are_counted() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("count.git").unwrap();
    repo.commit("main", &[("a", Entry::File(b"a"))], "a")
        .unwrap();
    assert_eq!(server.requests(), 0, "repository setup is not HTTP");
    git_ok(&[], &["ls-remote", &server.http_url("count")]);
    let after = server.requests();
    assert!(after >= 1);
    // Nothing fetched in between: the counter stays.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(server.requests(), after);
}

#[test]
fn protocol_v2() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("v2").unwrap();
    let sha = repo
        .commit("main", &[("a", Entry::File(b"a"))], "a")
        .unwrap();
    let out = git(
        &[("GIT_TRACE_PACKET", "1")],
        &[
            "-c",
            "protocol.version=2",
            "ls-remote",
            &server.http_url("v2"),
            "refs/heads/main",
        ],
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{sha}\trefs/heads/main")
    );
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(trace.contains("version 2"), "server spoke v2: {trace}");

    let scratch = Scratch::new("v2");
    let dest = scratch.0.join("c");
    clone(&[], &server.http_url("v2"), "main", &dest);
    git_ok(
        &[],
        &[
            "-c",
            "protocol.version=2",
            "-C",
            dest.to_str().unwrap(),
            "fetch",
            "-q",
            "--depth=1",
            "origin",
            &sha,
        ],
    );
}

#[test]
fn basic_and_bearer_auth() {
    let server = GitServer::start(GitServerOptions {
        basic_auth: Some(("alice".into(), "s3cret".into())),
        bearer_token: Some("tok3n".into()),
        ..Default::default()
    })
    .unwrap();
    let sha = server
        .repo("private")
        .unwrap()
        .commit("main", &[("a", Entry::File(b"a"))], "a")
        .unwrap();
    let url = server.http_url("private");
    let with_creds =
        |user: &str, pass: &str| url.replacen("http://", &format!("http://{user}:{pass}@"), 1);

    let out = git(&[], &["ls-remote", &url]);
    assert!(!out.status.success(), "anonymous access refused");
    let out = git(&[], &["ls-remote", &with_creds("alice", "wrong")]);
    assert!(!out.status.success(), "wrong password refused");
    let refs = git_ok(&[], &["ls-remote", &with_creds("alice", "s3cret")]);
    assert!(refs.contains(&sha));

    let out = git(
        &[],
        &[
            "-c",
            "http.extraHeader=Authorization: Bearer nope",
            "ls-remote",
            &url,
        ],
    );
    assert!(!out.status.success(), "wrong token refused");
    let scratch = Scratch::new("bearer");
    let dest = scratch.0.join("c");
    git_ok(
        &[],
        &[
            "-c",
            "http.extraHeader=Authorization: Bearer tok3n",
            "clone",
            "-q",
            "-b",
            "main",
            &url,
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(rev_parse(&dest, "HEAD"), sha);

    // The 401 challenges for basic credentials.
    let raw = raw_http_get(
        server.http_port(),
        "/private.git/info/refs?service=git-upload-pack",
    );
    assert!(raw.starts_with("HTTP/1.1 401"), "{raw}");
    assert!(
        raw.contains("www-authenticate: Basic realm=\"git\""),
        "{raw}"
    );
}

fn raw_http_get(port: u16, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn https_with_generated_ca() {
    let server = GitServer::start(GitServerOptions {
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let sha = server
        .repo("tls")
        .unwrap()
        .commit("main", &[("a", Entry::File(b"a"))], "a")
        .unwrap();
    let url = server.http_url("tls");
    assert!(url.starts_with("https://127.0.0.1:"));
    let pem = server.ca_pem().unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let scratch = Scratch::new("tls");
    let ca = scratch.0.join("ca.pem");
    fs::write(&ca, pem).unwrap();

    // Without the CA the certificate is not trusted.
    let out = git(&[], &["ls-remote", &url]);
    assert!(!out.status.success());

    let dest = scratch.0.join("c");
    clone(
        &[("GIT_SSL_CAINFO", ca.to_str().unwrap())],
        &url,
        "main",
        &dest,
    );
    assert_eq!(rev_parse(&dest, "HEAD"), sha);
    let localhost = url.replace("127.0.0.1", "localhost");
    let refs = git_ok(
        &[(
            "GIT_SSL_CAINFO",
            server.ca_file().unwrap().to_str().unwrap(),
        )],
        &["-c", "protocol.version=2", "ls-remote", &localhost],
    );
    assert!(refs.contains(&sha));
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Our children that are http-backend processes (running or zombie).
fn backend_children() -> Vec<u32> {
    let me = std::process::id();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let comm = &stat[stat.find('(').unwrap_or(0) + 1..close];
            let ppid: u32 = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            ppid == me && comm.starts_with("git-http-back")
        })
        .collect()
}

#[test]
fn ssh_clone_and_cleanup() {
    let server = GitServer::start(GitServerOptions {
        ssh: true,
        ..Default::default()
    })
    .unwrap();
    let repo = server.repo("viassh").unwrap();
    let sha = repo
        .commit("main", &[("a.txt", Entry::File(b"over ssh\n"))], "a")
        .unwrap();
    let url = server.ssh_url("viassh").unwrap();
    assert!(url.starts_with("ssh://"), "{url}");
    assert!(url.ends_with(&format!("{}/viassh.git", server.root().display())));
    let identity = server.ssh_identity().unwrap();
    assert!(identity.contains("BEGIN OPENSSH PRIVATE KEY"));
    let known_hosts = server.ssh_known_hosts().unwrap();
    assert!(
        known_hosts.starts_with(&format!(
            "[127.0.0.1]:{} ssh-ed25519 ",
            server.ssh_port().unwrap()
        )),
        "{known_hosts}"
    );

    // The client writes its own key files from the strings, as a controller would.
    let scratch = Scratch::new("ssh");
    let key = scratch.0.join("id");
    fs::write(&key, identity).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let kh = scratch.0.join("known_hosts");
    fs::write(&kh, known_hosts).unwrap();
    let ssh_command = format!(
        "ssh -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes",
        key.display(),
        kh.display()
    );
    let env = [("GIT_SSH_COMMAND", ssh_command.as_str())];
    let dest = scratch.0.join("c");
    clone(&env, &url, "main", &dest);
    assert_eq!(rev_parse(&dest, "HEAD"), sha);
    assert_eq!(
        fs::read_to_string(dest.join("a.txt")).unwrap(),
        "over ssh\n"
    );
    let refs = git_ok(&env, &["-c", "protocol.version=2", "ls-remote", &url]);
    assert!(refs.contains(&sha));
    assert_eq!(server.requests(), 0, "ssh does not touch the HTTP server");

    // The provided GIT_SSH_COMMAND works too.
    let helper = server.git_ssh_command().unwrap();
    git_ok(
        &[("GIT_SSH_COMMAND", helper.as_str())],
        &["ls-remote", &url],
    );

    // An unknown host key is refused.
    let empty_kh = scratch.0.join("empty_known_hosts");
    fs::write(&empty_kh, "").unwrap();
    let strict = format!(
        "ssh -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes",
        key.display(),
        empty_kh.display()
    );
    let out = git(
        &[("GIT_SSH_COMMAND", strict.as_str())],
        &["ls-remote", &url],
    );
    assert!(!out.status.success());

    let config = server.sshd_config().unwrap().to_str().unwrap().to_owned();
    assert!(!processes_mentioning(&config).is_empty(), "sshd runs");
    let dir = server.root().to_path_buf();
    drop(server);
    assert!(processes_mentioning(&config).is_empty(), "sshd gone");
    assert!(!dir.exists(), "directory removed");
}

#[test]
fn concurrent_clones_leave_no_processes() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let template = server.repo("template").unwrap();
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    template
        .commit(
            "main",
            &[
                ("big.bin", Entry::File(&big)),
                ("small.txt", Entry::File(b"s\n")),
            ],
            "t",
        )
        .unwrap();
    let expected = template.head("main").unwrap().unwrap();
    for i in 0..16 {
        let copy = server
            .copy_repo("template", &format!("copies/r{i}"))
            .unwrap();
        assert_eq!(
            copy.head("main").unwrap().as_deref(),
            Some(expected.as_str())
        );
    }
    assert!(server.copy_repo("template", "copies/r0").is_err());
    assert!(server.copy_repo("missing", "x").is_err());
    assert!(server.repo("../escape").is_err());

    let scratch = Scratch::new("concurrent");
    std::thread::scope(|s| {
        for i in 0..16 {
            let url = server.http_url(&format!("copies/r{i}"));
            let dest = scratch.0.join(format!("c{i}"));
            let expected = expected.clone();
            s.spawn(move || {
                clone(&[], &url, "main", &dest);
                assert_eq!(rev_parse(&dest, "HEAD"), expected);
            });
        }
    });
    assert!(server.requests() >= 32);
    drop(server);
    // Reaped by the time Drop returns; other tests' servers may briefly
    // have their own children, so allow them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !backend_children().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(backend_children().is_empty(), "no http-backend left behind");
}

/// A client that stalls mid-response: Drop must still kill and reap the
/// http-backend serving it.
#[test]
fn drop_with_request_in_flight() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("stall").unwrap();
    let big: Vec<u8> = (0..2_000_000u32)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let sha = repo
        .commit("main", &[("big.bin", Entry::File(&big))], "big")
        .unwrap();
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.http_port())).unwrap();
    // A protocol v0 fetch request for the commit; we never read the pack.
    let pkt = |s: &str| format!("{:04x}{s}", s.len() + 4);
    let body = format!("{}0000{}", pkt(&format!("want {sha}\n")), pkt("done\n"));
    write!(
        stream,
        "POST /stall.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The backend (or its upload-pack) is blocked writing to us.
    // Only this server's backends: tests running in parallel have their own.
    let root = format!("GIT_PROJECT_ROOT={}", server.root().display());
    let ours = |pid: &u32| {
        fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == root.as_bytes()))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stalled = Vec::new();
    while stalled.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        stalled = backend_children()
            .into_iter()
            .filter(|pid| cmdline_of(*pid).is_some_and(|c| c.contains("http-backend")))
            .filter(ours)
            .collect();
    }
    assert!(!stalled.is_empty(), "http-backend is running");
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "Drop did not hang"
    );
    for pid in stalled {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "http-backend {pid} killed and reaped"
        );
    }
    drop(stream);
}

fn cmdline_of(pid: u32) -> Option<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|c| String::from_utf8_lossy(&c).into_owned())
}

/// Git gzips request bodies over 1 KiB; many wants make one.
#[test]
fn gzip_request_bodies() {
    let server = GitServer::start(GitServerOptions::default()).unwrap();
    let repo = server.repo("many").unwrap();
    let mut shas = Vec::new();
    for i in 0..60 {
        shas.push(
            repo.commit(
                &format!("branch-{i:02}"),
                &[("f", Entry::File(format!("{i}\n").as_bytes()))],
                "m",
            )
            .unwrap(),
        );
    }
    repo.set_head("branch-00").unwrap();
    for version in ["0", "2"] {
        let scratch = Scratch::new("gzip");
        let dest = scratch.0.join("c");
        let out = git(
            &[("GIT_TRACE_CURL", "1"), ("GIT_TRACE_CURL_NO_DATA", "1")],
            &[
                "-c",
                &format!("protocol.version={version}"),
                "clone",
                "--mirror",
                &server.http_url("many"),
                dest.to_str().unwrap(),
            ],
        );
        let trace = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{trace}");
        assert!(
            trace.contains("Content-Encoding: gzip"),
            "v{version} request was gzipped: {trace}"
        );
        let refs = git_ok(&[], &["-C", dest.to_str().unwrap(), "show-ref"]);
        for sha in &shas {
            assert!(refs.contains(sha.as_str()));
        }
    }
}

/// The benchmark's shape at a smaller scale: many repositories, fetched
/// over HTTPS with auth by 32 clients at once. Run with `--ignored`.
#[test]
#[ignore = "stress test; run explicitly"]
fn stress_many_repos_concurrently() {
    const REPOS: usize = 200;
    let server = GitServer::start(GitServerOptions {
        tls: true,
        bearer_token: Some("t".into()),
        ..Default::default()
    })
    .unwrap();
    let started = Instant::now();
    let template = server.repo("template").unwrap();
    let sha = template
        .commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "a")
        .unwrap();
    for i in 0..REPOS {
        server.copy_repo("template", &format!("r{i}")).unwrap();
    }
    eprintln!("copied {REPOS} repositories in {:?}", started.elapsed());
    let started = Instant::now();
    for i in 0..20 {
        server
            .repo(&format!("fresh{i}"))
            .unwrap()
            .commit("main", &[("a.yaml", Entry::File(b"a: 1\n"))], "a")
            .unwrap();
    }
    eprintln!(
        "created and committed 20 repositories in {:?}",
        started.elapsed()
    );

    let ca = server.ca_file().unwrap().to_str().unwrap().to_owned();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= REPOS {
                        break;
                    }
                    let refs = git_ok(
                        &[("GIT_SSL_CAINFO", ca.as_str())],
                        &[
                            "-c",
                            "http.extraHeader=Authorization: Bearer t",
                            "ls-remote",
                            &server.http_url(&format!("r{i}")),
                            "refs/heads/main",
                        ],
                    );
                    assert!(refs.starts_with(&sha));
                }
            });
        }
    });
    eprintln!(
        "{REPOS} ls-remotes ({} requests) in {:?}",
        server.requests(),
        started.elapsed()
    );
}

#[test]
fn handles_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GitServer>();
    assert_send_sync::<weir_test_support::git_server::Repo>();
}
