//! Secret hygiene: values of secret-looking inputs never appear in any
//! output file, diagnostic, lint report (any format) or diff; and Secret
//! references never carry a value at all.

mod common;

const SECRETS: [&str; 3] = ["S3cr3t-Value-9x", "hunter2pw", "xK9fQ2mZ7vL4pR8tW1yB6nC3"];

const CATALOG: &str = "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    resources: {cpu: 100m, memory: 128Mi}\n    secret_env: {DB_PASSWORD: db-credentials/password}\n    env: {API_TOKEN: S3cr3t-Value-9x, DSN: \"postgres://app:hunter2pw@db:5432/x\", BLOB: \"xK9fQ2mZ7vL4pR8tW1yB6nC3\"}\n";

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[test]
fn no_command_prints_a_secret_value() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), CATALOG).unwrap();
    let runs: [&[&str]; 11] = [
        &["lint"],
        &["lint", "--format", "json"],
        &["lint", "--format", "sarif"],
        &["lint", "--format", "github"],
        &["build"],
        &["build", "--check"],
        &["lint", "--color", "always"],
        &["explain", "secret-env-literal"],
        // The cluster commands lint first and stop on these findings.
        &["apply", "--context", "prod", "--kubeconfig", "/nonexistent"],
        &["diff", "--context", "prod", "--kubeconfig", "/nonexistent"],
        &[
            "rollback",
            "web",
            "--context",
            "prod",
            "--kubeconfig",
            "/nonexistent",
        ],
    ];
    for args in runs {
        let o = common::gen(d.path(), args);
        let (out, err) = common::text(&o);
        assert_clean(&format!("gen {}", args.join(" ")), &format!("{out}{err}"));
    }
    // Lint refused the build: nothing was written, so no file holds them.
    assert!(!d.path().join("out").exists());
    let o = common::gen(d.path(), &["lint", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for r in [
        "secret-env-literal",
        "env-url-credentials",
        "env-high-entropy",
    ] {
        assert!(rules.contains(&r), "{r} missing: {rules:?}");
    }
}

#[test]
fn secret_references_never_carry_values() {
    let d = tempfile::tempdir().unwrap();
    let clean = "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    resources: {cpu: 100m, memory: 128Mi}\n    secret_env: {DB_PASSWORD: db-credentials/password}\n";
    std::fs::write(d.path().join("catalog.yaml"), clean).unwrap();
    let o = common::gen(d.path(), &["build"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    let mut kinds = Vec::new();
    for (path, bytes) in common::snapshot_tree(&d.path().join("out")) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("kind: Secret\n"), "{path} defines a Secret");
        if text.contains("secretKeyRef") {
            kinds.push(path);
        }
    }
    assert!(
        !kinds.is_empty(),
        "the reference should be rendered somewhere"
    );
}
