//! Editors and shells: the man page, completion scripts, and `gen init`'s
//! starter catalog (builds and lints clean, never overwrites).

mod common;

use common::{gen, text};
use std::path::Path;

/// The subcommands, as `gen --help` lists them (so a new command is checked
/// without touching this file).
fn subcommands() -> Vec<String> {
    let o = gen(&common::root(), &["--help"]);
    assert!(o.status.success());
    let (help, _) = text(&o);
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for must in ["build", "lint", "init", "completions", "man", "schema"] {
        assert!(names.iter().any(|n| n == must), "{must} not in {names:?}");
    }
    names
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let o = gen(&common::root(), &["man"]);
    assert!(o.status.success());
    let (page, _) = text(&o);
    assert!(page.contains(".TH gen 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in subcommands() {
        // roff escapes the hyphen: gen\-build(1).
        assert!(
            page.contains(&format!("gen\\-{name}(1)")),
            "`{name}` missing from the man page:\n{page}"
        );
    }
    // The examples and exit codes of --help are in the page too.
    assert!(page.contains("Exit codes"), "{page}");
}

#[test]
fn man_out_writes_a_page_per_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("man/man1");
    let o = gen(d.path(), &["man", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(o.stdout.is_empty());
    let top = std::fs::read_to_string(dir.join("gen.1")).unwrap();
    assert!(top.contains(".TH gen 1"));
    // clap_mangen writes no page for the built-in `help` command.
    for name in subcommands().into_iter().filter(|n| n != "help") {
        let page = std::fs::read_to_string(dir.join(format!("gen-{name}.1")))
            .unwrap_or_else(|e| panic!("gen-{name}.1: {e}"));
        assert!(page.contains(&format!(".TH gen-{name} 1")), "{page}");
    }
    let build = std::fs::read_to_string(dir.join("gen-build.1")).unwrap();
    assert!(build.contains("\\-\\-check"), "{build}");
}

#[test]
fn completions_name_every_subcommand() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let o = gen(&common::root(), &["completions", shell]);
        assert!(o.status.success(), "{shell}: {:?}", text(&o));
        let (script, _) = text(&o);
        assert!(script.len() > 500, "{shell} completion script looks empty");
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completions do not name `{name}`"
            );
        }
        // Options of subcommands are completed too.
        assert!(script.contains("check"), "{shell}: no --check");
    }
}

/// `gen lint --format json` summary counts (error, warning) in `dir`.
fn lint_counts(dir: &Path) -> (u64, u64, String) {
    let o = gen(dir, &["lint", "--format", "json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "gen lint failed:\n{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = |k: &str| v["summary"][k].as_u64().unwrap();
    (n("error"), n("warning"), out)
}

fn assert_builds_and_lints_clean(dir: &Path) {
    let o = gen(dir, &["build"]);
    assert!(o.status.success(), "gen build failed: {:?}", text(&o));
    assert!(dir.join("out/.gen-out").is_file());
    let o = gen(dir, &["build", "--check"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (errors, warnings, json) = lint_counts(dir);
    assert_eq!(
        (errors, warnings),
        (0, 0),
        "the starter catalog has findings:\n{json}"
    );
}

#[test]
fn init_scaffolds_a_catalog_that_builds_and_lints_clean() {
    let d = tempfile::tempdir().unwrap();
    let o = gen(d.path(), &["init", "proj"]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("wrote proj/catalog.yaml"), "{err}");
    let dir = d.path().join("proj");
    let catalog = std::fs::read_to_string(dir.join("catalog.yaml")).unwrap();
    assert_eq!(
        catalog,
        std::fs::read_to_string(common::root().join("blueprints/init/catalog.yaml")).unwrap()
    );
    // Commented for a newcomer, and wired to the schema written beside it.
    assert!(catalog.starts_with("# yaml-language-server: $schema=./catalog.schema.json\n"));
    assert!(
        catalog
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 20
    );
    let schema = std::fs::read_to_string(dir.join("catalog.schema.json")).unwrap();
    assert_eq!(schema, text(&gen(d.path(), &["schema"])).0);

    assert_builds_and_lints_clean(&dir);

    // A second init refuses, changes nothing, and says why.
    std::fs::write(dir.join("catalog.yaml"), "# mine\n").unwrap();
    let o = gen(d.path(), &["init", "proj"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("proj/catalog.yaml already exists") && err.contains("does not overwrite"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("catalog.yaml")).unwrap(),
        "# mine\n"
    );

    // The default directory is the current one.
    let here = d.path().join("here");
    std::fs::create_dir(&here).unwrap();
    assert!(gen(&here, &["init"]).status.success());
    assert!(here.join("catalog.yaml").is_file());
    assert_eq!(gen(&here, &["init"]).status.code(), Some(2));
}

/// `gen init` in a fresh directory, then the commented-out block that starts
/// with `# <key>:` switched on (up to the next blank line or the end).
fn init_with_block_on(key: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    assert!(gen(d.path(), &["init"]).status.success());
    let path = d.path().join("catalog.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find(&format!("# {key}:\n"))
        .unwrap_or_else(|| panic!("a commented {key} block"));
    let end = text[at..].find("\n\n").map_or(text.len(), |e| at + e + 1);
    let block: String = text[at..end]
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    assert!(block.starts_with(&format!("{key}:\n  ")), "{block}");
    std::fs::write(&path, format!("{}{block}{}", &text[..at], &text[end..])).unwrap();
    d
}

/// The commented-out `cluster` block of the starter, switched on, is clean
/// too (so uncommenting it is a safe first step).
#[test]
fn init_cluster_block_uncommented_builds_and_lints_clean() {
    let d = init_with_block_on("cluster");
    assert_builds_and_lints_clean(d.path());
    assert!(d.path().join("out/k3s/install-server.sh").is_file());
    assert!(d.path().join("out/aws/security-groups.tf").is_file());
}

/// The commented-out `environments` block of the starter, switched on, is
/// clean too, and renders each environment.
#[test]
fn init_environments_block_uncommented_builds_and_lints_clean() {
    let d = init_with_block_on("environments");
    assert_builds_and_lints_clean(d.path());
    let out = d.path().join("out");
    assert!(out
        .join("environments/prod/manifests/my-project/worker.yaml")
        .is_file());
    assert!(out.join("charts/api/values-staging.yaml").is_file());
}
