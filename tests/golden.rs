//! Golden trees: every `golden/<case>/catalog.yaml` and every
//! `examples/<name>/catalog.yaml` must compile to exactly the committed
//! `out/` tree beside it. Re-bless with `GEN_BLESS=1 cargo test --test golden`
//! and review the diff before committing.

mod common;

use std::path::PathBuf;

fn cases() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for parent in ["golden", "examples"] {
        let Ok(rd) = std::fs::read_dir(common::root().join(parent)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().join("catalog.yaml").is_file() {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

#[test]
fn golden_trees_match() {
    let cases = cases();
    assert!(
        cases.len() >= 6,
        "expected the five examples and at least one golden case, found {cases:?}"
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let bytes = std::fs::read(dir.join("catalog.yaml")).unwrap();
        let compiled = match gen::compile("catalog.yaml", &bytes) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: does not compile: {e:?}", dir.display()));
                continue;
            }
        };
        let out = dir.join("out");
        if common::bless() {
            gen::write::write_tree(&out, &compiled.tree).unwrap();
            continue;
        }
        let drift = gen::write::check_tree(&out, &compiled.tree).unwrap();
        if !drift.is_clean() {
            let mut msg = format!("{}: output differs from the golden tree\n", dir.display());
            for (_, d) in &drift.stale {
                msg.push_str(d);
            }
            for m in &drift.missing {
                msg.push_str(&format!("missing in golden: {m}\n"));
            }
            for x in &drift.extra {
                msg.push_str(&format!("extra in golden: {x}\n"));
            }
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nRe-bless with GEN_BLESS=1 cargo test --test golden after reviewing.",
        failures.join("\n")
    );
}

#[test]
fn compile_is_deterministic_in_memory() {
    for dir in cases() {
        let bytes = std::fs::read(dir.join("catalog.yaml")).unwrap();
        let a = gen::compile("catalog.yaml", &bytes).unwrap().tree;
        let b = gen::compile("/some/other/path/catalog.yaml", &bytes)
            .unwrap()
            .tree;
        assert_eq!(
            a,
            b,
            "{}: output depends on the catalog path or is not deterministic",
            dir.display()
        );
    }
}
