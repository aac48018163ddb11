//! Platform add-ons (`addons`): the pinned upstream charts of
//! `emit::upstream`, with values derived from the model as data.
//!
//! Where they go: on K3s, a `HelmChart` (helm.cattle.io/v1) per chart under
//! `k3s/manifests/`, which K3s's helm-controller installs by itself (the
//! server install script carries them, see `emit::k3s`); on any other
//! cluster an Argo CD Application per chart under `argocd/addons/`
//! (`model::addons` refuses add-ons there without `gitops.argocd`, except
//! on EKS, where `emit::eks` writes them into `eks/addons.sh`). On EKS the
//! list also has the charts the cluster needs (`emit::eks::installs`).
//! Each is checked against its CRD subset in `schemas/` before writing.
//!
//! The monitoring stack (kube-prometheus-stack) is installed as release
//! `kube-prometheus-stack` and configured so that gen's own objects work
//! with it: its Prometheus selects the labels gen puts on its
//! PrometheusRules and ServiceMonitors (`alerting.prometheus_labels`), its
//! Alertmanager gets the configuration of `alerting` with the receiver's
//! Secret mounted, and the services' NetworkPolicies admit its Prometheus
//! pods ([`prometheus_pods`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::upstream::{self, Chart};
use super::{EmitError, Tree};
use crate::model::addons::{
    MetricsServer, MonitoringModel, METRICS_SERVER_NAMESPACE, METRICS_SERVER_RELEASE,
    MONITORING_RELEASE,
};
use crate::model::{Model, Receiver, DEFAULT_PROMETHEUS_LABELS};

/// The HelmChart CRD subset gen validates against.
pub const HELMCHART_SCHEMA: &str = include_str!("../../schemas/helmchart.schema.json");

static HELMCHART: super::validate::Shipped =
    super::validate::Shipped::new("helmchart.schema.json", HELMCHART_SCHEMA, "HelmChart");

/// Check one HelmChart against the CRD subset.
pub fn validate_helm_chart(file: &str, obj: &Value) -> Result<(), EmitError> {
    HELMCHART.check(file, obj)
}

/// Namespace K3s's helm-controller watches for HelmCharts.
const K3S_HELM_NAMESPACE: &str = "kube-system";

/// Labels of the pods of the add-on's Prometheus: what the
/// prometheus-operator puts on the pods of the `Prometheus` object
/// `<release>-prometheus` that the chart creates (the chart's own
/// NetworkPolicy selects them by the same two labels).
pub fn prometheus_pods() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "prometheus".to_owned()),
        (
            "operator.prometheus.io/name".to_owned(),
            format!("{MONITORING_RELEASE}-prometheus"),
        ),
    ])
}

/// The labels the add-on's Prometheus selects PrometheusRules and
/// ServiceMonitors by: those gen puts on its own (`alerting`'s, else the
/// default `release: kube-prometheus-stack`).
pub fn prometheus_labels(model: &Model) -> BTreeMap<String, String> {
    model.alerting.as_ref().map_or_else(
        || {
            DEFAULT_PROMETHEUS_LABELS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        },
        |a| a.prometheus_labels.clone(),
    )
}

/// Requests and a memory limit of a container.
pub fn requests(cpu: &str, memory: &str, memory_limit: &str) -> Value {
    json!({"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}})
}

/// A persistent volume claim template of `size` on `class` (None: the
/// cluster's default StorageClass).
fn claim(size: &str, class: Option<&str>) -> Value {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    });
    if let Some(c) = class {
        spec["storageClassName"] = json!(c);
    }
    json!({"volumeClaimTemplate": {"spec": spec}})
}

/// The Alertmanager configuration of the add-on: `alerting`'s (the builder
/// behind `monitoring/alertmanager.yaml`), plus the chart's always-firing
/// `Watchdog` alert routed to a receiver that sends nothing (it proves the
/// pipeline works; it must not page). Helm replaces lists of the chart's
/// default configuration rather than merging them, so every receiver a
/// route names is defined here.
pub fn alertmanager_config(model: &Model) -> Option<Value> {
    let mut cfg = super::alerts::alertmanager(model)?;
    cfg["route"]["routes"] =
        json!([{"receiver": "null", "matchers": ["alertname = \"Watchdog\""]}]);
    if let Some(r) = cfg["receivers"].as_array_mut() {
        r.push(json!({"name": "null"}));
    }
    Some(cfg)
}

/// The values of kube-prometheus-stack for the model.
pub fn monitoring_values(model: &Model, m: &MonitoringModel) -> Value {
    let class = m.storage_class.as_deref();
    let labels = prometheus_labels(model);
    let selector = json!({"matchLabels": labels});
    let mut v = json!({
        "prometheus": {"prometheusSpec": {
            "retention": m.retention,
            "storageSpec": claim(&m.storage, class),
            // Select gen's rules and monitors (and the chart's own, which
            // carry the same labels) in every namespace.
            "ruleSelectorNilUsesHelmValues": false,
            "ruleSelector": selector,
            "ruleNamespaceSelector": {},
            "serviceMonitorSelectorNilUsesHelmValues": false,
            "serviceMonitorSelector": selector,
            "serviceMonitorNamespaceSelector": {},
            "resources": requests("200m", "512Mi", "2Gi"),
        }},
        "alertmanager": {"alertmanagerSpec": {
            // Silences and the notification log survive a restart.
            "storage": claim("1Gi", class),
            "resources": requests("10m", "64Mi", "256Mi"),
        }},
        "prometheusOperator": {"resources": requests("50m", "64Mi", "256Mi")},
        // The control plane's scheduler, controller-manager and etcd and
        // kube-proxy do not serve metrics the stack can reach: on K3s they
        // run inside the k3s process with their metrics on loopback, on a
        // managed cluster (EKS) the control plane is the provider's and
        // kube-proxy binds its metrics to loopback. Scraping them would
        // only make their "down" alerts fire forever; turning them off
        // drops their scrapes and their rules.
        "kubeControllerManager": {"enabled": false},
        "kubeScheduler": {"enabled": false},
        "kubeEtcd": {"enabled": false},
        "kubeProxy": {"enabled": false},
        "kube-state-metrics": {"resources": requests("10m", "64Mi", "256Mi")},
        "prometheus-node-exporter": {
            // Every node, servers included (tainted CriticalAddonsOnly on
            // K3s when there are agents).
            "tolerations": [{"operator": "Exists"}],
            "resources": requests("10m", "32Mi", "128Mi"),
        },
    });
    // The chart labels its own rules and monitors `release: <release>`;
    // the catalog's other labels are added so that the selector above
    // still picks them up (`model::addons` refuses another `release`).
    let extra: BTreeMap<&String, &String> =
        labels.iter().filter(|(k, _)| *k != "release").collect();
    if !extra.is_empty() {
        v["commonLabels"] = json!(extra);
        v["kube-state-metrics"]["prometheus"] = json!({"monitor": {"additionalLabels": extra}});
        v["prometheus-node-exporter"]["prometheus"] =
            json!({"monitor": {"additionalLabels": extra}});
    }
    if let Some(cfg) = alertmanager_config(model) {
        v["alertmanager"]["config"] = cfg;
        // The receiver reads its URL from this Secret, which the operator
        // mounts under /etc/alertmanager/secrets/<name>/.
        if let Some(a) = &model.alerting {
            let url = match &a.receiver {
                Receiver::Slack { url, .. } | Receiver::Webhook { url } => url,
            };
            v["alertmanager"]["alertmanagerSpec"]["secrets"] = json!([url.secret]);
        }
    }
    v["grafana"] = match &m.grafana {
        None => json!({"enabled": false}),
        Some(g) => {
            let mut gv = json!({
                "enabled": true,
                "admin": {
                    "existingSecret": g.admin_secret,
                    "userKey": "admin-user",
                    "passwordKey": "admin-password",
                },
                "resources": requests("50m", "128Mi", "512Mi"),
            });
            if let Some(size) = &g.storage {
                let mut p = json!({"enabled": true, "type": "pvc", "size": size,
                    "accessModes": ["ReadWriteOnce"]});
                if let Some(c) = class {
                    p["storageClassName"] = json!(c);
                }
                gv["persistence"] = p;
                // A ReadWriteOnce volume cannot be mounted by the new pod
                // while the old one holds it on another node.
                gv["deploymentStrategy"] = json!({"type": "Recreate"});
            }
            gv
        }
    };
    v
}

/// The values of metrics-server: its chart's defaults (secure kubelet
/// connections, the node's InternalIP first) are right for EKS.
pub fn metrics_server_values() -> Value {
    json!({})
}

/// One chart to install: its pin, release name, namespace and values.
pub struct Install {
    /// The pinned chart.
    pub chart: Chart,
    /// The Helm release (and Argo CD Application) name.
    pub release: &'static str,
    /// Namespace the release goes to.
    pub namespace: String,
    /// The chart's values.
    pub values: Value,
}

/// Every chart gen installs for the model, in install order: on EKS the
/// charts the cluster needs first (`emit::eks::installs`: the load balancer
/// controller, the EBS CSI driver) and ingress-nginx last, the catalog's
/// add-ons between.
pub fn installs(model: &Model) -> Vec<Install> {
    let (mut v, last) = super::eks::installs(model);
    if let Some(m) = &model.addons.monitoring {
        v.push(Install {
            chart: upstream::KUBE_PROMETHEUS_STACK,
            release: MONITORING_RELEASE,
            namespace: m.namespace.clone(),
            values: monitoring_values(model, m),
        });
    }
    // On EKS, also when an HPA needs one and the catalog does not say the
    // cluster has it.
    if model.addons.metrics_server == MetricsServer::Install
        || model.eks.as_ref().is_some_and(|e| e.needs.metrics_server)
    {
        v.push(Install {
            chart: upstream::METRICS_SERVER,
            release: METRICS_SERVER_RELEASE,
            namespace: METRICS_SERVER_NAMESPACE.to_owned(),
            values: metrics_server_values(),
        });
    }
    v.extend(last);
    v
}

fn yaml(what: &str, v: &Value) -> Result<String, EmitError> {
    serde_saphyr::to_string(v).map_err(|e| EmitError::Serialize {
        what: what.to_owned(),
        why: e.to_string(),
    })
}

/// A K3s HelmChart installing `chart` as release `name` into `namespace`
/// (created if missing) with `values`, checked against the CRD subset.
pub fn helm_chart(
    file: &str,
    name: &str,
    chart: Chart,
    namespace: &str,
    values: &Value,
) -> Result<Value, EmitError> {
    let obj = json!({
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        // The HelmChart's name is the Helm release's.
        "metadata": {"name": name, "namespace": K3S_HELM_NAMESPACE},
        "spec": {
            "repo": chart.repo,
            "chart": chart.chart,
            "version": chart.version,
            "targetNamespace": namespace,
            "createNamespace": true,
            "valuesContent": yaml(&format!("{name} values"), values)?,
        }
    });
    validate_helm_chart(file, &obj)?;
    Ok(obj)
}

/// The K3s server manifests of the add-ons (file name under
/// `k3s/manifests/`, object): the monitoring namespace with its Pod
/// Security labels (K3s applies it before gen does), then one HelmChart per
/// chart. Empty without `cluster.k3s`.
pub fn k3s_manifests(model: &Model) -> Result<Vec<(String, Value)>, EmitError> {
    if model.k3s.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if let Some(m) = &model.addons.monitoring {
        let ns = &model.namespaces[&m.namespace];
        let obj = super::manifests::namespace(model, &m.namespace, ns);
        let value = serde_json::to_value(&obj).map_err(|e| EmitError::Serialize {
            what: format!("Namespace {}", m.namespace),
            why: e.to_string(),
        })?;
        out.push((format!("{MONITORING_RELEASE}-namespace.yaml"), value));
    }
    for i in installs(model) {
        let file = format!("{}.yaml", i.release);
        let obj = helm_chart(
            &format!("k3s/manifests/{file}"),
            i.release,
            i.chart,
            &i.namespace,
            &i.values,
        )?;
        out.push((file, obj));
    }
    Ok(out)
}

/// Emit the Argo CD Applications of the add-ons (outside K3s).
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let Some(a) = model.argocd.as_ref().filter(|_| model.k3s.is_none()) else {
        return Ok(());
    };
    for i in installs(model) {
        let source = json!({
            "repoURL": i.chart.repo,
            "chart": i.chart.chart,
            "targetRevision": i.chart.version,
            "helm": {"releaseName": i.release, "valuesObject": i.values},
        });
        let mut app = super::argocd::application(model, a, i.release, source, &i.namespace);
        let sync = &mut app["spec"]["syncPolicy"];
        // The chart's CRDs are too large for a client-side apply's
        // last-applied annotation.
        if let Some(o) = sync["syncOptions"].as_array_mut() {
            o.push(json!("ServerSideApply=true"));
        }
        if let Some(ns) = model
            .namespaces
            .get(&i.namespace)
            .filter(|_| i.release == MONITORING_RELEASE)
        {
            // Argo CD creates the namespace: with the Pod Security labels
            // node-exporter needs.
            let labels = super::manifests::namespace(model, &i.namespace, ns)
                .metadata
                .labels
                .unwrap_or_default();
            sync["managedNamespaceMetadata"] = json!({"labels": labels});
        }
        let path = format!("argocd/addons/{}.yaml", i.release);
        let text = super::argocd::to_yaml(&path, &app)?;
        tree.insert(path, text);
    }
    Ok(())
}
