//! Writing a commit's tree to disk by walking git objects ourselves, so that every entry is
//! checked before anything touches the filesystem.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use gix::{ObjectId, bstr::ByteSlice, objs::tree::EntryKind};

use crate::{
    GitError,
    remote::{self, Context, Session},
    urls,
};

/// Nested submodules deeper than this are refused (also stops submodule cycles).
const MAX_SUBMODULE_DEPTH: usize = 8;

pub(crate) struct Writer<'a> {
    pub max_file_size: u64,
    pub recurse_submodules: bool,
    pub ctx: &'a Context<'a>,
}

/// One tree entry, owned so the tree object can be dropped before recursing.
struct Entry {
    kind: EntryKind,
    name: String,
    id: ObjectId,
}

impl Writer<'_> {
    /// Write the tree of `commit` (present in `session`'s repository) into `dir`.
    /// `prefix` is the path of `dir` relative to the top-level checkout, for messages.
    pub(crate) fn write_commit(
        &self,
        session: &Session<'_>,
        commit: ObjectId,
        dir: &Path,
        prefix: &str,
        depth: usize,
    ) -> Result<(), GitError> {
        let repo = session.repo();
        let tree = repo
            .find_object(commit)
            .and_then(|o| o.try_into_commit().map_err(gix::Error::from_error))
            .and_then(|c| c.tree_id().map(|id| id.detach()))
            .map_err(|e| {
                GitError::Checkout(format!(
                    "cannot read commit {commit} from {}: {}",
                    session.display_url(),
                    crate::error::describe(&e)
                ))
            })?;
        let mut modules = Submodules::Unloaded;
        self.write_tree(session, tree, tree, dir, prefix, "", depth, &mut modules)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_tree(
        &self,
        session: &Session<'_>,
        root_tree: ObjectId,
        tree: ObjectId,
        dir: &Path,
        prefix: &str,
        in_repo: &str,
        depth: usize,
        modules: &mut Submodules,
    ) -> Result<(), GitError> {
        for entry in read_tree(session.repo(), tree, prefix)? {
            let join = |base: &str| {
                if base.is_empty() {
                    entry.name.clone()
                } else {
                    format!("{base}/{}", entry.name)
                }
            };
            // `rel` is shown to users (relative to the checkout); `rel_in_repo` is relative to
            // the repository being walked, which is what its .gitmodules refers to.
            let (rel, rel_in_repo) = (join(prefix), join(in_repo));
            let path = dir.join(&entry.name);
            match entry.kind {
                EntryKind::Tree => {
                    create_dir(self.ctx, &path, &rel)?;
                    self.write_tree(
                        session,
                        root_tree,
                        entry.id,
                        &path,
                        &rel,
                        &rel_in_repo,
                        depth,
                        modules,
                    )?;
                }
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    let mode = if entry.kind == EntryKind::BlobExecutable {
                        0o755
                    } else {
                        0o644
                    };
                    self.write_blob(session.repo(), entry.id, &path, &rel, mode)?;
                }
                // Symlinks never reach the artifact: they could point anywhere on the host.
                EntryKind::Link => {}
                EntryKind::Commit => {
                    create_dir(self.ctx, &path, &rel)?;
                    if self.recurse_submodules {
                        let url = modules.url_for(self, session, root_tree, &rel_in_repo)?;
                        self.write_submodule(session, &url, entry.id, &path, &rel, depth)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn write_blob(
        &self,
        repo: &gix::Repository,
        id: ObjectId,
        path: &Path,
        rel: &str,
        mode: u32,
    ) -> Result<(), GitError> {
        let data = self.read_blob(repo, id, rel)?;
        let _permit = self.ctx.cancel.write_permit()?;
        let io = |e: std::io::Error| GitError::Checkout(format!("cannot write {rel:?}: {e}"));
        // create_new: never write through anything that already exists at this path.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(io)?;
        file.write_all(&data).map_err(io)?;
        // Make the mode exact regardless of the process umask.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io)?;
        Ok(())
    }

    /// Load a blob after checking its size in the object header, so oversized blobs are never
    /// inflated into memory.
    fn read_blob(
        &self,
        repo: &gix::Repository,
        id: ObjectId,
        rel: &str,
    ) -> Result<Vec<u8>, GitError> {
        let header = repo.find_header(id).map_err(|e| {
            GitError::Checkout(format!(
                "cannot read object {id} for {rel:?}: {}",
                crate::error::describe(&e)
            ))
        })?;
        if header.kind() != gix::objs::Kind::Blob {
            return Err(GitError::Checkout(format!(
                "{rel:?} should be a blob but object {id} is a {}",
                header.kind()
            )));
        }
        if header.size() > self.max_file_size {
            return Err(GitError::FileTooLarge {
                path: rel.to_owned(),
                size: header.size(),
                limit: self.max_file_size,
            });
        }
        let object = repo.find_object(id).map_err(|e| {
            GitError::Checkout(format!(
                "cannot read blob {id} for {rel:?}: {}",
                crate::error::describe(&e)
            ))
        })?;
        Ok(object.detach().data)
    }

    fn write_submodule(
        &self,
        parent: &Session<'_>,
        url: &str,
        commit: ObjectId,
        dir: &Path,
        rel: &str,
        depth: usize,
    ) -> Result<(), GitError> {
        if depth >= MAX_SUBMODULE_DEPTH {
            return Err(GitError::Checkout(format!(
                "submodule {rel:?}: nesting deeper than {MAX_SUBMODULE_DEPTH} levels"
            )));
        }
        let parent_scheme = urls::scheme(parent.url());
        let scheme = urls::scheme(url);
        // A hostile .gitmodules must not make us read repositories from the controller's own
        // filesystem: file:// is only followed from a file:// superproject (tests, local mirrors).
        let allowed = match scheme.as_deref() {
            Some("http" | "https" | "ssh") => true,
            Some("file") => parent_scheme.as_deref() == Some("file"),
            _ => false,
        };
        if !allowed {
            return Err(GitError::Checkout(format!(
                "submodule {rel:?}: URL {:?} is not allowed (use http, https or ssh)",
                urls::redact(url)
            )));
        }
        // Secrets configured for the superproject's server are not sent to other servers.
        let same_origin =
            urls::origin(url).is_some() && urls::origin(url) == urls::origin(parent.url());
        let session = remote::fetch_commit(url, self.ctx, same_origin, commit, None)?;
        self.write_commit(&session, commit, dir, rel, depth + 1)
    }
}

/// Lazily parsed `.gitmodules` of the repository being written.
enum Submodules {
    Unloaded,
    Loaded(Option<Box<gix::submodule::File>>),
}

impl Submodules {
    fn url_for(
        &mut self,
        writer: &Writer<'_>,
        session: &Session<'_>,
        root_tree: ObjectId,
        rel: &str,
    ) -> Result<String, GitError> {
        if let Submodules::Unloaded = self {
            *self = Submodules::Loaded(load_gitmodules(writer, session, root_tree)?);
        }
        let Submodules::Loaded(Some(file)) = self else {
            return Err(GitError::Checkout(format!(
                "submodule at {rel:?} but {} has no .gitmodules",
                session.display_url()
            )));
        };
        let missing = || {
            GitError::Checkout(format!(
                "submodule at {rel:?} is not described in .gitmodules of {}",
                session.display_url()
            ))
        };
        let name = file
            .name_by_path(rel.as_bytes().as_bstr())
            .ok_or_else(missing)?;
        let raw = file
            .config()
            .string_by("submodule", Some(name), "url")
            .ok_or_else(missing)?;
        let raw = raw.to_str().map_err(|_| {
            GitError::Checkout(format!("submodule {rel:?}: URL is not valid UTF-8"))
        })?;
        Ok(urls::resolve_submodule(session.url(), raw.trim()))
    }
}

fn load_gitmodules(
    writer: &Writer<'_>,
    session: &Session<'_>,
    root_tree: ObjectId,
) -> Result<Option<Box<gix::submodule::File>>, GitError> {
    let repo = session.repo();
    let Some(entry) = read_tree(repo, root_tree, "")?.into_iter().find(|e| {
        e.name == ".gitmodules" && matches!(e.kind, EntryKind::Blob | EntryKind::BlobExecutable)
    }) else {
        return Ok(None);
    };
    let data = writer.read_blob(repo, entry.id, ".gitmodules")?;
    gix::submodule::File::from_bytes(&data, None, &Default::default())
        .map(|f| Some(Box::new(f)))
        .map_err(|e| {
            GitError::Checkout(format!(
                "invalid .gitmodules in {}: {}",
                session.display_url(),
                crate::error::describe(&e)
            ))
        })
}

/// Read and validate all entries of a tree.
fn read_tree(repo: &gix::Repository, id: ObjectId, prefix: &str) -> Result<Vec<Entry>, GitError> {
    let tree = repo
        .find_object(id)
        .and_then(|o| o.try_into_tree().map_err(gix::Error::from_error))
        .map_err(|e| {
            GitError::Checkout(format!(
                "cannot read tree {id} at {prefix:?}: {}",
                crate::error::describe(&e)
            ))
        })?;
    let decoded = tree
        .decode()
        .map_err(|e| GitError::Checkout(format!("corrupt tree {id} at {prefix:?}: {e}")))?;
    let mut entries = Vec::with_capacity(decoded.entries.len());
    for e in &decoded.entries {
        let shown = if prefix.is_empty() {
            e.filename.to_str_lossy().into_owned()
        } else {
            format!("{prefix}/{}", e.filename.to_str_lossy())
        };
        let name = e
            .filename
            .to_str()
            .map_err(|_| GitError::UnsafePath(shown.clone()))?;
        validate_name(name).map_err(|()| GitError::UnsafePath(shown))?;
        entries.push(Entry {
            kind: e.mode.kind(),
            name: name.to_owned(),
            id: e.oid.to_owned(),
        });
    }
    Ok(entries)
}

/// A name is safe when it is a single, ordinary path component that isn't git metadata.
fn validate_name(name: &str) -> Result<(), ()> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\0'])
        || name.eq_ignore_ascii_case(".git")
    {
        return Err(());
    }
    Ok(())
}

fn create_dir(ctx: &Context<'_>, path: &Path, rel: &str) -> Result<(), GitError> {
    let _permit = ctx.cancel.write_permit()?;
    // create_dir (not create_dir_all): a pre-existing entry means a duplicate name in the tree.
    fs::create_dir(path)
        .map_err(|e| GitError::Checkout(format!("cannot create directory {rel:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn unsafe_names() {
        for bad in ["", ".", "..", "a/b", "a\0b", ".git", ".GIT", ".Git"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", ".gitignore", ".github", "..a", "git", "a b", "ü"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
    }
}
