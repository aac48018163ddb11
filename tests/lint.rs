//! The lint engine: every rule fires on its documented example at the marked
//! line and not on its passing example; the examples lint clean; policy and
//! waivers work; the formats are well-formed; docs/rules.md is generated.

mod common;

use gen::lint::{self, Policy, Severity};

const TODAY: &str = "2026-11-22";

fn lint_text(src: &str, policy: &Policy) -> lint::Report {
    match gen::check("catalog.yaml", src.as_bytes(), policy, TODAY) {
        Ok(c) => c.report,
        Err(e) => panic!("does not compile: {e:?}\n{src}"),
    }
}

/// The 1-based line that ends with `# <-`.
fn marked_line(example: &str) -> usize {
    example
        .lines()
        .position(|l| l.trim_end().ends_with("# <-"))
        .map(|i| i + 1)
        .expect("the example marks its offending line with `# <-`")
}

#[test]
fn every_rule_fires_on_its_example_and_not_on_its_passing_catalog() {
    let rules = lint::all();
    let mut failures = Vec::new();
    for r in &rules {
        let line = marked_line(r.example);
        let report = lint_text(r.example, &Policy::default());
        let hits: Vec<usize> = report
            .findings
            .iter()
            .filter(|f| f.rule == r.id)
            .map(|f| f.line_col().0)
            .collect();
        if !hits.contains(&line) {
            failures.push(format!(
                "{}: expected a finding on line {line}, got lines {hits:?}",
                r.id
            ));
        }
        let clean = lint_text(r.passing, &Policy::default());
        if clean.findings.iter().any(|f| f.rule == r.id) {
            failures.push(format!("{}: fires on its passing catalog", r.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rules_have_unique_ids_and_complete_docs() {
    let rules = lint::all();
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
    for r in rules {
        assert!(
            r.id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}",
            r.id
        );
        for (name, text) in [
            ("summary", r.summary),
            ("what", r.what),
            ("why", r.why),
            ("fix", r.fix),
        ] {
            assert!(text.trim().len() > 10, "{}: {name} is empty", r.id);
        }
    }
}

#[test]
fn the_examples_lint_without_errors_or_warnings() {
    for ex in [
        "karina",
        "karina-eks",
        "msa-k3s",
        "ordersystem",
        "strategies",
    ] {
        let dir = common::root().join("examples").join(ex);
        let src = std::fs::read_to_string(dir.join("catalog.yaml")).unwrap();
        let report = lint_text(&src, &Policy::default());
        let loud: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| format!("{} {}: {}", f.rule, f.problem.location(), f.problem.message))
            .collect();
        assert!(loud.is_empty(), "{ex}:\n{}", loud.join("\n"));
    }
}

const BAD: &str = "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 80\n    env: {API_TOKEN: abc}\n";

/// A policy that runs only `ids`.
fn only(ids: &[&str]) -> Policy {
    let mut text = String::from("rules:\n");
    for r in lint::all() {
        if !ids.contains(&r.id) {
            text.push_str(&format!("  {}: {{enabled: false}}\n", r.id));
        }
    }
    Policy::parse("gen-policy.yaml", &text).unwrap()
}

fn two() -> Policy {
    only(&["port-privileged", "secret-env-literal"])
}

#[test]
fn policy_turns_rules_off_and_changes_severity() {
    let base = lint_text(BAD, &Policy::default());
    assert!(base.findings.iter().any(|f| f.rule == "port-privileged"));
    let p = Policy::parse(
        "gen-policy.yaml",
        "rules:\n  port-privileged: {enabled: false}\n  secret-env-literal: {severity: warning}\n",
    )
    .unwrap();
    let r = lint_text(BAD, &p);
    assert!(!r.findings.iter().any(|f| f.rule == "port-privileged"));
    let s = r
        .findings
        .iter()
        .find(|f| f.rule == "secret-env-literal")
        .unwrap();
    assert_eq!(s.severity, Severity::Warning);
    assert!(!r.has_errors());
}

#[test]
fn a_waiver_silences_its_rule_for_its_service_only() {
    let src = "version: 1\nproject: shop\nservices:\n  a:\n    image: ghcr.io/shop/a:1.0.0\n    port: 80\n    waivers: [{rule: port-privileged, reason: vendor image binds 80}]\n  b:\n    image: ghcr.io/shop/b:1.0.0\n    port: 81\n";
    let r = lint_text(src, &only(&["port-privileged"]));
    let hits: Vec<usize> = r
        .findings
        .iter()
        .filter(|f| f.rule == "port-privileged")
        .map(|f| f.line_col().0)
        .collect();
    assert_eq!(hits, vec![10]);
    assert_eq!(r.waived, vec![("port-privileged", "a".to_owned())]);
}

/// A separate metrics port is bound by the same non-root process: below
/// 1024 it fails the same way, and the finding points at it.
#[test]
fn a_privileged_metrics_port_is_found_at_its_key() {
    let src = "version: 1\nproject: shop\nservices:\n  a:\n    image: ghcr.io/shop/a:1.0.0\n    port: 8080\n    alerts: {metrics: {port: 81}}\nalerting: {webhook: {url_secret: h/u}}\n";
    let r = lint_text(src, &only(&["port-privileged"]));
    let hits: Vec<(usize, usize)> = r
        .findings
        .iter()
        .filter(|f| f.rule == "port-privileged")
        .map(|f| f.line_col())
        .collect();
    assert_eq!(hits, vec![(7, 30)]);
}

/// Extra named `ports` are bound by the same non-root process: one below
/// 1024 is found at its own key, once (a `metrics` port that
/// `alerts.metrics.port` also names is reported there only), with the
/// user the pods really run as.
#[test]
fn a_privileged_extra_port_is_found_at_its_key() {
    let src = "version: 1\nproject: shop\nservices:\n  a:\n    image: ghcr.io/shop/a:1.0.0\n    port: 8080\n    ports: {admin: 443, debug: 9000}\n    security: {run_as_user: 472}\n    waivers: [{rule: security-override, reason: vendor uid}]\n";
    let r = lint_text(src, &only(&["port-privileged"]));
    let hits: Vec<((usize, usize), String)> = r
        .findings
        .iter()
        .filter(|f| f.rule == "port-privileged")
        .map(|f| (f.line_col(), f.problem.message.clone()))
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, (7, 20), "{hits:?}");
    assert!(
        hits[0].1.contains("443") && hits[0].1.contains("472"),
        "{hits:?}"
    );
}

#[test]
fn json_and_github_formats() {
    let r = lint_text(BAD, &two());
    let v: serde_json::Value = serde_json::from_str(&lint::format::json(&r)).unwrap();
    let f = &v["findings"][0];
    for key in ["rule", "severity", "message", "file", "line", "column"] {
        assert!(!f[key].is_null(), "{key} missing in {f}");
    }
    assert_eq!(f["line"], 6);
    assert_eq!(v["summary"]["error"], 2);
    let gh = lint::format::github(&r);
    assert!(gh.starts_with("::error file=catalog.yaml,line=6,col=11,title=port-privileged::"));
    // Workflow-command escaping: a newline in data cannot start a new command.
    assert_eq!(gh.lines().count(), 2);
}

/// The structure code scanning relies on: every rule described once, every
/// result naming a described rule by id and index, with a message and a
/// 1-based region in a file.
fn assert_valid_sarif(v: &serde_json::Value) {
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1), "{v}");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "gen");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for rule in rules {
        assert!(rule["id"].is_string() && rule["shortDescription"]["text"].is_string());
        assert!(
            ids.insert(rule["id"].as_str().unwrap()),
            "{} twice",
            rule["id"]
        );
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["error", "warning", "note"].contains(&level));
    }
    for res in run["results"].as_array().unwrap() {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        let location = &res["locations"][0]["physicalLocation"];
        assert!(!location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .is_empty());
        let region = &location["region"];
        let (line, col) = (
            region["startLine"].as_u64().unwrap(),
            region["startColumn"].as_u64().unwrap(),
        );
        assert!(line >= 1 && col >= 1);
        let (end_line, end_col) = (
            region["endLine"].as_u64().unwrap(),
            region["endColumn"].as_u64().unwrap(),
        );
        assert!((end_line, end_col) >= (line, col), "{region}");
        assert!(res["message"]["text"].is_string());
    }
}

#[test]
fn sarif_is_structurally_valid() {
    let r = lint_text(BAD, &Policy::default());
    assert!(
        r.findings.len() >= 3,
        "the sample should produce several findings"
    );
    let v: serde_json::Value = serde_json::from_str(&lint::format::sarif(&r, "0.0.0")).unwrap();
    assert_valid_sarif(&v);
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        lint::all().len()
    );
}

/// A refused input and where its problem must be reported.
struct Refusal {
    what: &'static str,
    catalog: &'static str,
    policy: Option<&'static str>,
    code: &'static str,
    file: &'static str,
    line: u64,
    col: u64,
}

/// A refused catalog (or policy) is reported in every machine format, each
/// problem with its code, file, line and column, and the exit code stays 2:
/// CI annotations and code scanning show why, not nothing.
#[test]
fn refused_catalogs_reach_every_machine_format() {
    let ok = "version: 1\nproject: shop\nservices:\n  a: {image: ghcr.io/x/a:1.0.0, port: 8080}\n";
    let cases = [
        Refusal {
            what: "YAML syntax error",
            catalog: "version: 1\nproject: shop\nservices:\n  a: {image: ghcr.io/x/a:1.0.0, port: 8080\n",
            policy: None,
            code: "catalog::yaml-syntax",
            file: "catalog.yaml",
            line: 5,
            col: 1,
        },
        Refusal {
            what: "schema error",
            catalog: "version: 1\nproject: shop\nservices:\n  a: {image: ghcr.io/x/a:1.0.0, port: \"8080\"}\n",
            policy: None,
            code: "catalog::wrong-type",
            file: "catalog.yaml",
            line: 4,
            col: 39,
        },
        Refusal {
            what: "semantic error (latest tag)",
            catalog: "version: 1\nproject: shop\nservices:\n  a: {image: ghcr.io/x/a:latest, port: 8080}\n",
            policy: None,
            code: "catalog::image",
            file: "catalog.yaml",
            line: 4,
            col: 14,
        },
        Refusal {
            what: "policy error",
            catalog: ok,
            policy: Some("rules:\n  port-privilegd: {}\n"),
            code: "policy::unknown-rule",
            file: "gen-policy.yaml",
            line: 2,
            col: 3,
        },
    ];
    for Refusal {
        what,
        catalog,
        policy,
        code,
        file,
        line,
        col,
    } in cases
    {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("catalog.yaml"), catalog).unwrap();
        if let Some(p) = policy {
            std::fs::write(d.path().join("gen-policy.yaml"), p).unwrap();
        }
        let run = |format: &str| {
            let o = common::gen(d.path(), &["lint", "--format", format]);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{what}, {format}: {:?}",
                common::text(&o)
            );
            o
        };
        let o = run("json");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{what}: json: {e}: {:?}", common::text(&o)));
        let found = v["findings"].as_array().unwrap().iter().any(|f| {
            f["rule"] == code
                && f["severity"] == "error"
                && f["file"] == file
                && f["line"] == line
                && f["column"] == col
                && f["message"].as_str().is_some_and(|m| !m.is_empty())
        });
        assert!(
            found,
            "{what}: json lacks {code} at {file}:{line}:{col}:\n{v:#}"
        );
        assert!(v["summary"]["error"].as_u64().unwrap() >= 1, "{what}: {v}");

        let o = run("sarif");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{what}: sarif: {e}: {:?}", common::text(&o)));
        assert_valid_sarif(&v);
        let found = v["runs"][0]["results"].as_array().unwrap().iter().any(|r| {
            let l = &r["locations"][0]["physicalLocation"];
            r["ruleId"] == code
                && r["level"] == "error"
                && l["artifactLocation"]["uri"] == file
                && l["region"]["startLine"] == line
                && l["region"]["startColumn"] == col
        });
        assert!(
            found,
            "{what}: sarif lacks {code} at {file}:{line}:{col}:\n{v:#}"
        );

        let o = run("github");
        let (out, _) = common::text(&o);
        let title = code.replace(':', "%3A");
        let want = format!("::error file={file},line={line},col={col},title={title}::");
        assert!(
            out.lines().any(|l| l.starts_with(&want)),
            "{what}: github lacks {want}:\n{out}"
        );

        // The human format is unchanged: the diagnostic on stderr, exit 2.
        let o = run("human");
        assert!(
            common::text(&o).1.contains(&format!("{file}:{line}:{col}")),
            "{what}"
        );
    }
}

/// A refusal next to secrets: every machine format reports it, and none
/// prints the secrets (the help quoting the value shows it masked).
#[test]
fn refusals_in_machine_formats_keep_secrets_masked() {
    let secrets = ["918273645", "sk_live_9fQ2xZ7pL1mN8vB4cR6tY3wE0uI5oA"];
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("catalog.yaml"),
        format!(
            "version: 1\nproject: shop\nservices:\n  a:\n    image: ghcr.io/x/a:1.0.0\n    port: 8080\n    env:\n      PIN_PASSWORD: {}\n      API_TOKEN: {}\n    replicas: two\n",
            secrets[0], secrets[1]
        ),
    )
    .unwrap();
    for format in ["json", "sarif", "github"] {
        let o = common::gen(d.path(), &["lint", "--format", format]);
        assert_eq!(o.status.code(), Some(2));
        let (out, err) = common::text(&o);
        assert!(
            out.contains("PIN_PASSWORD") && out.contains("replicas"),
            "{format}:\n{out}"
        );
        for s in secrets {
            assert!(
                !out.contains(s) && !err.contains(s),
                "{format} prints {s}:\n{out}{err}"
            );
        }
    }
    let o = common::gen(d.path(), &["lint", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["findings"][0]["help"],
        "quote the value so YAML reads it as text: `PIN_PASSWORD: \"***\"`"
    );
}

/// With several catalogs (github format), a refused one is annotated beside
/// the findings of the others, and the exit code is the worst.
#[test]
fn github_annotates_a_refused_catalog_among_several() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.yaml"), BAD).unwrap();
    std::fs::write(
        d.path().join("b.yaml"),
        "version: 1\nproject: shop\nservices:\n  a: {image: ghcr.io/x/a:latest, port: 8080}\n",
    )
    .unwrap();
    let o = common::gen(
        d.path(),
        &["lint", "a.yaml", "b.yaml", "--format", "github"],
    );
    assert_eq!(o.status.code(), Some(2), "{:?}", common::text(&o));
    let (out, _) = common::text(&o);
    assert!(out.contains("::error file=a.yaml,line=6,"), "{out}");
    assert!(
        out.contains("::error file=b.yaml,line=4,col=14,title=catalog%3A%3Aimage::"),
        "{out}"
    );
}

#[test]
fn build_refuses_to_write_on_lint_errors_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), BAD).unwrap();
    let o = common::gen(d.path(), &["build"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", common::text(&o));
    assert!(!d.path().join("out").exists());
    assert!(common::text(&o).1.contains("port-privileged"));
    let o = common::gen(d.path(), &["build", "--allow-lint-errors"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    assert!(d.path().join("out/charts/web/Chart.yaml").is_file());
}

#[test]
fn lint_cli_exit_codes_and_policy_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), BAD).unwrap();
    let o = common::gen(d.path(), &["lint", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(
        d.path().join("gen-policy.yaml"),
        "rules:\n  port-privileged: {severity: warning}\n  secret-env-literal: {enabled: false}\n",
    )
    .unwrap();
    let o = common::gen(d.path(), &["lint"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", common::text(&o));
    std::fs::write(
        d.path().join("gen-policy.yaml"),
        "rules:\n  port-privilegd: {}\n",
    )
    .unwrap();
    let o = common::gen(d.path(), &["lint"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::text(&o).1.contains("gen-policy.yaml:2:3"));
    let o = common::gen(d.path(), &["explain", "port-privileged"]);
    assert!(o.status.success() && common::text(&o).0.contains("How to fix"));
    let o = common::gen(d.path(), &["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"].is_string() && r["severity"].is_string() && r["summary"].is_string()));
}

#[test]
fn docs_rules_md_is_generated_from_the_rules() {
    common::assert_matches_file(&common::root().join("docs/rules.md"), &lint::format::docs());
}

/// checkov's Kubernetes checks on the manifests of a deliberately bad
/// catalog: every check that fails is in the mapping table of
/// docs/rules.md, and where the table names a gen rule, gen reports it (or
/// the service waives it).
#[test]
fn checkov_kubernetes_failures_are_covered_by_gen_rules() {
    let venv = std::env::var_os("GEN_CHECKOV_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::root().join(".venv-checkov"));
    let checkov = venv.join("bin/checkov");
    if !checkov.is_file() {
        assert!(
            std::env::var_os("GEN_REQUIRE_PEERS").is_none(),
            "{} is missing; run bash scripts/test.sh",
            checkov.display()
        );
        eprintln!("skipping: checkov not installed");
        return;
    }
    let bad = "version: 1\nproject: shop\ndefaults: {namespace: default}\nservices:\n  web:\n    image: ghcr.io/shop/web:latest\n    port: 8080\n    waivers: [{rule: image-latest, reason: cross-check of the checkov mapping}]\n    secret_env: {DB_PASSWORD: db/password}\n    resources: {cpu: 100m, memory: 64Mi, cpu_limit: 500m}\n";
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), bad).unwrap();
    let o = common::gen(d.path(), &["build", "--allow-lint-errors"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    let report = lint_text(bad, &Policy::default());
    let o = std::process::Command::new(&checkov)
        .args([
            "-d",
            "out/manifests",
            "--framework",
            "kubernetes",
            "--skip-download",
        ])
        .args(["--quiet", "--compact", "-o", "json"])
        .current_dir(d.path())
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "TRUE")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    let v = if v.is_array() { v[0].clone() } else { v };
    assert!(v["summary"]["resource_count"].as_u64().unwrap() > 3, "{v}");
    let failed: std::collections::BTreeSet<String> = v["results"]["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        failed.contains("CKV_K8S_21"),
        "the bad catalog should fail CKV_K8S_21: {failed:?}"
    );
    let table = include_str!("../src/lint/checkov-map.md");
    for id in &failed {
        let row = table
            .lines()
            .find(|l| {
                l.starts_with("| CKV")
                    && l.split('|')
                        .nth(1)
                        .is_some_and(|c| c.split(',').any(|x| x.trim() == id))
            })
            .unwrap_or_else(|| panic!("checkov {id} fails but is not in the mapping table"));
        let gen_col = row.split('|').nth(3).unwrap_or("");
        // "by design" / "by construction" rows explain why gen emits it on
        // purpose; the others name the gen rule that must report it.
        if gen_col.trim().starts_with("by ") {
            continue;
        }
        for rule in gen_col.split('`').skip(1).step_by(2) {
            if lint::is_rule(rule) {
                assert!(
                    report.findings.iter().any(|f| f.rule == rule)
                        || report.waived.iter().any(|(r, _)| *r == rule),
                    "checkov {id} fails; gen rule {rule} should report it"
                );
            }
        }
    }
}

/// A finding on a value inherited from `defaults` is about each service that
/// inherits it: one service's waiver silences only its own.
#[test]
fn waivers_apply_to_findings_on_inherited_values() {
    let src = "version: 1\nproject: shop\ndefaults:\n  resources: {cpu: 100m, memory: 128Mi, cpu_limit: 200m}\nservices:\n  a:\n    image: ghcr.io/shop/a:1.0.0\n    port: 8080\n    waivers: [{rule: cpu-limit, reason: batch job that may be throttled}]\n  b:\n    image: ghcr.io/shop/b:1.0.0\n    port: 8080\n";
    let r = lint_text(src, &only(&["cpu-limit"]));
    let hits: Vec<String> = r
        .findings
        .iter()
        .map(|f| f.problem.message.clone())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].contains('b'), "{hits:?}");
    assert_eq!(r.waived, vec![("cpu-limit", "a".to_owned())]);
}

#[test]
fn there_are_at_least_forty_rules() {
    assert!(lint::all().len() >= 40, "{}", lint::all().len());
}

/// The JSON format is a stable interface: snapshot it.
#[test]
fn json_format_is_stable() {
    let r = lint_text(BAD, &two());
    common::assert_matches_file(
        &common::root().join("tests/snapshots/lint.json"),
        &lint::format::json(&r),
    );
}

/// Environments are linted too: a finding only an environment has names it
/// and points at the override; one every model has is reported once.
const ENVS: &str = "version: 1
project: shop
services:
  api:
    image: registry.example/api:1.0.0-abc1234
    port: 8080
    replicas: 2
    resources: {cpu: 100m, memory: 128Mi}
    probes: {readiness: /ready, liveness: /live}
environments:
  staging:
    services:
      api:
        replicas: 2
  prod:
    services:
      api:
        replicas: 1
";

#[test]
fn environments_are_linted_and_their_findings_say_so() {
    let r = lint_text(ENVS, &Policy::default());
    let single: Vec<&lint::Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "single-replica")
        .collect();
    assert_eq!(single.len(), 1, "{:?}", r.findings);
    let f = single[0];
    assert_eq!(f.line_col(), (18, 19), "at prod's `replicas: 1`");
    assert_eq!(f.environments, vec!["prod".to_owned()]);
    assert!(f.problem.message.ends_with(" (environment prod)"));

    // The digest finding on the shared image exists in every model: once,
    // as the catalog's.
    let digest: Vec<&lint::Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "image-digest-preferred")
        .collect();
    assert_eq!(digest.len(), 1);
    assert!(digest[0].environments.is_empty());

    let v: serde_json::Value = serde_json::from_str(&lint::format::json(&r)).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let j = findings
        .iter()
        .find(|f| f["rule"] == "single-replica")
        .unwrap();
    assert_eq!(j["environments"], serde_json::json!(["prod"]));
    assert_eq!(j["line"], 18);
    assert!(findings
        .iter()
        .filter(|f| f["rule"] != "single-replica")
        .all(|f| f.get("environments").is_none()));
    let s: serde_json::Value = serde_json::from_str(&lint::format::sarif(&r, "0.0.0")).unwrap();
    let res = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ruleId"] == "single-replica")
        .unwrap();
    assert_eq!(
        res["properties"]["environments"],
        serde_json::json!(["prod"])
    );

    // The service's waiver covers its environments too.
    let waived = ENVS.replace(
        "    probes: {readiness: /ready, liveness: /live}\n",
        "    probes: {readiness: /ready, liveness: /live}\n    waivers: [{rule: single-replica, reason: \"prod runs one for now\"}]\n",
    );
    let r = lint_text(&waived, &Policy::default());
    assert!(r.findings.iter().all(|f| f.rule != "single-replica"));
    assert_eq!(r.waived, vec![("single-replica", "api".to_owned())]);
}

#[test]
fn lint_command_reports_environment_findings() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), ENVS).unwrap();
    let o = common::gen(d.path(), &["lint", "--color", "never"]);
    let err = common::text(&o).1;
    assert!(
        err.contains("(environment prod)") && err.contains("catalog.yaml:18:19"),
        "{err}"
    );
}

#[test]
fn a_secret_in_an_environment_override_is_reported_there_and_masked_everywhere() {
    let secret = "sk_live_9fQ2xZ7pL1mN8vB4cR6tY3wE0uI5oA";
    let src = format!(
        "version: 1
project: shop
services:
  a: {{image: ghcr.io/x/a:1.0.0, port: 8080}}
environments:
  prod:
    services:
      a:
        env: {{API_TOKEN: \"{secret}\"}}
"
    );
    let r = lint_text(&src, &Policy::default());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "secret-env-literal")
        .expect("the literal secret in prod is found");
    assert_eq!(f.line_col().0, 9);
    assert_eq!(f.environments, vec!["prod".to_owned()]);
    for f in &r.findings {
        assert!(
            !f.problem.source().shown_text().contains(secret),
            "{} shows the secret",
            f.rule
        );
    }
}

/// The admin networks are judged as a union: the world split in halves is
/// the world (an error at the `admin_cidrs` node, as `0.0.0.0/0` is), and
/// narrow networks that add up to a wide one are that wide network.
#[test]
fn admin_cidrs_are_judged_as_a_union() {
    let catalog = |list: &str, ipv6: bool| {
        format!("version: 1\nproject: lab\ncluster:\n  k3s: {{version: v1.33.5+k3s1, servers: 1, agents: 1, ipv6: {ipv6}}}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: {list}\nservices:\n  web: {{image: 'ghcr.io/lab/web:1.0.0', port: 8080}}\n")
    };
    let hits = |src: &str, rule: &str| -> Vec<(Severity, (usize, usize))> {
        lint_text(src, &Policy::default())
            .findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| (f.severity, f.problem.line_col()))
            .collect()
    };
    for (list, ipv6) in [
        ("[0.0.0.0/0]", false),
        ("[0.0.0.0/1, 128.0.0.0/1]", false),
        ("['::/1', '8000::/1']", true),
        ("[128.0.0.0/1, 0.0.0.0/2, 64.0.0.0/2, 10.0.0.0/8]", false),
    ] {
        let src = catalog(list, ipv6);
        let col = if list == "[0.0.0.0/0]" { 19 } else { 18 };
        assert_eq!(
            hits(&src, "ssh-from-world"),
            vec![(Severity::Error, (8, col))],
            "{list}"
        );
        assert_eq!(hits(&src, "admin-cidr-wide"), vec![], "{list}");
    }
    // A sixteenth short of the world: wide, not the world.
    let src = catalog("[0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/3, 224.0.0.0/4]", false);
    assert_eq!(hits(&src, "ssh-from-world"), vec![]);
    // Two /25 halves of a /24 are a /24: allowed; three /24s are not.
    let src = catalog("[198.51.100.0/25, 198.51.100.128/25]", false);
    assert_eq!(hits(&src, "admin-cidr-wide"), vec![]);
    let src = catalog("[198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24]", false);
    assert_eq!(
        hits(&src, "admin-cidr-wide"),
        vec![(Severity::Warning, (8, 18))]
    );
}

/// The findings of `rules` on `src`, as `rule line`.
fn fired(src: &str, rules: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = lint_text(src, &only(rules))
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule, f.line_col().0))
        .collect();
    v.sort();
    v
}

const STATEFUL: &str = "version: 1
project: shop
services:
  one:
    image: ghcr.io/shop/one:1.0.0
    port: 8080
    volumes: [{path: /data, size: 1Gi}]
  scaled-to-one:
    image: ghcr.io/shop/two:1.0.0
    port: 8080
    resources: {cpu: 100m}
    hpa: {min: 1, max: 3, cpu: 70}
    volumes: [{path: /data, size: 1Gi}]
  three:
    image: ghcr.io/shop/three:1.0.0
    port: 8080
    replicas: 3
    volumes: [{path: /data, size: 1Gi}]
  backed-up:
    image: ghcr.io/shop/four:1.0.0
    port: 8080
    volumes: [{path: /data, size: 1Gi}]
    waivers: [{rule: stateful-single-replica, reason: nightly snapshots to the backup bucket}]
  stateless:
    image: ghcr.io/shop/five:1.0.0
    port: 8080
";

#[test]
fn a_stateful_singleton_is_reported_once_until_a_waiver_names_its_backup() {
    assert_eq!(
        fired(STATEFUL, &["stateful-single-replica", "single-replica"]),
        // `stateless` (line 24), the volumes of `one` and `scaled-to-one`.
        [
            "single-replica 24",
            "stateful-single-replica 13",
            "stateful-single-replica 7",
        ]
    );
}

#[test]
fn local_path_volumes_are_reported_only_on_a_cluster_of_several_nodes() {
    let on = |k3s: &str, class: &str| {
        let src = format!(
            "version: 1\nproject: shop\ncluster:\n  k3s: {k3s}\n{class}services:\n  db:\n    image: ghcr.io/shop/db:1.0.0\n    port: 5432\n    replicas: 2\n    volumes:\n      - {{path: /data, size: 1Gi}}\n      - {{path: /wal, size: 1Gi, storage_class: local-path}}\n      - {{path: /archive, size: 1Gi, storage_class: nfs}}\n"
        );
        fired(&src, &["volume-node-pinned"])
    };
    let three = "{version: v1.33.5+k3s1, servers: 1, agents: 2}";
    let one = "{version: v1.33.5+k3s1, servers: 1}";
    // The default class (local-path) and the explicit one; not nfs.
    assert_eq!(
        on(three, ""),
        ["volume-node-pinned 11", "volume-node-pinned 12"]
    );
    // Another default class: only the volume that names local-path.
    assert_eq!(
        on(three, "  storage_class: longhorn\n"),
        ["volume-node-pinned 13"]
    );
    // One node: nowhere else to go anyway.
    assert!(on(one, "").is_empty());
}

#[test]
fn rollout_budget_rules_skip_statefulsets_which_replace_one_pod_at_a_time() {
    let src = "version: 1
project: shop
defaults:
  replicas: 4
  strategy: {max_surge: 0, max_unavailable: 75%}
services:
  db:
    image: ghcr.io/shop/db:1.0.0
    port: 5432
    volumes: [{path: /data, size: 1Gi}]
  web:
    image: ghcr.io/shop/web:1.0.0
    port: 8080
";
    let rules = ["rolling-no-surge", "rolling-unavailable-high"];
    let hits = lint_text(src, &only(&rules)).findings;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(
        hits.iter().all(|f| f.problem.message.contains("`web`")),
        "{hits:?}"
    );
}

/// An EKS catalog: `eks` and `aws` are the inner lines of `cluster.eks` and
/// `cluster.aws` (4 spaces in), `services` the service `web`'s extra lines.
/// Line 5 is `cluster.eks.version`, line 6 the first of `eks`.
fn eks_catalog(version: &str, eks: &str, aws: &str, web: &str) -> String {
    format!(
        "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"{version}\"\n{eks}  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    zones: [eu-west-1a, eu-west-1b]\n{aws}services:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n{web}"
    )
}

const ONE_GROUP: &str = "    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n";

/// The findings of `rules` on `src` at `today`, as `rule line: message`,
/// in line order.
fn fired_on(src: &str, rules: &[&str], today: &str) -> Vec<String> {
    let report = match gen::check("catalog.yaml", src.as_bytes(), &only(rules), today) {
        Ok(c) => c.report,
        Err(e) => panic!("does not compile: {e:?}\n{src}"),
    };
    report
        .findings
        .iter()
        .map(|f| format!("{} {}: {}", f.rule, f.line_col().0, f.problem.message))
        .collect()
}

#[test]
fn a_public_eks_endpoint_open_to_the_world_is_an_error_at_the_entry_naming_the_endpoint() {
    let rules = [
        "eks-public-endpoint-open",
        "eks-public-endpoint",
        "ssh-from-world",
    ];
    let world = "    admin_cidrs:\n      - 203.0.113.7/32\n      - 0.0.0.0/0\n";
    let public = format!("    endpoint: public\n{ONE_GROUP}");
    let src = eks_catalog("1.35", &public, world, "");
    let report = lint_text(&src, &only(&rules));
    let open: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "eks-public-endpoint-open")
        .collect();
    assert_eq!(open.len(), 1, "{:?}", report.findings);
    assert_eq!(open[0].severity, Severity::Error);
    // The entry is line 15; the note labels `endpoint: public` (line 6).
    assert_eq!(open[0].line_col().0, 15);
    let note = &open[0].problem.notes;
    assert_eq!(note.len(), 1, "{note:?}");
    assert_eq!(&src[note[0].span.clone()], "public");
    // Without a bastion the admin networks reach nothing else: the public
    // endpoint's list is reported once, by the EKS rule.
    assert_eq!(
        fired(&src, &rules),
        ["eks-public-endpoint 6", "eks-public-endpoint-open 15"]
    );
    // The world in pieces is the world: reported at the list.
    let split = "    admin_cidrs: [0.0.0.0/1, 128.0.0.0/1]\n";
    assert_eq!(
        fired(
            &eks_catalog("1.35", &public, split, ""),
            &["eks-public-endpoint-open"]
        ),
        ["eks-public-endpoint-open 13"]
    );
    // With a bastion, SSH on it is open too: ssh-from-world says so.
    let with_bastion = format!("{world}    bastion: true\n");
    let both = fired_on(
        &eks_catalog("1.35", &public, &with_bastion, ""),
        &rules,
        TODAY,
    );
    assert!(
        both.iter().any(|f| f
            == "ssh-from-world 15: `0.0.0.0/0` lets the whole internet reach SSH on the bastion"),
        "{both:?}"
    );
    // A private endpoint: no EKS endpoint finding; the security group
    // admits the world to the private endpoint, which ssh-from-world reports.
    let private = fired_on(&eks_catalog("1.35", ONE_GROUP, world, ""), &rules, TODAY);
    assert_eq!(
        private,
        ["ssh-from-world 14: `0.0.0.0/0` lets the whole internet reach the private EKS API endpoint"]
    );
}

#[test]
fn wide_admin_networks_on_eks_name_what_they_reach() {
    let wide = "    admin_cidrs: [198.51.0.0/16]\n";
    let public = format!("    endpoint: public\n{ONE_GROUP}");
    let found = fired_on(
        &eks_catalog("1.35", &public, wide, ""),
        &[
            "admin-cidr-wide",
            "eks-public-endpoint-open",
            "aws-no-bastion",
        ],
        TODAY,
    );
    // Wide but not the world: admin-cidr-wide's warning only; and no
    // bastion finding on EKS, whose nodes take no SSH.
    assert_eq!(
        found,
        ["admin-cidr-wide 13: `198.51.0.0/16` (65,536 addresses) can reach the public EKS API endpoint; the policy allows /24 or narrower"]
    );
}

#[test]
fn eks_node_groups_of_one_kind_in_one_zone_are_reported_at_their_zones() {
    let rule = ["eks-single-zone-node-group"];
    let groups = "    node_groups:\n      a: {instance_types: [m6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1a]}\n      b: {instance_types: [m6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1b]}\n      c: {instance_types: [c6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1a]}\n      d: {instance_types: [m6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1a], spot: true}\n      e: {instance_types: [r6i.large], min: 1, desired: 1, max: 3}\n";
    let aws = "    admin_cidrs: [203.0.113.7/32]\n    bastion: true\n";
    // a and b (one per zone) together span two; c and d are alone in
    // theirs (d differs from a by its capacity); e spans the cluster's.
    assert_eq!(
        fired_on(&eks_catalog("1.35", groups, aws, ""), &rule, TODAY),
        [
            "eks-single-zone-node-group 9: node group `c` runs in `eu-west-1a` alone: one zone outage takes all its machines",
            "eks-single-zone-node-group 10: node group `d` runs in `eu-west-1a` alone: one zone outage takes all its machines",
        ]
    );
    let pinned = "    node_groups:\n      a: {instance_types: [m6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1b]}\n      b: {instance_types: [m6i.large], min: 1, desired: 1, max: 3, zones: [eu-west-1b]}\n";
    assert_eq!(
        fired_on(&eks_catalog("1.35", pinned, aws, ""), &rule, TODAY),
        [
            "eks-single-zone-node-group 7: node group `a`, like `b` of the same kind, runs in `eu-west-1b` alone: one zone outage takes all the machines of that kind",
            "eks-single-zone-node-group 8: node group `b`, like `a` of the same kind, runs in `eu-west-1b` alone: one zone outage takes all the machines of that kind",
        ]
    );
}

#[test]
fn eks_versions_are_judged_by_the_release_calendar_on_the_given_day() {
    let aws = "    admin_cidrs: [203.0.113.7/32]\n    bastion: true\n";
    let at = |v: &str, today: &str| {
        fired_on(
            &eks_catalog(v, ONE_GROUP, aws, ""),
            &["eks-version-support"],
            today,
        )
    };
    // 1.34's standard support ends on 2026-12-02, its last day.
    assert!(at("1.34", "2026-12-02").is_empty());
    assert_eq!(
        at("1.34", "2026-12-03"),
        ["eks-version-support 5: EKS 1.34's standard support ended on 2026-12-02: it runs on extended support, billed extra per cluster-hour, until 2027-12-02, when EKS upgrades it itself"]
    );
    assert_eq!(
        at("1.29", TODAY),
        ["eks-version-support 5: EKS 1.29's standard support ended on 2025-03-23 and its extended support on 2026-03-23: EKS upgrades such clusters itself"]
    );
    assert_eq!(
        at("1.20", TODAY),
        ["eks-version-support 5: EKS 1.20 is older than every version EKS still lists: its standard and extended support are over, and EKS no longer runs it"]
    );
    // Newer than the calendar gen knows: not judged.
    assert!(at("1.35", TODAY).is_empty());
    assert!(at("1.40", "2030-01-01").is_empty());
}

#[test]
fn kubernetes_eol_points_at_the_eks_version() {
    let aws = "    admin_cidrs: [203.0.113.7/32]\n    bastion: true\n";
    assert_eq!(
        fired_on(
            &eks_catalog("1.30", ONE_GROUP, aws, ""),
            &["kubernetes-eol"],
            TODAY
        ),
        ["kubernetes-eol 5: Kubernetes 1.30 (from `cluster.eks.version`) is older than 1.31, the oldest minor version still supported upstream (`min_supported`)"]
    );
}

#[test]
fn an_hpa_on_eks_needs_no_metrics_server_finding_gen_installs_it() {
    let aws = "    admin_cidrs: [203.0.113.7/32]\n    bastion: true\n";
    let hpa = "    hpa: {min: 2, max: 4, cpu: 70}\n";
    assert!(fired(
        &eks_catalog("1.35", ONE_GROUP, aws, hpa),
        &["hpa-without-metrics-server"]
    )
    .is_empty());
}

#[test]
fn eks_node_capacity_rules() {
    let aws = "    admin_cidrs: [203.0.113.7/32]\n    bastion: true\n";
    let rules = [
        "eks-spot-single-instance-type",
        "eks-spot-only",
        "eks-no-nodes",
    ];
    let on = |groups: &str| fired_on(&eks_catalog("1.35", groups, aws, ""), &rules, TODAY);
    // A lone spot type; an on-demand baseline runs, so not spot-only.
    assert_eq!(
        on("    node_groups:\n      base: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}\n      burst: {instance_types: [c6i.xlarge], min: 0, desired: 1, max: 9, spot: true}\n"),
        ["eks-spot-single-instance-type 8: spot node group `burst` draws on one instance type (`c6i.xlarge`): when AWS reclaims that capacity there is no other pool to replace its nodes (`min_instance_types` is 2)"]
    );
    // Spot only among the groups that run (the on-demand one is at 0).
    assert_eq!(
        on("    node_groups:\n      base: {instance_types: [m6i.large], min: 0, desired: 0, max: 4}\n      burst: {instance_types: [c6i.xlarge, c5.xlarge], min: 1, desired: 2, max: 9, spot: true}\n"),
        ["eks-spot-only 8: node group `burst` runs on spot, and no on-demand group runs a node: one reclaim can evict every pod at once"]
    );
    // Nothing runs at all: one finding, not a spot-only one.
    assert_eq!(
        on("    node_groups:\n      base: {instance_types: [m6i.large], min: 0, desired: 0, max: 4}\n      burst: {instance_types: [c6i.xlarge, c5.xlarge], min: 0, desired: 0, max: 9, spot: true}\n"),
        ["eks-no-nodes 6: no node group starts a machine (`base`, `burst` all have `desired: 0`) and gen installs no node autoscaler: every pod stays Pending"]
    );
    // The policy can ask for three types.
    let three = Policy::parse(
        "gen-policy.yaml",
        "rules:\n  eks-spot-single-instance-type: {params: {min_instance_types: 3}}\n",
    )
    .unwrap();
    let src = eks_catalog("1.35", "    node_groups:\n      base: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}\n      burst: {instance_types: [c6i.xlarge, c5.xlarge], min: 0, desired: 1, max: 9, spot: true}\n", aws, "");
    let r = lint_text(&src, &three);
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "eks-spot-single-instance-type" && f.line_col().0 == 8),
        "{:?}",
        r.findings
    );
}
