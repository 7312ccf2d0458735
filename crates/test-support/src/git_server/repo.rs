//! Bare repositories, written with git plumbing so no work tree is needed.
//!
//! Commits go through one `git fast-import` process each: it hashes the
//! blobs, builds the trees from the parent's, writes the commit and moves
//! the branch, which is much faster than a `hash-object` per file when a
//! benchmark fills a thousand repositories.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

/// Author and committer of every commit and annotated tag, fixed so tests do
/// not depend on the machine's git identity.
pub const AUTHOR_NAME: &str = "Weir Test";
/// See [`AUTHOR_NAME`].
pub const AUTHOR_EMAIL: &str = "weir-test@example.invalid";

/// One path's new content in [`Repo::commit`].
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    /// A regular file (mode 100644).
    File(&'a [u8]),
    /// An executable file (mode 100755).
    Executable(&'a [u8]),
    /// A symbolic link (mode 120000) to the given target.
    Symlink(&'a str),
}

/// What a commit does to one path.
enum Change<'a> {
    Blob { mode: &'static str, data: &'a [u8] },
    Gitlink(&'a str),
    Delete,
}

/// A bare repository on disk. Cheap to clone: it is just the path.
#[derive(Clone, Debug)]
pub struct Repo {
    path: PathBuf,
}

/// `git --git-dir=<dir>` with the machine's and user's git configuration
/// ignored and a fixed identity, so results do not depend on who runs the
/// tests (a global `init.defaultBranch`, signing, hooks paths...).
pub(crate) fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir").arg(git_dir);
    isolate(&mut cmd);
    cmd
}

/// Environment shared by every git process the server starts.
pub(crate) fn isolate(cmd: &mut Command) {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_COMMON_DIR",
        "GIT_CEILING_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL);
}

/// Runs `cmd`, feeding `stdin` from a thread (so a chatty child cannot
/// deadlock against us), and returns its stdout; fails with its stderr.
pub(crate) fn run(cmd: &mut Command, stdin: Option<Vec<u8>>) -> anyhow::Result<String> {
    let desc = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("starting {desc}"))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => Some(std::thread::spawn(move || pipe.write_all(&data))),
        _ => None,
    };
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for {desc}"))?;
    let written = writer.map(|w| w.join());
    if !output.status.success() {
        bail!(
            "{desc} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if let Some(result) = written {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e).with_context(|| format!("writing to {desc}")),
            Err(_) => bail!("stdin writer of {desc} panicked"),
        }
    }
    String::from_utf8(output.stdout).with_context(|| format!("non-UTF-8 output from {desc}"))
}

/// `refs/heads/<branch>` unless `branch` already is a full ref name.
fn branch_ref(branch: &str) -> String {
    if branch.starts_with("refs/") {
        branch.to_owned()
    } else {
        format!("refs/heads/{branch}")
    }
}

/// A path in fast-import syntax: C-quoted when it would be misread raw.
fn fast_import_path(path: &str) -> anyhow::Result<String> {
    if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
        bail!("invalid repository path {path:?}");
    }
    if !path.starts_with('"') && !path.chars().any(|c| c.is_control()) {
        return Ok(path.to_owned());
    }
    let mut quoted = String::from("\"");
    for c in path.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    quoted.push_str(&format!("\\{b:03o}"));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Ok(quoted)
}

fn push_data(stream: &mut Vec<u8>, data: &[u8]) {
    stream.extend_from_slice(format!("data {}\n", data.len()).as_bytes());
    stream.extend_from_slice(data);
    stream.push(b'\n');
}

impl Repo {
    /// A handle on an existing bare repository.
    pub fn open(path: impl Into<PathBuf>) -> Repo {
        Repo { path: path.into() }
    }

    /// Creates a bare repository at `path` (git's default initial branch;
    /// any SHA-1 may be fetched; pushes over HTTP are allowed; no automatic
    /// gc, whose detached background process would outlive the server).
    pub fn init(path: impl Into<PathBuf>) -> anyhow::Result<Repo> {
        let path = path.into();
        let mut cmd = Command::new("git");
        isolate(&mut cmd);
        run(cmd.args(["init", "--bare", "-q"]).arg(&path), None)?;
        // Appending to the config file saves a `git config` process per key.
        let config = path.join("config");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&config)
            .with_context(|| format!("opening {}", config.display()))?;
        file.write_all(
            b"[uploadpack]\n\tallowAnySHA1InWant = true\n\tallowFilter = true\n\
              [http]\n\treceivepack = true\n\
              [gc]\n\tauto = 0\n\tautoDetach = false\n\
              [receive]\n\tautogc = false\n",
        )
        .with_context(|| format!("writing {}", config.display()))?;
        Ok(Repo { path })
    }

    /// The repository directory (`<root>/<name>.git`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A git command for this repository (isolated config, fixed identity).
    pub fn git(&self) -> Command {
        git(&self.path)
    }

    /// Commits on top of `branch` (creating it, as an orphan if new),
    /// writing or overwriting the given paths; returns the new commit's sha.
    pub fn commit(
        &self,
        branch: &str,
        entries: &[(&str, Entry<'_>)],
        message: &str,
    ) -> anyhow::Result<String> {
        let changes: Vec<(&str, Change<'_>)> = entries
            .iter()
            .map(|(path, entry)| {
                let change = match entry {
                    Entry::File(data) => Change::Blob {
                        mode: "100644",
                        data,
                    },
                    Entry::Executable(data) => Change::Blob {
                        mode: "100755",
                        data,
                    },
                    Entry::Symlink(target) => Change::Blob {
                        mode: "120000",
                        data: target.as_bytes(),
                    },
                };
                (*path, change)
            })
            .collect();
        self.fast_import(branch, &changes, message)
    }

    /// Commits the removal of `paths` (files or whole directories) on top
    /// of the existing `branch`; returns the new commit's sha.
    pub fn remove(&self, branch: &str, paths: &[&str], message: &str) -> anyhow::Result<String> {
        if self.head(branch)?.is_none() {
            bail!("branch {branch} does not exist in {}", self.path.display());
        }
        let changes: Vec<(&str, Change<'_>)> = paths.iter().map(|p| (*p, Change::Delete)).collect();
        self.fast_import(branch, &changes, message)
    }

    /// Commits a submodule at `path` pointing at `commit` of `url`: the
    /// gitlink entry plus its `.gitmodules` section.
    pub fn add_submodule(
        &self,
        branch: &str,
        path: &str,
        url: &str,
        commit: &str,
        message: &str,
    ) -> anyhow::Result<String> {
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("submodule commit must be a 40-hex sha, got {commit:?}");
        }
        // `git config -f` writes the section with git's own quoting rules.
        let tmp = self.path.join(format!(
            "weir-gitmodules-{}-{}.tmp",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let existing = match self.head(branch)? {
            Some(head) => {
                let spec = format!("{head}:.gitmodules");
                let present = self
                    .git()
                    .args(["cat-file", "-e", &spec])
                    .stderr(Stdio::null())
                    .status()
                    .context("running git cat-file -e")?
                    .success();
                if present {
                    run(self.git().args(["cat-file", "blob", &spec]), None)?
                } else {
                    String::new()
                }
            }
            None => String::new(),
        };
        let result = (|| {
            std::fs::write(&tmp, existing.as_bytes())
                .with_context(|| format!("writing {}", tmp.display()))?;
            for (key, value) in [("path", path), ("url", url)] {
                run(
                    self.git()
                        .args(["config", "-f"])
                        .arg(&tmp)
                        .arg(format!("submodule.{path}.{key}"))
                        .arg(value),
                    None,
                )?;
            }
            std::fs::read(&tmp).with_context(|| format!("reading {}", tmp.display()))
        })();
        let _ = std::fs::remove_file(&tmp);
        let gitmodules = result?;
        self.fast_import(
            branch,
            &[
                (
                    ".gitmodules",
                    Change::Blob {
                        mode: "100644",
                        data: &gitmodules,
                    },
                ),
                (path, Change::Gitlink(commit)),
            ],
            message,
        )
    }

    /// Points tag `name` at `target` (a sha or any revision), replacing an
    /// existing tag; `annotated` makes a tag object with the name as message.
    pub fn tag(&self, name: &str, target: &str, annotated: bool) -> anyhow::Result<()> {
        let mut cmd = self.git();
        cmd.args(["tag", "-f"]);
        if annotated {
            cmd.args(["-a", "-m", name]);
        }
        run(cmd.arg("--").args([name, target]), None).map(drop)
    }

    /// Sets any ref (e.g. `refs/pull/1/head`) to `target` (a sha or revision).
    pub fn set_ref(&self, refname: &str, target: &str) -> anyhow::Result<()> {
        run(self.git().args(["update-ref", refname, target]), None).map(drop)
    }

    /// Deletes a ref (branch, tag or other), if present.
    pub fn delete_ref(&self, refname: &str) -> anyhow::Result<()> {
        run(
            self.git().args(["update-ref", "-d", &branch_ref(refname)]),
            None,
        )
        .map(drop)
    }

    /// Makes `HEAD` the symbolic ref `refs/heads/<branch>` (the default
    /// branch clients check out).
    pub fn set_head(&self, branch: &str) -> anyhow::Result<()> {
        run(
            self.git()
                .args(["symbolic-ref", "HEAD", &branch_ref(branch)]),
            None,
        )
        .map(drop)
    }

    /// The commit `branch` points at, if it exists.
    pub fn head(&self, branch: &str) -> anyhow::Result<Option<String>> {
        let refname = branch_ref(branch);
        let output = self
            .git()
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("{refname}^{{commit}}"),
            ])
            .stdin(Stdio::null())
            .output()
            .context("running git rev-parse")?;
        match output.status.code() {
            Some(0) => Ok(Some(
                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            )),
            // --verify -q exits 1 without output when the ref is missing.
            Some(1) if output.stdout.is_empty() => Ok(None),
            _ => bail!(
                "git rev-parse {refname} in {} failed: {}",
                self.path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// One `git fast-import` run: a commit on `branch` (parented on its
    /// current tip, if any) applying `changes`.
    fn fast_import(
        &self,
        branch: &str,
        changes: &[(&str, Change<'_>)],
        message: &str,
    ) -> anyhow::Result<String> {
        let refname = branch_ref(branch);
        let parent = self.head(&refname)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut stream = Vec::new();
        stream.extend_from_slice(
            format!(
                "commit {refname}\nmark :1\n\
                 author {AUTHOR_NAME} <{AUTHOR_EMAIL}> {now} +0000\n\
                 committer {AUTHOR_NAME} <{AUTHOR_EMAIL}> {now} +0000\n"
            )
            .as_bytes(),
        );
        push_data(&mut stream, message.as_bytes());
        if let Some(parent) = &parent {
            stream.extend_from_slice(format!("from {parent}\n").as_bytes());
        }
        for (path, change) in changes {
            let path = fast_import_path(path)?;
            match change {
                Change::Blob { mode, data } => {
                    stream.extend_from_slice(format!("M {mode} inline {path}\n").as_bytes());
                    push_data(&mut stream, data);
                }
                Change::Gitlink(sha) => {
                    stream.extend_from_slice(format!("M 160000 {sha} {path}\n").as_bytes());
                }
                Change::Delete => stream.extend_from_slice(format!("D {path}\n").as_bytes()),
            }
        }
        // The mark's sha comes back on stdout once the commit is written.
        stream.extend_from_slice(b"\nget-mark :1\ndone\n");
        let out = run(
            self.git()
                .args(["fast-import", "--quiet", "--done", "--date-format=raw"]),
            Some(stream),
        )
        .with_context(|| format!("committing to {refname} in {}", self.path.display()))?;
        let sha = out.trim();
        if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("unexpected git fast-import output {out:?}");
        }
        Ok(sha.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::fast_import_path;

    #[test]
    fn quotes_paths_only_when_needed() {
        assert_eq!(fast_import_path("a b/c").unwrap(), "a b/c");
        assert_eq!(fast_import_path("\"q").unwrap(), "\"\\\"q\"");
        assert_eq!(fast_import_path("a\nb").unwrap(), "\"a\\nb\"");
        assert!(fast_import_path("/abs").is_err());
    }
}
