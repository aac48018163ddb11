//! The monitoring output, checked by the real tools: every Alertmanager
//! configuration gen wrote (examples and golden trees) loads in
//! `amtool check-config`; every PrometheusRule's rules pass
//! `promtool check rules`, and each alert passes `promtool test rules` unit
//! tests with synthetic series: firing when users are hurt, quiet when not.
//! promtool and amtool are installed into ./.tools/bin by
//! `scripts/prometheus-tools.sh` (called by scripts/test.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// promtool or amtool, from ./.tools/bin.
fn tool(name: &str) -> Option<PathBuf> {
    common::local_tool(name, "scripts/prometheus-tools.sh")
}

/// Every committed output tree: examples/*/out and golden/*/out.
fn out_trees() -> Vec<PathBuf> {
    let mut trees = Vec::new();
    for dir in ["examples", "golden"] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            let out = e.unwrap().path().join("out");
            if out.is_dir() {
                trees.push(out);
            }
        }
    }
    trees.sort();
    trees
}

/// The YAML documents of a file gen wrote.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|d| {
            let src = gen::SourceFile::new(path.display().to_string(), d.to_owned());
            gen::catalog::yaml::load(&src)
                .unwrap_or_else(|p| panic!("{}: {p:?}", path.display()))
                .value
        })
        .collect()
}

/// (file, PrometheusRule) of every monitoring file of every tree.
fn prometheus_rules() -> Vec<(PathBuf, Value)> {
    let mut rules = Vec::new();
    for out in out_trees() {
        let dir = out.join("monitoring");
        if !dir.is_dir() {
            continue;
        }
        for e in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() && e.path().parent() != Some(dir.as_path()) {
                for d in documents(e.path()) {
                    if d["kind"] == "PrometheusRule" {
                        rules.push((e.path().to_owned(), d));
                    }
                }
            }
        }
    }
    rules
}

fn alertmanager_configs() -> Vec<PathBuf> {
    out_trees()
        .into_iter()
        .map(|o| o.join("monitoring/alertmanager.yaml"))
        .filter(|p| p.is_file())
        .collect()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().expect("run tool");
    let (out, err) = common::text(&o);
    (o.status.success(), format!("{out}{err}"))
}

#[test]
fn the_outputs_have_rules_and_alertmanager_configs_to_check() {
    // The checks below must not pass by finding nothing: the example and
    // the golden case with alerts stay covered.
    let rules = prometheus_rules();
    let configs = alertmanager_configs();
    assert!(rules.len() >= 5, "{rules:?}");
    assert!(configs.len() >= 2, "{configs:?}");
    let text: Vec<String> = configs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(text.iter().any(|t| t.contains("slack_configs:")));
    assert!(text.iter().any(|t| t.contains("webhook_configs:")));
}

#[test]
fn amtool_loads_every_alertmanager_configuration() {
    let Some(amtool) = tool("amtool") else {
        return;
    };
    for cfg in alertmanager_configs() {
        let (ok, out) = run(Command::new(&amtool).arg("check-config").arg(&cfg));
        assert!(ok, "{}: amtool refused it:\n{out}", cfg.display());
    }
}

#[test]
fn amtool_refuses_matchers_on_the_root_route() {
    // What gen wrote before: the check above is a real one.
    let Some(amtool) = tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yaml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: r\n  matchers: ['project=\"msa\"']\nreceivers:\n- name: r\n",
    )
    .unwrap();
    let (ok, out) = run(Command::new(&amtool).arg("check-config").arg(&cfg));
    assert!(
        !ok && out.contains("root route must not have any matchers"),
        "{out}"
    );
}

/// The rules of a PrometheusRule as a Prometheus rule file.
fn rule_file(dir: &Path, name: &str, rule: &Value) -> PathBuf {
    let path = dir.join(format!("{name}.rules.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&rule["spec"]).unwrap()).unwrap();
    path
}

#[test]
fn promtool_checks_every_rule() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, rule)) in prometheus_rules().iter().enumerate() {
        let path = rule_file(dir.path(), &i.to_string(), rule);
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(&path));
        assert!(ok, "{}: promtool check rules:\n{out}", file.display());
    }
}

/// One alert of a rule file: its name, labels and annotations.
struct Alert {
    name: String,
    labels: Value,
    annotations: Value,
    for_minutes: u64,
}

fn alerts(rule: &Value) -> Vec<Alert> {
    rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| Alert {
            name: r["alert"].as_str().unwrap().to_owned(),
            labels: r["labels"].clone(),
            annotations: r["annotations"].clone(),
            for_minutes: r["for"]
                .as_str()
                .unwrap()
                .strip_suffix('m')
                .unwrap()
                .parse()
                .unwrap(),
        })
        .collect()
}

/// A `promtool test rules` case: series, then at `minute` the alert fires
/// (with the rule's labels) or not.
fn case(series: &[(String, String)], alert: &Alert, minute: u64, fires: bool) -> Value {
    let mut expected = json!({"alertname": alert.name, "labels": alert.labels});
    expected["labels"]["alertname"] = json!(alert.name);
    json!({
        "interval": "1m",
        "input_series": series.iter().map(|(s, v)| json!({"series": s, "values": v})).collect::<Vec<_>>(),
        "alert_rule_test": [{
            "eval_time": format!("{minute}m"),
            "alertname": alert.name,
            "exp_alerts": if fires {
                json!([{"exp_labels": alert.labels, "exp_annotations": alert.annotations}])
            } else {
                json!([])
            },
        }],
    })
}

/// The unit tests of one service's alerts. `service` and `namespace` are
/// the alert's labels; `canary` whether a `<service>-canary` Service exists.
fn cases(rule: &Value, canary: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for a in alerts(rule) {
        let ns = a.labels["namespace"].as_str().unwrap().to_owned();
        let svc = a.labels["service"].as_str().unwrap().to_owned();
        let n = 3 * (a.for_minutes + 10);
        let steady = |v: &str| format!("{v}x{n}");
        let s = |metric: &str, labels: &str| format!("{metric}{{namespace=\"{ns}\", {labels}}}");
        let late = a.for_minutes + 5;
        if a.name.ends_with("Unavailable") {
            let info = (
                s("kube_endpoint_info", &format!("endpoint=\"{svc}\"")),
                steady("1"),
            );
            let ready = |ep: &str, ready: bool, ip: &str| {
                s(
                    "kube_endpoint_address",
                    &format!("endpoint=\"{ep}\", ip=\"{ip}\", ready=\"{ready}\""),
                )
            };
            // A blue-green service whose live colour is down while the idle
            // one is healthy: the Service has no ready endpoint. Users are
            // hurt although Deployments still report available pods.
            let dead = vec![
                info.clone(),
                (ready(&svc, false, "10.0.0.1"), steady("1")),
                (
                    s(
                        "kube_deployment_status_replicas_available",
                        &format!("deployment=\"{svc}-green\""),
                    ),
                    steady("2"),
                ),
                (
                    ready(&format!("{svc}-other"), true, "10.0.0.2"),
                    steady("1"),
                ),
            ];
            out.push(case(&dead, &a, late, true));
            // Not before `for` has passed.
            out.push(case(&dead, &a, a.for_minutes.saturating_sub(1), false));
            // One ready endpoint: quiet.
            let alive = vec![info.clone(), (ready(&svc, true, "10.0.0.1"), steady("1"))];
            out.push(case(&alive, &a, late, false));
            // The Service lost its last pod and no pod came back (the
            // address series ends; Prometheus sees it for 5 more minutes).
            let gone = vec![
                info.clone(),
                (ready(&svc, true, "10.0.0.1"), format!("1x5 _x{n}")),
            ];
            out.push(case(&gone, &a, 10 + late, true));
            // kube-state-metrics says nothing: no alert for every service.
            out.push(case(&[], &a, late, false));
        } else if a.name.ends_with("HighErrorRate") {
            let threshold: f64 = a.annotations["summary"]
                .as_str()
                .unwrap()
                .split("more than ")
                .nth(1)
                .and_then(|t| t.split('%').next())
                .unwrap()
                .parse()
                .unwrap();
            let requests = |service: &str, status: &str, per_min: f64| {
                (
                    s(
                        "http_server_requests_seconds_count",
                        &format!(
                            "service=\"{service}\", status=\"{status}\", uri=\"/x\", pod=\"p\""
                        ),
                    ),
                    format!("0+{per_min}x{n}"),
                )
            };
            // Twice the threshold of 5xx: fires; half of it: quiet.
            let bad = 2.0 * threshold;
            let hurt = vec![
                requests(&svc, "200", 1000.0 - bad * 10.0),
                requests(&svc, "503", bad * 10.0),
            ];
            out.push(case(&hurt, &a, 15, true));
            out.push(case(&hurt, &a, 4, false));
            let fine = vec![
                requests(&svc, "200", 1000.0 - bad * 2.5),
                requests(&svc, "500", bad * 2.5),
            ];
            out.push(case(&fine, &a, 15, false));
            // No traffic at all: quiet.
            out.push(case(&[], &a, 15, false));
            // Another service's failures are not this one's.
            let other = vec![
                requests(&svc, "200", 1000.0),
                requests(&format!("{svc}x"), "500", 1000.0),
            ];
            out.push(case(&other, &a, 15, false));
            if canary {
                // A failing canary hurts the users it gets.
                let c = format!("{svc}-canary");
                let canary_hurt = vec![requests(&svc, "200", 100.0), requests(&c, "500", 100.0)];
                out.push(case(&canary_hurt, &a, 15, true));
            }
        } else {
            panic!("no unit test for alert {}", a.name);
        }
    }
    out
}

#[test]
fn promtool_unit_tests_fire_each_alert_when_it_should_and_only_then() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut tested = 0;
    for (i, (file, rule)) in prometheus_rules().iter().enumerate() {
        let rules = rule_file(dir.path(), &i.to_string(), rule);
        // The chart of the service says whether it runs a canary.
        let out = file.ancestors().nth(3).unwrap();
        let svc = rule["metadata"]["labels"]["app.kubernetes.io/name"]
            .as_str()
            .unwrap();
        let ns = rule["metadata"]["namespace"].as_str().unwrap();
        let manifest = out.join(format!("manifests/{ns}/{svc}.yaml"));
        let canary = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()))
            .contains(&format!("name: {svc}-canary\n"));
        let tests = json!({
            "rule_files": [rules.file_name().unwrap().to_str().unwrap()],
            "evaluation_interval": "1m",
            "tests": cases(rule, canary),
        });
        tested += tests["tests"].as_array().unwrap().len();
        let path = dir.path().join(format!("{i}.test.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&tests).unwrap()).unwrap();
        let (ok, out) = run(Command::new(&promtool)
            .args(["test", "rules"])
            .arg(&path)
            .current_dir(dir.path()));
        assert!(ok, "{}: promtool test rules:\n{out}", file.display());
    }
    assert!(tested > 20, "only {tested} cases");
}

/// The container port each ServiceMonitor of the tree `out` scrapes, after
/// checking that every Service the monitor selects (a canary's second
/// included) has the endpoint's port, and that its `targetPort` names a port
/// of every Deployment (track) of the service: (namespace, service, port).
fn scraped_ports(out: &Path) -> Vec<(String, String, Value)> {
    let mut scraped = Vec::new();
    for e in walkdir::WalkDir::new(out.join("monitoring")).sort_by_file_name() {
        let e = e.unwrap();
        if !e.file_type().is_file() || e.file_name() == "alertmanager.yaml" {
            continue;
        }
        for m in documents(e.path()) {
            if m["kind"] != "ServiceMonitor" {
                continue;
            }
            let (ns, svc) = (
                m["metadata"]["namespace"].as_str().unwrap(),
                m["metadata"]["name"].as_str().unwrap(),
            );
            let port_name = &m["spec"]["endpoints"][0]["port"];
            let selector = m["spec"]["selector"]["matchLabels"].as_object().unwrap();
            let objs = documents(&out.join(format!("manifests/{ns}/{svc}.yaml")));
            let selected = |o: &&Value| {
                selector
                    .iter()
                    .all(|(k, v)| &o["metadata"]["labels"][k.as_str()] == v)
            };
            let services: Vec<&Value> = objs
                .iter()
                .filter(|o| o["kind"] == "Service")
                .filter(selected)
                .collect();
            let deployments: Vec<&Value> =
                objs.iter().filter(|o| o["kind"] == "Deployment").collect();
            assert!(!services.is_empty() && !deployments.is_empty(), "{svc}");
            let mut numbers = Vec::new();
            for service in services {
                let port = service["spec"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| &p["name"] == port_name)
                    .unwrap_or_else(|| {
                        panic!("{}: no port {port_name}", service["metadata"]["name"])
                    });
                for d in &deployments {
                    let container = d["spec"]["template"]["spec"]["containers"][0]["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p["name"] == port["targetPort"])
                        .unwrap_or_else(|| {
                            panic!(
                                "{}: no container port {}",
                                d["metadata"]["name"], port["targetPort"]
                            )
                        });
                    numbers.push(container["containerPort"].clone());
                }
            }
            numbers.dedup();
            assert_eq!(numbers.len(), 1, "{svc}: scraped on {numbers:?}");
            scraped.push((ns.to_owned(), svc.to_owned(), numbers.remove(0)));
        }
    }
    scraped
}

/// Whether a NetworkPolicy's rules (`ingress` with `from`, or `egress` with
/// `to`) let the pods named `name` in namespace `ns` through on `port`.
fn lets_through(policy: &Value, dir: &str, ns: &str, name: &str, port: &Value) -> bool {
    let peers = if dir == "ingress" { "from" } else { "to" };
    policy["spec"][dir].as_array().unwrap().iter().any(|r| {
        r["ports"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| &p["port"] == port))
            && r[peers].as_array().unwrap().iter().any(|f| {
                f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == ns
                    && f["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == name
            })
    })
}

/// Each port that a ServiceMonitor of `out` scrapes is one that the
/// service's NetworkPolicy admits the Prometheus pods (a catalog service
/// `prom` in namespace `prom_ns` that `calls` the monitored ones) to, and
/// that the Prometheus's own policy lets it reach. Returns how many monitors.
fn prometheus_reaches_every_scraped_port(out: &Path, prom_ns: &str, prom: &str) -> usize {
    let prom_policy = documents(&out.join(format!("manifests/{prom_ns}/{prom}.yaml")))
        .into_iter()
        .find(|o| o["kind"] == "NetworkPolicy")
        .unwrap();
    let scraped = scraped_ports(out);
    for (ns, svc, port) in &scraped {
        let objs = documents(&out.join(format!("manifests/{ns}/{svc}.yaml")));
        let policy = objs.iter().find(|o| o["kind"] == "NetworkPolicy").unwrap();
        assert!(
            lets_through(policy, "ingress", prom_ns, prom, port),
            "{svc}: Prometheus may not reach port {port}"
        );
        assert!(
            lets_through(&prom_policy, "egress", ns, svc, port),
            "{prom}: may not connect to {svc} on port {port}"
        );
    }
    scraped.len()
}

/// The labels the prometheus-operator puts on the pods of the Prometheus
/// `kube-prometheus-stack-prometheus` (the monitoring add-on's, release
/// `kube-prometheus-stack`), as its documentation lists them; a
/// NetworkPolicy peer matches them by a subset.
fn addon_prometheus_pod() -> Value {
    let name = "kube-prometheus-stack-prometheus";
    json!({
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "prometheus-operator",
        "operator.prometheus.io/name": name,
        "operator.prometheus.io/shard": "0",
        "prometheus": name,
    })
}

/// Whether an ingress rule of `policy` admits a pod labelled `pod` in the
/// namespace `ns` (its automatic `kubernetes.io/metadata.name` label) on
/// `port`: the NetworkPolicy semantics of namespace and pod selectors
/// (`matchLabels`, every pair present).
fn admits(policy: &Value, ns: &str, pod: &Value, port: &Value) -> bool {
    let subset = |sel: &Value, labels: &Value| {
        sel["matchLabels"]
            .as_object()
            .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
    };
    let ns_labels = json!({"kubernetes.io/metadata.name": ns});
    policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| {
            r["ports"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| &p["port"] == port))
                && r["from"].as_array().unwrap().iter().any(|f| {
                    subset(&f["namespaceSelector"], &ns_labels) && subset(&f["podSelector"], pod)
                })
        })
}

/// With the monitoring add-on, every port a ServiceMonitor scrapes is one
/// the service's NetworkPolicy admits the add-on's Prometheus pods to (the
/// add-on's Prometheus has no policy of its own: its egress is open); a
/// service gen does not scrape does not admit them.
#[test]
fn the_addon_prometheus_may_reach_every_monitored_port() {
    for (case, ns) in [
        ("examples/msa-k3s", "monitoring"),
        ("golden/addons", "observability"),
    ] {
        let out = common::root().join(case).join("out");
        let scraped = scraped_ports(&out);
        assert!(!scraped.is_empty(), "{case}");
        for (svc_ns, svc, port) in &scraped {
            let objs = documents(&out.join(format!("manifests/{svc_ns}/{svc}.yaml")));
            let policy = objs.iter().find(|o| o["kind"] == "NetworkPolicy").unwrap();
            assert!(
                admits(policy, ns, &addon_prometheus_pod(), port),
                "{case}: {svc} does not admit Prometheus on {port}"
            );
            // Not from another namespace.
            assert!(!admits(policy, "default", &addon_prometheus_pod(), port));
        }
        let mut unscraped = 0;
        for e in walkdir::WalkDir::new(out.join("manifests")).min_depth(2) {
            let e = e.unwrap();
            let name = e.path().file_stem().unwrap().to_str().unwrap().to_owned();
            if scraped.iter().any(|(_, s, _)| *s == name) {
                continue;
            }
            unscraped += 1;
            let objs = documents(e.path());
            let policy = objs.iter().find(|o| o["kind"] == "NetworkPolicy").unwrap();
            let any_port = policy["spec"]["ingress"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| {
                    r["from"].as_array().unwrap().iter().any(|f| {
                        f["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "prometheus"
                    })
                });
            assert!(
                !any_port,
                "{case}: {name} admits Prometheus, which does not scrape it"
            );
        }
        assert!(unscraped > 0, "{case}");
    }
}

/// `alerts.metrics.port`: a separate management port (Spring's
/// `management.server.port`) is what the ServiceMonitor scrapes, on every
/// track of every strategy, and a Prometheus that calls the service gets
/// through both NetworkPolicies to it; a service without one is still
/// scraped on its port.
#[test]
fn a_separate_metrics_port_is_scraped_and_let_through() {
    let catalog = r#"
version: 1
project: shop
namespaces: {shop: {}, monitoring: {}}
ingress: {host: shop.example, class: nginx}
defaults: {namespace: shop}
services:
  rolling:
    image: registry.example/rolling:1.0.0-abc1234
    port: 8080
    alerts: {error_rate: 5, metrics: {port: 8081}}
  blue-green:
    image: registry.example/bg:1.0.0-abc1234
    port: 8080
    alerts: {metrics: {port: 9100, path: /metrics}}
    strategy: {type: blue-green, live: green, green_image: registry.example/bg:1.1.0-abc1234}
  canary:
    image: registry.example/canary:1.0.0-abc1234
    port: 8080
    routes: [/]
    alerts: {error_rate: 5, metrics: {port: 8081}}
    strategy: {type: canary, canary_image: registry.example/canary:1.1.0-abc1234, canary_weight: 20}
  plain:
    image: registry.example/plain:1.0.0-abc1234
    port: 8080
    alerts: {error_rate: 5}
  prometheus:
    namespace: monitoring
    image: quay.io/prometheus/prometheus:v3.5.0
    port: 9090
    calls: [rolling, blue-green, canary, plain]
alerting:
  webhook: {url_secret: hooks/url}
"#;
    let compiled = gen::compile("catalog.yaml", catalog.as_bytes())
        .unwrap_or_else(|e| panic!("the catalog does not compile: {e:?}"));
    let dir = tempfile::tempdir().unwrap();
    gen::write::write_tree(dir.path(), &compiled.tree).unwrap();
    let mut scraped = scraped_ports(dir.path());
    scraped.sort_by(|a, b| a.1.cmp(&b.1));
    let want = [
        ("blue-green", 9100),
        ("canary", 8081),
        ("plain", 8080),
        ("rolling", 8081),
    ];
    let got: Vec<(&str, Value)> = scraped
        .iter()
        .map(|(_, s, p)| (s.as_str(), p.clone()))
        .collect();
    assert_eq!(got, want.map(|(s, p)| (s, json!(p))));
    assert_eq!(
        prometheus_reaches_every_scraped_port(dir.path(), "monitoring", "prometheus"),
        4
    );
}
