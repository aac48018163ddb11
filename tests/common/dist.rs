//! gen's release artifacts as scripts/dist.sh builds them (the release
//! archive with its checksum, and the wheel), and a runner for the steps of
//! the composite GitHub Action (`action.yml`) on this machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::root;

/// The artifacts of `bash scripts/dist.sh` for this machine.
pub struct Dist {
    pub dir: PathBuf,
    pub version: &'static str,
    pub target: String,
    /// `gen-<version>-<target>.tar.gz`, with `.sha256` beside it.
    pub archive: PathBuf,
    pub wheel: PathBuf,
}

/// This machine's Rust target triple, as scripts/dist.sh names archives.
pub fn host_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// The commit of this checkout (what gen's build.rs records).
pub fn head() -> String {
    let o = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "the tests run in a git checkout");
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

/// What `gen --version` of a build of this checkout says.
pub fn version_line() -> String {
    format!("gen {} (commit {})", env!("CARGO_PKG_VERSION"), head())
}

/// The artifacts in `GEN_DIST` (default `target/dist`). Missing: skip with a
/// message, or fail when `GEN_REQUIRE_PEERS` is set (scripts/test.sh runs
/// scripts/dist.sh first).
pub fn dist() -> Option<Dist> {
    let dir = std::env::var_os("GEN_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/dist"));
    let version = env!("CARGO_PKG_VERSION");
    let target = host_target();
    let archive = dir.join(format!("gen-{version}-{target}.tar.gz"));
    let wheel = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.flatten().map(|e| e.path()).find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("gen_catalog-{version}-"))
                && p.extension().is_some_and(|e| e == "whl")
        })
    });
    match wheel {
        Some(wheel) if archive.is_file() => Some(Dist {
            dir,
            version,
            target,
            archive,
            wheel,
        }),
        _ => super::missing(
            &format!(
                "the release archive and wheel of gen {version} in {}",
                dir.display()
            ),
            "scripts/dist.sh",
        ),
    }
}

/// Lay out `d`'s archive and checksum as a release server does
/// (`<base>/v<version>/<archive>`) under `dir`; returns the `file://` base
/// URL for the Action's `base-url`.
pub fn local_release(d: &Dist, dir: &Path) -> String {
    let release = dir.join(format!("v{}", d.version));
    std::fs::create_dir_all(&release).unwrap();
    for f in [d.archive.clone(), d.archive.with_extension("gz.sha256")] {
        std::fs::copy(&f, release.join(f.file_name().unwrap())).unwrap();
    }
    format!("file://{}", dir.display())
}

/// A PATH of this machine's system directories without any that holds a
/// Rust toolchain (`cargo`, `rustc`): what a user without Rust has. Panics
/// if cargo can still be found on it.
pub fn path_without_rust() -> String {
    let dirs: Vec<&str> = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    .into_iter()
    .filter(|d| !Path::new(d).join("cargo").exists() && !Path::new(d).join("rustc").exists())
    .collect();
    let path = dirs.join(":");
    let o = Command::new("sh")
        .args(["-c", "command -v cargo || command -v rustc"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(!o.status.success(), "a Rust toolchain is on {path}");
    path
}

/// One run of the action's steps, as a GitHub runner would do it.
pub struct ActionRun {
    pub ok: bool,
    /// Everything the steps printed.
    pub log: String,
    /// `steps.<id>.outputs`.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Directories the steps added to PATH (`$GITHUB_PATH`).
    pub path: Vec<PathBuf>,
    /// The cache step's evaluated `path` and `key`, if it was reached.
    pub cache: Option<(String, String)>,
}

pub fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let loaded = gen::catalog::yaml::load(&gen::SourceFile::new("action.yml", text))
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    loaded.value
}

/// Evaluate `${{ expr }}` in `text`: only the contexts the action may use
/// (anything else fails the test, so the runner proves every step it runs).
fn evaluate(text: &str, ctx: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed ${{") + start;
        out.push_str(&ctx(rest[start + 3..end].trim()));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Run the steps of `action.yml` with `inputs` (others: their defaults) in
/// `work`, with the tool cache `tool_cache`; `cache_hit` is what the
/// `actions/cache` step reports. Stops at the first failing step.
pub fn run_action(
    inputs: &[(&str, &str)],
    tool_cache: &Path,
    work: &Path,
    cache_hit: bool,
) -> ActionRun {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let mut input: BTreeMap<String, String> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["default"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (k, v) in inputs {
        assert!(input.contains_key(*k), "action.yml has no input {k}");
        input.insert((*k).to_owned(), (*v).to_owned());
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        other => panic!("no GitHub runner architecture for {other}"),
    };
    let github_path = work.join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let mut run = ActionRun {
        ok: true,
        log: String::new(),
        outputs: BTreeMap::new(),
        path: Vec::new(),
        cache: None,
    };
    for (i, step) in action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let id = step["id"]
            .as_str()
            .map_or_else(|| format!("step{i}"), str::to_owned);
        let outputs = run.outputs.clone();
        let ctx = |expr: &str| -> String {
            let parts: Vec<&str> = expr.split('.').collect();
            match parts.as_slice() {
                ["inputs", name] => input[*name].clone(),
                ["steps", step, "outputs", name] => outputs
                    .get(*step)
                    .and_then(|o| o.get(*name))
                    .cloned()
                    .unwrap_or_default(),
                ["runner", "os"] => "Linux".to_owned(),
                ["runner", "arch"] => arch.to_owned(),
                ["runner", "tool_cache"] => tool_cache.display().to_string(),
                ["github", "action_repository"] => "your-org/gen".to_owned(),
                _ => {
                    panic!("action.yml uses `${{{{ {expr} }}}}`, which this runner cannot evaluate")
                }
            }
        };
        if let Some(cond) = step["if"].as_str() {
            assert_eq!(
                cond, "steps.cache.outputs.cache-hit != 'true'",
                "a condition the runner knows"
            );
            if cache_hit {
                continue;
            }
        }
        if let Some(uses) = step["uses"].as_str() {
            assert_eq!(
                uses, "actions/cache@v4",
                "the only action the composite uses"
            );
            let path = evaluate(step["with"]["path"].as_str().unwrap(), &ctx);
            let key = evaluate(step["with"]["key"].as_str().unwrap(), &ctx);
            run.cache = Some((path, key));
            run.outputs
                .entry(id)
                .or_default()
                .insert("cache-hit".into(), cache_hit.to_string());
            continue;
        }
        let script = step["run"].as_str().expect("a run or uses step");
        assert!(
            !script.contains("${{"),
            "step {id}: inputs reach the script through env:, not ${{{{ }}}}"
        );
        assert_eq!(step["shell"], "bash", "step {id}");
        let github_output = work.join(format!("github_output_{id}"));
        std::fs::write(&github_output, "").unwrap();
        let mut cmd = Command::new("bash");
        // GitHub's `shell: bash`.
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", work)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_PATH", &github_path)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", work);
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                cmd.env(k, evaluate(v.as_str().unwrap(), &ctx));
            }
        }
        let o = cmd.output().unwrap();
        run.log.push_str(&String::from_utf8_lossy(&o.stdout));
        run.log.push_str(&String::from_utf8_lossy(&o.stderr));
        let written = std::fs::read_to_string(&github_output).unwrap();
        let out = run.outputs.entry(id).or_default();
        for line in written.lines() {
            let (k, v) = line.split_once('=').expect("key=value in GITHUB_OUTPUT");
            out.insert(k.to_owned(), v.to_owned());
        }
        if !o.status.success() {
            run.ok = false;
            break;
        }
    }
    run.path = std::fs::read_to_string(&github_path)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    run
}
