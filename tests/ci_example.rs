//! `examples/ci/github-actions.yml`, the workflow users copy: it parses as
//! YAML (gen's YAML 1.2 reader, as GitHub reads it, and PyYAML from the peer
//! venv, like `tests/peers.rs`), its jobs run the documented commands in a
//! sensible order, and the gen commands of its steps work as written
//! against a real catalog.

mod cluster;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workflow_path() -> PathBuf {
    common::root().join("examples/ci/github-actions.yml")
}

fn python() -> Option<PathBuf> {
    common::peer_tool("python")
}

fn steps(doc: &Value, job: &str) -> Vec<Value> {
    doc["jobs"][job]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("job {job} has no steps"))
        .clone()
}

fn run_of(step: &Value) -> &str {
    step["run"].as_str().unwrap_or("")
}

/// Index of the first step whose `run` contains every one of `parts`.
fn step_running(steps: &[Value], parts: &[&str]) -> usize {
    steps
        .iter()
        .position(|s| parts.iter().all(|p| run_of(s).contains(p)))
        .unwrap_or_else(|| panic!("no step runs {parts:?}"))
}

fn step_using(steps: &[Value], action: &str) -> usize {
    steps
        .iter()
        .position(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("{action}@")))
        })
        .unwrap_or_else(|| panic!("no step uses {action}"))
}

fn check_workflow(doc: &Value) {
    assert!(doc["on"]["pull_request"].is_object() || doc["on"]["pull_request"].is_null());
    assert!(doc["on"].get("push").is_some(), "runs on push: {doc}");
    assert!(doc["env"]["CATALOG"].is_string());
    // gen comes from the release through this repository's Action
    // (action.yml, run step by step in tests/dist.rs), pinned to the
    // version of Cargo.toml; nothing is compiled.
    let action = format!("{ACTION}@v{}", env!("CARGO_PKG_VERSION"));
    for job in ["gen", "drift"] {
        let s = steps(doc, job);
        assert_eq!(s[step_using(&s, ACTION)]["uses"], action.as_str(), "{job}");
        assert!(
            s.iter().all(|st| !run_of(st).contains("cargo ")
                && !st["uses"].as_str().unwrap_or("").contains("rust-toolchain")),
            "{job} builds nothing: {s:?}"
        );
    }

    let gen = steps(doc, "gen");
    assert_eq!(
        doc["jobs"]["gen"]["permissions"]["security-events"], "write",
        "upload-sarif needs security-events: write"
    );
    let checkout = step_using(&gen, "actions/checkout");
    let install = step_using(&gen, ACTION);
    let lint = step_running(&gen, &["gen lint", "--format sarif", "> gen.sarif"]);
    let upload = step_using(&gen, "github/codeql-action/upload-sarif");
    let check = step_running(&gen, &["gen build --check"]);
    let fail = step_running(&gen, &["gen lint", "--format github"]);
    assert!(checkout < install && install < lint, "order: {gen:?}");
    assert!(
        lint < upload && upload < fail && install < check,
        "order: {gen:?}"
    );
    assert_eq!(gen[upload]["with"]["sarif_file"], "gen.sarif");
    // The SARIF is uploaded even though lint exits 1 on error findings.
    assert_eq!(gen[lint]["continue-on-error"], true);
    assert!(gen[upload]["if"].as_str().unwrap().contains("!cancelled()"));
    assert!(gen[fail]["if"]
        .as_str()
        .unwrap()
        .contains("steps.lint.outcome == 'failure'"));
    assert_eq!(gen[lint]["id"], "lint");

    // The drift job: only on the schedule or by hand, never on a pull request.
    let drift = &doc["jobs"]["drift"];
    let cond = drift["if"].as_str().unwrap_or_default();
    assert!(
        cond.contains("'schedule'") && !cond.contains("pull_request"),
        "the drift job runs on the schedule: {drift}"
    );
    assert!(
        doc["on"]["schedule"][0]["cron"].is_string(),
        "a schedule trigger: {doc}"
    );
    let drift = steps(doc, "drift");
    assert!(step_using(&drift, ACTION) < step_running(&drift, &["gen diff", "--context"]));
}

/// The Action users install gen with (this repository, placeholder name as
/// in Cargo.toml's `repository`).
const ACTION: &str = "your-org/gen";

#[test]
fn workflow_parses_as_github_reads_it_and_runs_the_documented_commands() {
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    // Placeholders are marked as such, next to what to replace.
    assert!(text.contains("PLACEHOLDER: where gen is installed from"));
    assert!(text.contains("OPTIONAL: compare the live cluster with the catalog"));
    let loaded = gen::catalog::yaml::load(&gen::SourceFile::new("github-actions.yml", text))
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    check_workflow(&loaded.value);
}

#[test]
fn workflow_parses_with_pyyaml() {
    let Some(python) = python() else {
        return;
    };
    // PyYAML reads YAML 1.1, where the key `on` is the boolean true; GitHub
    // reads it as the string "on".
    let script = "import json, sys, yaml\n\
        doc = yaml.safe_load(open(sys.argv[1]))\n\
        doc['on'] = doc.pop(True)\n\
        print(json.dumps(doc))\n";
    let o = Command::new(python)
        .args(["-c", script])
        .arg(workflow_path())
        .output()
        .unwrap();
    let (out, err) = common::text(&o);
    assert!(o.status.success(), "PyYAML failed: {err}");
    check_workflow(&serde_json::from_str(&out).unwrap());
}

/// The `run:` lines of the gen job that call gen, run as GitHub runs them
/// (bash -eo pipefail, the workflow's env) with gen on PATH, in a checkout
/// holding a catalog and its fresh output: they pass, and gen.sarif is SARIF.
#[test]
fn workflow_gen_steps_work_as_written() {
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    let doc = gen::catalog::yaml::load(&gen::SourceFile::new("github-actions.yml", text))
        .unwrap()
        .value;
    let d = tempfile::tempdir().unwrap();
    let bin = installed_gen(&doc, d.path());
    let repo = d.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let catalog = doc["env"]["CATALOG"].as_str().unwrap();
    std::fs::copy(
        common::root().join("examples/strategies/catalog.yaml"),
        repo.join(catalog),
    )
    .unwrap();
    assert!(common::gen(&repo, &["build", catalog]).status.success());
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut ran = 0;
    for step in steps(&doc, "gen") {
        let run = run_of(&step);
        if !run.trim_start().starts_with("gen ") {
            continue;
        }
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", run])
            .current_dir(&repo)
            .env("PATH", &path)
            .env("NO_COLOR", "1");
        for (k, v) in doc["env"].as_object().unwrap() {
            cmd.env(k, v.as_str().unwrap());
        }
        let o = cmd.output().unwrap();
        let (out, err) = common::text(&o);
        assert!(o.status.success(), "step `{run}` failed:\n{out}{err}");
        ran += 1;
    }
    assert_eq!(ran, 3, "lint, build --check, lint --format github");
    check_sarif(&repo.join("gen.sarif"));
}

/// The workflow's Install step: the Action it names, run as a runner runs
/// it, from the release scripts/dist.sh built; gen's directory on PATH.
/// Without that release (and GEN_REQUIRE_PEERS unset), the test build.
fn installed_gen(doc: &Value, scratch: &Path) -> PathBuf {
    let gen = steps(doc, "gen");
    let uses = gen[step_using(&gen, ACTION)]["uses"].as_str().unwrap();
    if let Some(dist) = common::dist::dist() {
        let base_url = common::dist::local_release(&dist, &scratch.join("release"));
        let work = scratch.join("action");
        std::fs::create_dir(&work).unwrap();
        let run = common::dist::run_action(
            &[
                ("base-url", &base_url),
                ("version", uses.split_once('@').unwrap().1),
            ],
            &scratch.join("toolcache"),
            &work,
            false,
        );
        assert!(run.ok, "{}", run.log);
        assert_eq!(run.path.len(), 1);
        return run.path[0].clone();
    }
    let bin = scratch.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gen"), bin.join("gen")).unwrap();
    bin
}

fn check_sarif(path: &Path) {
    let sarif: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["name"], "gen");
}

/// The drift job's `gen diff` step, run as written with the kubeconfig the
/// job writes (here pointing at the real control plane of `tests/cluster/`):
/// it passes while the cluster matches the catalog and fails once the
/// catalog changed.
#[test]
fn workflow_drift_step_works_as_written() {
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    let doc = gen::catalog::yaml::load(&gen::SourceFile::new("github-actions.yml", text))
        .unwrap()
        .value;
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    let context = doc["jobs"]["drift"]["env"]["KUBE_CONTEXT"]
        .as_str()
        .unwrap();
    let kubeconfig = home.join(".kube/config");
    cluster::TestCluster::shared().user_kubeconfig("ci-drift", &["system:masters"], &kubeconfig);
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(
        &kubeconfig,
        text.replace(
            "- name: test\n  context:",
            &format!("- name: {context}\n  context:"),
        ),
    )
    .unwrap();
    let repo = d.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let catalog = doc["env"]["CATALOG"].as_str().unwrap();
    std::fs::copy(
        common::root().join("examples/strategies/catalog.yaml"),
        repo.join(catalog),
    )
    .unwrap();
    let drift = steps(&doc, "drift");
    let run = run_of(&drift[step_running(&drift, &["gen diff"])]).to_owned();
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gen"), bin.join("gen")).unwrap();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let step = |args: Option<&str>| {
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(args.unwrap_or(&run))
            .current_dir(&repo)
            .env("PATH", &path)
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .env("KUBE_CONTEXT", context)
            .env("NO_COLOR", "1");
        for (k, v) in doc["env"].as_object().unwrap() {
            cmd.env(k, v.as_str().unwrap());
        }
        cmd.output().unwrap()
    };
    let o = step(Some(
        "gen apply \"$CATALOG\" --context \"$KUBE_CONTEXT\" --wait",
    ));
    assert!(o.status.success(), "{:?}", common::text(&o));
    let o = step(None);
    assert!(
        o.status.success(),
        "no drift expected: {:?}",
        common::text(&o)
    );
    let path = repo.join(catalog);
    let changed = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("replicas: 4", "replicas: 5", 1);
    std::fs::write(&path, changed).unwrap();
    let o = step(None);
    let (out, err) = common::text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("+  replicas: 5"), "{out}");
}
