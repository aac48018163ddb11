//! Outputs checked by the tools users trust, installed by `scripts/test.sh`
//! into a local venv (`GEN_VENV`). Without the venv these tests say so and
//! pass only when `GEN_REQUIRE_PEERS` is unset (plain `cargo test` on a
//! laptop); `scripts/test.sh` and CI set it, so a missing tool fails there.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn venv_tool(name: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("GEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".venv"));
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

fn out_trees() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for parent in ["golden", "examples"] {
        for e in std::fs::read_dir(common::root().join(parent))
            .unwrap()
            .flatten()
        {
            if e.path().join("out").is_dir() {
                v.push(e.path().join("out"));
            }
        }
    }
    v.sort();
    assert!(v.len() >= 5);
    v
}

#[test]
fn yamllint_accepts_every_generated_file() {
    let Some(yamllint) = venv_tool("yamllint") else {
        return;
    };
    let mut cmd = Command::new(yamllint);
    cmd.args([
        "--strict",
        "-f",
        "parsable",
        "-d",
        "{extends: relaxed, rules: {line-length: disable}}",
    ]);
    cmd.args(out_trees());
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "yamllint findings:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// PyYAML reads YAML 1.1 like Go's yaml libraries (Helm, kubectl): `on`, `no`,
/// `0777` unquoted would change type there. Every env value must come back as
/// the exact string the catalog gave.
#[test]
fn a_yaml_1_1_reader_sees_the_catalog_strings_exactly() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let dir = common::root().join("golden/hostile-strings");
    let script = r#"
import json, sys, yaml
out = {}
for doc in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")):
    if doc and doc.get("kind") == "Deployment":
        for c in doc["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                out[e["name"]] = e.get("value")
json.dump(out, sys.stdout)
"#;
    let o = Command::new(python)
        .args([
            "-c",
            script,
            dir.join("out/manifests/hostile/echo.yaml")
                .to_str()
                .unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&o.stdout).unwrap();

    // What the catalog says, read by gen's own YAML 1.2 loader.
    let catalog = std::fs::read(dir.join("catalog.yaml")).unwrap();
    let model = gen::compile("catalog.yaml", &catalog).unwrap().model;
    let env = &model.services[0].env;
    assert!(env.len() >= 15);
    for (k, v) in env {
        assert_eq!(
            seen.get(k).and_then(|x| x.as_str()),
            Some(v.as_str()),
            "env {k} changed on the way through YAML"
        );
    }
    assert_eq!(seen.len(), env.len());
}
