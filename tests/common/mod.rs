//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod dist;

/// Whether `GEN_BLESS=1` asks to rewrite expected outputs.
pub fn bless() -> bool {
    std::env::var("GEN_BLESS").is_ok_and(|v| v == "1")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the gen binary in `cwd` with a clean, colourless environment.
pub fn gen(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .expect("run gen")
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// All files below `dir` as (relative path, bytes), sorted.
pub fn snapshot_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Compare `actual` with the file at `expected`, or rewrite it when blessing.
pub fn assert_matches_file(expected: &Path, actual: &str) {
    if bless() {
        if let Some(dir) = expected.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run `GEN_BLESS=1 cargo test` and review it",
            expected.display()
        )
    });
    if want != actual {
        let diff = similar::TextDiff::from_lines(want.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!(
            "{} does not match (re-bless with GEN_BLESS=1 after reviewing):\n{diff}",
            expected.display()
        );
    }
}

/// A tool of a peer venv (`GEN_VENV`, default `.venv`; `GEN_CHECKOV_VENV`,
/// default `.venv-checkov`, for checkov). Missing: skip with a message, or
/// fail when `GEN_REQUIRE_PEERS` is set (scripts/test.sh and CI set it).
pub fn peer_tool(name: &str) -> Option<PathBuf> {
    let (var, default) = if name == "checkov" {
        ("GEN_CHECKOV_VENV", ".venv-checkov")
    } else {
        ("GEN_VENV", ".venv")
    };
    let venv = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(default));
    let p = venv.join("bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("GEN_REQUIRE_PEERS").is_none(),
        "{} is missing; run `bash scripts/test.sh` to install the peer tools",
        p.display()
    );
    eprintln!(
        "skipping: {} not installed (run bash scripts/test.sh)",
        p.display()
    );
    None
}

/// A tool scripts/test.sh installs into `./.tools/bin` (promtool, amtool,
/// hclfmt). Missing: skip with a message, or fail when `GEN_REQUIRE_PEERS`
/// is set.
pub fn local_tool(name: &str, installer: &str) -> Option<PathBuf> {
    tool_in(&root().join(".tools"), name, installer)
}

/// `DIR/bin/NAME` (a venv's or `./.tools`'), which `installer` puts there.
/// Missing: skip with a message, or fail when `GEN_REQUIRE_PEERS` is set.
pub fn tool_in(dir: &Path, name: &str, installer: &str) -> Option<PathBuf> {
    let p = dir.join("bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    missing(&p.display().to_string(), installer)
}

/// Something a test needs that `installer` makes is missing: skip with a
/// message, or fail when `GEN_REQUIRE_PEERS` is set.
pub fn missing<T>(what: &str, installer: &str) -> Option<T> {
    assert!(
        std::env::var_os("GEN_REQUIRE_PEERS").is_none(),
        "{what} is missing; run `bash {installer}`"
    );
    eprintln!("skipping: {what} is missing (bash {installer})");
    None
}

/// `bash -n` on each script, then shellcheck (the tool at `shellcheck`) on
/// all of them: both must find nothing.
pub fn assert_shellcheck_clean(shellcheck: &Path, scripts: &[PathBuf]) {
    for s in scripts {
        let n = Command::new("bash").arg("-n").arg(s).output().unwrap();
        assert!(n.status.success(), "bash -n {}", s.display());
    }
    let o = Command::new(shellcheck).args(scripts).output().unwrap();
    assert!(
        o.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
