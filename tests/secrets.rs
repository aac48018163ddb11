//! Secret hygiene: values of secret-looking inputs never appear in any
//! output file, diagnostic, lint report (any format) or diff; and Secret
//! references never carry a value at all.

mod common;

const SECRETS: [&str; 3] = ["S3cr3t-Value-9x", "hunter2pw", "xK9fQ2mZ7vL4pR8tW1yB6nC3"];

const CATALOG: &str = "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    resources: {cpu: 100m, memory: 128Mi}\n    secret_env: {DB_PASSWORD: db-credentials/password}\n    env: {API_TOKEN: S3cr3t-Value-9x, DSN: \"postgres://app:hunter2pw@db:5432/x\", BLOB: \"xK9fQ2mZ7vL4pR8tW1yB6nC3\"}\n";

/// The cluster commands, which compile and lint first and stop on problems
/// before any request (no cluster here).
const CLUSTER: [&[&str]; 3] = [
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

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[test]
fn no_command_prints_a_secret_value() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), CATALOG).unwrap();
    let runs: [&[&str]; 8] = [
        &["lint"],
        &["lint", "--format", "json"],
        &["lint", "--format", "sarif"],
        &["lint", "--format", "github"],
        &["build"],
        &["build", "--check"],
        &["lint", "--color", "always"],
        &["explain", "secret-env-literal"],
    ];
    for args in runs.into_iter().chain(CLUSTER) {
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

// ---------------------------------------------------------------------------
// The family: secrets planted next to every kind of error, every command,
// every format. The planted bytes may appear only in the files gen writes
// for Helm and the cluster (values.yaml, the manifests: the user's own
// output, and lint already reports each such literal); never on stdout or
// stderr, never in a chart README, never in a `--check` diff.

/// Planted secret-looking values, one per facet of the detector, and the
/// bytes of each that must never be printed.
const PLANTED: [(&str, &str, &str); 7] = [
    ("DB_PASSWORD", "Pl4nted-pw-01", "Pl4nted-pw-01"),
    ("DBPASS", "Pl4nted-pw-02", "Pl4nted-pw-02"),
    ("API_TOKEN", "Pl4nted-tok-03", "Pl4nted-tok-03"),
    (
        "AWS_KEY_ID_X",
        "AKIAQPLANTEDKEY00001",
        "AKIAQPLANTEDKEY00001",
    ),
    (
        "BLOB",
        "xK9fQ2mZ7vL4pR8tW1yB6nC3",
        "xK9fQ2mZ7vL4pR8tW1yB6nC3",
    ),
    (
        "DSN",
        "\"postgres://app:Pl4ntedUrlPw@db:5432/x\"",
        "Pl4ntedUrlPw",
    ),
    (
        "SESSION",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.Pl4ntedJwtSig",
        "eyJzdWIiOiJwbGFudGVkIn0",
    ),
];

/// Bytes planted by some variants besides [`PLANTED`].
const EXTRA: [&str; 4] = [
    "Pl4nted-dup-04",
    "918273645",
    "Pl4nted-env-05",
    "Pl4nted-comment-06",
];

fn env_block(indent: &str) -> String {
    PLANTED
        .iter()
        .map(|(k, v, _)| format!("{indent}{k}: {v}\n"))
        .collect()
}

/// A valid catalog with the planted values in `env` and in an environment's
/// override, with `extra_service` lines appended to the service and `tail`
/// to the catalog.
fn catalog(extra_env: &str, extra_service: &str, tail: &str) -> String {
    format!(
        "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    resources: {{cpu: 100m, memory: 128Mi}}\n    env:\n      LOG_LEVEL: info  # old DB_PASSWORD: Pl4nted-comment-06\n{}{extra_env}{extra_service}environments:\n  prod:\n    services:\n      web:\n        env:\n          DB_PASSWORD: Pl4nted-env-05\n{tail}",
        env_block("      ")
    )
}

/// Every kind of error, each next to the planted values.
fn variants() -> Vec<(&'static str, String)> {
    vec![
        ("unknown key", catalog("", "    bogus: 1\n", "")),
        (
            "duplicate key",
            catalog("      DB_PASSWORD: Pl4nted-dup-04\n", "", ""),
        ),
        ("syntax error", catalog("", "    routes: [/a, {b\n", "")),
        (
            "type error on a secret",
            catalog("      PIN_PASSWORD: 918273645\n", "", ""),
        ),
        (
            "type error next to secrets",
            catalog("", "", "").replace("replicas: 2", "replicas: two"),
        ),
        ("semantic error", catalog("", "    calls: [nosuch]\n", "")),
        (
            "environment override error",
            catalog("", "", "        bogus: 1\n      nosuch: {}\n"),
        ),
        (
            "refused character",
            catalog("      CTRL: \"a\\x7fb\"\n", "", ""),
        ),
        ("lint findings", catalog("", "", "")),
    ]
}

fn every_secret() -> Vec<&'static str> {
    PLANTED.iter().map(|(_, _, s)| *s).chain(EXTRA).collect()
}

fn assert_nothing_printed(what: &str, o: &std::process::Output) {
    let (out, err) = common::text(o);
    for s in every_secret() {
        assert!(
            !out.contains(s) && !err.contains(s),
            "{what} prints {s}:\n{out}{err}"
        );
    }
}

#[test]
fn no_error_of_any_kind_prints_a_planted_secret_in_any_command_or_format() {
    let runs: [&[&str]; 10] = [
        &["build"],
        &["build", "--check"],
        &["build", "--env", "prod"],
        &["lint"],
        &["lint", "--color", "always"],
        &["lint", "--format", "json"],
        &["lint", "--format", "sarif"],
        &["lint", "--format", "github"],
        &["lint", "--severity", "info"],
        &["build", "--check", "--allow-lint-errors"],
    ];
    for (kind, text) in variants() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("catalog.yaml"), &text).unwrap();
        // The planted bytes are in the input: a test that could not see
        // them could not fail.
        for s in every_secret() {
            if !text.contains(s) {
                assert!(EXTRA.contains(&s), "{kind}: {s} is not planted:\n{text}");
            }
        }
        for args in runs.into_iter().chain(CLUSTER) {
            let o = common::gen(d.path(), args);
            let what = format!("{kind}: gen {}", args.join(" "));
            assert!(!o.status.success(), "{what} succeeded:\n{text}");
            assert_nothing_printed(&what, &o);
            assert!(!d.path().join("out").exists(), "{what} wrote out/");
        }
        // Each diagnostic is still located and says what is wrong: masking
        // hid values, not the problem.
        let o = common::gen(d.path(), &["lint"]);
        let (_, err) = common::text(&o);
        assert!(err.contains("catalog.yaml:"), "{kind}: no location:\n{err}");
    }
}

/// The detector's facets, one by one, in the lint report: each planted
/// value is flagged by a lint rule, so lint and the masker agree on it.
#[test]
fn lint_flags_every_planted_value_it_masks() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), catalog("", "", "")).unwrap();
    let o = common::gen(d.path(), &["lint", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    for (name, _, _) in PLANTED {
        let rules: Vec<&str> = findings
            .iter()
            .filter(|f| {
                f["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("`{name}`")))
            })
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(
            rules.iter().any(|r| [
                "secret-env-literal",
                "env-high-entropy",
                "env-url-credentials"
            ]
            .contains(r)),
            "{name}: no secret finding ({rules:?})"
        );
    }
}

/// Output files are the user's own: values.yaml and the manifests carry the
/// values Helm and the cluster need. The chart README and the `--check` diff
/// are for reading and never show them.
#[test]
fn build_writes_secrets_only_where_helm_needs_them_and_check_masks_its_diff() {
    let d = tempfile::tempdir().unwrap();
    let cat = d.path().join("catalog.yaml");
    let text = catalog("", "", "");
    std::fs::write(&cat, &text).unwrap();
    let o = common::gen(d.path(), &["build", "--allow-lint-errors"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    assert_nothing_printed("build --allow-lint-errors", &o);
    let out = d.path().join("out");
    let values = std::fs::read_to_string(out.join("charts/web/values.yaml")).unwrap();
    assert!(values.contains("Pl4nted-pw-01"), "values.yaml lost the env");
    let readme = std::fs::read_to_string(out.join("charts/web/README.md")).unwrap();
    assert!(readme.contains("LOG_LEVEL"), "the README lists env");
    for s in every_secret() {
        assert!(!readme.contains(s), "the chart README shows {s}:\n{readme}");
    }

    // Every planted value changes (old and new must both stay hidden), and
    // an ordinary value too (it must show).
    let mut changed = text.replace("LOG_LEVEL: info", "LOG_LEVEL: debug");
    let mut news = Vec::new();
    for (_, _, s) in PLANTED {
        let new = if s.starts_with("AKIA") {
            "AKIAQPLANTEDKEY00002".to_owned()
        } else if s.starts_with("eyJ") {
            "eyJzdWIiOiJuZXdwbGFudGVkIn0".to_owned()
        } else {
            format!("{s}Z9")
        };
        changed = changed.replace(s, &new);
        news.push(new);
    }
    std::fs::write(&cat, &changed).unwrap();
    let o = common::gen(d.path(), &["build", "--check", "--allow-lint-errors"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", common::text(&o));
    assert_nothing_printed("build --check", &o);
    let (stdout, stderr) = common::text(&o);
    for s in &news {
        assert!(
            !stdout.contains(s.as_str()),
            "the diff shows {s}:\n{stdout}"
        );
    }
    assert!(stdout.contains("LOG_LEVEL: debug"), "{stdout}");
    assert!(stderr.contains("stale:"), "{stderr}");

    // Only a secret changes: the file is still stale, and the diff says why
    // without the values.
    std::fs::write(&cat, text.replace("Pl4nted-pw-02", "Pl4nted-pw-02Q")).unwrap();
    let o = common::gen(d.path(), &["build", "--check", "--allow-lint-errors"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", common::text(&o));
    assert_nothing_printed("build --check", &o);
    let (stdout, _) = common::text(&o);
    assert!(!stdout.contains("Pl4nted-pw-02Q"), "{stdout}");
    assert!(
        stdout.contains("only secret-looking values differ"),
        "{stdout}"
    );
}
