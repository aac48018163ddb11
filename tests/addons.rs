//! The platform add-ons (`addons`) as the cluster will see them: every K3s
//! HelmChart (ingress-nginx too) and every add-on Application validates
//! against its CRD subset with Python's jsonschema (an independent
//! implementation); the values are YAML carrying the catalog's facts at the
//! pinned versions; the add-on's Prometheus selects every rule and monitor
//! gen writes and the chart's own; its Alertmanager configuration loads in
//! amtool and reads the Secret it mounts; its namespace lets node-exporter
//! run.
//!
//! The charts themselves cannot be rendered here (no network to download
//! them), so what the chart does with a value is modelled in the tests from
//! the chart's documented behaviour, and said where it is.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gen::emit::upstream;
use serde_json::Value;

/// The YAML documents of a text gen wrote, read by gen's YAML 1.2 loader.
fn documents(name: &str, text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .map(|d| {
            let src = gen::SourceFile::new(name.to_owned(), d.to_owned());
            gen::catalog::yaml::load(&src)
                .unwrap_or_else(|p| panic!("{name}: {p:?}"))
                .value
        })
        .collect()
}

fn read(path: &Path) -> Vec<Value> {
    documents(
        &path.display().to_string(),
        &std::fs::read_to_string(path).unwrap(),
    )
}

/// The committed trees that install add-ons, and how: examples/msa-k3s (a
/// K3s HelmChart) and golden/addons (Argo CD Applications).
fn addon_trees() -> [PathBuf; 2] {
    [
        common::root().join("examples/msa-k3s/out"),
        common::root().join("golden/addons/out"),
    ]
}

/// The monitoring add-on of a tree: (its install object, its values).
fn monitoring(out: &Path) -> (Value, Value) {
    let k3s = out.join("k3s/manifests/kube-prometheus-stack.yaml");
    if k3s.is_file() {
        let chart = read(&k3s).remove(0);
        let values = documents(
            "valuesContent",
            chart["spec"]["valuesContent"]
                .as_str()
                .expect("valuesContent is a string"),
        )
        .remove(0);
        return (chart, values);
    }
    let app = read(&out.join("argocd/addons/kube-prometheus-stack.yaml")).remove(0);
    let values = app["spec"]["source"]["helm"]["valuesObject"].clone();
    (app, values)
}

/// Every object in `out/monitoring/<namespace>/` (gen's rules and monitors).
fn monitoring_objects(out: &Path) -> Vec<Value> {
    let dir = out.join("monitoring");
    walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.path().parent() != Some(dir.as_path()))
        .flat_map(|e| read(e.path()))
        .collect()
}

/// Whether `labels` satisfy a `matchLabels` selector (every pair present).
fn selects(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .expect("matchLabels")
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn every_helm_chart_and_addon_application_matches_its_crd_subset() {
    let Some(python) = common::peer_tool("python") else {
        return;
    };
    let mut charts = Vec::new();
    let mut apps = Vec::new();
    for parent in ["examples", "golden"] {
        for e in std::fs::read_dir(common::root().join(parent)).unwrap() {
            let out = e.unwrap().path().join("out");
            for f in walkdir::WalkDir::new(out.join("k3s/manifests"))
                .into_iter()
                .flatten()
            {
                if f.file_type().is_file() && read(f.path())[0]["kind"] == "HelmChart" {
                    charts.push(f.into_path());
                }
            }
            for f in walkdir::WalkDir::new(out.join("argocd/addons"))
                .into_iter()
                .flatten()
            {
                if f.file_type().is_file() {
                    apps.push(f.into_path());
                }
            }
        }
    }
    // ingress-nginx (karina) and kube-prometheus-stack (msa-k3s); the
    // golden case's two Applications.
    assert!(charts.len() >= 2, "{charts:?}");
    assert!(apps.len() >= 2, "{apps:?}");
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
files = sys.argv[2:]
for f in files:
    obj = yaml.safe_load(open(f))
    jsonschema.validate(obj, schema)
    if obj["kind"] == "HelmChart":
        values = yaml.safe_load(obj["spec"]["valuesContent"])
        assert isinstance(values, dict) and values, f
print(len(files))
"#;
    for (schema, files) in [
        ("schemas/helmchart.schema.json", &charts),
        ("schemas/argocd-application.schema.json", &apps),
    ] {
        let o = Command::new(&python)
            .args(["-c", script])
            .arg(common::root().join(schema))
            .args(files)
            .output()
            .unwrap();
        let (out, err) = common::text(&o);
        assert!(o.status.success(), "{schema}: {out}{err}");
        assert_eq!(out.trim(), files.len().to_string());
    }
}

#[test]
fn the_helm_chart_schema_refuses_what_the_crd_would() {
    let Some(python) = common::peer_tool("python") else {
        return;
    };
    // The subset is a real check: a misspelt field, a boolean as a string
    // and a missing version are each refused.
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
good = {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
        "metadata": {"name": "x", "namespace": "kube-system"},
        "spec": {"chart": "x", "repo": "https://charts.example", "version": "1.0.0",
                 "targetNamespace": "x", "createNamespace": True, "valuesContent": "a: 1\n"}}
jsonschema.validate(good, schema)
bad = []
for change in [("valuesContents", "a: 1\n"), ("createNamespace", "true")]:
    b = json.loads(json.dumps(good)); b["spec"][change[0]] = change[1]; bad.append(b)
b = json.loads(json.dumps(good)); del b["spec"]["version"]; bad.append(b)
for b in bad:
    try:
        jsonschema.validate(b, schema)
    except jsonschema.ValidationError:
        continue
    raise SystemExit("accepted: %r" % b)
print("ok")
"#;
    let o = Command::new(&python)
        .args(["-c", script])
        .arg(common::root().join("schemas/helmchart.schema.json"))
        .output()
        .unwrap();
    let (out, err) = common::text(&o);
    assert!(o.status.success() && out.trim() == "ok", "{out}{err}");
}

#[test]
fn the_values_carry_the_catalog_at_the_pinned_versions() {
    let catalog = std::fs::read(common::root().join("examples/msa-k3s/catalog.yaml")).unwrap();
    let tree = gen::compile("catalog.yaml", &catalog).unwrap().tree;
    let file = |p: &str| documents(p, std::str::from_utf8(tree.get(p).unwrap()).unwrap());
    let chart = file("k3s/manifests/kube-prometheus-stack.yaml").remove(0);
    let spec = &chart["spec"];
    let pin = upstream::KUBE_PROMETHEUS_STACK;
    assert_eq!(spec["chart"], pin.chart);
    assert_eq!(spec["repo"], pin.repo);
    assert_eq!(spec["version"], pin.version);
    assert_eq!(spec["targetNamespace"], "monitoring");
    // K3s names the Helm release after the HelmChart: the name the
    // selectors and the Prometheus pod labels below depend on.
    assert_eq!(chart["metadata"]["name"], "kube-prometheus-stack");
    let v = documents("valuesContent", spec["valuesContent"].as_str().unwrap()).remove(0);
    let p = &v["prometheus"]["prometheusSpec"];
    assert_eq!(p["retention"], "15d");
    let claim = &p["storageSpec"]["volumeClaimTemplate"]["spec"];
    assert_eq!(claim["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(claim["storageClassName"], "local-path");
    assert!(p["resources"]["requests"]["memory"].is_string());
    let g = &v["grafana"];
    assert_eq!(g["enabled"], true);
    assert_eq!(g["admin"]["existingSecret"], "grafana-admin");
    assert_eq!(g["persistence"]["size"], "5Gi");
    assert_eq!(g["persistence"]["storageClassName"], "local-path");
    assert_eq!(
        v["alertmanager"]["alertmanagerSpec"]["secrets"],
        serde_json::json!(["alertmanager-slack"])
    );
    // What K3s does not serve to the stack is not scraped.
    for k in [
        "kubeControllerManager",
        "kubeScheduler",
        "kubeEtcd",
        "kubeProxy",
    ] {
        assert_eq!(v[k]["enabled"], false, "{k}");
    }

    // The ingress controller's chart is pinned in the same table.
    let catalog = std::fs::read(common::root().join("examples/karina/catalog.yaml")).unwrap();
    let tree = gen::compile("catalog.yaml", &catalog).unwrap().tree;
    let nginx = documents(
        "ingress-nginx.yaml",
        std::str::from_utf8(tree.get("k3s/manifests/ingress-nginx.yaml").unwrap()).unwrap(),
    )
    .remove(0);
    assert_eq!(nginx["spec"]["version"], upstream::INGRESS_NGINX.version);
    assert_eq!(nginx["spec"]["repo"], upstream::INGRESS_NGINX.repo);

    // Outside K3s: Applications at the pins.
    let out = common::root().join("golden/addons/out");
    for pin in [upstream::KUBE_PROMETHEUS_STACK, upstream::METRICS_SERVER] {
        let app = read(&out.join(format!("argocd/addons/{}.yaml", pin.chart))).remove(0);
        let src = &app["spec"]["source"];
        assert_eq!(
            (&src["chart"], &src["repoURL"], &src["targetRevision"]),
            (
                &Value::from(pin.chart),
                &Value::from(pin.repo),
                &Value::from(pin.version)
            )
        );
    }
    let (_, v) = monitoring(&out);
    let p = &v["prometheus"]["prometheusSpec"];
    assert_eq!(p["retention"], "1w3d");
    assert_eq!(
        p["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"],
        "gp3"
    );
}

/// The chart labels its own PrometheusRules and ServiceMonitors with
/// `release: <release name>` and `commonLabels`, and the kube-state-metrics
/// and node-exporter monitors with `release` and their `additionalLabels`
/// (kube-prometheus-stack's documented behaviour, modelled here).
fn chart_own_labels(values: &Value) -> Vec<(&'static str, Value)> {
    let with = |extra: &Value| {
        let mut m = extra.as_object().cloned().unwrap_or_default();
        m.insert("release".into(), "kube-prometheus-stack".into());
        Value::Object(m)
    };
    vec![
        ("chart's own", with(&values["commonLabels"])),
        (
            "kube-state-metrics",
            with(&values["kube-state-metrics"]["prometheus"]["monitor"]["additionalLabels"]),
        ),
        (
            "node-exporter",
            with(&values["prometheus-node-exporter"]["prometheus"]["monitor"]["additionalLabels"]),
        ),
    ]
}

#[test]
fn the_addon_prometheus_selects_every_rule_and_monitor() {
    for out in addon_trees() {
        let (_, values) = monitoring(&out);
        let spec = &values["prometheus"]["prometheusSpec"];
        // gen's rules and monitors live in the services' namespaces.
        assert_eq!(spec["ruleNamespaceSelector"], serde_json::json!({}));
        assert_eq!(
            spec["serviceMonitorNamespaceSelector"],
            serde_json::json!({})
        );
        let objs = monitoring_objects(&out);
        assert!(
            objs.iter().any(|o| o["kind"] == "ServiceMonitor")
                && objs.iter().any(|o| o["kind"] == "PrometheusRule"),
            "{}",
            out.display()
        );
        for o in &objs {
            let selector = match o["kind"].as_str() {
                Some("PrometheusRule") => &spec["ruleSelector"],
                Some("ServiceMonitor") => &spec["serviceMonitorSelector"],
                k => panic!("{k:?}"),
            };
            assert!(
                selects(selector, &o["metadata"]["labels"]),
                "{}: {} {} is not selected by {selector}",
                out.display(),
                o["kind"],
                o["metadata"]["name"]
            );
        }
        for (what, labels) in chart_own_labels(&values) {
            for key in ["ruleSelector", "serviceMonitorSelector"] {
                assert!(
                    selects(&spec[key], &labels),
                    "{}: {what} objects {labels} not selected by {key}",
                    out.display()
                );
            }
        }
    }
}

#[test]
fn the_addon_alertmanager_config_loads_and_reads_the_mounted_secret() {
    for out in addon_trees() {
        let (_, values) = monitoring(&out);
        let am = &values["alertmanager"];
        let cfg = &am["config"];
        // Helm replaces the chart's default lists with these: every
        // receiver a route names must be defined here.
        let defined: Vec<&Value> = cfg["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["name"])
            .collect();
        let mut routes = vec![&cfg["route"]];
        routes.extend(cfg["route"]["routes"].as_array().unwrap());
        for r in routes {
            assert!(defined.contains(&&r["receiver"]), "{r}");
        }
        // The URL file lies in a Secret the operator mounts.
        let text = cfg.to_string();
        let secrets: Vec<&str> = am["alertmanagerSpec"]["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let file = cfg["receivers"][0]
            .as_object()
            .unwrap()
            .iter()
            .find_map(|(k, v)| k.ends_with("_configs").then(|| v[0].clone()))
            .unwrap();
        let path = file["api_url_file"]
            .as_str()
            .or(file["url_file"].as_str())
            .unwrap();
        assert!(
            secrets
                .iter()
                .any(|s| path.starts_with(&format!("/etc/alertmanager/secrets/{s}/"))),
            "{path} is not in a mounted Secret {secrets:?}"
        );
        assert!(!text.contains("hooks.slack.com"), "a URL inlined: {text}");

        let Some(amtool) = common::local_tool("amtool", "scripts/prometheus-tools.sh") else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alertmanager.yaml");
        std::fs::write(&file, serde_json::to_string(cfg).unwrap()).unwrap();
        let o = Command::new(&amtool)
            .arg("check-config")
            .arg(&file)
            .output()
            .unwrap();
        let (o1, o2) = common::text(&o);
        assert!(o.status.success(), "{}: {o1}{o2}", out.display());
    }
}

#[test]
fn the_addon_namespace_lets_node_exporter_run() {
    // node-exporter uses the host's network, PID namespace and filesystem:
    // Pod Security `baseline` and `restricted` refuse it.
    let privileged = |labels: &Value, what: &str| {
        assert_eq!(
            labels["pod-security.kubernetes.io/enforce"], "privileged",
            "{what}: {labels}"
        );
        assert_eq!(
            labels["pod-security.kubernetes.io/warn"], "restricted",
            "{what}"
        );
    };
    for out in addon_trees() {
        let (install, _) = monitoring(&out);
        let ns = install["spec"]["targetNamespace"]
            .as_str()
            .or(install["spec"]["destination"]["namespace"].as_str())
            .unwrap()
            .to_owned();
        let mut seen: BTreeMap<String, Value> = BTreeMap::new();
        for n in read(&out.join("manifests/namespaces.yaml")) {
            seen.insert(
                n["metadata"]["name"].as_str().unwrap().to_owned(),
                n["metadata"]["labels"].clone(),
            );
        }
        privileged(&seen[&ns], "manifests/namespaces.yaml");
        // Every other namespace stays restricted.
        for (name, labels) in seen.iter().filter(|(n, _)| **n != ns) {
            assert_eq!(
                labels["pod-security.kubernetes.io/enforce"], "restricted",
                "{name}"
            );
        }
        let k3s = out.join("k3s/manifests/kube-prometheus-stack-namespace.yaml");
        if k3s.is_file() {
            privileged(&read(&k3s)[0]["metadata"]["labels"], "K3s manifest");
        } else {
            privileged(
                &install["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"],
                "Argo CD managed namespace",
            );
        }
    }
}
