//! The platform add-ons of the catalog (`addons`): what gen installs from
//! pinned upstream charts (`emit::upstream`, `emit::addons`), with every
//! default resolved, and the checks that refuse what would not run.

use std::collections::BTreeMap;

use super::quantity;
use crate::catalog::types::{Addons, Catalog};
use crate::catalog::{push_pointer, Parsed};
use crate::diag::Problem;

/// Default namespace of the monitoring add-on.
pub const DEFAULT_NAMESPACE: &str = "monitoring";
/// Default retention of Prometheus's samples.
pub const DEFAULT_RETENTION: &str = "10d";
/// Default size of Prometheus's persistent volume.
pub const DEFAULT_STORAGE: &str = "10Gi";
pub use super::K3S_STORAGE_CLASS;
/// Release name of the monitoring chart: the Prometheus it installs selects
/// `release: <this>` on the chart's own rules and monitors.
pub const MONITORING_RELEASE: &str = "kube-prometheus-stack";
/// Release name of the metrics-server chart.
pub const METRICS_SERVER_RELEASE: &str = "metrics-server";
/// Namespace metrics-server runs in (where the cluster's API services live).
pub const METRICS_SERVER_NAMESPACE: &str = "kube-system";
/// The releases gen adds on EKS besides the catalog's `addons` (the AWS Load
/// Balancer Controller, the EBS CSI driver, ingress-nginx, metrics-server):
/// with Argo CD each is an Application of that name, so no service may take
/// one of these names there.
pub const EKS_RELEASES: [&str; 4] = [
    "aws-load-balancer-controller",
    "aws-ebs-csi-driver",
    "ingress-nginx",
    METRICS_SERVER_RELEASE,
];
/// The Pod Security label the monitoring namespace needs at `privileged`.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// The add-ons, defaults resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonsModel {
    /// The monitoring stack, if any.
    pub monitoring: Option<MonitoringModel>,
    /// metrics-server: absent, installed by gen, or provided by the cluster.
    pub metrics_server: MetricsServer,
}

/// Whether the cluster gets a metrics-server from gen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsServer {
    /// The catalog does not say (K3s bundles one; other clusters may lack it).
    #[default]
    Unsaid,
    /// gen installs the pinned chart.
    Install,
    /// The cluster has one already (`provided: true`).
    Provided,
}

/// The monitoring add-on (kube-prometheus-stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringModel {
    /// Namespace of the stack.
    pub namespace: String,
    /// Prometheus retention, a Prometheus duration.
    pub retention: String,
    /// Size of Prometheus's volume.
    pub storage: String,
    /// StorageClass of the volumes (None: the cluster's default).
    pub storage_class: Option<String>,
    /// Grafana, if installed.
    pub grafana: Option<GrafanaModel>,
    /// Catalog pointer, `/addons/monitoring`.
    pub pointer: String,
}

/// Grafana of the monitoring add-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrafanaModel {
    /// Secret with keys `admin-user` and `admin-password`.
    pub admin_secret: String,
    /// Size of its volume, if persistent.
    pub storage: Option<String>,
}

/// Resolve the catalog's `addons`.
pub fn resolve(c: &Catalog) -> AddonsModel {
    let Some(a) = &c.addons else {
        return AddonsModel::default();
    };
    AddonsModel {
        monitoring: a.monitoring.as_ref().map(|m| MonitoringModel {
            namespace: m
                .namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            retention: m
                .retention
                .clone()
                .unwrap_or_else(|| DEFAULT_RETENTION.to_owned()),
            storage: m
                .storage
                .as_ref()
                .map_or_else(|| DEFAULT_STORAGE.to_owned(), |q| q.0.clone()),
            storage_class: m
                .storage_class
                .clone()
                .or_else(|| super::cluster_storage_class(c)),
            grafana: m.grafana.as_ref().map(|g| GrafanaModel {
                admin_secret: g.admin_secret.clone(),
                storage: g.storage.as_ref().map(|q| q.0.clone()),
            }),
            pointer: "/addons/monitoring".to_owned(),
        }),
        metrics_server: match &a.metrics_server {
            None => MetricsServer::Unsaid,
            Some(m) if m.provided => MetricsServer::Provided,
            Some(_) => MetricsServer::Install,
        },
    }
}

/// The labels the add-on's namespace gets from gen (the catalog's own
/// declaration adds to them): Pod Security enforcement `privileged`, because
/// node-exporter runs with the host's network, PID namespace and
/// filesystem, which `restricted` and `baseline` refuse. Audit and warn stay
/// at `restricted` (gen's default), so what runs beyond it is still reported.
pub fn namespace_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(ENFORCE_LABEL.to_owned(), "privileged".to_owned())])
}

/// The names of the Argo CD Applications of the add-ons gen installs
/// (outside K3s), for the collision check with the services' own.
fn application_names(a: &Addons) -> Vec<&'static str> {
    let mut v = Vec::new();
    if a.monitoring.is_some() {
        v.push(MONITORING_RELEASE);
    }
    if a.metrics_server.as_ref().is_some_and(|m| !m.provided) {
        v.push(METRICS_SERVER_RELEASE);
    }
    v
}

/// Every problem of the `addons` block.
pub fn check(parsed: &Parsed) -> Vec<Problem> {
    let c = &parsed.catalog;
    let Some(a) = &c.addons else {
        return Vec::new();
    };
    let (src, spans) = (&parsed.source, &parsed.spans);
    let problem = |code, span, msg: String| Problem::new(src, code, span, msg);
    let mut out = Vec::new();
    let k3s = c.cluster.as_ref().is_some_and(|cl| cl.k3s.is_some());
    // On EKS without Argo CD, gen writes the add-ons into `eks/addons.sh`.
    let eks = c.cluster.as_ref().is_some_and(|cl| cl.eks.is_some());

    if let Some(m) = &a.monitoring {
        let mp = "/addons/monitoring";
        if let Some(r) = &m.retention {
            if r.chars().all(|ch| !matches!(ch, '1'..='9')) {
                out.push(
                    problem(
                        "catalog::addon-retention",
                        spans.value(&format!("{mp}/retention")),
                        format!("retention `{r}` keeps nothing"),
                    )
                    .label("zero")
                    .help("give Prometheus a positive duration such as `15d` (Prometheus reads 0 as its own default of 15 days)"),
                );
            }
        }
        let sizes = [
            (format!("{mp}/storage"), m.storage.as_ref()),
            (
                format!("{mp}/grafana/storage"),
                m.grafana.as_ref().and_then(|g| g.storage.as_ref()),
            ),
        ];
        for (ptr, q) in sizes {
            let Some(q) = q else { continue };
            let ok = !q.0.ends_with('m') && quantity::value(&q.0).is_some_and(|v| v >= MIB);
            if !ok {
                out.push(
                    problem(
                        "catalog::addon-storage",
                        spans.value(&ptr),
                        format!("`{}` is not a volume size", q.0),
                    )
                    .label("too small for a volume")
                    .help("write a size of at least 1Mi with its unit, e.g. `20Gi` (a bare number counts bytes)"),
                );
            }
        }
        let ns = m.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
        let declared = c.namespaces.as_ref().and_then(|d| d.get(ns));
        if let Some(level) = declared
            .and_then(|d| d.labels.get(ENFORCE_LABEL))
            .filter(|l| *l != "privileged")
        {
            let ptr = push_pointer(
                &push_pointer(&push_pointer("/namespaces", ns), "labels"),
                ENFORCE_LABEL,
            );
            let mut p = problem(
                "catalog::addon-namespace-security",
                spans.value(&ptr),
                format!("the monitoring add-on's namespace `{ns}` enforces Pod Security `{level}`, which refuses node-exporter"),
            )
            .label("node-exporter needs `privileged`")
            .help("remove the label (gen sets `privileged` there, auditing and warning at `restricted`), or give the add-on a namespace of its own with `addons.monitoring.namespace`");
            if m.namespace.is_some() {
                p = p.note(
                    spans.value(&format!("{mp}/namespace")),
                    "the add-on runs here",
                );
            }
            out.push(p);
        }
        if let Some(release) = c
            .alerting
            .as_ref()
            .and_then(|al| al.prometheus_labels.as_ref())
            .and_then(|l| l.get("release"))
            .filter(|r| *r != MONITORING_RELEASE)
        {
            out.push(
                problem(
                    "catalog::addon-prometheus-label",
                    spans.value("/alerting/prometheus_labels/release"),
                    format!("label `release: {release}` would hide the monitoring add-on's own rules and monitors from its Prometheus"),
                )
                .label(format!("the add-on's chart labels its objects `release: {MONITORING_RELEASE}`"))
                .note(spans.key_or_value(mp), "the add-on")
                .help(format!("remove it (the default is `release: {MONITORING_RELEASE}`) or set it to `{MONITORING_RELEASE}`; select on other labels besides it if you like")),
            );
        }
    }

    if k3s && a.metrics_server.as_ref().is_some_and(|m| !m.provided) {
        out.push(
            problem(
                "catalog::addon-bundled",
                spans.key_or_value("/addons/metrics_server"),
                "K3s runs its own metrics-server; a second one would fight it for the metrics API".into(),
            )
            .label("already in K3s")
            .note(spans.key_or_value("/cluster/k3s"), "the cluster is K3s")
            .help("remove `metrics_server`, or write `metrics_server: {provided: true}` to say the cluster has one"),
        );
    }

    let installs = application_names(a);
    if !k3s && !installs.is_empty() {
        match &c.gitops {
            None if eks => {}
            None => {
                for name in ["monitoring", "metrics_server"] {
                    let ptr = push_pointer("/addons", name);
                    let wanted = match name {
                        "monitoring" => a.monitoring.is_some(),
                        _ => installs.contains(&METRICS_SERVER_RELEASE),
                    };
                    if wanted {
                        out.push(
                            problem(
                                "catalog::addon-delivery",
                                spans.key_or_value(&ptr),
                                format!("nothing would install the `{name}` add-on: outside K3s gen delivers add-ons as Argo CD Applications"),
                            )
                            .label("no `gitops.argocd`")
                            .help("add `gitops: {argocd: {...}}` (see docs/catalog.md), or run the cluster on K3s (`cluster.k3s`), where K3s installs the add-ons itself, or on EKS (`cluster.eks`), where `eks/addons.sh` installs them"),
                        );
                    }
                }
            }
            Some(_) => {
                for name in installs {
                    if c.services.contains_key(name) {
                        out.push(
                            problem(
                                "catalog::addon-name-collision",
                                spans.key_or_value(&push_pointer("/services", name)),
                                format!("service `{name}` and the add-on of the same chart would both be the Argo CD Application `{name}`"),
                            )
                            .label("same Application name")
                            .help("rename the service"),
                        );
                    }
                }
            }
        }
    }
    out
}

/// One mebibyte, the smallest volume gen accepts.
const MIB: f64 = 1024.0 * 1024.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn model(src: &str) -> Result<crate::model::Model, Vec<String>> {
        let file = crate::diag::SourceFile::new("catalog.yaml", src);
        crate::model::analyze(&file)
            .map(|(_, m)| m)
            .map_err(|p| p.iter().map(|p| p.code.to_owned()).collect())
    }

    const BASE: &str =
        "version: 1\nproject: shop\nservices:\n  api: {image: r.example/api:1.0.0, port: 8080}\n";

    #[test]
    fn defaults_follow_the_cluster() {
        let k3s = format!("{BASE}cluster: {{k3s: {{version: v1.33.5+k3s1, servers: 1}}}}\naddons: {{monitoring: {{}}}}\n");
        let m = model(&k3s).unwrap();
        let mon = m.addons.monitoring.unwrap();
        assert_eq!(mon.storage_class.as_deref(), Some(K3S_STORAGE_CLASS));
        assert_eq!(
            (mon.retention.as_str(), mon.storage.as_str()),
            ("10d", "10Gi")
        );
        assert!(mon.grafana.is_none());
        let eks = format!("{BASE}gitops: {{argocd: {{repo_url: 'https://git.example/d.git', charts_path: out/charts}}}}\naddons: {{monitoring: {{retention: 15d}}, metrics_server: {{}}}}\n");
        let m = model(&eks).unwrap();
        assert_eq!(m.addons.monitoring.unwrap().storage_class, None);
        assert_eq!(m.addons.metrics_server, MetricsServer::Install);
        // The add-on's namespace joins the model, privileged.
        assert_eq!(
            m.namespaces["monitoring"]
                .labels
                .get(ENFORCE_LABEL)
                .map(String::as_str),
            Some("privileged")
        );
    }

    #[test]
    fn refusals() {
        let cases = [
            ("addons: {monitoring: {retention: 0d}}\ncluster: {k3s: {version: v1.33.5+k3s1, servers: 1}}\n", "catalog::addon-retention"),
            ("addons: {monitoring: {storage: 20}}\ncluster: {k3s: {version: v1.33.5+k3s1, servers: 1}}\n", "catalog::addon-storage"),
            ("addons: {monitoring: {grafana: {admin_secret: g, storage: 500m}}}\ncluster: {k3s: {version: v1.33.5+k3s1, servers: 1}}\n", "catalog::addon-storage"),
            ("addons: {metrics_server: {}}\ncluster: {k3s: {version: v1.33.5+k3s1, servers: 1}}\n", "catalog::addon-bundled"),
            ("addons: {monitoring: {}}\n", "catalog::addon-delivery"),
        ];
        for (extra, code) in cases {
            let errs = model(&format!("{BASE}{extra}")).unwrap_err();
            assert_eq!(errs, vec![code.to_owned()], "{extra}");
        }
        // Provided on K3s is fine, and so is a provided one without Argo CD.
        assert!(model(&format!(
            "{BASE}addons: {{metrics_server: {{provided: true}}}}\n"
        ))
        .is_ok());
    }
}
