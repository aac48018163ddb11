//! The chart's values: what `values.yaml` holds and `values.schema.json`
//! describes.
//!
//! Every per-service fact reaches the Go templates through these values; the
//! templates themselves are static (`blueprints/chart/`). So no catalog
//! string is ever part of Go template source, and Helm prints each one
//! literally.
//!
//! Architecture invariant: [`Values`] is the single input of both renderers,
//! Helm's (the blueprints) and gen's own (`emit::manifests::render`); the
//! rendered manifests are gen's render of `Values::from_model`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, ResourceRequirements, SeccompProfile, SecurityContext,
    Toleration,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::types::{Colour, IngressClass, LoadBalancer};
use crate::model::{routing, Image, Model, ProbeModel, Scaling, ServiceModel, StrategyModel};

pub use crate::model::container::RUN_AS_ID;
/// Replicas of the canary track.
pub const CANARY_REPLICAS: u32 = 1;

/// All values of one service chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Values of a gen service chart")]
pub struct Values {
    /// Project the service belongs to (label `app.kubernetes.io/part-of`).
    #[schemars(length(min = 1, max = 63))]
    pub part_of: String,
    /// Container image of the main track (the stable track of a canary).
    pub image: ImageValues,
    /// Image pull policy.
    pub image_pull_policy: PullPolicy,
    /// Secrets holding registry credentials, by name.
    pub image_pull_secrets: Vec<NameRef>,
    /// Replica count when autoscaling is off.
    #[schemars(range(min = 0, max = 10000))]
    pub replicas: u32,
    /// HorizontalPodAutoscaler (autoscaling/v2). When enabled, the Deployment
    /// leaves `spec.replicas` to it.
    pub autoscaling: AutoscalingValues,
    /// PodDisruptionBudget (policy/v1).
    pub pod_disruption_budget: PdbValues,
    /// The Service.
    pub service: ServiceValues,
    /// Container resources (requests are needed by the HPA).
    pub resources: ResourceRequirements,
    /// Readiness and liveness probes.
    pub probes: ProbesValues,
    /// Rollout strategy.
    pub strategy: StrategyValues,
    /// The Ingress.
    pub ingress: IngressValues,
    /// Literal environment variables, delivered through a ConfigMap.
    pub env: BTreeMap<String, String>,
    /// The container's entrypoint (empty: the image's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The container's arguments (empty: the image's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Configuration files by ConfigMap key, mounted from `<release>-files`
    /// (the pods carry their checksum, so a change rolls them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileValues>,
    /// Environment variables read from existing Secrets (never their values).
    pub secret_env: BTreeMap<String, SecretKeyValues>,
    /// NetworkPolicy: deny by default, allow what the catalog declares.
    pub network_policy: NetworkPolicyValues,
    /// The ServiceAccount the pods run as (token automount off).
    pub service_account: ServiceAccountValues,
    /// Extra annotations on the pods.
    pub pod_annotations: BTreeMap<String, String>,
    /// Pod-level security context.
    pub pod_security_context: PodSecurityContext,
    /// Container-level security context.
    pub security_context: SecurityContext,
    /// Node labels the pods must run on.
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    pub tolerations: Vec<Toleration>,
    /// Run as a CronJob (batch/v1) on this schedule, instead of Deployments
    /// behind a Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleValues>,
    /// One-off Jobs run as Helm pre-install/pre-upgrade hooks (and Argo CD
    /// PreSync hooks) before the rollout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobValues>,
    /// Persistent volumes, one claim per pod each: when any, the workload
    /// is a StatefulSet (with a headless Service) instead of a Deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeValues>,
    /// Writable empty directories mounted into the container (besides /tmp).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable: Vec<MountValues>,
}

/// A CronJob's schedule and the Job each run is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleValues {
    /// Cron schedule (five fields or a macro such as `@hourly`).
    #[schemars(length(min = 1))]
    pub cron: String,
    /// IANA time zone of the schedule; empty: the controller's.
    pub time_zone: String,
    /// `Forbid`, `Replace` or `Allow`.
    #[schemars(regex(pattern = "^(Forbid|Replace|Allow)$"))]
    pub concurrency_policy: String,
    /// Seconds a run may start late; 0: no limit.
    #[schemars(range(min = 0))]
    pub starting_deadline_seconds: u32,
    /// Seconds a run may take; 0: no limit.
    #[schemars(range(min = 0))]
    pub active_deadline_seconds: u32,
    /// Retries of a failed pod.
    #[schemars(range(min = 0, max = 100))]
    pub backoff_limit: u32,
    /// Successful runs kept.
    #[schemars(range(min = 0, max = 100))]
    pub successful_jobs_history_limit: u32,
    /// Failed runs kept.
    #[schemars(range(min = 0, max = 100))]
    pub failed_jobs_history_limit: u32,
}

/// A one-off hook Job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobValues {
    /// Object name: `<service>-<job>-<hash of its pod>`, new whenever the
    /// pod changes (a Job's pod template is immutable).
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The job's short name (label `gen.dev/job`).
    #[schemars(length(min = 1, max = 20))]
    pub job: String,
    /// Container command; empty: the image's entrypoint.
    pub command: Vec<String>,
    /// Container arguments.
    pub args: Vec<String>,
    /// Seconds the job may take; 0: no limit.
    #[schemars(range(min = 0))]
    pub active_deadline_seconds: u32,
    /// Retries of a failed pod.
    #[schemars(range(min = 0, max = 100))]
    pub backoff_limit: u32,
}

impl ScheduleValues {
    fn from_model(m: &crate::model::jobs::ScheduleModel) -> ScheduleValues {
        use crate::catalog::types::Concurrency;
        ScheduleValues {
            cron: m.cron.clone(),
            time_zone: m.time_zone.clone().unwrap_or_default(),
            concurrency_policy: match m.concurrency {
                Concurrency::Forbid => "Forbid",
                Concurrency::Replace => "Replace",
                Concurrency::Allow => "Allow",
            }
            .to_owned(),
            starting_deadline_seconds: m.starting_deadline.unwrap_or(0),
            active_deadline_seconds: m.deadline.unwrap_or(0),
            backoff_limit: m.backoff_limit,
            successful_jobs_history_limit: m.keep_successful,
            failed_jobs_history_limit: m.keep_failed,
        }
    }
}

impl JobValues {
    fn from_model(j: &crate::model::jobs::JobModel) -> JobValues {
        JobValues {
            name: j.name.clone(),
            job: j.key.clone(),
            command: j.command.clone(),
            args: j.args.clone(),
            active_deadline_seconds: j.deadline.unwrap_or(0),
            backoff_limit: j.backoff_limit,
        }
    }
}

/// A directory mounted into the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountValues {
    /// Volume name.
    #[schemars(regex(pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// Absolute path in the container.
    #[schemars(regex(pattern = "^/.+$"))]
    pub mount_path: String,
}

/// A persistent volume: a volumeClaimTemplate of the StatefulSet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeValues {
    /// Claim template name (each pod's claim is `<name>-<release>-<ordinal>`).
    #[schemars(regex(pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// Absolute path in the container.
    #[schemars(regex(pattern = "^/.+$"))]
    pub mount_path: String,
    /// Requested storage, e.g. `10Gi`.
    pub size: Quantity,
    /// StorageClass of the claims; absent: the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Access mode, e.g. `ReadWriteOnce`.
    #[schemars(regex(pattern = "^(ReadWriteOnce|ReadWriteOncePod|ReadOnlyMany|ReadWriteMany)$"))]
    pub access_mode: String,
}

/// An image reference split into parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageValues {
    /// Registry and repository, e.g. `ghcr.io/shop/search`.
    #[schemars(length(min = 1))]
    pub repository: String,
    /// Tag, e.g. `1.4.2-3f9c2ab`. Empty when pinned by digest only.
    #[schemars(regex(pattern = "^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"))]
    pub tag: String,
    /// Digest, e.g. `sha256:<64 hex>`. Empty when pinned by tag only.
    #[schemars(regex(pattern = "^(sha256:[a-f0-9]{64})?$"))]
    pub digest: String,
}

impl ImageValues {
    fn from_image(i: &Image) -> Self {
        ImageValues {
            repository: i.repository.clone(),
            tag: i.tag.clone().unwrap_or_default(),
            digest: i.digest.clone().unwrap_or_default(),
        }
    }

    /// The reference as the container's `image` field shows it.
    pub fn reference(&self) -> String {
        let mut s = self.repository.clone();
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        }
        s
    }

    /// Value of the `app.kubernetes.io/version` label: the tag cut to 63
    /// characters without leading or trailing non-alphanumerics (the
    /// `gen.versionLabel` helper does the same). Empty means no label.
    pub fn version_label(&self) -> String {
        let cut: String = self.tag.chars().take(63).collect();
        cut.trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_owned()
    }
}

/// Image pull policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// Pull when the node lacks the image (right for pinned tags).
    IfNotPresent,
    /// Pull on every start.
    Always,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}

/// A reference by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRef {
    /// Object name.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// HorizontalPodAutoscaler settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalingValues {
    /// Create the HPA.
    pub enabled: bool,
    /// Fewest replicas.
    #[schemars(range(min = 1, max = 10000))]
    pub min_replicas: u32,
    /// Most replicas.
    #[schemars(range(min = 1, max = 10000))]
    pub max_replicas: u32,
    /// Target average CPU utilisation, percent of the CPU request.
    #[serde(rename = "targetCPUUtilizationPercentage")]
    #[schemars(range(min = 1, max = 1000))]
    pub target_cpu: u32,
    /// Target average memory utilisation, percent of the memory request; 0 = off.
    #[serde(rename = "targetMemoryUtilizationPercentage")]
    #[schemars(range(min = 0, max = 1000))]
    pub target_memory: u32,
}

/// PodDisruptionBudget settings: `minAvailable` when set, else `maxUnavailable`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PdbValues {
    /// Create the PodDisruptionBudget.
    pub enabled: bool,
    /// Pods that must stay up during voluntary disruptions (0 = use `maxUnavailable`).
    #[schemars(range(min = 0, max = 10000))]
    pub min_available: u32,
    /// Pods that may be down at once when `minAvailable` is 0.
    #[schemars(range(min = 1, max = 10000))]
    pub max_unavailable: u32,
}

/// The Service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceValues {
    /// Port the container listens on; the Service exposes the same number.
    /// Absent for a scheduled service that listens on nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Port name: `http`, or `tcp` for non-HTTP services.
    #[schemars(regex(pattern = "^(http|tcp)$"))]
    pub port_name: String,
    /// Name of the Service when it is not the release's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63))]
    pub name: String,
    /// Extra named ports (name -> port) of the container and of every
    /// Service of the chart, which the callers may reach; `metrics` is the
    /// one Prometheus scrapes when the metrics are not on `port`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, u32>,
}

impl ServiceValues {
    /// The separate metrics port, if any.
    pub fn metrics_port(&self) -> Option<u32> {
        self.ports.get(METRICS_PORT_NAME).copied()
    }
}

/// A configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileValues {
    /// Absolute path in the container.
    pub path: String,
    /// Content.
    pub content: String,
}

/// Name of the metrics port in the container and the Services.
pub const METRICS_PORT_NAME: &str = crate::model::container::METRICS_PORT;

/// The two probes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbesValues {
    /// When the pod receives traffic.
    pub readiness: ProbeValues,
    /// When the container is restarted.
    pub liveness: ProbeValues,
}

/// How a probe checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// HTTP GET on `path`.
    Http,
    /// TCP connect.
    Tcp,
}

/// One probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeValues {
    /// `http` or `tcp`.
    #[serde(rename = "type")]
    pub kind: ProbeKind,
    /// HTTP path (http probes).
    #[schemars(regex(pattern = "^(/.*)?$"))]
    pub path: String,
    /// Seconds before the first check.
    #[schemars(range(min = 0, max = 3600))]
    pub initial_delay_seconds: u32,
    /// Seconds between checks.
    #[schemars(range(min = 1, max = 3600))]
    pub period_seconds: u32,
    /// Seconds before a check times out.
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: u32,
    /// Failed checks in a row before acting.
    #[schemars(range(min = 1, max = 100))]
    pub failure_threshold: u32,
}

/// Strategy kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum StrategyKind {
    /// One Deployment, rolling update.
    Rolling,
    /// Blue and green Deployments; the Service selects the live one.
    BlueGreen,
    /// Stable and canary Deployments; the ingress splits traffic by weight.
    Canary,
}

/// Rollout strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StrategyValues {
    /// `rolling`, `blueGreen` or `canary`.
    #[serde(rename = "type")]
    pub kind: StrategyKind,
    /// Rolling update of every Deployment of the chart.
    pub rolling_update: RollingValues,
    /// Blue-green tracks (type `blueGreen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenValues>,
    /// Canary track (type `canary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryValues>,
}

/// maxSurge / maxUnavailable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingValues {
    /// Extra pods during an update: a count or a percentage.
    #[schemars(schema_with = "int_or_percent")]
    pub max_surge: IntOrString,
    /// Pods that may be unavailable during an update: a count or a percentage.
    #[schemars(schema_with = "int_or_percent")]
    pub max_unavailable: IntOrString,
}

fn int_or_percent(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"}
        ]
    })
}

/// Blue-green tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlueGreenValues {
    /// The colour the Service sends traffic to. Switching is this one value.
    pub live: ColourValue,
    /// Image of the blue track.
    pub blue: ImageValues,
    /// Image of the green track.
    pub green: ImageValues,
}

/// A blue-green colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColourValue {
    /// Blue.
    Blue,
    /// Green.
    Green,
}

impl ColourValue {
    /// Lowercase name, the track label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ColourValue::Blue => "blue",
            ColourValue::Green => "green",
        }
    }
}

/// Canary track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryValues {
    /// Image under trial.
    pub image: ImageValues,
    /// Percent of requests sent to the canary (0-100).
    #[schemars(range(min = 0, max = 100))]
    pub weight: u32,
    /// Replicas of the canary Deployment.
    #[schemars(range(min = 0, max = 10000))]
    pub replicas: u32,
}

/// Ingress controller family; decides the annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    /// ingress-nginx.
    Nginx,
    /// Traefik.
    Traefik,
    /// AWS Load Balancer Controller.
    Alb,
}

/// The Ingress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressValues {
    /// Create the Ingress (needs at least one path).
    pub enabled: bool,
    /// Controller family: decides redirect, TLS and canary annotations.
    pub controller: Controller,
    /// IngressClass name in the cluster.
    pub class_name: String,
    /// Host name.
    pub host: String,
    /// Path prefixes routed to the service.
    pub paths: Vec<String>,
    /// TLS termination.
    pub tls: TlsValues,
    /// Redirect HTTP to HTTPS.
    pub https_redirect: bool,
    /// An ALB in front of the controller ends TLS and forwards every request
    /// as HTTP with the client's scheme in `X-Forwarded-Proto`: the
    /// controller redirects by that header (Traefik: the `gen-https-redirect`
    /// middleware of kube-system, instead of its `web` entry point redirect).
    pub forwarded_scheme: bool,
    /// alb: the Ingress's `group.order` in the project's IngressGroup, lower
    /// for services whose routes lie under other services' routes (-1000 to
    /// 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1000, max = 1000))]
    pub group_order: Option<i32>,
    /// alb: security groups (Name tags or IDs) the AWS Load Balancer
    /// Controller attaches to the ALB instead of making its own; it then
    /// leaves the pods' rules alone, which gen's security groups (`aws/`)
    /// open to the load balancer's group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    /// Extra annotations (win over gen's).
    pub annotations: BTreeMap<String, String>,
}

/// TLS of the Ingress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsValues {
    /// Serve HTTPS for the host.
    pub enabled: bool,
    /// Secret holding the certificate (in the release namespace). alb ignores
    /// it and finds the ACM certificate by host.
    pub secret_name: String,
}

/// A key of a Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyValues {
    /// Secret name.
    #[schemars(length(min = 1))]
    pub secret: String,
    /// Key in the Secret.
    #[schemars(length(min = 1))]
    pub key: String,
}

/// NetworkPolicy settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicyValues {
    /// Create the NetworkPolicy (pods deny everything not listed).
    pub enabled: bool,
    /// Where the ingress controller's traffic comes from (routed services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_controller: Option<PeerValues>,
    /// The monitoring add-on's Prometheus pods, which scrape this service's
    /// metrics port (`service.ports.metrics`, else `service.port`): set when
    /// the catalog has `addons.monitoring` and gen scrapes the service (a
    /// ServiceMonitor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PeerValues>,
    /// Services allowed to connect to this one.
    pub from: Vec<ServicePeer>,
    /// Services this one may connect to.
    pub to: Vec<ServicePeer>,
    /// Destinations outside the cluster this one may connect to.
    pub egress: Vec<CidrPeer>,
    /// Allow DNS lookups (kube-dns, UDP and TCP 53).
    pub dns: bool,
}

/// Where the ingress controller's traffic comes from: pods in a namespace,
/// or (for a cloud load balancer) a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerValues {
    /// Namespace of the controller pods.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Labels of the controller pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
    /// Source network (instead of namespace and labels).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
}

/// Another service of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePeer {
    /// Its namespace.
    pub namespace: String,
    /// Its name (label `app.kubernetes.io/name`).
    pub service: String,
    /// Its container port (for `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Its extra ports (for `to`): a caller may reach them (scrape its
    /// metrics, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u32>,
}

/// A network and port outside the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CidrPeer {
    /// Network in CIDR notation.
    pub cidr: String,
    /// TCP port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u32,
}

/// ServiceAccount settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountValues {
    /// Annotations, e.g. `eks.amazonaws.com/role-arn` for IAM roles.
    pub annotations: BTreeMap<String, String>,
    /// Rules of a Role bound to the account; when there are some, the pods
    /// mount the account's token to call the API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
}

/// The service's extra ports, `metrics` included.
fn extra_ports(s: &ServiceModel) -> BTreeMap<String, u32> {
    s.container
        .ports
        .iter()
        .map(|(k, p)| (k.clone(), u32::from(*p)))
        .collect()
}

fn probe(p: &ProbeModel, delay: u32, period: u32) -> ProbeValues {
    let (kind, path) = match p {
        ProbeModel::Http(path) => (ProbeKind::Http, path.clone()),
        ProbeModel::Tcp => (ProbeKind::Tcp, String::new()),
    };
    ProbeValues {
        kind,
        path,
        initial_delay_seconds: delay,
        period_seconds: period,
        timeout_seconds: 2,
        failure_threshold: 3,
    }
}

fn int_or_string(s: &str) -> IntOrString {
    match s.parse::<i32>() {
        Ok(n) => IntOrString::Int(n),
        Err(_) => IntOrString::String(s.to_owned()),
    }
}

/// Who calls whom, indexed once per model.
struct Topology<'a> {
    by_name: BTreeMap<&'a str, &'a ServiceModel>,
    /// Callee name -> its callers, in model (name) order.
    callers: BTreeMap<&'a str, Vec<&'a ServiceModel>>,
    /// alb: each routed service's `group.order` (see [`routing`]).
    alb_orders: BTreeMap<String, i32>,
}

/// Default namespace of each ingress controller family.
pub fn controller_namespace(class: IngressClass) -> &'static str {
    match class {
        IngressClass::Nginx => "ingress-nginx",
        IngressClass::Traefik | IngressClass::Alb => "kube-system",
    }
}

impl Values {
    /// The values of every service, in model order.
    pub fn all(model: &Model) -> Vec<Values> {
        let by_name: BTreeMap<&str, &ServiceModel> = model
            .services
            .iter()
            .map(|s| (s.name.as_str(), s))
            .collect();
        let mut callers: BTreeMap<&str, Vec<&ServiceModel>> = BTreeMap::new();
        for s in &model.services {
            for c in &s.calls {
                callers.entry(c.as_str()).or_default().push(s);
            }
        }
        let alb = model.ingress.as_ref().map(|i| i.class) == Some(IngressClass::Alb);
        let routes: Vec<(&str, Vec<(&str, &str)>)> = model
            .services
            .iter()
            .map(|s| {
                let r = s.routes.iter().map(|r| (r.host.as_str(), r.path.as_str()));
                (s.name.as_str(), r.collect())
            })
            .collect();
        // The catalog checks refuse routes no order serves.
        let alb_orders = if alb {
            routing::alb_group_orders(&routes).unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        let topology = Topology {
            by_name,
            callers,
            alb_orders,
        };
        model
            .services
            .iter()
            .map(|svc| Values::from_model(model, &topology, svc))
            .collect()
    }

    /// The values gen writes for `svc`: the chart renders exactly the catalog's
    /// intent with them.
    fn from_model(model: &Model, topology: &Topology, svc: &ServiceModel) -> Values {
        let (replicas, autoscaling) = match svc.scaling {
            Scaling::Fixed(n) => (
                n,
                AutoscalingValues {
                    enabled: false,
                    min_replicas: n.max(1),
                    max_replicas: n.max(1),
                    target_cpu: 80,
                    target_memory: 0,
                },
            ),
            Scaling::Auto {
                min,
                max,
                cpu,
                memory,
            } => (
                svc.initial_replicas.unwrap_or(min),
                AutoscalingValues {
                    enabled: true,
                    min_replicas: min,
                    max_replicas: max,
                    target_cpu: cpu,
                    target_memory: memory.unwrap_or(0),
                },
            ),
        };
        let pod_disruption_budget = match svc.min_available {
            Some(m) => PdbValues {
                enabled: true,
                min_available: m,
                max_unavailable: 1,
            },
            None => PdbValues {
                enabled: svc.scaling.guaranteed() >= 2 && svc.schedule.is_none(),
                min_available: 0,
                max_unavailable: 1,
            },
        };
        let r = &svc.resources;
        let mut limits = BTreeMap::from([("memory".to_owned(), Quantity(r.memory_limit.clone()))]);
        if let Some(c) = &r.cpu_limit {
            limits.insert("cpu".to_owned(), Quantity(c.clone()));
        }
        let resources = ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity(r.cpu.clone())),
                ("memory".to_owned(), Quantity(r.memory.clone())),
            ])),
            limits: Some(limits),
            ..Default::default()
        };
        let port_name = match (&svc.probes.readiness, &svc.probes.liveness) {
            (ProbeModel::Tcp, ProbeModel::Tcp) => "tcp",
            _ => "http",
        };
        let (kind, max_surge, max_unavailable, blue_green, canary) = match &svc.strategy {
            StrategyModel::Rolling {
                max_surge,
                max_unavailable,
            } => (
                StrategyKind::Rolling,
                max_surge.as_str(),
                max_unavailable.as_str(),
                None,
                None,
            ),
            StrategyModel::BlueGreen { live, blue, green } => (
                StrategyKind::BlueGreen,
                "25%",
                "0",
                Some(BlueGreenValues {
                    live: match live {
                        Colour::Blue => ColourValue::Blue,
                        Colour::Green => ColourValue::Green,
                    },
                    blue: ImageValues::from_image(blue),
                    green: ImageValues::from_image(green),
                }),
                None,
            ),
            StrategyModel::Canary {
                image,
                weight,
                max_surge,
                max_unavailable,
            } => (
                StrategyKind::Canary,
                max_surge.as_str(),
                max_unavailable.as_str(),
                None,
                Some(CanaryValues {
                    image: ImageValues::from_image(image),
                    weight: *weight,
                    replicas: CANARY_REPLICAS,
                }),
            ),
        };
        let ing = model.ingress.as_ref();
        let class = ing.map_or(IngressClass::Nginx, |i| i.class);
        let controller = match class {
            IngressClass::Nginx => Controller::Nginx,
            IngressClass::Traefik => Controller::Traefik,
            IngressClass::Alb => Controller::Alb,
        };
        let tls_secret = ing.and_then(|i| i.tls_secret.clone());
        let ingress = IngressValues {
            enabled: !svc.routes.is_empty(),
            controller,
            class_name: match class {
                IngressClass::Nginx => "nginx",
                IngressClass::Traefik => "traefik",
                IngressClass::Alb => "alb",
            }
            .to_owned(),
            host: svc
                .routes
                .first()
                .map(|r| r.host.clone())
                .unwrap_or_else(|| ing.map(|i| i.host.clone()).unwrap_or_default()),
            paths: svc.routes.iter().map(|r| r.path.clone()).collect(),
            tls: TlsValues {
                enabled: tls_secret.is_some()
                    || (class == IngressClass::Alb && ing.is_some_and(|i| i.https_redirect)),
                secret_name: tls_secret.unwrap_or_default(),
            },
            https_redirect: ing.is_some_and(|i| i.https_redirect),
            forwarded_scheme: class != IngressClass::Alb
                && model.aws.as_ref().and_then(|a| a.load_balancer) == Some(LoadBalancer::Alb),
            group_order: (class == IngressClass::Alb && !svc.routes.is_empty())
                .then(|| topology.alb_orders.get(&svc.name).copied().unwrap_or(0)),
            security_groups: if class == IngressClass::Alb && !svc.routes.is_empty() {
                crate::emit::aws::load_balancer_group(model)
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            },
            annotations: BTreeMap::new(),
        };

        let ingress_controller = (!svc.routes.is_empty()).then(|| match class {
            IngressClass::Alb => PeerValues {
                namespace: String::new(),
                pod_labels: BTreeMap::new(),
                cidr: model
                    .aws
                    .as_ref()
                    .map_or_else(|| "0.0.0.0/0".to_owned(), |a| a.vpc_cidr.0.clone()),
            },
            _ => PeerValues {
                namespace: ing
                    .and_then(|i| i.controller_namespace.clone())
                    .unwrap_or_else(|| controller_namespace(class).to_owned()),
                pod_labels: BTreeMap::from([(
                    "app.kubernetes.io/name".to_owned(),
                    match class {
                        IngressClass::Traefik => "traefik",
                        _ => "ingress-nginx",
                    }
                    .to_owned(),
                )]),
                cidr: String::new(),
            },
        });
        let from = topology
            .callers
            .get(svc.name.as_str())
            .into_iter()
            .flatten()
            .map(|s| ServicePeer {
                namespace: s.namespace.clone(),
                service: s.name.clone(),
                port: None,
                ports: Vec::new(),
            })
            .collect();
        let to = svc
            .calls
            .iter()
            .filter_map(|c| topology.by_name.get(c.as_str()))
            .map(|s| ServicePeer {
                namespace: s.namespace.clone(),
                service: s.name.clone(),
                port: s.port.map(u32::from),
                ports: s.container.ports.values().map(|p| u32::from(*p)).collect(),
            })
            .collect();

        let sec = &svc.container.security;
        Values {
            part_of: model.project.clone(),
            image: ImageValues::from_image(&svc.image),
            image_pull_policy: PullPolicy::IfNotPresent,
            image_pull_secrets: svc
                .container
                .image_pull_secrets
                .iter()
                .map(|n| NameRef { name: n.clone() })
                .collect(),
            replicas,
            autoscaling,
            pod_disruption_budget,
            service: ServiceValues {
                port: svc.port.map(u32::from),
                port_name: port_name.to_owned(),
                name: if svc.service_name == svc.name {
                    String::new()
                } else {
                    svc.service_name.clone()
                },
                ports: extra_ports(svc),
            },
            resources,
            probes: ProbesValues {
                readiness: probe(&svc.probes.readiness, svc.probes.initial_delay, 5),
                liveness: probe(&svc.probes.liveness, svc.probes.initial_delay, 10),
            },
            strategy: StrategyValues {
                kind,
                rolling_update: RollingValues {
                    max_surge: int_or_string(max_surge),
                    max_unavailable: int_or_string(max_unavailable),
                },
                blue_green,
                canary,
            },
            ingress,
            env: svc.env.clone(),
            command: svc.container.command.clone(),
            args: svc.container.args.clone(),
            files: svc
                .container
                .files
                .iter()
                .map(|f| {
                    (
                        f.key.clone(),
                        FileValues {
                            path: f.path.clone(),
                            content: f.content.clone(),
                        },
                    )
                })
                .collect(),
            secret_env: svc
                .secret_env
                .iter()
                .map(|(k, r)| {
                    (
                        k.clone(),
                        SecretKeyValues {
                            secret: r.secret.clone(),
                            key: r.key.clone(),
                        },
                    )
                })
                .collect(),
            network_policy: NetworkPolicyValues {
                enabled: true,
                ingress_controller,
                prometheus: model
                    .addons
                    .monitoring
                    .as_ref()
                    .filter(|_| {
                        svc.alerts
                            .as_ref()
                            .is_some_and(|a| a.metrics_path.is_some())
                    })
                    .map(|m| PeerValues {
                        namespace: m.namespace.clone(),
                        pod_labels: crate::emit::addons::prometheus_pods(),
                        cidr: String::new(),
                    }),
                from,
                to,
                egress: svc
                    .egress
                    .iter()
                    .map(|(cidr, port)| CidrPeer {
                        cidr: cidr.clone(),
                        port: u32::from(*port),
                    })
                    .collect(),
                dns: true,
            },
            service_account: ServiceAccountValues {
                annotations: svc.container.annotations.clone(),
                rules: svc
                    .container
                    .rules
                    .iter()
                    .map(|r| PolicyRule {
                        api_groups: r.api_groups.clone(),
                        resources: Some(r.resources.clone()),
                        verbs: r.verbs.clone(),
                        resource_names: (!r.resource_names.is_empty())
                            .then(|| r.resource_names.clone()),
                        ..Default::default()
                    })
                    .collect(),
            },
            pod_annotations: BTreeMap::new(),
            pod_security_context: PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(sec.run_as_user),
                run_as_group: Some(sec.run_as_group),
                fs_group: Some(sec.run_as_group),
                // Claims can be large: chown them only when their root is
                // not the pods' group yet.
                fs_group_change_policy: (!svc.workload.volumes().is_empty())
                    .then(|| "OnRootMismatch".into()),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            security_context: SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(sec.read_only_root_filesystem),
                run_as_non_root: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            schedule: svc.schedule.as_ref().map(ScheduleValues::from_model),
            jobs: svc.jobs.iter().map(JobValues::from_model).collect(),
            volumes: svc
                .workload
                .volumes()
                .iter()
                .map(|v| VolumeValues {
                    name: v.mount.name.clone(),
                    mount_path: v.mount.path.clone(),
                    size: Quantity(v.size.clone()),
                    storage_class_name: v.storage_class.clone(),
                    access_mode: v.access_mode.as_str().to_owned(),
                })
                .collect(),
            writable: svc
                .writable
                .iter()
                .map(|m| MountValues {
                    name: m.name.clone(),
                    mount_path: m.path.clone(),
                })
                .collect(),
        }
    }
}
