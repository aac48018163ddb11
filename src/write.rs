//! Stage 4: put a [`Tree`] on disk atomically, or compare it with what is there.
//!
//! Architecture invariant: this module (with `ops`, which reads the catalog)
//! is the only place that touches the filesystem.
//!
//! Atomicity: the new tree is written completely into a temporary directory
//! beside `--out` (same filesystem), then swapped in with one
//! `renameat2(RENAME_EXCHANGE)` (or a plain rename when `--out` does not exist
//! yet). A crash at any moment leaves either the complete old tree or the
//! complete new one. Leftover temporary directories of dead gen processes are
//! removed by the next run. Concurrent builds into one `--out` each swap in
//! a complete tree (a move that loses the race is retried); the last wins.
//! An `--out` that contains the catalog or the policy file is refused
//! ([`refuse_inputs_inside`]) before anything is written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::emit::{Tree, MARKER};

/// Why the output could not be written or read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WriteError {
    /// `--out` exists and is not a directory.
    #[error("output path {0} exists and is not a directory")]
    #[diagnostic(
        code(gen::out_not_dir),
        help("choose another --out, or remove that file")
    )]
    NotADirectory(PathBuf),
    /// `--out` is a symbolic link.
    #[error("output path {0} is a symbolic link")]
    #[diagnostic(
        code(gen::out_symlink),
        help("gen replaces --out as a whole; point --out at the real directory instead of a link")
    )]
    Symlink(PathBuf),
    /// `--out` holds files gen did not make.
    #[error("refusing to replace {0}: it is not empty and was not written by gen (no `.gen-out` marker)")]
    #[diagnostic(code(gen::out_not_ours), help("gen replaces the whole --out directory; choose an empty or new directory, or delete this one if its contents are disposable"))]
    NotOurs(PathBuf),
    /// `--out` holds one of the build's inputs, which replacing it would delete.
    #[error("refusing to write {out}: it contains {input}, which replacing it would delete")]
    #[diagnostic(
        code(gen::out_contains_input),
        help("gen replaces the whole --out directory; keep the catalog and the policy file outside it (the default --out is out/ beside the catalog), or choose another --out")
    )]
    ContainsInput {
        /// The output directory.
        out: PathBuf,
        /// The catalog or policy file inside it.
        input: PathBuf,
    },
    /// An I/O operation failed.
    #[error("{action} {path}: {source}")]
    #[diagnostic(code(gen::io))]
    Io {
        /// What gen was doing.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What `--check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Files whose contents differ: (path, unified diff).
    pub stale: Vec<(String, String)>,
    /// Files gen would write that are absent.
    pub missing: Vec<String>,
    /// Files present that gen would not write.
    pub extra: Vec<String>,
}

impl Drift {
    /// Whether the output is up to date.
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

fn split_out(out: &Path) -> (PathBuf, String) {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    (parent, name)
}

fn tmp_prefix(name: &str) -> String {
    format!(".{name}.gen-tmp.")
}

/// Check that `out` may be replaced. Returns whether it exists.
fn inspect_out(out: &Path) -> Result<bool, WriteError> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("cannot inspect", out)(e)),
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(out.to_path_buf())),
        Ok(m) if !m.is_dir() => Err(WriteError::NotADirectory(out.to_path_buf())),
        Ok(_) => {
            if out.join(MARKER).is_file() {
                return Ok(true);
            }
            let mut entries = fs::read_dir(out).map_err(io_err("cannot read", out))?;
            if entries.next().is_some() {
                Err(WriteError::NotOurs(out.to_path_buf()))
            } else {
                Ok(true)
            }
        }
    }
}

/// Remove temporary directories left beside `out` by gen processes that died.
fn clean_stale(parent: &Path, name: &str) {
    let prefix = tmp_prefix(name);
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let fname = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<i32>().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() as i32 || process_alive(p));
        if !alive {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn process_alive(pid: i32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // Without /proc we cannot tell; keep the directory.
        true
    }
}

/// `path` made absolute, with symbolic links and `..` resolved as far as it
/// exists (the rest, not yet created, is resolved lexically).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    for base in abs.ancestors() {
        let Ok(real) = fs::canonicalize(base) else {
            continue;
        };
        let mut out = real;
        for c in abs.strip_prefix(base).unwrap_or(Path::new("")).components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
        return Ok(out);
    }
    Ok(abs)
}

/// Refuse an `out` that contains (or is) one of `inputs`: replacing `out`
/// would delete them. Symbolic links, `..` and relative paths are resolved
/// on both sides first.
pub fn refuse_inputs_inside(out: &Path, inputs: &[&Path]) -> Result<(), WriteError> {
    let real_out = resolve(out).map_err(io_err("cannot resolve", out))?;
    for input in inputs {
        let Ok(real) = fs::canonicalize(input) else {
            continue;
        };
        if real.starts_with(&real_out) {
            return Err(WriteError::ContainsInput {
                out: out.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether a failed move into `out` lost a race with another gen: `out`
/// appeared (rename: not empty, exists) or vanished (exchange: not found).
fn raced(e: &WriteError) -> bool {
    use rustix::io::Errno;
    let WriteError::Io { source, .. } = e else {
        return false;
    };
    Errno::from_io_error(source)
        .is_some_and(|n| n == Errno::NOTEMPTY || n == Errno::EXIST || n == Errno::NOENT)
}

/// Write `tree` to `out` atomically, replacing a previous gen output.
pub fn write_tree(out: &Path, tree: &Tree) -> Result<(), WriteError> {
    let exists = inspect_out(out)?;
    let (parent, name) = split_out(out);
    fs::create_dir_all(&parent).map_err(io_err("cannot create", &parent))?;
    clean_stale(&parent, &name);
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{}{}.", tmp_prefix(&name), std::process::id()))
        .tempdir_in(&parent)
        .map_err(io_err("cannot create a temporary directory in", &parent))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // TempDir is created 0700; an output tree is ordinary, shareable files.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(io_err("cannot set permissions on", tmp.path()))?;
    }
    for (rel, contents) in tree.iter() {
        let path = tmp.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
        }
        fs::write(&path, contents).map_err(io_err("cannot write", &path))?;
        // Scripts are executable.
        #[cfg(unix)]
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .map_err(io_err("cannot set permissions on", &path))?;
        }
    }
    // Another gen may create, replace or remove `out` between the
    // inspection and the move (two builds racing for a fresh --out): the
    // move then fails, `out` is inspected again (it must still be gen's)
    // and the move retried. Each move is atomic; the last one wins.
    let mut exists = exists;
    let mut tries = 0;
    loop {
        let moved = if exists {
            swap(tmp.path(), out)
        } else {
            fs::rename(tmp.path(), out).map_err(io_err("cannot move the new tree to", out))
        };
        match moved {
            Ok(()) => break,
            Err(e) if tries < 8 && raced(&e) => {
                tries += 1;
                exists = inspect_out(out)?;
            }
            Err(e) => return Err(e),
        }
    }
    // `tmp` now holds the old tree (or nothing); dropping it removes it.
    drop(tmp);
    Ok(())
}

#[cfg(target_os = "linux")]
fn swap(new: &Path, out: &Path) -> Result<(), WriteError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, new, CWD, out, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            swap_fallback(new, out)
        }
        Err(e) => Err(io_err("cannot swap in the new tree at", out)(e.into())),
    }
}

#[cfg(not(target_os = "linux"))]
fn swap(new: &Path, out: &Path) -> Result<(), WriteError> {
    swap_fallback(new, out)
}

/// Two renames: a crash between them leaves the old tree beside `out` under
/// a temporary name, never a mixed tree.
fn swap_fallback(new: &Path, out: &Path) -> Result<(), WriteError> {
    let old = new.with_extension("old");
    fs::rename(out, &old).map_err(io_err("cannot move aside", out))?;
    fs::rename(new, out).map_err(io_err("cannot move the new tree to", out))?;
    fs::rename(&old, new).map_err(io_err("cannot clean up", &old))?;
    Ok(())
}

/// Compare `tree` with the files under `out` without writing anything.
pub fn check_tree(out: &Path, tree: &Tree) -> Result<Drift, WriteError> {
    let mut drift = Drift::default();
    let mut present = std::collections::BTreeSet::new();
    if out.exists() {
        for entry in WalkDir::new(out).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(out).to_path_buf();
                WriteError::Io {
                    action: "cannot read",
                    path,
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| io::Error::other("file system loop")),
                }
            })?;
            if entry.file_type().is_dir() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(out)
                .unwrap_or(entry.path())
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            present.insert(rel);
        }
    }
    for (rel, want) in tree.iter() {
        if !present.remove(rel) {
            drift.missing.push(rel.to_owned());
            continue;
        }
        let path = out.join(rel);
        let have = fs::read(&path).map_err(io_err("cannot read", &path))?;
        if have != want {
            drift
                .stale
                .push((rel.to_owned(), unified_diff(rel, &have, want)));
        }
    }
    drift.extra = present.into_iter().collect();
    Ok(drift)
}

/// A unified diff from what is on disk to what gen would write, with
/// secret-looking values masked on both sides (`gen build --check` prints it,
/// often into a CI log).
pub fn unified_diff(rel: &str, have: &[u8], want: &[u8]) -> String {
    match (std::str::from_utf8(have), std::str::from_utf8(want)) {
        (Ok(a), Ok(b)) => {
            crate::secrets::masked_diff(a, b, &format!("a/{rel}"), &format!("b/{rel}"))
        }
        _ => format!("Binary files a/{rel} and b/{rel} differ\n"),
    }
}
