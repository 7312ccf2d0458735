//! Test helpers: repositories built with the `git` CLI, and a tiny smart-HTTP server that runs
//! `git http-backend` as CGI.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::Duration,
};

use weir_git::{Auth, FetchOptions, FetchOutcome, GitError, GitRef};

/// Run git with a deterministic, isolated environment and return trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir)
        .args(args)
        .output()
        .expect("git can be spawned");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Run git with `input` on stdin.
pub fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = git_cmd(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

/// A non-bare repository in a temporary directory, served by path.
pub struct Repo {
    pub tmp: tempfile::TempDir,
}

impl Repo {
    /// New repository whose default branch is `master`.
    pub fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        git(tmp.path(), &["init", "-q", "-b", "master", "."]);
        // Lets tests fetch arbitrary commits by id over every protocol version.
        git(
            tmp.path(),
            &["config", "uploadpack.allowAnySHA1InWant", "true"],
        );
        Repo { tmp }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Stage everything and commit; returns the commit id.
    pub fn commit(&self, msg: &str) -> String {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    pub fn head(&self) -> String {
        git(self.path(), &["rev-parse", "HEAD"])
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }
}

pub struct Fetch {
    pub url: String,
    pub reference: GitRef,
    pub auth: Auth,
    pub timeout: Duration,
    pub last_commit: Option<String>,
    pub recurse_submodules: bool,
    pub max_file_size: u64,
}

impl Fetch {
    pub fn new(url: impl Into<String>) -> Fetch {
        Fetch {
            url: url.into(),
            reference: GitRef::default(),
            auth: Auth::default(),
            timeout: Duration::from_secs(60),
            last_commit: None,
            recurse_submodules: false,
            max_file_size: 10 * 1024 * 1024,
        }
    }

    pub fn reference(mut self, r: GitRef) -> Fetch {
        self.reference = r;
        self
    }

    /// Fetch into a fresh directory; returns the directory along with the result.
    pub fn run(&self) -> (tempfile::TempDir, Result<FetchOutcome, GitError>) {
        let dest = tempfile::tempdir().unwrap();
        let opts = FetchOptions {
            url: &self.url,
            reference: &self.reference,
            auth: &self.auth,
            timeout: self.timeout,
            last_commit: self.last_commit.as_deref(),
            recurse_submodules: self.recurse_submodules,
            max_file_size: self.max_file_size,
        };
        let res = weir_git::fetch(&opts, dest.path());
        (dest, res)
    }
}

pub fn branch(name: &str) -> GitRef {
    GitRef {
        branch: Some(name.into()),
        ..Default::default()
    }
}

pub fn tag(name: &str) -> GitRef {
    GitRef {
        tag: Some(name.into()),
        ..Default::default()
    }
}

pub fn semver(range: &str) -> GitRef {
    GitRef {
        semver: Some(range.into()),
        ..Default::default()
    }
}

pub fn name(refname: &str) -> GitRef {
    GitRef {
        name: Some(refname.into()),
        ..Default::default()
    }
}

pub fn commit(id: &str) -> GitRef {
    GitRef {
        commit: Some(id.into()),
        ..Default::default()
    }
}

/// Sorted list of all paths below `dir` (directories end with `/`).
pub fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(base).unwrap().display().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &e.path(), out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Access control of [`HttpServer`].
#[derive(Clone, Default)]
pub struct HttpConfig {
    /// Require this basic-auth user/password.
    pub basic: Option<(String, String)>,
    /// Require `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Accept connections but never answer.
    pub hang: bool,
    /// Ignore the client's protocol v2 request: protocol v0 only serves advertised tips.
    pub v0_only: bool,
}

/// Smart-HTTP git server on 127.0.0.1 serving the repositories below `root`. One request per
/// connection (`Connection: close`) keeps it simple.
pub struct HttpServer {
    pub port: u16,
}

impl HttpServer {
    pub fn start(root: &Path, config: HttpConfig) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                let config = config.clone();
                std::thread::spawn(move || {
                    if config.hang {
                        std::thread::sleep(Duration::from_secs(120));
                        drop(stream);
                        return;
                    }
                    let _ = match &config.tls {
                        Some(tls) => {
                            let conn = rustls::ServerConnection::new(tls.clone()).unwrap();
                            let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                            let r = handle(&mut tls_stream, &root, &config);
                            tls_stream.conn.send_close_notify();
                            let _ = tls_stream.flush();
                            r
                        }
                        None => {
                            let mut stream = stream;
                            handle(&mut stream, &root, &config)
                        }
                    };
                });
            }
        });
        HttpServer { port }
    }
}

fn handle<S: Read + Write>(
    stream: &mut S,
    root: &Path,
    config: &HttpConfig,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::<(String, String)>::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        body
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };
    drop(reader);

    let authorization = header("authorization");
    let authorized = match (&config.basic, &config.bearer) {
        (Some((user, pass)), _) => {
            authorization.as_deref()
                == Some(&format!("Basic {}", base64(&format!("{user}:{pass}"))))
        }
        (None, Some(token)) => authorization.as_deref() == Some(&format!("Bearer {token}")),
        (None, None) => true,
    };
    if !authorized {
        let challenge = if config.basic.is_some() {
            "WWW-Authenticate: Basic realm=\"git\"\r\n"
        } else {
            ""
        };
        write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\n{challenge}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return stream.flush();
    }

    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &method)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(proto) = header("git-protocol").filter(|_| !config.v0_only) {
        cgi.env("GIT_PROTOCOL", proto);
    }
    if let Some(enc) = header("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", enc);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let out = child.wait_with_output()?;
    let _ = writer.join();
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, body) = match split {
        Some((i, n)) => (&raw[..i], &raw[i + n..]),
        None => (&raw[..], &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut status = "200 OK".to_owned();
    let mut out_headers = String::new();
    for line in head.lines() {
        if let Some(s) = line.strip_prefix("Status:") {
            status = s.trim().to_owned();
        } else if !line.trim().is_empty() {
            out_headers.push_str(line.trim());
            out_headers.push_str("\r\n");
        }
    }
    write!(
        stream,
        "HTTP/1.1 {status}\r\n{out_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn base64(input: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A directory holding bare clones, as served by [`HttpServer`].
pub fn bare_clone(src: &Repo, root: &Path, name: &str) -> PathBuf {
    let dst = root.join(name);
    git(
        root,
        &[
            "clone",
            "-q",
            "--bare",
            &src.path().display().to_string(),
            name,
        ],
    );
    git(&dst, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    dst
}
