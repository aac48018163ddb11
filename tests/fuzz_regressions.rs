//! The fuzzers' inputs as plain tests (see `scripts/fuzz.sh`): every
//! minimized reproducer in `tests/fuzz/regressions/` (`catalog-*` through
//! `gen::check`, `policy-*` through `Policy::parse`) and every file of the
//! seed corpus (examples, golden cases, `tests/bad/`, the policy seeds).
//! Each goes through the very checks the fuzz targets run (`fuzz/harness.rs`,
//! included below): gen must not panic; an accepted catalog must lint and
//! print in every format and build each environment alone to the same
//! bytes; a refusal must carry problems located inside the input.

mod common;
#[path = "../fuzz/harness.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| keep(&n.to_string_lossy())))
        .collect();
    v.sort();
    v
}

/// Every catalog under `<root>/<dir>/*/catalog.yaml`.
fn catalogs_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join(dir))
        .expect("read dir")
        .map(|e| e.expect("dir entry").path().join("catalog.yaml"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Run one input through a fuzz target's checks; true if accepted.
fn run(path: &Path, target: fn(&[u8]) -> bool) -> bool {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match catch_unwind(AssertUnwindSafe(|| target(&bytes))) {
        Ok(accepted) => accepted,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            panic!("{}: {why}", path.display())
        }
    }
}

fn run_catalog(path: &Path) -> bool {
    run(path, harness::catalog)
}

fn run_policy(path: &Path) -> bool {
    run(path, harness::policy)
}

#[test]
fn fuzz_reproducers_are_handled() {
    let dir = common::root().join("tests/fuzz/regressions");
    let catalogs = files(&dir, |n| n.starts_with("catalog-"));
    let policies = files(&dir, |n| n.starts_with("policy-"));
    let all = files(&dir, |n| n != "README.md");
    assert_eq!(
        catalogs.len() + policies.len(),
        all.len(),
        "every reproducer is named catalog-* or policy-*: {all:?}"
    );
    for p in &catalogs {
        run_catalog(p);
    }
    for p in &policies {
        run_policy(p);
    }
}

#[test]
fn seed_corpus_is_handled() {
    let root = common::root();
    // Examples and golden cases build; bad inputs are refused, located.
    let good: Vec<PathBuf> = catalogs_in("examples")
        .into_iter()
        .chain(catalogs_in("golden"))
        .collect();
    assert!(good.len() >= 8, "seed corpus too small: {good:?}");
    for p in &good {
        assert!(run_catalog(p), "{}: refused", p.display());
    }
    let bad = files(&root.join("tests/bad"), |n| n.ends_with(".yaml"));
    assert!(bad.len() >= 50, "seed corpus too small: {}", bad.len());
    for p in &bad {
        assert!(!run_catalog(p), "{}: accepted", p.display());
    }
    let policies = files(&root.join("tests/fuzz/policy-seeds"), |_| true);
    assert!(!policies.is_empty());
    for p in &policies {
        assert!(run_policy(p), "{}: refused", p.display());
    }
}
