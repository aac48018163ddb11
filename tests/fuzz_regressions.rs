//! The fuzzers' inputs as plain tests (see `scripts/fuzz.sh`): every
//! minimized reproducer in `tests/fuzz/regressions/` (`catalog-*` through
//! `gen::check`, `policy-*` through `Policy::parse`) and every file of the
//! seed corpus (examples, golden cases, `tests/bad/`, the policy seeds).
//! gen must not panic; an accepted catalog must lint and print in every
//! format; a refusal must carry problems located inside the input.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gen::lint::{format, Policy};
use gen::Problem;

const TODAY: &str = "2026-11-22";

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

fn assert_located(what: &str, problems: &[Problem]) {
    assert!(!problems.is_empty(), "{what}: refused without a problem");
    for p in problems {
        let text = p.source().text();
        assert!(
            p.span.start <= p.span.end && p.span.end <= text.len(),
            "{what}: span {:?} outside the {}-byte input: {p:?}",
            p.span,
            text.len()
        );
        let (line, col) = p.line_col();
        assert!(line >= 1 && col >= 1, "{what}: {p:?}");
        assert!(!p.message.is_empty(), "{what}: empty message: {p:?}");
    }
}

/// Run one catalog the way the `catalog` fuzz target does; true if accepted.
fn run_catalog(path: &Path) -> bool {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).expect("read catalog");
    let result = catch_unwind(AssertUnwindSafe(|| {
        let r = gen::check("catalog.yaml", &bytes, &Policy::default(), TODAY);
        if let Ok(c) = &r {
            let _ = format::json(&c.report);
            let _ = format::sarif(&c.report, "0.0.0");
            let _ = format::github(&c.report);
        }
        r
    }));
    match result {
        Err(_) => panic!("{what}: gen panicked"),
        Ok(Ok(_)) => true,
        Ok(Err(gen::CompileError::Catalog(problems))) => {
            assert_located(&what, &problems.0);
            false
        }
        Ok(Err(e)) => panic!("{what}: internal error: {e}"),
    }
}

/// Run one policy the way the `policy` fuzz target does; true if accepted.
fn run_policy(path: &Path) -> bool {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).expect("read policy");
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let catalog = std::fs::read(common::root().join("examples/msa-k3s/catalog.yaml")).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        Policy::parse("gen-policy.yaml", text).map(|p| {
            let report = gen::lint_only("catalog.yaml", &catalog, &p, TODAY)
                .expect("the example catalog is valid");
            let _ = format::json(&report);
            let _ = format::sarif(&report, "0.0.0");
            let _ = format::github(&report);
        })
    }));
    match result {
        Err(_) => panic!("{what}: gen panicked"),
        Ok(Ok(())) => true,
        Ok(Err(problems)) => {
            assert_located(&what, &problems.0);
            false
        }
    }
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
