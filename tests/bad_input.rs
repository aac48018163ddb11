//! The bad-input suite: every file in `tests/bad/` is an invalid catalog whose
//! header lists the problems gen must report:
//!
//! ```yaml
//! # expect: catalog::unknown-key 7:5
//! # expect: catalog::hpa-range 9:16
//! # label: 14:20
//! ```
//!
//! A `# label: LINE:COL` line says some reported problem must label that
//! place (its primary or a secondary label): an environment's override that
//! causes a problem is named by it even where the problem sits in the base.
//!
//! For each file the test copies it to a fresh directory as `catalog.yaml`,
//! runs `gen build`, and asserts: exit code 2; every expected `code` at
//! `catalog.yaml:LINE:COL` (in the library result and in the rendered
//! output); no problem beyond the expected ones; nothing written. Some inputs
//! that cannot carry a header (empty file, invalid UTF-8, huge nesting) are
//! generated below.

mod common;

use std::path::Path;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Expect {
    code: String,
    line: usize,
    col: usize,
}

fn expectations(text: &str) -> Vec<Expect> {
    let mut v: Vec<Expect> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let (code, at) = rest
                .trim()
                .split_once(' ')
                .expect("`# expect: CODE LINE:COL`");
            let (line, col) = at.trim().split_once(':').expect("LINE:COL");
            Expect {
                code: code.to_owned(),
                line: line.parse().unwrap(),
                col: col.parse().unwrap(),
            }
        })
        .collect();
    v.sort();
    v
}

/// The `# label: LINE:COL` lines.
fn labels(text: &str) -> Vec<(usize, usize)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# label: "))
        .map(|at| {
            let (line, col) = at.trim().split_once(':').expect("LINE:COL");
            (line.parse().unwrap(), col.parse().unwrap())
        })
        .collect()
}

/// Run one bad catalog through the library and the binary; return a failure
/// message if anything is off.
fn check_case(name: &str, bytes: &[u8], expected: &[Expect]) -> Option<String> {
    // Library: exact set of (code, line, col).
    let mut got: Vec<Expect> = match gen::compile("catalog.yaml", bytes) {
        Ok(_) => return Some(format!("{name}: compiled without errors")),
        Err(gen::CompileError::Catalog(p)) => p
            .iter()
            .map(|p| {
                let (line, col) = p.line_col();
                Expect {
                    code: p.code.to_owned(),
                    line,
                    col,
                }
            })
            .collect(),
        Err(e) => return Some(format!("{name}: internal error {e:?}")),
    };
    got.sort();
    if got != expected {
        return Some(format!("{name}: expected {expected:?}\n   got {got:?}"));
    }
    if let Err(gen::CompileError::Catalog(p)) = gen::compile("catalog.yaml", bytes) {
        let labelled: Vec<(usize, usize)> = p
            .iter()
            .flat_map(|p| {
                std::iter::once(p.span.start)
                    .chain(p.notes.iter().map(|n| n.span.start))
                    .map(|at| p.source().location(at))
            })
            .collect();
        for want in labels(&String::from_utf8_lossy(bytes)) {
            if !labelled.contains(&want) {
                return Some(format!(
                    "{name}: nothing labels {want:?}; labels at {labelled:?}"
                ));
            }
        }
    }

    // Binary: exit 2, locations rendered, nothing written.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), bytes).unwrap();
    let o = common::gen(dir.path(), &["build"]);
    let (_, stderr) = common::text(&o);
    if o.status.code() != Some(2) {
        return Some(format!(
            "{name}: exit code {:?}, want 2\n{stderr}",
            o.status.code()
        ));
    }
    for e in expected {
        let loc = format!("catalog.yaml:{}:{}", e.line, e.col);
        if !stderr.contains(&loc) || !stderr.contains(&e.code) {
            return Some(format!(
                "{name}: rendered output lacks {} at {loc}:\n{stderr}",
                e.code
            ));
        }
    }
    if stderr.contains("panicked") {
        return Some(format!("{name}: panic\n{stderr}"));
    }
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    if entries.len() != 1 {
        return Some(format!("{name}: something was written: {entries:?}"));
    }
    None
}

#[test]
fn bad_catalogs_are_reported_at_their_line_and_column() {
    let dir = common::root().join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in &files {
        if f.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        count += 1;
        let bytes = std::fs::read(f).unwrap();
        let expected = expectations(&String::from_utf8_lossy(&bytes));
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            f.display()
        );
        if let Some(msg) = check_case(&f.file_name().unwrap().to_string_lossy(), &bytes, &expected)
        {
            failures.push(msg);
        }
    }
    assert!(
        count >= 30,
        "the bad-input suite needs at least 30 files, has {count}"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} bad catalogs misreported:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn one(code: &str, line: usize, col: usize) -> Vec<Expect> {
    vec![Expect {
        code: code.to_owned(),
        line,
        col,
    }]
}

#[test]
fn generated_bad_inputs() {
    let mut failures = Vec::new();
    let mut run = |name: &str, bytes: Vec<u8>, exp: Vec<Expect>| {
        if let Some(m) = check_case(name, &bytes, &exp) {
            failures.push(m);
        }
    };
    run("empty", Vec::new(), one("catalog::empty", 1, 1));
    run(
        "only-comments",
        b"# nothing\n\n# here\n".to_vec(),
        one("catalog::empty", 1, 1),
    );
    let mut latin1 = b"version: 1\nproject: caf".to_vec();
    latin1.push(0xE9);
    latin1.extend_from_slice(b"\nservices: {}\n");
    run("latin-1", latin1, one("catalog::encoding", 2, 13));
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("version: 1\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
    run("utf-16", utf16, one("catalog::encoding", 1, 1));
    let deep = format!(
        "version: 1\nproject: p\nservices: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    run(
        "deep-nesting",
        deep.into_bytes(),
        one("catalog::too-deep", 3, 266),
    );
    let huge = "version: 1\nproject: p\nservices:\n  a:\n    image: a:1\n    port: 123456789012345678901234567890\n";
    run(
        "huge-number",
        huge.as_bytes().to_vec(),
        one("catalog::out-of-range", 6, 11),
    );
    let long_name = format!(
        "version: 1\nproject: p\nservices:\n  {}:\n    image: a:1\n    port: 80\n",
        "a".repeat(64)
    );
    run(
        "name-too-long",
        long_name.into_bytes(),
        one("catalog::invalid-name", 4, 3),
    );
    let traversal =
        "version: 1\nproject: p\nservices:\n  ../../etc:\n    image: a:1\n    port: 80\n";
    run(
        "path-traversal",
        traversal.as_bytes().to_vec(),
        one("catalog::invalid-name", 4, 3),
    );
    let mut laughs = String::from(
        "version: 1\nproject: p\nservices: {}\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..9 {
        laughs.push_str(&format!(
            "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    run(
        "billion-laughs",
        laughs.into_bytes(),
        one("catalog::too-large", 10, 10),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_bad_catalog_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(common::root().join("examples/karina/catalog.yaml")).unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), &good).unwrap();
    assert!(common::gen(dir.path(), &["build"]).status.success());
    let before = common::snapshot_tree(&dir.path().join("out"));
    let bad = String::from_utf8(good)
        .unwrap()
        .replace("port: 8080", "port: 80800");
    std::fs::write(dir.path().join("catalog.yaml"), bad).unwrap();
    let o = common::gen(dir.path(), &["build"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(before, common::snapshot_tree(&dir.path().join("out")));
    assert_only_out_and_catalog(dir.path());
}

fn assert_only_out_and_catalog(dir: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["catalog.yaml", "out"], "stray files beside out/");
}
