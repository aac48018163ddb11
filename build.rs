//! Records the commit gen is built from, for `gen --version`, as the
//! compile-time variable `GEN_COMMIT`. Where it comes from, first match wins:
//! 1. `GEN_BUILD_COMMIT` in the environment (a packager that knows better);
//! 2. `git rev-parse HEAD`, only when this crate's directory is the top of a
//!    git work tree (never the commit of some repository it is vendored into);
//! 3. `.cargo_vcs_info.json`, which `cargo package` writes into a crate
//!    published from a git checkout;
//! 4. otherwise the literal `unknown`: a build from a source archive that
//!    carries no commit says so rather than guessing.
//!
//! The commit is the full hash of HEAD; uncommitted changes are not marked
//! (that would make every build depend on every file), so a build from a
//! modified tree reports the commit it started from.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GEN_BUILD_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = std::env::var("GEN_BUILD_COMMIT")
        .ok()
        .filter(|c| is_hash(c))
        .or_else(|| from_git(&dir))
        .or_else(|| from_vcs_info(&dir))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=GEN_COMMIT={commit}");
}

fn is_hash(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn from_git(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "HEAD"]).filter(|c| is_hash(c))?;
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it names
    // (a commit), and packed-refs (a gc or fetch may move the ref there).
    let git_dir = PathBuf::from(git(dir, &["rev-parse", "--absolute-git-dir"])?);
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    if let Some(common) = git(dir, &["rev-parse", "--git-common-dir"]) {
        let common = dir.join(common);
        println!(
            "cargo:rerun-if-changed={}",
            common.join("packed-refs").display()
        );
        if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", common.join(branch).display());
        }
    }
    Some(commit)
}

fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    // {"git": {"sha1": "<hash>", ...}, "path_in_vcs": ""}: one field, read
    // without a JSON dependency for the build script.
    let rest = &text[text.find("\"sha1\"")? + 6..];
    let start = rest.find('"')? + 1;
    let hash = &rest[start..start + rest[start..].find('"')?];
    is_hash(hash).then(|| hash.to_owned())
}
