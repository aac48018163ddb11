//! The catalog v1 contract: the Rust types that user YAML deserializes into.
//!
//! These types are the single source of truth for `schemas/catalog.schema.json`
//! (generated with schemars; a test fails when the two drift). Doc comments on
//! fields become schema descriptions, which editors show on hover and which the
//! diagnostics reuse as help text, so write them for users.
//!
//! Architecture invariant: these types describe *shape* only. Every rule that
//! relates two values (ranges, references, uniqueness) lives in `model::check`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scalars::{Cidr, IntOrPercent, Quantity};

/// Regex for a DNS-1123 label (namespaces, the project).
pub const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// Regex for a service name: a DNS-1035 label (Kubernetes Service names must
/// start with a letter) of at most 53 characters (Helm's release name limit,
/// which also leaves room for the `-canary` / `-green` suffixes).
pub const SERVICE_NAME: &str = "^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$";
/// Regex for an HTTP path prefix used in `routes`.
pub const ROUTE: &str = "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$";
/// Regex for an environment variable name.
pub const ENV_NAME: &str = "^[A-Za-z_][A-Za-z0-9_.-]*$";
/// Regex for a Secret reference `secret-name/key`.
pub const SECRET_REF: &str = "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/[-._A-Za-z0-9]{1,253}$";
/// Regex for a DNS-1123 subdomain (hostnames, Secret names).
pub const DNS_SUBDOMAIN: &str =
    "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$";
/// Regex for a SemVer 2 version (Helm's chart `version`), e.g. `1.4.2-rc.1`.
pub const CHART_VERSION: &str = "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$";
/// Regex for a K3s release, e.g. `v1.33.5+k3s1`.
pub const K3S_VERSION: &str = "^v1\\.[0-9]+\\.[0-9]+\\+k3s[0-9]+$";

/// A gen service catalog: the one source from which gen derives Helm charts,
/// rendered manifests, K3s bootstrap scripts and AWS security groups.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "gen service catalog",
    extend("$id" = concat!("https://gen.dev/schemas/v", env!("CARGO_PKG_VERSION"), "/catalog.schema.json")),
    extend("patternProperties" = {
        "^x-": { "description": "Extension keys (as in docker-compose) are ignored by gen: a place for YAML anchors shared below." }
    })
)]
pub struct Catalog {
    /// Catalog format version. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Project name (a DNS-1123 label, e.g. `karina`). Used in labels, tags and
    /// as the default namespace.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub project: String,
    /// `version` of every generated chart's Chart.yaml (SemVer 2, as Helm
    /// requires), e.g. `1.4.2`; default `0.1.0`. Also in each object's
    /// `helm.sh/chart` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = CHART_VERSION), length(max = 64))]
    pub chart_version: Option<String>,
    /// Target Kubernetes minor version, e.g. `"1.33"`. Defaults to the minor
    /// version of `cluster.k3s.version`, else 1.33.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^1\\.[0-9]{2}$"))]
    pub kubernetes: Option<String>,
    /// The cluster the services run on. Optional: without it gen emits only
    /// charts and manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
    /// Declared namespaces (name -> settings). When present, every service's
    /// namespace must be declared here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL, "maxLength": 63 }))]
    pub namespaces: Option<BTreeMap<String, Namespace>>,
    /// The shared HTTP(S) entry point. Services expose paths on it with `routes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    /// Values every service inherits unless it sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// GitOps delivery: gen writes one Argo CD Application per chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitops: Option<GitOps>,
    /// Where alerts go: a Slack or generic webhook receiver whose URL lives
    /// in a Secret, for the Alertmanager configuration gen writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    /// Platform add-ons gen installs from pinned upstream charts:
    /// `monitoring` (kube-prometheus-stack) and `metrics_server`. On K3s
    /// each becomes a HelmChart under `k3s/manifests/`; elsewhere an Argo CD
    /// Application under `argocd/addons/` (needs `gitops.argocd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addons: Option<Addons>,
    /// The services, keyed by name: lowercase letters, digits and `-`, starting
    /// with a letter, at most 53 characters.
    #[schemars(extend("propertyNames" = { "pattern": SERVICE_NAME, "maxLength": 53 }))]
    pub services: BTreeMap<String, Service>,
    /// Deployment environments, keyed by name (a DNS-1123 label such as
    /// `staging` or `prod`): what differs from the services above in each.
    /// Every chart gets a `values-<name>.yaml` overlay and the output tree an
    /// `environments/<name>/manifests/` render per environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": DNS_LABEL, "maxLength": 63 }))]
    pub environments: BTreeMap<String, Environment>,
}

/// Regex for a kubeconfig context name (EKS contexts are ARNs such as
/// `arn:aws:eks:ap-northeast-2:111122223333:cluster/prod`).
pub const CONTEXT: &str = "^[A-Za-z0-9][A-Za-z0-9._@:/+-]*$";

/// One deployment environment: where it runs and how it differs from the
/// services as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// kubeconfig context `gen apply` and `gen diff` use for this environment
    /// (default: the environment's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = CONTEXT), length(max = 253))]
    pub context: Option<String>,
    /// Applying to this environment needs `--yes` or an interactive
    /// confirmation (default false).
    #[serde(default)]
    pub protected: bool,
    /// The shared ingress in this environment: its `host` and `tls_secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressOverride>,
    /// `defaults` in this environment: `replicas` and `resources` (key by key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<DefaultsOverride>,
    /// Per-service overrides, keyed by the name of a service of `services`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": SERVICE_NAME, "maxLength": 53 }))]
    pub services: BTreeMap<String, ServiceOverride>,
}

/// The shared ingress, as it differs in one environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressOverride {
    /// Host name clients use in this environment, e.g. `staging.sugang.karina.example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub host: Option<String>,
    /// Secret holding this environment's TLS certificate; `null`: no TLS in
    /// this environment.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub tls_secret: Override<String>,
}

/// `defaults`, as they differ in one environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsOverride {
    /// Default replica count for services without `replicas` or `hpa`;
    /// `null`: none (1).
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    #[schemars(range(max = 10000))]
    pub replicas: Override<u32>,
    /// Default resources, over `defaults.resources` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesOverride>,
}

/// One service, as it differs in one environment. Each key replaces the
/// service's own (`resources` and `env` merge key by key); `null` unsets it
/// (the service is seen as if it did not set that key).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverride {
    /// Fixed replica count (with `hpa`: the count when the HPA is off; it
    /// must lie inside the HPA range); `null`: `defaults.replicas`, else 1.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    #[schemars(range(max = 10000))]
    pub replicas: Override<u32>,
    /// Horizontal pod autoscaler `{min, max, cpu}`, replacing the service's;
    /// `false` (or `null`) turns it off (set `replicas` with it).
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    pub hpa: Override<HpaOverride>,
    /// Pods kept running during voluntary disruptions (PodDisruptionBudget);
    /// `null`: none set (gen's default budget).
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    #[schemars(range(min = 1, max = 10000))]
    pub min_available: Override<u32>,
    /// CPU and memory, over the service's `resources` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesOverride>,
    /// Container image of this environment, a full reference pinned by tag or
    /// digest like the service's `image` (`latest` is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Host of the service's routes in this environment; `null`: the shared
    /// ingress host.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub host: Override<String>,
    /// Literal environment variables, merged over the service's `env`; a
    /// variable set to `null` is removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": ENV_NAME }))]
    pub env: BTreeMap<String, Override<String>>,
}

/// Resources, as they differ in one environment: each key replaces the one
/// below it, and `null` unsets it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesOverride {
    /// CPU request, e.g. `250m` or `1`.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    pub cpu: Override<Quantity>,
    /// Memory request, e.g. `256Mi`.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    pub memory: Override<Quantity>,
    /// CPU limit; `null`: none.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    pub cpu_limit: Override<Quantity>,
    /// Memory limit, e.g. `512Mi`.
    #[serde(default, skip_serializing_if = "Override::is_inherit")]
    pub memory_limit: Override<Quantity>,
}

/// An environment's value for a key it may override: absent (the value
/// below applies), `null` (unset in this environment: as if the catalog did
/// not set it) or a value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Override<T> {
    /// Not written: the catalog's value applies.
    #[default]
    Inherit,
    /// `null`: unset in this environment.
    Unset,
    /// A value of this environment.
    Set(T),
}

impl<T: Clone> Override<T> {
    /// Whether the environment leaves the key alone.
    pub fn is_inherit(&self) -> bool {
        matches!(self, Override::Inherit)
    }

    /// Apply to `slot`; whether it was written (set or unset).
    pub fn apply(&self, slot: &mut Option<T>) -> bool {
        match self {
            Override::Inherit => return false,
            Override::Unset => *slot = None,
            Override::Set(v) => *slot = Some(v.clone()),
        }
        true
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Override<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Override::Unset, Override::Set))
    }
}

impl<T: Serialize> Serialize for Override<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Override::Set(v) => v.serialize(s),
            Override::Inherit | Override::Unset => s.serialize_none(),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Override<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Override_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let inner = generator.subschema_for::<T>();
        let mut v = inner.clone().to_value();
        match v.get_mut("type") {
            // An inline type: `null` joins it, so that the field's own
            // bounds and patterns (which schemars adds only next to a
            // `type`) still apply to a value.
            Some(ty) => {
                let mut types = match ty.take() {
                    serde_json::Value::Array(a) => a,
                    one => vec![one],
                };
                types.push("null".into());
                *ty = types.into();
                v[crate::catalog::schema::KEEP_NULL] = true.into();
                schemars::Schema::try_from(v).unwrap_or(inner)
            }
            // A reference: `if`/`else` rather than `anyOf`, so that a
            // mistake inside the value is reported at its node as usual.
            None => schemars::json_schema!({
                "if": {"type": "null"},
                "else": inner
            }),
        }
    }
}

/// Alert delivery: exactly one receiver (`slack` or `webhook`), and the
/// labels that let the cluster's Prometheus pick up gen's rules and monitors.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// Send alerts to a Slack incoming webhook (Alertmanager's Slack
    /// integration, which formats messages as Slack expects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    /// Send alerts to a generic webhook, as Alertmanager's webhook JSON
    /// (for a receiver that understands it; Slack does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
    /// Labels put on every PrometheusRule and ServiceMonitor gen writes, so
    /// that the Prometheus's `ruleSelector` and `serviceMonitorSelector` pick
    /// them up. Default `{release: kube-prometheus-stack}` (what the
    /// kube-prometheus-stack chart selects when installed under that name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_labels: Option<BTreeMap<String, String>>,
}

/// A Slack incoming webhook receiver.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    /// The incoming webhook's URL as a Secret reference `secret-name/key`;
    /// mounted into Alertmanager, never in the catalog.
    #[schemars(regex(pattern = SECRET_REF))]
    pub url_secret: String,
    /// Channel to post to, e.g. `#alerts` (default: the webhook's own channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SLACK_CHANNEL))]
    pub channel: Option<String>,
}

/// A generic webhook receiver.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// The webhook's URL as a Secret reference `secret-name/key`; mounted
    /// into Alertmanager, never in the catalog.
    #[schemars(regex(pattern = SECRET_REF))]
    pub url_secret: String,
}

/// Regex for a Slack channel: `#name` or `@user`, Slack's characters.
pub const SLACK_CHANNEL: &str = "^[#@][a-z0-9._-]{1,80}$";

/// Alerts of one service, as Prometheus rules.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// Fire when more than this percentage of HTTP requests fail with a 5xx
    /// status over 5 minutes (Micrometer's `http_server_requests_seconds_count`,
    /// scraped through the ServiceMonitor gen writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub error_rate: Option<u32>,
    /// Fire when the service's Service has had no ready endpoint for this
    /// many minutes (kube-state-metrics). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1440))]
    pub unavailable_minutes: Option<u32>,
    /// Where Prometheus scrapes the service's metrics (the ServiceMonitor).
    /// Default: the service's port, path `/actuator/prometheus` (Spring Boot
    /// with Micrometer's Prometheus registry); `port` for a separate
    /// management port (Spring's `management.server.port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
}

/// The metrics endpoint of a service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// HTTP path of the Prometheus text endpoint. Default `/actuator/prometheus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ROUTE), length(max = 1024))]
    pub path: Option<String>,
    /// Container port the metrics are served on when it is not the
    /// service's `port` (1-65535), e.g. `8081` for Spring's
    /// `management.server.port`. Default: the service's `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
}

/// GitOps delivery of the charts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitOps {
    /// Argo CD: one Application per chart, under `out/argocd/`.
    pub argocd: ArgoCd,
}

/// Argo CD Applications for the charts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCd {
    /// Git repository holding gen's output, e.g. `https://github.com/acme/deploy.git`.
    #[schemars(regex(pattern = "^(https://|ssh://|git@)[^\\s]+$"), length(max = 2048))]
    pub repo_url: String,
    /// Path of the `charts/` directory inside that repository, e.g. `deploy/out/charts`.
    #[schemars(
        regex(pattern = "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"),
        length(max = 1024)
    )]
    pub charts_path: String,
    /// Branch, tag or commit to deploy (default `HEAD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[A-Za-z0-9._/-]+$"), length(max = 255))]
    pub target_revision: Option<String>,
    /// Namespace Argo CD runs in (default `argocd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: Option<String>,
    /// Argo CD project (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub project: Option<String>,
    /// Sync automatically, prune removed objects and undo manual changes
    /// (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// The environment (a key of `environments`) this Argo CD deploys: each
    /// Application then renders its chart with `values-<environment>.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub environment: Option<String>,
}

/// Settings of a declared namespace.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    /// Extra labels put on the Namespace object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The cluster: K3s on EC2 machines or Amazon EKS, and the AWS network
/// around it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// K3s topology and options. Present when gen should emit bootstrap scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k3s: Option<K3s>,
    /// Amazon EKS control plane and managed node groups (instead of `k3s`;
    /// needs `aws`). Present when gen should emit an eksctl ClusterConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<Eks>,
    /// AWS network facts. Present when gen should emit security groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Aws>,
    /// StorageClass of the services' volumes (default: `local-path`, K3s's
    /// bundled provisioner, with `k3s`; else the cluster's default class).
    /// On EKS, e.g. `gp3` (needs the EBS CSI driver and that class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub storage_class: Option<String>,
}

/// Flannel backend used by K3s for pod networking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FlannelBackend {
    /// VXLAN over UDP 8472 (K3s default).
    Vxlan,
    /// WireGuard over UDP 51820 (51821 for IPv6).
    WireguardNative,
    /// Direct routes; nodes must share one L2 network.
    HostGw,
    /// No flannel; bring your own CNI.
    None,
}

impl FlannelBackend {
    /// The name in the catalog and in K3s's `flannel-backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlannelBackend::Vxlan => "vxlan",
            FlannelBackend::WireguardNative => "wireguard-native",
            FlannelBackend::HostGw => "host-gw",
            FlannelBackend::None => "none",
        }
    }
}

/// K3s cluster topology.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct K3s {
    /// Pinned K3s release, e.g. `v1.33.5+k3s1`.
    #[schemars(regex(pattern = K3S_VERSION))]
    pub version: String,
    /// Number of server (control-plane) nodes: 1, or an odd number >= 3 for
    /// embedded-etcd HA.
    #[schemars(range(min = 1, max = 99))]
    pub servers: u32,
    /// Number of agent (worker) nodes.
    #[serde(default)]
    #[schemars(range(max = 5000))]
    pub agents: u32,
    /// Flannel backend: vxlan (default), wireguard-native, host-gw or none.
    #[serde(default = "default_flannel")]
    pub flannel_backend: FlannelBackend,
    /// Turn on the embedded registry mirror (Spegel), which opens 5001/tcp between nodes.
    #[serde(default)]
    pub embedded_registry: bool,
    /// Dual-stack networking (adds IPv6 rules and CIDRs).
    #[serde(default)]
    pub ipv6: bool,
    /// Apply the CIS hardening profile (protect-kernel-defaults and sysctls).
    #[serde(default)]
    pub cis_profile: bool,
}

fn default_flannel() -> FlannelBackend {
    FlannelBackend::Vxlan
}

/// Regex for an EKS Kubernetes minor version, e.g. `1.34`.
pub const EKS_VERSION: &str = "^1\\.[0-9]{1,3}$";
/// Regex for a managed node group name (eksctl's rule, kept to a DNS label).
pub const NODE_GROUP_NAME: &str = "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$";
/// Regex for an EC2 instance type, e.g. `m6i.large`.
pub const INSTANCE_TYPE: &str = "^[a-z][a-z0-9-]*\\.[a-z0-9]+$";

/// Who reaches the EKS API server endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointAccess {
    /// Only from inside the VPC (nodes, the bastion, peered networks): the
    /// `admin_cidrs` reach it through the cluster security group (default).
    #[default]
    Private,
    /// Also from the internet, limited to `cluster.aws.admin_cidrs`; nodes
    /// still use the private endpoint.
    Public,
}

/// Amazon EKS: the managed control plane and its managed node groups.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Eks {
    /// Kubernetes minor version of the control plane, e.g. `"1.34"` (quote it).
    #[schemars(regex(pattern = EKS_VERSION))]
    pub version: String,
    /// API endpoint access: `private` (default) or `public` (limited to
    /// `cluster.aws.admin_cidrs`).
    #[serde(default)]
    pub endpoint: EndpointAccess,
    /// Managed node groups by name, e.g. `general: {instance_types: [m6i.large], min: 2, desired: 3, max: 6}`.
    #[schemars(extend("propertyNames" = { "pattern": NODE_GROUP_NAME, "maxLength": 63 }))]
    #[schemars(extend("minProperties" = 1))]
    pub node_groups: BTreeMap<String, NodeGroup>,
}

/// A managed node group: an auto scaling group of EC2 machines EKS runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// EC2 instance types, e.g. `[m6i.large, m5.large]` (several help spot capacity).
    #[schemars(length(min = 1, max = 20))]
    #[schemars(inner(regex(pattern = INSTANCE_TYPE), length(max = 32)))]
    pub instance_types: Vec<String>,
    /// Fewest nodes.
    #[schemars(range(max = 1000))]
    pub min: u32,
    /// Nodes to start with, between `min` and `max`.
    #[schemars(range(max = 1000))]
    pub desired: u32,
    /// Most nodes.
    #[schemars(range(min = 1, max = 1000))]
    pub max: u32,
    /// Zones the group spans, a subset of `cluster.aws.zones` (default: all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Run on spot capacity (cheaper, may be reclaimed at two minutes' notice).
    #[serde(default)]
    pub spot: bool,
    /// Size of each node's root volume in GiB (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 20, max = 16384))]
    pub volume_size: Option<u32>,
}

/// Load balancer type placed in front of the ingress controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancer {
    /// Application Load Balancer (terminates HTTPS).
    Alb,
    /// Network Load Balancer (TCP pass-through).
    Nlb,
}

/// Database engine living in private subnets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DbEngine {
    /// MariaDB (default port 3306).
    Mariadb,
    /// MySQL (default port 3306).
    Mysql,
    /// PostgreSQL (default port 5432).
    Postgres,
}

/// A database outside the cluster, reachable only from worker nodes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Engine: mariadb, mysql or postgres.
    pub engine: DbEngine,
    /// Port; defaults to the engine's standard port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
}

/// Minimum and maximum size of the agent auto scaling group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest agent machines.
    #[schemars(range(min = 0, max = 5000))]
    pub min: u32,
    /// Most agent machines.
    #[schemars(range(min = 1, max = 5000))]
    pub max: u32,
}

/// AWS network facts used to derive security groups.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// AWS region, e.g. `ap-northeast-2`.
    #[schemars(regex(pattern = "^[a-z]{2}(-[a-z]+)+-[0-9]$"))]
    pub region: String,
    /// CIDR block of the VPC, e.g. `10.0.0.0/16`.
    pub vpc_cidr: Cidr,
    /// CIDRs allowed to reach SSH (via the bastion when there is one) and the
    /// Kubernetes API, e.g. `[203.0.113.7/32]`.
    #[schemars(length(min = 1))]
    pub admin_cidrs: Vec<Cidr>,
    /// Availability zones the nodes span, e.g. `[ap-northeast-2a, ap-northeast-2c]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Load balancer in front of the ingress controller: alb or nlb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    /// Put a bastion host in front of the nodes; SSH then reaches nodes only through it.
    #[serde(default)]
    pub bastion: bool,
    /// A database in private subnets, reachable from the worker nodes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<Database>,
    /// Size range of the agent auto scaling group (`cluster.k3s.agents` is the desired size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
}

/// Ingress controller class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IngressClass {
    /// ingress-nginx.
    Nginx,
    /// Traefik (bundled with K3s).
    Traefik,
    /// AWS Load Balancer Controller.
    Alb,
}

/// The shared HTTP(S) entry point.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    /// Host name clients use, e.g. `sugang.karina.example`.
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub host: String,
    /// Ingress controller class: nginx, traefik or alb.
    #[serde(default = "default_ingress_class")]
    pub class: IngressClass,
    /// Name of the Secret holding the TLS certificate. Omit for plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub tls_secret: Option<String>,
    /// Redirect HTTP to HTTPS (default: true when `tls_secret` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_redirect: Option<bool>,
    /// Namespace the ingress controller runs in; NetworkPolicies admit it to
    /// routed services. Default: `ingress-nginx` for nginx, `kube-system` for
    /// traefik (K3s bundles it there). Not used by alb, whose load balancer
    /// reaches pods from the VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub controller_namespace: Option<String>,
}

fn default_ingress_class() -> IngressClass {
    IngressClass::Nginx
}

/// CPU and memory for the service container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU request, e.g. `250m` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Memory request, e.g. `256Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// CPU limit. Usually left unset to avoid CPU throttling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<Quantity>,
    /// Memory limit, e.g. `512Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<Quantity>,
}

/// How the kubelet checks the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeType {
    /// HTTP GET on `readiness` / `liveness` paths (default).
    #[default]
    Http,
    /// TCP connect to the service port (for non-HTTP services such as Redis).
    Tcp,
}

/// Readiness and liveness probes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    /// `http` (default) or `tcp`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProbeType>,
    /// HTTP path of the readiness probe, e.g. `/actuator/health/readiness`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ROUTE))]
    pub readiness: Option<String>,
    /// HTTP path of the liveness probe, e.g. `/actuator/health/liveness`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ROUTE))]
    pub liveness: Option<String>,
    /// Seconds before the first probe (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 3600))]
    pub initial_delay: Option<u32>,
}

/// Deployment strategy kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyType {
    /// Rolling update (default).
    #[default]
    Rolling,
    /// Two colours (blue, green); the Service selects the live one.
    BlueGreen,
    /// A stable and a canary track; a weighted share of traffic goes to the canary.
    Canary,
}

/// Colour of a blue-green deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Colour {
    /// The blue track.
    Blue,
    /// The green track.
    Green,
}

/// How new versions roll out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// `rolling` (default), `blue-green` or `canary`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<StrategyType>,
    /// Rolling: extra pods during an update, a count or a percentage (default `25%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrPercent>,
    /// Rolling: pods that may be unavailable during an update (default `25%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// Blue-green: the colour the Service sends traffic to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Colour>,
    /// Blue-green: image of the blue track (default: the service image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_image: Option<String>,
    /// Blue-green: image of the green track (default: the service image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green_image: Option<String>,
    /// Canary: image of the canary track (the service image stays stable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_image: Option<String>,
    /// Canary: percentage of requests sent to the canary (0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub canary_weight: Option<u32>,
}

/// Horizontal pod autoscaling on CPU (and optionally memory) utilisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hpa {
    /// Fewest replicas.
    #[schemars(range(min = 1, max = 10000))]
    pub min: u32,
    /// Most replicas.
    #[schemars(range(min = 1, max = 10000))]
    pub max: u32,
    /// Target average CPU utilisation in percent of the CPU request (e.g. 70).
    #[schemars(range(min = 1, max = 1000))]
    pub cpu: u32,
    /// Optional target average memory utilisation in percent of the memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub memory: Option<u32>,
}

/// An environment's HPA: a range replacing the service's, or `false` for none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HpaOverride {
    /// `false`: no HPA in this environment (the schema refuses `true`).
    Off(bool),
    /// The HPA of this environment.
    Range(Hpa),
}

impl JsonSchema for HpaOverride {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HpaOverride".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // `if`/`else` rather than `anyOf`, so that a mistake inside the
        // range (an unknown key, say) is reported at its node as usual.
        let range = generator.subschema_for::<Hpa>();
        schemars::json_schema!({
            "description": "An HPA `{min, max, cpu}` replacing the service's, or `false`: no HPA in this environment.",
            "if": {"type": "boolean"},
            "then": {"const": false},
            "else": range
        })
    }
}

/// Values every service inherits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Default namespace for services that set none (else the project name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: Option<String>,
    /// Default replica count for services without `replicas` or `hpa` (else 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 10000))]
    pub replicas: Option<u32>,
    /// Default resources; a service's own `resources` override key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Default probes; a service's own `probes` override key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Default strategy; a service's own `strategy` overrides key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Default registry credential Secrets of every service's pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = DNS_SUBDOMAIN), length(max = 253)))]
    pub image_pull_secrets: Vec<String>,
}

/// One containerised service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Namespace (a DNS-1123 label). Defaults to `defaults.namespace`, else the project name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: Option<String>,
    /// Container image pinned by tag or digest, e.g.
    /// `registry.example/student:1.4.2-3f9c2ab` or `redis@sha256:<64 hex>`. `latest` is refused.
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// Container port the service listens on (1-65535). Required, except
    /// for a service with a `schedule` (a batch job listens on nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Fixed replica count. With `hpa` it must lie inside the HPA range and is
    /// the count used when the HPA is switched off; the HPA owns the count
    /// otherwise, so the Deployment does not pin it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 10000))]
    pub replicas: Option<u32>,
    /// Horizontal pod autoscaler: `{min, max, cpu}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa: Option<Hpa>,
    /// Always keep at least this many pods running during voluntary disruptions
    /// (node drains); becomes a PodDisruptionBudget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub min_available: Option<u32>,
    /// HTTP path prefixes routed to this service on the ingress host, e.g. `[/, /student]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = ROUTE)))]
    pub routes: Vec<String>,
    /// Host for this service's routes (default: `ingress.host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub host: Option<String>,
    /// Literal environment variables (name -> string value). Quote numbers and
    /// booleans. Never put secrets here: use `secret_env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": ENV_NAME }))]
    pub env: BTreeMap<String, String>,
    /// Environment variables read from Kubernetes Secrets: name -> `secret-name/key`.
    /// The catalog only names the Secret; its value never passes through gen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": ENV_NAME }))]
    #[schemars(extend("additionalProperties" = {
        "type": "string",
        "pattern": SECRET_REF,
        "description": "A Secret reference `secret-name/key`, e.g. `db-credentials/password`."
    }))]
    pub secret_env: BTreeMap<String, String>,
    /// Names of services this one sends requests to (allowed by NetworkPolicy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = SERVICE_NAME)))]
    pub calls: Vec<String>,
    /// CPU and memory; overrides `defaults.resources` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Readiness and liveness probes; overrides `defaults.probes` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// Rollout strategy; overrides `defaults.strategy` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Destinations outside the cluster this service connects to (a database,
    /// an external API), allowed by its NetworkPolicy; everything else outside
    /// is denied. Example: `[{cidr: 10.0.20.0/24, port: 3306}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Egress>,
    /// Prometheus alerts for this service (`alerting` says where they go):
    /// `{error_rate: 5}` fires above 5% of 5xx responses; an alert for no
    /// ready endpoint behind the service's Service is always included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
    /// Policy waivers for this service: each names the rule and why it is
    /// waived, e.g. `[{rule: image-latest, reason: "vendor ships only latest"}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
    /// The container's entrypoint, replacing the image's `ENTRYPOINT`, e.g.
    /// `[java, -jar, /app.jar]`. Passed as written (no shell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 4096)))]
    pub command: Vec<String>,
    /// Arguments to the entrypoint, replacing the image's `CMD`, e.g.
    /// `[--config.file=/etc/prometheus/prometheus.yml]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 4096)))]
    pub args: Vec<String>,
    /// Extra named container ports (name -> port), e.g. `{admin: 8081}`, on
    /// the container and the Service; the services that call this one may
    /// reach them. Names: at most 15 of `a-z`, `0-9`, `-` with a letter
    /// (IANA service names), not `http` or `tcp` (the main port's). A port
    /// named `metrics` is the one `alerts.metrics.port` names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": PORT_NAME, "maxLength": 15 }))]
    #[schemars(extend("additionalProperties" = { "type": "integer", "minimum": 1, "maximum": 65535 }))]
    pub ports: BTreeMap<String, u32>,
    /// Configuration files (absolute path -> content), mounted read-only
    /// from a ConfigMap `<service>-files`; a change of content rolls the
    /// pods. At most 1 MiB in all; not under `/tmp`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": FILE_PATH, "maxLength": 1024 }))]
    pub files: BTreeMap<String, String>,
    /// Secrets holding registry credentials (e.g. for a private ECR
    /// registry), by name; replaces `defaults.image_pull_secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(regex(pattern = DNS_SUBDOMAIN), length(max = 253)))]
    pub image_pull_secrets: Option<Vec<String>>,
    /// The pods' ServiceAccount: annotations (e.g. an IAM role for IRSA)
    /// and the namespaced API access it is granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountSpec>,
    /// Overrides of the pod's security settings for images that need them
    /// (lint reports each; a waiver must say why). Pods still run as
    /// non-root without privilege escalation and with every capability dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityOverride>,
    /// Name of the Service (and the DNS name callers use) when it is not
    /// the service's name, e.g. `eureka` for a service `discovery`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SERVICE_NAME), length(max = 53))]
    pub service_name: Option<String>,
    /// Run the service as a CronJob on this schedule instead of a
    /// Deployment, e.g. `{cron: "0 3 * * *"}`: no Service, Ingress, HPA,
    /// PDB or probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// One-off Jobs run before each install and upgrade of the service
    /// (a Helm hook and an Argo CD PreSync hook; `gen apply` applies them
    /// in a wave before the Deployments), keyed by a short name, e.g.
    /// `{migrate: {command: [/app/migrate], deadline: 600}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": JOB_NAME, "maxLength": 20 }))]
    pub jobs: BTreeMap<String, OneOffJob>,
    /// Persistent volumes, e.g. `[{path: /data, size: 10Gi}]`: the service
    /// becomes a StatefulSet whose every pod gets its own PersistentVolumeClaim
    /// per volume, mounted at `path` (rolling strategy only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Absolute paths the container may write to that need not survive a
    /// restart (empty directories), e.g. `[/var/lib/grafana]`; the root
    /// filesystem stays read-only. `/tmp` is always writable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 1024)))]
    pub writable: Vec<String>,
}

/// Regex for the name of a one-off job.
pub const JOB_NAME: &str = "^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$";

/// What a scheduled run does when the previous one is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    /// Skip the new run (default).
    #[default]
    Forbid,
    /// Stop the running one and start the new one.
    Replace,
    /// Run both at once.
    Allow,
}

/// When and how a scheduled service runs (a CronJob).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Cron schedule as Kubernetes reads it: five fields (minute hour
    /// day-of-month month day-of-week, e.g. `"0 3 * * *"`) or a macro such
    /// as `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    #[schemars(length(min = 1, max = 256))]
    pub cron: String,
    /// IANA time zone of `cron`, e.g. `Asia/Seoul` (default: the
    /// controller's, usually UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"),
        length(max = 64)
    )]
    pub time_zone: Option<String>,
    /// `forbid` (default), `replace` or `allow`: what happens when a run is
    /// due while the previous one still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// Seconds a run may start late (e.g. after a controller outage) before
    /// it is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub starting_deadline: Option<u32>,
    /// Seconds a run may take before it is stopped and marked failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 604800))]
    pub deadline: Option<u32>,
    /// Retries of a failed run's pod before the run fails (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub backoff_limit: Option<u32>,
    /// Finished runs kept for inspection: successful (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub keep_successful: Option<u32>,
    /// Finished runs kept for inspection: failed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub keep_failed: Option<u32>,
}

/// A one-off Job of a service, e.g. a database migration: the service's
/// image, environment and resources with its own command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneOffJob {
    /// The container's command (its entrypoint), e.g. `[/app/migrate]`;
    /// default: the image's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the command, e.g. `[up]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Seconds the job may take before it is stopped and marked failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 604800))]
    pub deadline: Option<u32>,
    /// Retries of a failed pod before the job fails (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub backoff_limit: Option<u32>,
}

/// Regex for an extra port's name (IANA service name syntax; `check`
/// also wants a letter and no `--`).
pub const PORT_NAME: &str = "^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$";
/// Regex for a configuration file's path: absolute, no empty component.
pub const FILE_PATH: &str = "^(/[A-Za-z0-9._-]+)+$";

/// The ServiceAccount of a service's pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountSpec {
    /// Annotations, e.g. `{eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Namespaced API access (a Role bound to the ServiceAccount), e.g.
    /// `[{resources: [endpoints, services], verbs: [get, list, watch]}]`
    /// for service discovery. The pods then mount the account's token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RbacRule>,
}

/// One RBAC rule of a Role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RbacRule {
    /// API groups, `""` for the core group (default `[""]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(regex(pattern = "^(\\*|[a-z0-9.-]*)$"), length(max = 253)))]
    pub api_groups: Option<Vec<String>>,
    /// Resources, e.g. `[endpoints, pods]` or `pods/log`.
    #[schemars(
        length(min = 1),
        inner(regex(pattern = "^(\\*|[a-z0-9.-]+(/[a-z0-9.-]+)?)$"))
    )]
    pub resources: Vec<String>,
    /// Verbs, e.g. `[get, list, watch]`.
    #[schemars(length(min = 1), inner(regex(pattern = "^(\\*|[a-z]+)$")))]
    pub verbs: Vec<String>,
    /// Only these objects (by name); default every object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 253)))]
    pub resource_names: Vec<String>,
}

/// Security settings a service overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityOverride {
    /// User id the container runs as (default 10001; 0, root, is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 2147483647))]
    pub run_as_user: Option<u32>,
    /// Group id of the container and of its volumes (default 10001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 2147483647))]
    pub run_as_group: Option<u32>,
    /// `false` lets the container write its root filesystem (default true:
    /// read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
}

/// A persistent volume of a stateful service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Absolute path the volume is mounted at, e.g. `/data`.
    #[schemars(length(min = 1, max = 1024))]
    pub path: String,
    /// Size of each pod's claim, e.g. `10Gi`.
    pub size: Quantity,
    /// StorageClass of the claims (default: `cluster.storage_class`, else
    /// `local-path` on K3s, else the cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub storage_class: Option<String>,
    /// How the volume may be mounted (default `ReadWriteOnce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<AccessMode>,
}

/// A PersistentVolumeClaim access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AccessMode {
    /// Read-write by one node (every storage class supports it).
    ReadWriteOnce,
    /// Read-write by one pod.
    ReadWriteOncePod,
    /// Read-only by many nodes.
    ReadOnlyMany,
    /// Read-write by many nodes (needs a shared-filesystem class such as EFS).
    ReadWriteMany,
}

impl AccessMode {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
            AccessMode::ReadWriteMany => "ReadWriteMany",
        }
    }
}

/// An allowed connection to a destination outside the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Egress {
    /// Destination network, e.g. `10.0.20.0/24` or `0.0.0.0/0`.
    pub cidr: Cidr,
    /// Destination TCP port (1-65535).
    #[schemars(range(min = 1, max = 65535))]
    pub port: u32,
}

/// A reasoned exception to a policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Id of the waived rule, e.g. `image-latest`.
    #[schemars(regex(pattern = "^[a-z][a-z0-9-]*$"))]
    pub rule: String,
    /// Why the rule does not apply here (required, shown in reports).
    #[schemars(length(min = 1))]
    pub reason: String,
    /// Last day the waiver holds, `YYYY-MM-DD` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub expires: Option<String>,
}

/// Regex for a Prometheus duration such as `15d` or `1w3d`: numbers with the
/// units y, w, d, h, m, s, ms, largest first, each at most once.
pub const PROMETHEUS_DURATION: &str =
    "^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$";

/// Platform add-ons installed from pinned upstream charts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Addons {
    /// The monitoring stack (kube-prometheus-stack: Prometheus, Alertmanager,
    /// kube-state-metrics, node-exporter and, with `grafana`, Grafana). Its
    /// Prometheus selects gen's PrometheusRules and ServiceMonitors, its
    /// Alertmanager gets the configuration of `alerting`, and the services'
    /// NetworkPolicies let it scrape them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// metrics-server, which HorizontalPodAutoscalers read CPU and memory
    /// from: `{}` installs it; `{provided: true}` says the cluster has one
    /// already (an EKS add-on, say). K3s bundles one: do not install another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_server: Option<MetricsServer>,
}

/// The monitoring add-on (kube-prometheus-stack).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Namespace the stack runs in (default `monitoring`). Its Pod Security
    /// enforcement is `privileged`: node-exporter reads the host (host
    /// network, PID namespace and filesystem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: Option<String>,
    /// How long Prometheus keeps samples, a Prometheus duration such as
    /// `15d` or `12h` (units y, w, d, h, m, s, ms, largest first). Default `10d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROMETHEUS_DURATION), length(min = 2, max = 32))]
    pub retention: Option<String>,
    /// Size of Prometheus's persistent volume, e.g. `20Gi` (default `10Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
    /// StorageClass of the persistent volumes. Default: `local-path` on K3s,
    /// else the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub storage_class: Option<String>,
    /// Grafana, with its admin credentials from a Secret; without this key
    /// Grafana is not installed (the chart's built-in password is public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana: Option<Grafana>,
}

/// Grafana of the monitoring add-on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grafana {
    /// Name of the Secret, in the add-on's namespace, holding the admin
    /// user name under key `admin-user` and the password under
    /// `admin-password`. Create it before the add-on; gen never sees it.
    #[schemars(regex(pattern = DNS_SUBDOMAIN), length(max = 253))]
    pub admin_secret: String,
    /// Size of Grafana's persistent volume (dashboards, users), e.g. `5Gi`.
    /// Default: no volume (what Grafana stores is lost with its pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
}

/// The metrics-server add-on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsServer {
    /// The cluster already runs a metrics-server (K3s's, an EKS add-on):
    /// gen installs none. Default false: gen installs the pinned chart.
    #[serde(default)]
    pub provided: bool,
}
