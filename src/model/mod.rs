//! Stage 2: the validated intermediate representation.
//!
//! [`analyze`] runs every check of every stage (collecting all problems),
//! then resolves defaults into a [`Model`] that emitters consume without
//! re-validating. Every model item keeps the JSON pointer of the catalog node it
//! came from, so later stages (lint) can point back at the catalog line.
//!
//! Architecture invariant: emitters never see a `Catalog`, only a `Model`; a
//! `Model` only exists if the catalog passed every check.

pub mod addons;
pub mod chars;
pub mod check;
pub mod container;
pub mod environment;
pub mod flows;
pub mod image;
pub mod jobs;
pub mod mounts;
pub mod names;
pub mod objects;
pub mod quantity;
pub mod routing;

use std::collections::BTreeMap;

use crate::catalog::types::{
    AccessMode, Colour, FlannelBackend, IngressClass, ProbeType, Resources, StrategyType,
};
use crate::catalog::{push_pointer, Parsed};
use crate::diag::{Problems, SourceFile};
pub use image::Image;

/// Kubernetes minor version targeted when the catalog names none.
pub const DEFAULT_KUBERNETES: &str = "1.33";
/// Built-in CPU request when neither the service nor `defaults` sets one.
pub const DEFAULT_CPU: &str = "100m";
/// Built-in memory request when neither the service nor `defaults` sets one.
pub const DEFAULT_MEMORY: &str = "128Mi";
/// Built-in initial delay of probes, in seconds.
pub const DEFAULT_PROBE_DELAY: u32 = 10;

/// Chart `version` when the catalog sets no `chart_version`.
pub const DEFAULT_CHART_VERSION: &str = "0.1.0";

/// The validated project.
#[derive(Debug, Clone)]
pub struct Model {
    /// Project name.
    pub project: String,
    /// `version` of every generated chart (the catalog's `chart_version`).
    pub chart_version: String,
    /// Targeted Kubernetes minor version, e.g. `1.33`.
    pub kubernetes: String,
    /// Every namespace in use or declared, with its labels.
    pub namespaces: BTreeMap<String, NamespaceModel>,
    /// Services sorted by name.
    pub services: Vec<ServiceModel>,
    /// The shared ingress, if any.
    pub ingress: Option<IngressModel>,
    /// K3s topology, if any.
    pub k3s: Option<K3sModel>,
    /// EKS control plane and node groups, if any (never with `k3s`).
    pub eks: Option<EksModel>,
    /// AWS facts, if any (kept as written; derived in the infra stage).
    pub aws: Option<crate::catalog::types::Aws>,
    /// Argo CD delivery, if any.
    pub argocd: Option<crate::catalog::types::ArgoCd>,
    /// Alert delivery, if any.
    pub alerting: Option<AlertingModel>,
    /// Platform add-ons from pinned upstream charts.
    pub addons: addons::AddonsModel,
    /// The catalog's environments, sorted by name (empty in an environment's
    /// own model).
    pub environments: Vec<Environment>,
    /// In an environment's model ([`Model::in_environment`]): its name.
    pub environment: Option<String>,
}

/// A deployment environment of the catalog.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Name, a DNS-1123 label.
    pub name: String,
    /// kubeconfig context to deploy with (the catalog's `context`, else the name).
    pub context: String,
    /// Whether deploying needs an explicit confirmation.
    pub protected: bool,
    /// Catalog pointer of the environment, e.g. `/environments/prod`.
    pub pointer: String,
    /// The model with the environment's overrides applied.
    pub model: Model,
}

impl Model {
    /// The catalog's environments, sorted by name.
    pub fn environments(&self) -> impl Iterator<Item = &Environment> {
        self.environments.iter()
    }

    /// The environment called `name`, if the catalog has it.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The model of environment `name`: the base model with the
    /// environment's overrides applied, validated by [`analyze`] with the same
    /// checks as the base. It is built once, in `analyze`, and borrowed here;
    /// clone it to own it. Charts, manifests and lint run on it unchanged.
    pub fn in_environment(&self, name: &str) -> Option<&Model> {
        self.environment(name).map(|e| &e.model)
    }
}

/// A namespace.
#[derive(Debug, Clone, Default)]
pub struct NamespaceModel {
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Catalog pointer of its declaration (empty when only implied).
    pub pointer: String,
}

/// The shared ingress.
#[derive(Debug, Clone)]
pub struct IngressModel {
    /// Default host.
    pub host: String,
    /// Controller class.
    pub class: IngressClass,
    /// TLS Secret name.
    pub tls_secret: Option<String>,
    /// Whether HTTP redirects to HTTPS.
    pub https_redirect: bool,
    /// Namespace of the controller, when the catalog names one.
    pub controller_namespace: Option<String>,
}

/// K3s topology.
#[derive(Debug, Clone)]
pub struct K3sModel {
    /// Pinned release.
    pub version: String,
    /// Server count (odd).
    pub servers: u32,
    /// Agent count.
    pub agents: u32,
    /// Flannel backend.
    pub flannel_backend: FlannelBackend,
    /// Embedded registry mirror.
    pub embedded_registry: bool,
    /// Dual-stack.
    pub ipv6: bool,
    /// CIS profile.
    pub cis_profile: bool,
}

/// Amazon EKS: control plane and managed node groups, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksModel {
    /// Cluster name (the project's name).
    pub name: String,
    /// Kubernetes minor version, e.g. `1.34`.
    pub version: String,
    /// API endpoint access.
    pub endpoint: crate::catalog::types::EndpointAccess,
    /// Managed node groups, sorted by name.
    pub node_groups: Vec<NodeGroupModel>,
    /// What the catalog's workloads need the cluster to run, derived once.
    pub needs: EksNeeds,
    /// Catalog pointer, `/cluster/eks`.
    pub pointer: String,
}

/// The add-ons an EKS cluster needs to run what the catalog asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EksNeeds {
    /// AWS Load Balancer Controller: the ingress is `class: alb` or a
    /// `cluster.aws.load_balancer` fronts it.
    pub load_balancer_controller: bool,
    /// metrics-server: some service (in any environment) has an HPA and the
    /// catalog does not say the cluster provides one.
    pub metrics_server: bool,
    /// The EBS CSI driver: some service or add-on has a persistent volume.
    pub ebs_csi: bool,
}

/// A managed node group, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupModel {
    /// Name (DNS label).
    pub name: String,
    /// EC2 instance types, in catalog order.
    pub instance_types: Vec<String>,
    /// Fewest nodes.
    pub min: u32,
    /// Starting nodes.
    pub desired: u32,
    /// Most nodes.
    pub max: u32,
    /// Zones it spans (the group's own, else every `cluster.aws.zones`).
    pub zones: Vec<String>,
    /// Spot capacity.
    pub spot: bool,
    /// Root volume size, GiB.
    pub volume_size: u32,
    /// Catalog pointer, e.g. `/cluster/eks/node_groups/general`.
    pub pointer: String,
}

/// Default root volume of an EKS node, GiB.
pub const DEFAULT_NODE_VOLUME_GIB: u32 = 80;
/// The StorageClass gen creates on EKS with the EBS CSI driver (EKS marks
/// no class default since Kubernetes 1.30).
pub const EKS_STORAGE_CLASS: &str = "gp3";

/// How many pods run.
#[derive(Debug, Clone, PartialEq)]
pub enum Scaling {
    /// A fixed count.
    Fixed(u32),
    /// Managed by a HorizontalPodAutoscaler.
    Auto {
        /// Fewest replicas.
        min: u32,
        /// Most replicas.
        max: u32,
        /// Target CPU utilisation, percent.
        cpu: u32,
        /// Target memory utilisation, percent.
        memory: Option<u32>,
    },
}

impl Scaling {
    /// The number of replicas guaranteed to be requested at any time.
    pub fn guaranteed(&self) -> u32 {
        match self {
            Scaling::Fixed(n) => *n,
            Scaling::Auto { min, .. } => *min,
        }
    }
}

/// An HTTP route of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// Host name.
    pub host: String,
    /// Path prefix.
    pub path: String,
}

/// A reference to a key of a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Secret name.
    pub secret: String,
    /// Key inside the Secret.
    pub key: String,
}

impl SecretRef {
    /// `secret/key` as the catalog writes it (checked by `check`).
    pub fn parse(raw: &str) -> SecretRef {
        let (secret, key) = raw.split_once('/').unwrap_or((raw, ""));
        SecretRef {
            secret: secret.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// Where alerts go, and how the cluster's Prometheus finds gen's rules and
/// monitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertingModel {
    /// The one receiver.
    pub receiver: Receiver,
    /// Labels on every PrometheusRule and ServiceMonitor (the Prometheus's
    /// `ruleSelector` / `serviceMonitorSelector`).
    pub prometheus_labels: BTreeMap<String, String>,
}

/// The labels kube-prometheus-stack's Prometheus selects by default when the
/// chart is installed as `kube-prometheus-stack`.
pub const DEFAULT_PROMETHEUS_LABELS: [(&str, &str); 1] = [("release", "kube-prometheus-stack")];

/// An Alertmanager receiver; the URL is read from a Secret mounted into
/// Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receiver {
    /// Slack's own integration (`slack_configs`).
    Slack {
        /// The incoming webhook URL.
        url: SecretRef,
        /// Channel override.
        channel: Option<String>,
    },
    /// Alertmanager's generic webhook JSON (`webhook_configs`).
    Webhook {
        /// The URL.
        url: SecretRef,
    },
}

/// The alerts of one service, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsModel {
    /// Minutes without a ready endpoint before the unavailable alert fires.
    pub unavailable_minutes: u32,
    /// 5xx percentage above which the error-rate alert fires.
    pub error_rate: Option<u32>,
    /// The metrics path Prometheus scrapes (a ServiceMonitor), when the
    /// service is scraped: it has an `error_rate` or says where its metrics are.
    pub metrics_path: Option<String>,
    /// The container port the metrics are served on, when it is not the
    /// service's port: the pods, the Services and the NetworkPolicies then
    /// carry a second port named `metrics`.
    pub metrics_port: Option<u16>,
}

/// Spring Boot's Prometheus endpoint (Actuator + Micrometer).
pub const DEFAULT_METRICS_PATH: &str = "/actuator/prometheus";

/// Effective resources (all requests set).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesModel {
    /// CPU request.
    pub cpu: String,
    /// Memory request.
    pub memory: String,
    /// CPU limit, if any.
    pub cpu_limit: Option<String>,
    /// Memory limit (defaults to the memory request).
    pub memory_limit: String,
}

/// One probe.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeModel {
    /// HTTP GET on a path of the service port.
    Http(String),
    /// TCP connect to the service port.
    Tcp,
}

/// Effective probes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbesModel {
    /// Readiness probe.
    pub readiness: ProbeModel,
    /// Liveness probe.
    pub liveness: ProbeModel,
    /// Seconds before the first probe.
    pub initial_delay: u32,
}

/// Effective rollout strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyModel {
    /// Rolling update.
    Rolling {
        /// maxSurge, e.g. `25%` or `1`.
        max_surge: String,
        /// maxUnavailable.
        max_unavailable: String,
    },
    /// Two colours; the Service selects `live`.
    BlueGreen {
        /// Live colour.
        live: Colour,
        /// Image of the blue track.
        blue: Image,
        /// Image of the green track.
        green: Image,
    },
    /// Stable plus canary track.
    Canary {
        /// Image of the canary track.
        image: Image,
        /// Percent of requests to the canary.
        weight: u32,
        /// maxSurge of the stable track.
        max_surge: String,
        /// maxUnavailable of the stable track.
        max_unavailable: String,
    },
}

/// A validated service with every default resolved.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    /// Name (DNS-1123 label).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Image of the main (stable / live) track.
    pub image: Image,
    /// Container port (none for a scheduled service that listens on nothing).
    pub port: Option<u16>,
    /// A CronJob's schedule: the service runs on it instead of as a Deployment.
    pub schedule: Option<jobs::ScheduleModel>,
    /// One-off jobs run before each rollout (sorted by key).
    pub jobs: Vec<jobs::JobModel>,
    /// Replica management.
    pub scaling: Scaling,
    /// Initial replicas when autoscaled (the catalog's `replicas`).
    pub initial_replicas: Option<u32>,
    /// PodDisruptionBudget minAvailable.
    pub min_available: Option<u32>,
    /// HTTP routes (sorted).
    pub routes: Vec<Route>,
    /// Literal environment.
    pub env: BTreeMap<String, String>,
    /// Environment from Secrets.
    pub secret_env: BTreeMap<String, SecretRef>,
    /// Services this one calls (sorted, unique).
    pub calls: Vec<String>,
    /// Resources.
    pub resources: ResourcesModel,
    /// Probes.
    pub probes: ProbesModel,
    /// Rollout strategy.
    pub strategy: StrategyModel,
    /// Allowed destinations outside the cluster: (CIDR, TCP port), sorted.
    pub egress: Vec<(String, u16)>,
    /// Ids of the rules this service waives.
    pub waivers: Vec<String>,
    /// Alerts, if any.
    pub alerts: Option<AlertsModel>,
    /// Name of the service's Service (`service_name`, else the name).
    pub service_name: String,
    /// Command, ports, files, credentials, account and security.
    pub container: container::ContainerModel,
    /// The workload kind the service runs as.
    pub workload: Workload,
    /// Writable paths that need not persist (emptyDir volumes), sorted.
    pub writable: Vec<MountModel>,
    /// Catalog pointer of the service, e.g. `/services/student`.
    pub pointer: String,
}

/// The workload kind of a service.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// A Deployment (one per track): pods are interchangeable.
    Deployment,
    /// A StatefulSet: each pod keeps its own claims across restarts.
    StatefulSet {
        /// Its persistent volumes, in catalog order.
        volumes: Vec<VolumeModel>,
    },
}

impl Workload {
    /// The persistent volumes (none for a Deployment).
    pub fn volumes(&self) -> &[VolumeModel] {
        match self {
            Workload::Deployment => &[],
            Workload::StatefulSet { volumes } => volumes,
        }
    }
}

/// A directory mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MountModel {
    /// Volume name, derived from the path (a DNS-1123 label).
    pub name: String,
    /// Absolute mount path.
    pub path: String,
}

/// A persistent volume of a StatefulSet (a volumeClaimTemplate).
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeModel {
    /// Name and mount path.
    pub mount: MountModel,
    /// Requested size, e.g. `10Gi`.
    pub size: String,
    /// StorageClass; None: the cluster's default class.
    pub storage_class: Option<String>,
    /// Access mode.
    pub access_mode: AccessMode,
    /// Catalog pointer of the volume, e.g. `/services/redis/volumes/0`.
    pub pointer: String,
}

/// K3s's bundled storage provisioner's class.
pub const K3S_STORAGE_CLASS: &str = "local-path";

/// The StorageClass the cluster really has, for every claim that names
/// none (services' volumes, the add-ons'): the catalog's
/// `cluster.storage_class`, else K3s's bundled one (also on AWS: gen's K3s
/// installs no EBS driver), else on EKS the `gp3` class gen creates with the
/// EBS CSI driver, else the cluster's default (None).
pub fn cluster_storage_class(c: &crate::catalog::types::Catalog) -> Option<String> {
    let cluster = c.cluster.as_ref()?;
    cluster
        .storage_class
        .clone()
        .or_else(|| cluster.k3s.as_ref().map(|_| K3S_STORAGE_CLASS.to_owned()))
        .or_else(|| cluster.eks.as_ref().map(|_| EKS_STORAGE_CLASS.to_owned()))
}

impl EksNeeds {
    /// What either needs.
    pub fn or(self, o: EksNeeds) -> EksNeeds {
        EksNeeds {
            load_balancer_controller: self.load_balancer_controller || o.load_balancer_controller,
            metrics_server: self.metrics_server || o.metrics_server,
            ebs_csi: self.ebs_csi || o.ebs_csi,
        }
    }
}

/// The EKS model: node groups with their zones resolved and the add-ons the
/// services need.
fn eks_model(
    c: &crate::catalog::types::Catalog,
    cl: &crate::catalog::types::Cluster,
    e: &crate::catalog::types::Eks,
    services: &[ServiceModel],
    addons: &addons::AddonsModel,
    ingress: Option<&IngressModel>,
) -> EksModel {
    let zones: Vec<String> = cl.aws.as_ref().map(|a| a.zones.clone()).unwrap_or_default();
    let pointer = "/cluster/eks".to_owned();
    let node_groups = e
        .node_groups
        .iter()
        .map(|(name, g)| NodeGroupModel {
            name: name.clone(),
            instance_types: g.instance_types.clone(),
            min: g.min,
            desired: g.desired,
            max: g.max,
            zones: if g.zones.is_empty() {
                zones.clone()
            } else {
                g.zones.clone()
            },
            spot: g.spot,
            volume_size: g.volume_size.unwrap_or(DEFAULT_NODE_VOLUME_GIB),
            pointer: push_pointer(&push_pointer(&pointer, "node_groups"), name),
        })
        .collect();
    let lb = cl.aws.as_ref().is_some_and(|a| a.load_balancer.is_some());
    let needs = EksNeeds {
        load_balancer_controller: lb || ingress.is_some_and(|i| i.class == IngressClass::Alb),
        metrics_server: addons.metrics_server != addons::MetricsServer::Provided
            && services
                .iter()
                .any(|s| matches!(s.scaling, Scaling::Auto { .. })),
        ebs_csi: services.iter().any(|s| !s.workload.volumes().is_empty())
            || addons.monitoring.is_some(),
    };
    EksModel {
        name: c.project.clone(),
        version: e.version.clone(),
        endpoint: e.endpoint,
        node_groups,
        needs,
        pointer,
    }
}

/// The volume name of a mount path: `/var/lib/grafana` -> `var-lib-grafana`
/// (lowercase letters and digits, other runs as one `-`, at most 63).
pub fn mount_name(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let cut: String = out.chars().take(63).collect();
    let name = cut.trim_end_matches('-').to_owned();
    if name.is_empty() {
        "root".to_owned()
    } else {
        name
    }
}

/// Parse, schema-check and semantically check a catalog, reporting every
/// problem of every stage in one go, and build the model when there are none.
pub fn analyze(source: &SourceFile) -> Result<(Parsed, Model), Problems> {
    let (parsed, mut problems, tainted) = crate::catalog::parse_lenient(source);
    let Some(parsed) = parsed else {
        return Err(Problems(problems).finish());
    };
    // An environment whose block was repaired is not checked: its findings
    // could be artefacts of the repair, even where they point at the base.
    let repaired = |name: &str| {
        let p = environment::pointer(name);
        tainted
            .iter()
            .any(|t| p == *t || p.starts_with(&format!("{t}/")) || t.is_empty())
    };
    let views: Vec<(String, Parsed)> = parsed
        .catalog
        .environments
        .keys()
        .filter(|name| !repaired(name))
        .filter_map(|name| environment::view(&parsed, name).map(|v| (name.clone(), v)))
        .collect();
    // Each string on its own, environments' included: trustworthy even in
    // a repaired scope, where repair only removed or filled values.
    let refused = chars::check(&parsed);
    let semantic = environment::merge_problems(
        &parsed,
        check::run(&parsed),
        views
            .iter()
            .map(|(name, view)| (name.clone(), check::run_view(view)))
            .collect(),
    );
    problems.extend(refused);
    if problems.is_empty() {
        if semantic.is_empty() {
            let mut model = resolve(&parsed);
            model.environments = views
                .iter()
                .map(|(name, view)| {
                    let e = &parsed.catalog.environments[name];
                    let mut m = resolve(view);
                    m.environment = Some(name.clone());
                    Environment {
                        name: name.clone(),
                        context: e.context.clone().unwrap_or_else(|| name.clone()),
                        protected: e.protected,
                        pointer: environment::pointer(name),
                        model: m,
                    }
                })
                .collect();
            // One cluster runs every environment: it needs what any of them needs.
            let env_needs: Vec<EksNeeds> = model
                .environments
                .iter()
                .filter_map(|e| e.model.eks.as_ref().map(|k| k.needs))
                .collect();
            if let Some(eks) = &mut model.eks {
                for n in env_needs {
                    eks.needs = eks.needs.or(n);
                }
            }
            return Ok((parsed, model));
        }
        return Err(Problems(semantic).finish());
    }
    // The catalog was repaired to get here: keep only findings outside the
    // repaired scopes, which are trustworthy.
    let scopes: Vec<std::ops::Range<usize>> = tainted
        .iter()
        .map(|p| {
            if p.is_empty() {
                0..usize::MAX
            } else {
                let n = parsed.spans.nearest(p);
                let start = n.key.map_or(n.value.start, |k| k.start);
                start..n.value.end.max(start + 1)
            }
        })
        .collect();
    problems.extend(
        semantic
            .into_iter()
            .filter(|pr| !scopes.iter().any(|s| s.contains(&pr.span.start))),
    );
    Err(Problems(problems).finish())
}

fn merge_resources(d: Option<&Resources>, s: Option<&Resources>) -> ResourcesModel {
    let pick = |f: fn(&Resources) -> Option<String>| s.and_then(f).or_else(|| d.and_then(f));
    let cpu =
        pick(|r| r.cpu.as_ref().map(|q| q.0.clone())).unwrap_or_else(|| DEFAULT_CPU.to_owned());
    let memory = pick(|r| r.memory.as_ref().map(|q| q.0.clone()))
        .unwrap_or_else(|| DEFAULT_MEMORY.to_owned());
    let cpu_limit = pick(|r| r.cpu_limit.as_ref().map(|q| q.0.clone()));
    let memory_limit =
        pick(|r| r.memory_limit.as_ref().map(|q| q.0.clone())).unwrap_or_else(|| memory.clone());
    ResourcesModel {
        cpu,
        memory,
        cpu_limit,
        memory_limit,
    }
}

fn resolve(parsed: &Parsed) -> Model {
    let c = &parsed.catalog;
    let defaults = c.defaults.clone().unwrap_or_default();
    let default_ns = defaults
        .namespace
        .clone()
        .unwrap_or_else(|| c.project.clone());
    let ingress = c.ingress.as_ref().map(|i| IngressModel {
        host: i.host.clone(),
        class: i.class,
        tls_secret: i.tls_secret.clone(),
        https_redirect: i.https_redirect.unwrap_or(i.tls_secret.is_some()),
        controller_namespace: i.controller_namespace.clone(),
    });
    let k3s = c
        .cluster
        .as_ref()
        .and_then(|cl| cl.k3s.as_ref())
        .map(|k| K3sModel {
            version: k.version.clone(),
            servers: k.servers,
            agents: k.agents,
            flannel_backend: k.flannel_backend,
            embedded_registry: k.embedded_registry,
            ipv6: k.ipv6,
            cis_profile: k.cis_profile,
        });
    let storage_class = cluster_storage_class(c);
    let kubernetes = c
        .kubernetes
        .clone()
        .or_else(|| k3s.as_ref().and_then(|k| check::k3s_minor(&k.version)))
        .or_else(|| {
            c.cluster
                .as_ref()
                .and_then(|cl| cl.eks.as_ref())
                .map(|e| e.version.clone())
        })
        .unwrap_or_else(|| DEFAULT_KUBERNETES.to_owned());

    let mut namespaces: BTreeMap<String, NamespaceModel> = BTreeMap::new();
    if let Some(declared) = &c.namespaces {
        for (name, ns) in declared {
            namespaces.insert(
                name.clone(),
                NamespaceModel {
                    labels: ns.labels.clone(),
                    pointer: push_pointer("/namespaces", name),
                },
            );
        }
    }

    let mut services = Vec::with_capacity(c.services.len());
    for (name, s) in &c.services {
        let pointer = push_pointer("/services", name);
        let namespace = s.namespace.clone().unwrap_or_else(|| default_ns.clone());
        namespaces.entry(namespace.clone()).or_default();
        let image = Image::parse_syntax(&s.image).unwrap_or_else(|_| Image::raw(&s.image));
        let scaling = match &s.hpa {
            Some(h) => Scaling::Auto {
                min: h.min,
                max: h.max,
                cpu: h.cpu,
                memory: h.memory,
            },
            None => Scaling::Fixed(s.replicas.or(defaults.replicas).unwrap_or(1)),
        };
        let host = s
            .host
            .clone()
            .or_else(|| ingress.as_ref().map(|i| i.host.clone()))
            .unwrap_or_default();
        let mut routes: Vec<Route> = s
            .routes
            .iter()
            .map(|p| Route {
                host: host.clone(),
                path: p.clone(),
            })
            .collect();
        routes.sort();
        routes.dedup();
        let secret_env = s
            .secret_env
            .iter()
            .map(|(k, v)| (k.clone(), SecretRef::parse(v)))
            .collect();
        let mut calls = s.calls.clone();
        calls.sort();
        calls.dedup();

        let dp = defaults.probes.clone().unwrap_or_default();
        let sp = s.probes.clone().unwrap_or_default();
        let kind = sp.kind.or(dp.kind).unwrap_or_default();
        let probe = |path: Option<String>| match (kind, path) {
            (ProbeType::Http, Some(p)) => ProbeModel::Http(p),
            _ => ProbeModel::Tcp,
        };
        let probes = ProbesModel {
            readiness: probe(sp.readiness.clone().or(dp.readiness.clone())),
            liveness: probe(sp.liveness.clone().or(dp.liveness.clone())),
            initial_delay: sp
                .initial_delay
                .or(dp.initial_delay)
                .unwrap_or(DEFAULT_PROBE_DELAY),
        };

        let ds = defaults.strategy.clone().unwrap_or_default();
        let ss = s.strategy.clone().unwrap_or_default();
        let surge = ss
            .max_surge
            .clone()
            .or(ds.max_surge.clone())
            .map(|v| v.to_string())
            .unwrap_or_else(|| "25%".to_owned());
        let unavailable = ss
            .max_unavailable
            .clone()
            .or(ds.max_unavailable.clone())
            .map(|v| v.to_string())
            .unwrap_or_else(|| "25%".to_owned());
        let img = |o: Option<&String>| {
            o.map(|i| Image::parse_syntax(i).unwrap_or_else(|_| Image::raw(i)))
                .unwrap_or_else(|| image.clone())
        };
        let strategy = match ss.kind.or(ds.kind).unwrap_or_default() {
            StrategyType::Rolling => StrategyModel::Rolling {
                max_surge: surge,
                max_unavailable: unavailable,
            },
            StrategyType::BlueGreen => StrategyModel::BlueGreen {
                live: ss.live.or(ds.live).unwrap_or(Colour::Blue),
                blue: img(ss.blue_image.as_ref()),
                green: img(ss.green_image.as_ref()),
            },
            StrategyType::Canary => StrategyModel::Canary {
                image: img(ss.canary_image.as_ref()),
                weight: ss.canary_weight.or(ds.canary_weight).unwrap_or(10),
                max_surge: surge,
                max_unavailable: unavailable,
            },
        };

        let resources = merge_resources(defaults.resources.as_ref(), s.resources.as_ref());
        let container = container::resolve(c, s);
        let jobs = jobs::jobs(
            name,
            s,
            &jobs::PodFacts {
                image: image.raw.clone(),
                env: &s.env,
                secret_env: &secret_env,
                resources: &resources,
                container: &container,
                // The pods' helm.sh/chart and part-of labels.
                labels: (
                    &c.project,
                    c.chart_version.as_deref().unwrap_or(DEFAULT_CHART_VERSION),
                ),
            },
        );
        services.push(ServiceModel {
            name: name.clone(),
            namespace,
            image,
            port: s.port.map(|p| u16::try_from(p).unwrap_or(u16::MAX)),
            schedule: jobs::schedule(s),
            jobs,
            initial_replicas: if s.hpa.is_some() { s.replicas } else { None },
            scaling,
            min_available: s.min_available,
            routes,
            env: s.env.clone(),
            secret_env,
            calls,
            resources,
            probes,
            strategy,
            egress: {
                let mut e: Vec<(String, u16)> = s
                    .egress
                    .iter()
                    .map(|e| (e.cidr.0.clone(), u16::try_from(e.port).unwrap_or(u16::MAX)))
                    .collect();
                e.sort();
                e.dedup();
                e
            },
            waivers: s.waivers.iter().map(|w| w.rule.clone()).collect(),
            workload: if s.volumes.is_empty() {
                Workload::Deployment
            } else {
                Workload::StatefulSet {
                    volumes: s
                        .volumes
                        .iter()
                        .enumerate()
                        .map(|(i, v)| VolumeModel {
                            mount: MountModel {
                                name: mount_name(&v.path),
                                path: v.path.clone(),
                            },
                            size: v.size.0.clone(),
                            storage_class: v
                                .storage_class
                                .clone()
                                .or_else(|| storage_class.clone()),
                            access_mode: v.access_mode.unwrap_or(AccessMode::ReadWriteOnce),
                            pointer: push_pointer(
                                &push_pointer(&pointer, "volumes"),
                                &i.to_string(),
                            ),
                        })
                        .collect(),
                }
            },
            writable: {
                let mut w: Vec<MountModel> = s
                    .writable
                    .iter()
                    .map(|p| MountModel {
                        name: mount_name(p),
                        path: p.clone(),
                    })
                    .collect();
                w.sort();
                w
            },
            alerts: s.alerts.as_ref().map(|a| AlertsModel {
                unavailable_minutes: a.unavailable_minutes.unwrap_or(5),
                error_rate: a.error_rate,
                metrics_path: (a.error_rate.is_some() || a.metrics.is_some()).then(|| {
                    a.metrics
                        .as_ref()
                        .and_then(|m| m.path.clone())
                        .unwrap_or_else(|| DEFAULT_METRICS_PATH.to_owned())
                }),
                metrics_port: a
                    .metrics
                    .as_ref()
                    .and_then(|m| m.port)
                    .map(|p| u16::try_from(p).unwrap_or(u16::MAX))
                    .or_else(|| {
                        s.ports
                            .get(container::METRICS_PORT)
                            .map(|p| u16::try_from(*p).unwrap_or(u16::MAX))
                    }),
            }),
            service_name: s.service_name.clone().unwrap_or_else(|| name.clone()),
            container,
            pointer,
        });
    }

    let addons = addons::resolve(c);
    if let Some(m) = &addons.monitoring {
        // The add-on's namespace, with the Pod Security level node-exporter
        // needs (the catalog's own declaration adds its labels).
        let ns = namespaces.entry(m.namespace.clone()).or_default();
        for (k, v) in addons::namespace_labels() {
            ns.labels.entry(k).or_insert(v);
        }
    }
    let eks = c
        .cluster
        .as_ref()
        .and_then(|cl| cl.eks.as_ref().map(|e| (cl, e)))
        .map(|(cl, e)| eks_model(c, cl, e, &services, &addons, ingress.as_ref()));
    Model {
        addons,
        eks,
        project: c.project.clone(),
        chart_version: c
            .chart_version
            .clone()
            .unwrap_or_else(|| DEFAULT_CHART_VERSION.to_owned()),
        kubernetes,
        namespaces,
        services,
        ingress,
        k3s,
        aws: c.cluster.as_ref().and_then(|cl| cl.aws.clone()),
        argocd: c.gitops.as_ref().map(|g| g.argocd.clone()),
        alerting: c.alerting.as_ref().map(|a| AlertingModel {
            // `check` refuses anything but exactly one receiver.
            receiver: match (&a.slack, &a.webhook) {
                (Some(sl), _) => Receiver::Slack {
                    url: SecretRef::parse(&sl.url_secret),
                    channel: sl.channel.clone(),
                },
                (None, w) => Receiver::Webhook {
                    url: SecretRef::parse(w.as_ref().map_or("", |w| w.url_secret.as_str())),
                },
            },
            prometheus_labels: a.prometheus_labels.clone().unwrap_or_else(|| {
                DEFAULT_PROMETHEUS_LABELS
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
        }),
        environments: Vec::new(),
        environment: None,
    }
}
