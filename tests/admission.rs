//! Every example and golden case on a real API server as a user's cluster
//! has it: Namespaces under Pod Security `restricted` (gen labels its
//! Namespaces so), every chart installed with the real helm CLI
//! (`helm upgrade --install --dry-run=server`, then for real), every pod
//! the real controllers create admitted, and gen's own manifests of the
//! same service server-side applied over what helm installed changing
//! nothing: the API server itself says the two renders are the same
//! objects. The control plane is `tests/cluster/` (no kubelet: its node
//! agent reports the admitted pods Ready).

mod cluster;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cluster::{tool, TestCluster};
use serde_json::Value;

/// Every case whose committed `out/` tree has charts.
fn cases() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for parent in ["examples", "golden"] {
        for e in std::fs::read_dir(common::root().join(parent)).expect("read dir") {
            let dir = e.expect("entry").path();
            if dir.join("out/charts").is_dir() {
                v.push(dir);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 8, "cases: {v:?}");
    v
}

/// (service, namespace, manifest file) of each chart of a case.
fn charts(out: &Path) -> Vec<(String, String, PathBuf)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(out.join("charts")).expect("charts") {
        let chart = e.expect("entry").path();
        let svc = chart.file_name().unwrap().to_string_lossy().into_owned();
        let ns = std::fs::read_dir(out.join("manifests"))
            .expect("manifests")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|d| d.join(format!("{svc}.yaml")).is_file())
            .unwrap_or_else(|| panic!("no manifest of {svc} in {}", out.display()));
        let ns_name = ns.file_name().unwrap().to_string_lossy().into_owned();
        v.push((svc.clone(), ns_name, ns.join(format!("{svc}.yaml"))));
    }
    v.sort();
    v
}

fn helm(c: &TestCluster, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(tool("helm"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run helm")
}

/// What the server keeps besides the object itself.
fn normalize(mut v: Value) -> Value {
    if let Some(meta) = v["metadata"].as_object_mut() {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(k);
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

fn namespaces_of(out: &Path) -> Vec<String> {
    std::fs::read_dir(out.join("manifests"))
        .expect("manifests")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_case_is_admitted_under_restricted_and_helm_agrees_with_gen() {
    let c = TestCluster::shared();
    let home = tempfile::tempdir().expect("tempdir");
    let mut checked_objects = 0;
    for case in cases() {
        let out = case.join("out");
        let name = case.display().to_string();
        // gen's Namespaces, as `gen apply` creates them.
        let ns_file = out.join("manifests/namespaces.yaml");
        let o = c.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=gen",
            "-f",
            ns_file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {o:?}");
        for ns in namespaces_of(&out) {
            let live = c.get("namespace", None, &ns).expect("namespace");
            assert_eq!(
                live["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted",
                "{name}: namespace {ns}"
            );
        }
        for (svc, ns, manifest) in charts(&out) {
            let chart = out.join("charts").join(&svc);
            let chart = chart.to_str().unwrap();
            let dry = helm(
                c,
                home.path(),
                &[
                    "upgrade",
                    "--install",
                    &svc,
                    chart,
                    "-n",
                    &ns,
                    "--dry-run=server",
                ],
            );
            assert!(
                dry.status.success(),
                "{name}: helm dry run of {svc}: {dry:?}"
            );
            let real = helm(
                c,
                home.path(),
                &["upgrade", "--install", &svc, chart, "-n", &ns],
            );
            assert!(
                real.status.success(),
                "{name}: helm install of {svc}: {real:?}"
            );
            // gen's render of the same service, server-side applied (dry
            // run) over helm's objects as another field manager: a
            // different value anywhere would be a conflict, an extra field
            // a change.
            let o = c.kubectl(&[
                "apply",
                "--server-side",
                "--dry-run=server",
                "--field-manager=gen-compare",
                "-f",
                manifest.to_str().unwrap(),
                "-o",
                "json",
            ]);
            assert!(
                o.status.success(),
                "{name}: gen's {svc} differs from helm's install: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let applied: Value = serde_json::from_slice(&o.stdout).expect("json");
            let items = match applied["kind"].as_str() {
                Some("List") => applied["items"].as_array().cloned().unwrap_or_default(),
                _ => vec![applied],
            };
            assert!(!items.is_empty(), "{name}: {svc}");
            for item in items {
                let kind = item["kind"].as_str().unwrap_or_default().to_owned();
                let obj = item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let mut live = c
                    .get(&kind.to_lowercase(), Some(&ns), &obj)
                    .unwrap_or_else(|| panic!("{name}: helm did not install {kind}/{obj}"));
                let mut item = item;
                // An autoscaled workload's replicas are the HPA's (the
                // controller may scale it to its minimum between the dry
                // run and this read); neither renderer sets them.
                if c.get("horizontalpodautoscaler", Some(&ns), &obj).is_some() {
                    assert!(
                        !manifest_sets_replicas(&manifest, &kind, &obj),
                        "{name}: {kind}/{obj} is autoscaled but gen sets its replicas"
                    );
                    for o in [&mut item, &mut live] {
                        if let Some(spec) = o["spec"].as_object_mut() {
                            spec.remove("replicas");
                        }
                    }
                }
                assert_eq!(
                    normalize(item),
                    normalize(live),
                    "{name}: {kind}/{obj} as gen renders it changes what helm installed"
                );
                checked_objects += 1;
            }
        }
        // Every pod the controllers create is admitted: every Deployment
        // and StatefulSet reaches its replicas, and no controller was
        // refused pods.
        for ns in namespaces_of(&out) {
            c.eventually(
                &format!("{name}: every deployment in {ns} available"),
                Duration::from_secs(90),
                || {
                    let refused: Vec<String> = c
                        .list("events", &ns)
                        .iter()
                        .filter(|e| e["reason"] == "FailedCreate")
                        .map(|e| e["message"].as_str().unwrap_or("").to_owned())
                        .collect();
                    assert!(
                        refused.is_empty(),
                        "{name}: pods refused in {ns}: {refused:?}"
                    );
                    let ready = |kind: &str, field: &str| {
                        c.list(kind, &ns).iter().all(|d| {
                            d["status"][field].as_i64().unwrap_or(0)
                                >= d["spec"]["replicas"].as_i64().unwrap_or(1)
                        })
                    };
                    // A StatefulSet's pods (with their claims) too.
                    (ready("deployments", "availableReplicas")
                        && ready("statefulsets", "readyReplicas"))
                    .then_some(())
                },
            );
            assert!(
                !c.list("pods", &ns).is_empty()
                    || (c.list("deployments", &ns).is_empty()
                        && c.list("statefulsets", &ns).is_empty()),
                "{name}: no pod in {ns}"
            );
        }
        // Clean up, so the next case's namespaces (often of the same
        // names) start empty.
        for ns in namespaces_of(&out) {
            let _ = c.kubectl(&["delete", "namespace", &ns, "--wait=true", "--timeout=120s"]);
        }
    }
    assert!(checked_objects >= 40, "{checked_objects} objects compared");
}

#[test]
fn a_pod_that_breaks_restricted_is_refused_in_a_gen_namespace() {
    // The test above must be able to fail: the same server refuses a pod
    // that runs as root in a Namespace gen labelled.
    let c = TestCluster::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = dir.path().join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: psa-probe\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n",
    )
    .expect("write");
    let built = common::gen(
        dir.path(),
        &[
            "build",
            common::root()
                .join("examples/strategies/catalog.yaml")
                .to_str()
                .unwrap(),
            "--out",
            "out",
        ],
    );
    assert!(built.status.success(), "{built:?}");
    let labels =
        std::fs::read_to_string(dir.path().join("out/manifests/namespaces.yaml")).expect("read");
    assert!(
        labels.contains("pod-security.kubernetes.io/enforce: restricted"),
        "{labels}"
    );
    c.kubectl_ok(&["apply", "-f", ns.to_str().unwrap()]);
    let o = c.kubectl(&[
        "run",
        "root-pod",
        "-n",
        "psa-probe",
        "--image=nginx:1.27",
        "--restart=Never",
        "--overrides",
        r#"{"spec":{"securityContext":{"runAsUser":0}}}"#,
    ]);
    assert!(!o.status.success(), "a root pod was admitted");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("violates PodSecurity \"restricted"), "{err}");
}

/// Whether gen's manifest file sets `spec.replicas` of `kind`/`name` (gen
/// writes block YAML: top-level keys at column 0, `spec`'s at 2).
fn manifest_sets_replicas(manifest: &Path, kind: &str, name: &str) -> bool {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc = text
        .split("\n---\n")
        .find(|d| {
            d.lines().any(|l| l == format!("kind: {kind}"))
                && d.lines().any(|l| l == format!("  name: {name}"))
        })
        .unwrap_or_else(|| panic!("{}: no {kind}/{name}", manifest.display()));
    let spec = doc.split("\nspec:\n").nth(1).unwrap_or_default();
    spec.lines()
        .take_while(|l| l.starts_with(' '))
        .any(|l| l.starts_with("  replicas:"))
}
