//! gen's pre-commit hooks (`.pre-commit-hooks.yaml`), run by the real
//! `pre-commit` framework from PyPI (installed into the peer venv by
//! `scripts/test.sh`; without it these tests say so and pass, unless
//! `GEN_REQUIRE_PEERS` is set, like `tests/peers.rs`).
//!
//! Why the hooks run as `language: system` here: the published hooks are
//! `language: rust`, for which pre-commit runs `cargo install --path .` in a
//! clone of this repository, a cold release build of gen and its
//! dependencies (7 minutes on a 2-core machine) and one that resolves
//! dependencies afresh from crates.io, since `cargo install` ignores
//! `Cargo.lock`. That is too slow and too network-bound for every test run.
//! So `try_repo_*` hands `pre-commit try-repo` a copy of the hook manifest
//! that differs only in `language: rust` -> `language: system` (asserted),
//! with the freshly built binary (`CARGO_BIN_EXE_gen`) first on PATH: the
//! real framework, the real hook definitions (entry, file pattern, file
//! arguments) and the current code, everything but the `cargo install`.
//! The README's `language: system` configuration is run verbatim too.
//! `GEN_PRECOMMIT_RUST=1 cargo test --test precommit` also runs the slow
//! path: the unmodified manifest through `try-repo`, building gen from a
//! committed copy of the current working tree (with `CARGO_TARGET_DIR` kept
//! in `target/pre-commit`, so later runs are incremental).
//!
//! try-repo clones the hook repository at HEAD, so uncommitted changes of
//! this checkout would be invisible to it: the tests always commit what they
//! hand it into a temporary repository of their own.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pre_commit() -> Option<PathBuf> {
    common::peer_tool("pre-commit")
}

/// The file pattern both hooks use (also in the README's configuration).
const FILES: &str = r"(^|/)([^/]+\.)?catalog\.yaml$";
/// What they leave out: output trees (the strategies example has a service
/// named `catalog`, whose manifest is `out/manifests/shop/catalog.yaml`).
const EXCLUDE: &str = "(^|/)out/";

/// The README's `language: system` configuration, verbatim.
const README_SYSTEM_CONFIG: &str = r"repos:
  - repo: local
    hooks:
      - id: gen-check
        name: gen build --check
        entry: gen build --check
        language: system
        files: (^|/)([^/]+\.)?catalog\.yaml$
        exclude: (^|/)out/
      - id: gen-lint
        name: gen lint
        entry: gen lint
        language: system
        files: (^|/)([^/]+\.)?catalog\.yaml$
        exclude: (^|/)out/
";

/// A scratch area: a PATH with gen (or without it) and an isolated
/// pre-commit cache and git configuration.
struct Env {
    tmp: tempfile::TempDir,
    path: OsString,
}

impl Env {
    /// `with_gen`: put the binary under test first on PATH.
    fn new(with_gen: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        if with_gen {
            let bin = tmp.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gen"), bin.join("gen")).unwrap();
            dirs.push(bin);
        }
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).unwrap();
        Env { tmp, path }
    }

    /// No gen and no Rust toolchain on PATH: a user who installs neither.
    fn without_rust() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let path = common::dist::path_without_rust().into();
        Env { tmp, path }
    }

    /// `pre-commit ARGS...` in `project`, with one more environment
    /// variable for installing the hooks.
    fn pre_commit_with(
        &self,
        pc: &Path,
        project: &Path,
        var: (&str, &Path),
        args: &[&str],
    ) -> (bool, String) {
        let o = self
            .command(pc, project)
            .args(args)
            .env(var.0, var.1)
            .output()
            .unwrap();
        (o.status.success(), all(&o))
    }

    fn dir(&self, name: &str) -> PathBuf {
        let d = self.tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd)
            .env("PATH", &self.path)
            .env("PRE_COMMIT_HOME", self.tmp.path().join("pre-commit-home"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE");
        c
    }

    fn git(&self, repo: &Path, args: &[&str]) {
        let o = self.command("git", repo).args(args).output().unwrap();
        assert!(o.status.success(), "git {args:?}: {}", all(&o));
    }

    /// A new repository with an identity, holding nothing yet.
    fn git_init(&self, repo: &Path) {
        self.git(repo, &["init", "--quiet"]);
        self.git(repo, &["config", "user.name", "gen tests"]);
        self.git(repo, &["config", "user.email", "gen-tests@example.invalid"]);
        self.git(repo, &["config", "commit.gpgsign", "false"]);
    }

    fn commit_all(&self, repo: &Path, message: &str) {
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["commit", "--quiet", "--no-verify", "-m", message]);
    }

    fn gen(&self, repo: &Path, args: &[&str]) {
        let o = self
            .command(env!("CARGO_BIN_EXE_gen"), repo)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "gen {args:?}: {}", all(&o));
    }

    /// The project under test: `catalog.yaml` and `services/shop.catalog.yaml`
    /// (both the strategies example), their built `out/` trees, and a YAML
    /// file whose name is not a catalog's (gen would fail on it), committed.
    fn project(&self) -> PathBuf {
        let repo = self.dir("project");
        self.git_init(&repo);
        let example =
            std::fs::read(common::root().join("examples/strategies/catalog.yaml")).unwrap();
        std::fs::write(repo.join("catalog.yaml"), &example).unwrap();
        std::fs::create_dir(repo.join("services")).unwrap();
        std::fs::write(repo.join("services/shop.catalog.yaml"), &example).unwrap();
        std::fs::create_dir(repo.join("notes")).unwrap();
        std::fs::write(repo.join("notes/mycatalog.yaml"), "not: [a catalog\n").unwrap();
        self.gen(&repo, &["build"]);
        self.gen(&repo, &["build", "services/shop.catalog.yaml"]);
        self.commit_all(&repo, "catalogs and their output");
        repo
    }
}

fn all(o: &Output) -> String {
    let (out, err) = common::text(o);
    format!("{out}{err}")
}

/// Run pre-commit; return (success, everything it printed).
fn run(env: &Env, pre_commit: &Path, repo: &Path, args: &[&str]) -> (bool, String) {
    let o = env.command(pre_commit, repo).args(args).output().unwrap();
    (o.status.success(), all(&o))
}

/// Change a replica count in `file` (relative to `repo`).
fn edit_catalog(repo: &Path, file: &str) {
    let p = repo.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("replicas: 4"));
    std::fs::write(&p, text.replacen("replicas: 4", "replicas: 5", 1)).unwrap();
}

fn manifest() -> String {
    std::fs::read_to_string(common::root().join(".pre-commit-hooks.yaml")).unwrap()
}

/// The manifest parses (YAML 1.2, as pre-commit's reader takes it) and
/// defines both hooks as the README says; pre-commit's own validator
/// accepts it when the venv is there.
#[test]
fn hook_manifest_defines_gen_check_and_gen_lint() {
    let text = manifest();
    let loaded = gen::catalog::yaml::load(&gen::SourceFile::new(".pre-commit-hooks.yaml", text))
        .unwrap_or_else(|p| panic!("{p:?}"));
    let hooks = loaded.value.as_array().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(ids, ["gen-check", "gen-lint"]);
    for (hook, entry) in hooks.iter().zip(["gen build --check", "gen lint"]) {
        assert_eq!(hook["entry"], entry, "{hook}");
        assert_eq!(hook["language"], "rust", "{hook}");
        assert_eq!(hook["files"], FILES, "{hook}");
        assert_eq!(hook["exclude"], EXCLUDE, "{hook}");
        assert_ne!(hook["pass_filenames"], false, "{hook}");
    }
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(
        readme.contains(README_SYSTEM_CONFIG),
        "README.md must show the language: system configuration this test runs:\n{README_SYSTEM_CONFIG}"
    );
    if let Some(pc) = pre_commit() {
        let env = Env::new(false);
        let (ok, out) = run(
            &env,
            &pc,
            &common::root(),
            &["validate-manifest", ".pre-commit-hooks.yaml"],
        );
        assert!(ok, "pre-commit validate-manifest: {out}");
    }
}

/// The hooks' wrapper mode: pre-commit passes every changed catalog to one
/// gen process. Each is handled (none skipped after a failure) and the exit
/// code is the worst; options that describe one catalog are refused.
#[test]
fn build_and_lint_take_several_catalogs() {
    let d = tempfile::tempdir().unwrap();
    let example = std::fs::read(common::root().join("examples/strategies/catalog.yaml")).unwrap();
    for dir in ["a", "b"] {
        std::fs::create_dir(d.path().join(dir)).unwrap();
        std::fs::write(d.path().join(dir).join("catalog.yaml"), &example).unwrap();
    }
    let two = ["a/catalog.yaml", "b/catalog.yaml"];
    let run = |args: &[&str]| {
        let o = common::gen(d.path(), args);
        (o.status.code(), all(&o))
    };
    let (code, out) = run(&[&["build"][..], &two].concat());
    assert_eq!(code, Some(0), "{out}");
    assert!(d.path().join("a/out/.gen-out").is_file() && d.path().join("b/out/.gen-out").is_file());
    let (code, out) = run(&[&["build", "--check"][..], &two].concat());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("a/out is up to date") && out.contains("b/out is up to date"));

    edit_catalog(d.path(), "a/catalog.yaml");
    let (code, out) = run(&[&["build", "--check"][..], &two].concat());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("a/out is out of date") && out.contains("b/out is up to date"),
        "{out}"
    );
    // A missing catalog (2) outranks drift (1); the others are still checked.
    let (code, out) = run(&[
        "build",
        "--check",
        "a/catalog.yaml",
        "nope.yaml",
        "b/catalog.yaml",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("a/out is out of date") && out.contains("b/out is up to date"),
        "{out}"
    );

    let (code, out) = run(&[&["lint"][..], &two].concat());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("lint: a/catalog.yaml: 0 error(s)")
            && out.contains("lint: b/catalog.yaml: 0 error(s)"),
        "{out}"
    );
    let (code, out) = run(&[&["lint", "--format", "github"][..], &two].concat());
    assert_eq!(code, Some(0), "{out}");

    // Usage errors: one --out for several trees, or one JSON/SARIF document
    // for several catalogs.
    let (code, out) = run(&[&["build", "--out", "x"][..], &two].concat());
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("--out takes a single catalog") && out.contains("Usage: gen build"),
        "{out}"
    );
    assert!(!d.path().join("x").exists());
    for format in ["json", "sarif"] {
        let (code, out) = run(&[&["lint", "--format", format][..], &two].concat());
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains("describe a single catalog"), "{out}");
    }
}

/// A hook repository for `try-repo`: the manifest with `language: system`
/// (see the module comment), committed.
fn system_hook_repo(env: &Env) -> PathBuf {
    let text = manifest();
    assert_eq!(text.matches("language: rust\n").count(), 2);
    let repo = env.dir("hooks");
    env.git_init(&repo);
    std::fs::write(
        repo.join(".pre-commit-hooks.yaml"),
        text.replace("language: rust\n", "language: system\n"),
    )
    .unwrap();
    env.commit_all(&repo, "hooks");
    repo
}

fn assert_stale(ok: bool, out: &str) {
    assert!(!ok, "gen-check passed on a stale tree:\n{out}");
    assert!(
        out.contains("stale:   services/out/manifests/shop/catalog.yaml")
            && out.contains("services/out is out of date")
            && out.contains("\n@@ ")
            && out
                .lines()
                .any(|l| l.starts_with('+') && l.contains("replicas: 5")),
        "expected the unified diff of the stale tree:\n{out}"
    );
}

#[test]
fn try_repo_gen_check_passes_when_fresh_and_fails_with_the_diff_when_stale() {
    let Some(pc) = pre_commit() else {
        return;
    };
    let env = Env::new(true);
    let hooks = system_hook_repo(&env);
    let project = env.project();
    let hooks = hooks.to_str().unwrap();
    let try_repo = |args: &[&str]| {
        let mut v = vec!["try-repo", hooks];
        v.extend_from_slice(args);
        run(&env, &pc, &project, &v)
    };

    // Fresh: both catalogs checked (and nothing else: notes/mycatalog.yaml
    // would make gen fail), in one gen process.
    let (ok, out) = try_repo(&["gen-check", "--all-files", "--verbose"]);
    assert!(ok, "gen-check failed on a fresh tree:\n{out}");
    assert!(
        out.contains("out is up to date (")
            && out.contains("services/out is up to date (")
            && !out.contains("mycatalog"),
        "{out}"
    );
    let (ok, out) = try_repo(&["gen-lint", "--all-files"]);
    assert!(ok, "gen-lint failed on a clean catalog:\n{out}");

    // The catalog changes, out/ is not rebuilt; staged as for a commit.
    edit_catalog(&project, "services/shop.catalog.yaml");
    env.git(&project, &["add", "services/shop.catalog.yaml"]);
    let (ok, out) = try_repo(&["gen-check"]);
    assert_stale(ok, &out);
    // The same once committed, over all files.
    env.commit_all(&project, "more replicas, no rebuild");
    let (ok, out) = try_repo(&["gen-check", "--all-files"]);
    assert_stale(ok, &out);

    // Rebuilt: fresh again.
    env.gen(&project, &["build", "services/shop.catalog.yaml"]);
    env.commit_all(&project, "rebuild");
    let (ok, out) = try_repo(&["gen-check", "--all-files"]);
    assert!(ok, "gen-check failed after the rebuild:\n{out}");

    // gen-lint fails on an error finding, naming the rule.
    let p = project.join("catalog.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        text.replacen(
            "    port: 8080\n",
            "    port: 8080\n    env: {DB_PASSWORD: hunter2}\n",
            1,
        ),
    )
    .unwrap();
    env.git(&project, &["add", "catalog.yaml"]);
    let (ok, out) = try_repo(&["gen-lint"]);
    assert!(!ok && out.contains("secret-env-literal"), "{out}");
}

/// The README's configuration for users who have gen installed.
#[test]
fn readme_system_config_runs_under_pre_commit() {
    let Some(pc) = pre_commit() else {
        return;
    };
    let env = Env::new(true);
    let project = env.project();
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        README_SYSTEM_CONFIG,
    )
    .unwrap();
    env.commit_all(&project, "pre-commit config");
    let (ok, out) = run(&env, &pc, &project, &["run", "--all-files"]);
    assert!(ok, "{out}");
    edit_catalog(&project, "services/shop.catalog.yaml");
    env.git(&project, &["add", "services/shop.catalog.yaml"]);
    let (ok, out) = run(&env, &pc, &project, &["run"]);
    assert_stale(ok, &out);
    // `pre-commit install` and a real commit: refused while stale.
    let (ok, out) = run(&env, &pc, &project, &["install"]);
    assert!(ok, "{out}");
    let o = env
        .command("git", &project)
        .args(["commit", "--quiet", "-m", "stale"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "the commit went through: {}", all(&o));
    assert_stale(false, &all(&o));
}

/// Files of this checkout as git sees them (tracked and untracked, not
/// ignored): what a commit of the current state would hold.
fn working_tree_files() -> Vec<String> {
    let o = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", all(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty() && common::root().join(f).is_file())
        .map(str::to_owned)
        .collect()
}

/// The published `language: rust` hooks, unmodified: pre-commit builds gen
/// from a committed copy of this working tree. Slow (see the module
/// comment), so only with `GEN_PRECOMMIT_RUST=1`.
#[test]
fn try_repo_builds_gen_with_the_rust_language() {
    if std::env::var_os("GEN_PRECOMMIT_RUST").is_none() {
        eprintln!(
            "skipping: set GEN_PRECOMMIT_RUST=1 to let pre-commit build gen with cargo install (minutes)"
        );
        return;
    }
    let Some(pc) = pre_commit() else {
        return;
    };
    // No gen on PATH: the hook must use the one pre-commit built.
    let env = Env::new(false);
    let hooks = env.dir("gen");
    env.git_init(&hooks);
    for f in working_tree_files() {
        let to = hooks.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::root().join(&f), to).unwrap();
    }
    env.commit_all(&hooks, "gen, as in the working tree");
    let project = env.project();
    let target = common::root().join("target/pre-commit");
    let try_repo = |args: &[&str]| {
        let mut v = vec!["try-repo", hooks.to_str().unwrap()];
        v.extend_from_slice(args);
        env.pre_commit_with(&pc, &project, ("CARGO_TARGET_DIR", &target), &v)
    };
    let (ok, out) = try_repo(&["gen-check", "--all-files", "--verbose"]);
    assert!(ok, "gen-check failed on a fresh tree:\n{out}");
    assert!(out.contains("services/out is up to date ("), "{out}");
    let (ok, out) = try_repo(&["gen-lint", "--all-files"]);
    assert!(ok, "{out}");
    edit_catalog(&project, "services/shop.catalog.yaml");
    env.commit_all(&project, "more replicas, no rebuild");
    let (ok, out) = try_repo(&["gen-check", "--all-files"]);
    assert_stale(ok, &out);
}

/// The hooks of a manifest, parsed.
fn hooks_of(path: &str, text: String) -> Vec<serde_json::Value> {
    let loaded = gen::catalog::yaml::load(&gen::SourceFile::new(path, text))
        .unwrap_or_else(|p| panic!("{p:?}"));
    loaded.value.as_array().expect("a list of hooks").clone()
}

/// The `language: python` hooks (packaging/pre-commit/, the hook repository
/// published with each release, as ruff's are): the hooks of
/// .pre-commit-hooks.yaml but for the language. pre-commit installs them
/// from the wheel scripts/dist.sh built, with neither gen nor a Rust
/// toolchain on PATH; fresh passes, stale fails with the diff.
#[test]
fn python_hooks_install_gen_from_the_wheel_without_rust() {
    let mirror = common::root().join("packaging/pre-commit");
    let python = hooks_of(
        "packaging/pre-commit/.pre-commit-hooks.yaml",
        std::fs::read_to_string(mirror.join(".pre-commit-hooks.yaml")).unwrap(),
    );
    let rust = hooks_of(".pre-commit-hooks.yaml", manifest());
    assert_eq!(python.len(), rust.len());
    for (p, r) in python.iter().zip(&rust) {
        assert_eq!(p["language"], "python");
        let mut p = p.clone();
        p["language"] = r["language"].clone();
        assert_eq!(&p, r, "the same hook but for its language");
    }
    let Some(pc) = pre_commit() else {
        return;
    };
    let Some(dist) = common::dist::dist() else {
        return;
    };
    let env = Env::without_rust();
    let o = env
        .command("sh", &common::root())
        .args(["-c", "command -v gen"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "gen is on PATH: {}", all(&o));
    let hooks = env.dir("gen-pre-commit");
    env.git_init(&hooks);
    for f in [".pre-commit-hooks.yaml", "pyproject.toml", "README.md"] {
        std::fs::copy(mirror.join(f), hooks.join(f)).unwrap();
    }
    env.commit_all(&hooks, "hooks");
    // The user's configuration, as the README shows it, naming the hook
    // repository at its commit (`pre-commit run`, not try-repo, so that the
    // installed hook environment stays in PRE_COMMIT_HOME to be looked at).
    let project = env.project();
    let rev = env
        .command("git", &hooks)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: gen-check\n      - id: gen-lint\n",
            hooks.display(),
            common::text(&rev).0.trim()
        ),
    )
    .unwrap();
    env.commit_all(&project, "pre-commit config");
    // The wheel is found in dist.dir (it is not on PyPI yet); the hook
    // package's build backend comes from the index.
    let run_hook = |args: &[&str]| {
        let mut v = vec!["run"];
        v.extend_from_slice(args);
        env.pre_commit_with(&pc, &project, ("PIP_FIND_LINKS", &dist.dir), &v)
    };
    let started = std::time::Instant::now();
    let (ok, out) = run_hook(&["gen-check", "--all-files", "--verbose"]);
    eprintln!(
        "first run of the python hook, install included: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(ok, "gen-check failed on a fresh tree:\n{out}");
    assert!(out.contains("services/out is up to date ("), "{out}");
    // The gen the hook ran is the wheel's binary, in pre-commit's virtualenv.
    let installed: Vec<PathBuf> = walkdir::WalkDir::new(env.tmp.path().join("pre-commit-home"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "gen" && e.path().parent().is_some_and(|d| d.ends_with("bin")))
        .map(|e| e.into_path())
        .collect();
    assert_eq!(installed.len(), 1, "{installed:?}");
    let o = env
        .command(&installed[0], &project)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(common::text(&o).0.trim(), common::dist::version_line());
    let (ok, out) = run_hook(&["gen-lint", "--all-files"]);
    assert!(ok, "{out}");
    edit_catalog(&project, "services/shop.catalog.yaml");
    env.git(&project, &["add", "services/shop.catalog.yaml"]);
    let (ok, out) = run_hook(&["gen-check"]);
    assert_stale(ok, &out);
}
