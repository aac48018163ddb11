//! Outputs checked by the tools users trust, installed by `scripts/test.sh`
//! into a local venv (`GEN_VENV`). Without the venv these tests say so and
//! pass only when `GEN_REQUIRE_PEERS` is unset (plain `cargo test` on a
//! laptop); `scripts/test.sh` and CI set it, so a missing tool fails there.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn venv_tool(name: &str) -> Option<PathBuf> {
    common::peer_tool(name)
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
    // Every YAML file gen writes, except chart templates (Go templates, not
    // YAML until Helm renders them; the rendered form is the manifests).
    let files: Vec<PathBuf> = out_trees()
        .iter()
        .flat_map(|t| walkdir::WalkDir::new(t).into_iter().flatten())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml")
                && !p.components().any(|c| c.as_os_str() == "templates")
        })
        .collect();
    assert!(files.len() > 40);
    cmd.args(&files);
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "yamllint findings:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Run a Python peer script from `tests/peers/`; return stdout, or panic
/// with everything it printed.
fn run_py(python: &std::path::Path, script: &str, args: &[&std::path::Path]) -> String {
    let o = Command::new(python)
        .arg(common::root().join("tests/peers").join(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{script} failed:\n{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn summary(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

/// Services over every golden and example catalog.
fn service_count(trees: &[PathBuf]) -> usize {
    trees
        .iter()
        .map(|t| {
            let bytes = std::fs::read(t.parent().unwrap().join("catalog.yaml")).unwrap();
            gen::compile("catalog.yaml", &bytes)
                .unwrap()
                .model
                .services
                .len()
        })
        .sum()
}

/// Charts times environments over every golden and example catalog.
fn environment_render_count(trees: &[PathBuf]) -> usize {
    trees
        .iter()
        .map(|t| {
            let bytes = std::fs::read(t.parent().unwrap().join("catalog.yaml")).unwrap();
            let model = gen::compile("catalog.yaml", &bytes).unwrap().model;
            model.services.len() * model.environments().count()
        })
        .sum()
}

/// Helm's engine lints every chart clean (strict: warnings count) and renders
/// it, with default values, to exactly the objects of the service's manifest;
/// with each environment's `values-<env>.yaml`, it lints clean too and
/// renders exactly `environments/<env>/manifests/`.
#[test]
fn helm_lints_every_chart_and_renders_exactly_the_manifests() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let trees = out_trees();
    let args: Vec<&std::path::Path> = trees.iter().map(PathBuf::as_path).collect();
    let s = summary(&run_py(&python, "helm_check.py", &args));
    assert_eq!(s["failures"], 0);
    assert_eq!(s["charts"], service_count(&trees));
    let renders = environment_render_count(&trees);
    assert!(
        renders >= 10,
        "the examples and golden cases have environments"
    );
    assert_eq!(s["environment_renders"], renders);
    assert_eq!(s["invariants"], serde_json::json!([]));
}

/// Across the five examples every kind of object is produced, by Helm.
#[test]
fn the_examples_produce_every_kind() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let trees: Vec<PathBuf> = out_trees()
        .into_iter()
        .filter(|t| t.starts_with(common::root().join("examples")))
        .collect();
    assert_eq!(trees.len(), 5);
    let args: Vec<&std::path::Path> = trees.iter().map(PathBuf::as_path).collect();
    let s = summary(&run_py(&python, "helm_check.py", &args));
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "NetworkPolicy",
        "ServiceAccount",
        "ConfigMap",
    ] {
        assert!(
            s["kinds"][kind].as_u64().unwrap_or(0) > 0,
            "no {kind} in the examples: {s}"
        );
    }
    assert_eq!(s["unpinned_images"], 0);
}

/// Overrides change exactly the fields they name; bad values are refused by
/// Helm itself (values.schema.json and template guards).
#[test]
fn helm_overrides_change_exactly_those_fields_and_bad_values_are_refused() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let s = summary(&run_py(
        &python,
        "helm_overrides.py",
        &[common::root().as_path()],
    ));
    assert_eq!(s["failures"], 0);
    assert!(s["refused"].as_u64().unwrap() >= 10);
}

/// `kubernetes-validate --strict` accepts every manifest (environments'
/// included), against the Kubernetes version each catalog targets.
#[test]
fn kubernetes_validate_strict_accepts_every_manifest() {
    let Some(kv) = venv_tool("kubernetes-validate") else {
        return;
    };
    for tree in out_trees() {
        let bytes = std::fs::read(tree.parent().unwrap().join("catalog.yaml")).unwrap();
        let version = format!(
            "{}.0",
            gen::compile("catalog.yaml", &bytes)
                .unwrap()
                .model
                .kubernetes
        );
        // The default render and every environment's.
        let files: Vec<PathBuf> = ["manifests", "environments"]
            .iter()
            .flat_map(|d| walkdir::WalkDir::new(tree.join(d)).into_iter().flatten())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        assert!(files.len() >= 2, "{}", tree.display());
        let o = Command::new(&kv)
            .args(["--strict", "--quiet", "-k", &version])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "kubernetes-validate {version} on {}:\n{}{}",
            tree.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Render a chart with Helm's engine (default values) and return its env
/// ConfigMap's `data`, its Ingress paths, its files' contents and its
/// container's command + args as `{"data", "paths", "files", "command"}`.
fn helm_render(
    python: &std::path::Path,
    chart: &std::path::Path,
    name: &str,
    namespace: &str,
) -> serde_json::Value {
    let script = r#"
import json, sys
import helm_python as helm, yaml
with helm.Chart.load(sys.argv[1]) as c:
    out = c.render({}, name=sys.argv[2], namespace=sys.argv[3])
data, paths, files, command = None, [], [], []
for path, text in out.items():
    if path.endswith("NOTES.txt"):
        continue
    for d in yaml.safe_load_all(text):
        if isinstance(d, dict) and d.get("kind") == "ConfigMap":
            if d["metadata"]["name"].endswith("-env"):
                data = d["data"]
            else:
                files = list(d["data"].values())
        if isinstance(d, dict) and d.get("kind") == "Deployment":
            c = d["spec"]["template"]["spec"]["containers"][0]
            command = c.get("command", []) + c.get("args", [])
        if isinstance(d, dict) and d.get("kind") == "Ingress":
            paths = [p["path"] for r in d["spec"]["rules"] for p in r["http"]["paths"]]
json.dump({"data": data, "paths": paths, "files": files, "command": command}, sys.stdout)
"#;
    let o = Command::new(python)
        .args(["-c", script, chart.to_str().unwrap(), name, namespace])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Strings hostile to Go templates, shells and YAML 1.1 go through real Helm
/// and come out byte for byte: env values (ConfigMap data) and route paths.
#[test]
fn hostile_strings_come_out_of_helm_literally() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let dir = common::root().join("golden/hostile-strings");
    let seen = helm_render(&python, &dir.join("out/charts/echo"), "echo", "hostile");

    // What the catalog says, read by gen's own YAML 1.2 loader.
    let catalog = std::fs::read(dir.join("catalog.yaml")).unwrap();
    let model = gen::compile("catalog.yaml", &catalog).unwrap().model;
    let svc = &model.services[0];
    assert!(svc.env.len() >= 18);
    let data = seen["data"].as_object().expect("a ConfigMap");
    for (k, v) in &svc.env {
        assert_eq!(
            data.get(k).and_then(|x| x.as_str()),
            Some(v.as_str()),
            "env {k} changed on the way through Helm"
        );
    }
    assert_eq!(data.len(), svc.env.len());
    let want: Vec<&str> = svc.routes.iter().map(|r| r.path.as_str()).collect();
    let got: Vec<&str> = seen["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(got, want);
    assert!(got.iter().any(|p| p.contains("$(id)")));
    let mut want: Vec<&str> = svc
        .container
        .files
        .iter()
        .map(|f| f.content.as_str())
        .collect();
    let mut got: Vec<&str> = seen["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    want.sort_unstable();
    got.sort_unstable();
    assert!(!want.is_empty() && want.iter().any(|f| f.contains("{{")));
    assert_eq!(got, want, "files changed on the way through Helm");
    let want: Vec<&str> = svc
        .container
        .command
        .iter()
        .chain(&svc.container.args)
        .map(String::as_str)
        .collect();
    assert!(want.iter().any(|a| a.contains("{{")));
    assert_eq!(seen["command"], serde_json::json!(want));
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
    if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-env"):
        out.update(doc["data"])
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

/// The Argo CD Applications validate, with Python's jsonschema (an
/// independent implementation), against the Application CRD subset gen ships.
#[test]
fn argo_cd_applications_match_the_crd_subset() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let dir = common::root().join("examples/karina/out/argocd");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 2, "one Application per chart");
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
for f in sys.argv[2:]:
    app = yaml.safe_load(open(f))
    jsonschema.validate(app, schema)
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, f
print(len(sys.argv) - 2)
"#;
    let o = Command::new(python)
        .args(["-c", script])
        .arg(common::root().join("schemas/argocd-application.schema.json"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The PrometheusRules and ServiceMonitors validate, with Python's
/// jsonschema, against the CRD subsets gen ships; the Alertmanager
/// configuration reads the Slack URL from a file and never holds it.
#[test]
fn alert_rules_and_monitors_match_the_crd_subsets() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let out = common::root().join("examples/msa-k3s/out/monitoring");
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&out)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.file_name() != "alertmanager.yaml")
        .map(|e| e.into_path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let script = r#"
import json, sys, yaml, jsonschema
schemas = {"PrometheusRule": json.load(open(sys.argv[1])), "ServiceMonitor": json.load(open(sys.argv[2]))}
for f in sys.argv[4:]:
    docs = list(yaml.safe_load_all(open(f)))
    assert [d["kind"] for d in docs] == ["ServiceMonitor", "PrometheusRule"], f
    for d in docs:
        jsonschema.validate(d, schemas[d["kind"]])
        assert d["metadata"]["labels"]["release"] == "kube-prometheus-stack", d
    names = [r["alert"] for g in docs[1]["spec"]["groups"] for r in g["rules"]]
    assert any(n.endswith("Unavailable") for n in names), names
    assert any(n.endswith("HighErrorRate") for n in names), names
    assert docs[0]["spec"]["endpoints"][0]["path"] == "/actuator/prometheus", docs[0]
am = yaml.safe_load(open(sys.argv[3]))
cfg = am["receivers"][0]["slack_configs"][0]
assert cfg["api_url_file"] == "/etc/alertmanager/secrets/alertmanager-slack/url", cfg
assert "api_url" not in cfg, cfg
assert "matchers" not in am["route"], am["route"]
print("ok")
"#;
    let o = Command::new(python)
        .args(["-c", script])
        .arg(common::root().join("schemas/prometheusrule.schema.json"))
        .arg(common::root().join("schemas/servicemonitor.schema.json"))
        .arg(out.join("alertmanager.yaml"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Code points refused in every catalog string: the C0 controls but tab and
/// line feed, DEL, the C1 controls (NEL among them), U+FFFE and U+FFFF.
fn refused_code_points() -> Vec<char> {
    (0u32..0x20)
        .filter(|c| *c != 0x09 && *c != 0x0a)
        .chain([0x7f])
        .chain(0x80..=0x9f)
        .chain([0xfffe, 0xffff])
        .filter_map(char::from_u32)
        .collect()
}

/// One representative of every other class: tab, line feed, printable
/// ASCII, NBSP and soft hyphen, the BOM, line and paragraph separators,
/// other noncharacters, the replacement character, private use, the edges
/// of the BMP's surrogate gap (surrogates cannot be in a Rust string), the
/// astral planes up to U+10FFFF.
const ACCEPTED: [char; 18] = [
    '\t',
    '\n',
    ' ',
    '~',
    '\u{a0}',
    '\u{ad}',
    '\u{feff}',
    '\u{2028}',
    '\u{2029}',
    '\u{fdd0}',
    '\u{fffd}',
    '\u{e000}',
    '\u{d7ff}',
    '\u{1fffe}',
    '\u{1f980}',
    '\u{10fffd}',
    '\u{10ffff}',
    'é',
];

/// A catalog with `a<c>b` as the value of env variable `C<hex>` for each
/// character, in the base and in environment `prod`'s override.
fn character_catalog(chars: &[char]) -> String {
    let env = |indent: &str| -> String {
        chars
            .iter()
            .map(|c| {
                let n = u32::from(*c);
                format!("{indent}C{n:06X}: \"a\\U{n:08X}b\"\n")
            })
            .collect()
    };
    format!(
        "version: 1\nproject: chars\nservices:\n  web:\n    image: ghcr.io/x/web:1.0.0\n    port: 8080\n    env:\n{}environments:\n  prod:\n    services:\n      web:\n        env:\n{}",
        env("      "),
        env("          ")
    )
}

/// Every code point class: refused with its location, the character named
/// as U+XXXX, in the base and in an environment; or carried by Helm's own
/// engine exactly (the ConfigMap holds the catalog's string, and the whole
/// render equals gen's manifest, default and environment values alike).
#[test]
fn every_character_class_is_refused_or_survives_helm_exactly() {
    let refused = refused_code_points();
    assert_eq!(refused.len(), 30 + 1 + 32 + 2);
    let text = character_catalog(&refused);
    let problems = match gen::compile("catalog.yaml", text.as_bytes()) {
        Err(gen::CompileError::Catalog(p)) => p,
        other => panic!("refused characters compiled: {:?}", other.err()),
    };
    for (i, c) in refused.iter().enumerate() {
        let n = u32::from(*c);
        for (path, line) in [
            (format!("`services.web.env.C{n:06X}`"), 8 + i),
            (
                format!("`environments.prod.services.web.env.C{n:06X}`"),
                8 + refused.len() + 5 + i,
            ),
        ] {
            let p = problems
                .iter()
                .find(|p| p.message.starts_with(&path))
                .unwrap_or_else(|| panic!("U+{n:04X} at {path} not refused"));
            assert_eq!(p.code, "catalog::refused-character");
            assert!(p.message.contains(&format!("U+{n:04X} (")), "{}", p.message);
            assert!(p.message.ends_with("at character 2"), "{}", p.message);
            assert_eq!(
                p.line_col(),
                (line, 16 + 4 * usize::from(line > 8 + refused.len())),
                "{path}"
            );
            assert!(p.help.as_deref().is_some_and(|h| h.contains("remove it")));
        }
    }
    assert_eq!(problems.len(), 2 * refused.len(), "{problems:?}");

    let text = character_catalog(&ACCEPTED);
    let model = gen::compile("catalog.yaml", text.as_bytes())
        .unwrap_or_else(|e| panic!("accepted characters refused: {e:?}"))
        .model;
    assert_eq!(model.services[0].env.len(), ACCEPTED.len());
    let Some(python) = venv_tool("python") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("catalog.yaml"), &text).unwrap();
    let o = common::gen(d.path(), &["build"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    let out = d.path().join("out");
    // Helm renders exactly gen's manifests, with default and prod values.
    let s = summary(&run_py(&python, "helm_check.py", &[out.as_path()]));
    assert_eq!(s["failures"], 0, "{s}");
    assert_eq!(s["charts"], 1);
    assert_eq!(s["environment_renders"], 1);
    // And the ConfigMap holds the catalog's strings, not an equal change on
    // both sides.
    let seen = helm_render(&python, &out.join("charts/web"), "web", "chars");
    let data = seen["data"].as_object().expect("a ConfigMap with data");
    for (k, v) in &model.services[0].env {
        assert_eq!(
            data.get(k).and_then(|x| x.as_str()),
            Some(v.as_str()),
            "{k} changed on the way through Helm"
        );
    }
    assert_eq!(data.len(), ACCEPTED.len());
}
