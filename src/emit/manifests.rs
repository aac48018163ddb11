//! Rendered Kubernetes manifests, built from typed k8s-openapi objects.
//!
//! Layout: `manifests/namespaces.yaml` (every Namespace once) and
//! `manifests/<namespace>/<service>.yaml` (the service's objects in apply
//! order). Namespace names cannot contain `.`, so `namespaces.yaml` can never
//! clash with a namespace directory.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, Namespace, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Service, ServicePort,
    ServiceSpec, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::{EmitError, Tree, HEADER};
use crate::catalog::types::Colour;
use crate::model::{Image, Model, ProbeModel, Scaling, ServiceModel, StrategyModel};

/// Label that distinguishes the tracks of blue-green and canary services.
pub const TRACK_LABEL: &str = "gen.dev/track";

/// Serialize objects as a multi-document YAML file with the gen header.
pub fn yaml_documents(docs: &[(String, serde_json::Value)]) -> Result<String, EmitError> {
    let mut out = String::from(HEADER);
    for (i, (what, doc)) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = serde_saphyr::to_string(doc).map_err(|e| EmitError::Serialize {
            what: what.clone(),
            why: e.to_string(),
        })?;
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

fn doc<T: Serialize + k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>>(
    obj: &T,
) -> Result<(String, serde_json::Value), EmitError> {
    let what = format!(
        "{} {}",
        T::KIND,
        obj.metadata().name.as_deref().unwrap_or("?")
    );
    let v = serde_json::to_value(obj).map_err(|e| EmitError::Serialize {
        what: what.clone(),
        why: e.to_string(),
    })?;
    Ok((what, v))
}

/// Emit every manifest of the model into `tree`.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let mut ns_docs = Vec::new();
    for (name, ns) in &model.namespaces {
        let mut labels = ns.labels.clone();
        labels.insert("app.kubernetes.io/part-of".into(), model.project.clone());
        labels.insert("kubernetes.io/metadata.name".into(), name.clone());
        let obj = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            ..Default::default()
        };
        ns_docs.push(doc(&obj)?);
    }
    tree.insert("manifests/namespaces.yaml", yaml_documents(&ns_docs)?);
    for svc in &model.services {
        let docs = service_objects(model, svc)?;
        tree.insert(
            format!("manifests/{}/{}.yaml", svc.namespace, svc.name),
            yaml_documents(&docs)?,
        );
    }
    Ok(())
}

/// Labels common to every object of a service.
pub fn common_labels(model: &Model, svc: &ServiceModel) -> BTreeMap<String, String> {
    let mut l = selector_labels(svc);
    l.insert("app.kubernetes.io/part-of".into(), model.project.clone());
    l.insert("app.kubernetes.io/managed-by".into(), "gen".into());
    if let Some(tag) = &svc.image.tag {
        l.insert("app.kubernetes.io/version".into(), tag.clone());
    }
    l
}

/// Labels that select the pods of a service.
pub fn selector_labels(svc: &ServiceModel) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), svc.name.clone()),
        ("app.kubernetes.io/instance".to_owned(), svc.name.clone()),
    ])
}

fn meta(name: &str, svc: &ServiceModel, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(svc.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// One Deployment track of a service.
struct Track {
    /// Deployment name.
    name: String,
    /// Value of the track label, if the service has several tracks.
    track: Option<&'static str>,
    image: Image,
    /// Fixed replicas (None when an HPA manages them).
    replicas: Option<i32>,
    autoscaled: bool,
}

fn tracks(svc: &ServiceModel) -> Vec<Track> {
    let (fixed, autoscaled) = match svc.scaling {
        Scaling::Fixed(n) => (Some(i32::try_from(n).unwrap_or(i32::MAX)), false),
        Scaling::Auto { .. } => (None, true),
    };
    match &svc.strategy {
        StrategyModel::Rolling { .. } => vec![Track {
            name: svc.name.clone(),
            track: None,
            image: svc.image.clone(),
            replicas: fixed,
            autoscaled,
        }],
        StrategyModel::BlueGreen { blue, green, .. } => vec![
            Track {
                name: format!("{}-blue", svc.name),
                track: Some("blue"),
                image: blue.clone(),
                replicas: fixed,
                autoscaled,
            },
            Track {
                name: format!("{}-green", svc.name),
                track: Some("green"),
                image: green.clone(),
                replicas: fixed,
                autoscaled,
            },
        ],
        StrategyModel::Canary { image, .. } => vec![
            Track {
                name: svc.name.clone(),
                track: Some("stable"),
                image: svc.image.clone(),
                replicas: fixed,
                autoscaled,
            },
            Track {
                name: format!("{}-canary", svc.name),
                track: Some("canary"),
                image: image.clone(),
                replicas: Some(1),
                autoscaled: false,
            },
        ],
    }
}

fn service_objects(
    model: &Model,
    svc: &ServiceModel,
) -> Result<Vec<(String, serde_json::Value)>, EmitError> {
    let mut docs = Vec::new();
    let labels = common_labels(model, svc);
    let tracks = tracks(svc);

    // Services: the main one, plus the canary's own for weighted routing.
    let main_track = match &svc.strategy {
        StrategyModel::BlueGreen { live, .. } => Some(match live {
            Colour::Blue => "blue",
            Colour::Green => "green",
        }),
        StrategyModel::Canary { .. } => Some("stable"),
        StrategyModel::Rolling { .. } => None,
    };
    docs.push(doc(&service(svc, &svc.name, &labels, main_track))?);
    if matches!(svc.strategy, StrategyModel::Canary { .. }) {
        docs.push(doc(&service(
            svc,
            &format!("{}-canary", svc.name),
            &labels,
            Some("canary"),
        ))?);
    }

    for t in &tracks {
        docs.push(doc(&deployment(svc, t, &labels))?);
    }
    for t in tracks.iter().filter(|t| t.autoscaled) {
        docs.push(doc(&hpa(svc, t, &labels))?);
    }
    if let Some(min) = svc.min_available {
        docs.push(doc(&pdb(svc, min, &labels))?);
    }
    Ok(docs)
}

fn service(
    svc: &ServiceModel,
    name: &str,
    labels: &BTreeMap<String, String>,
    track: Option<&str>,
) -> Service {
    let mut selector = selector_labels(svc);
    if let Some(t) = track {
        selector.insert(TRACK_LABEL.into(), t.into());
    }
    Service {
        metadata: meta(name, svc, labels.clone()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some(port_name(svc).into()),
                port: i32::from(svc.port),
                target_port: Some(IntOrString::String(port_name(svc).into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Name of the container port: `http` unless the service is probed over
/// plain TCP (Redis, databases), then `tcp`.
pub fn port_name(svc: &ServiceModel) -> &'static str {
    match (&svc.probes.readiness, &svc.probes.liveness) {
        (ProbeModel::Tcp, ProbeModel::Tcp) => "tcp",
        _ => "http",
    }
}

fn probe(port: &'static str, p: &ProbeModel, delay: u32, period: i32, failures: i32) -> Probe {
    let (http_get, tcp_socket) = match p {
        ProbeModel::Http(path) => (
            Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::String(port.into()),
                ..Default::default()
            }),
            None,
        ),
        ProbeModel::Tcp => (
            None,
            Some(TCPSocketAction {
                port: IntOrString::String(port.into()),
                ..Default::default()
            }),
        ),
    };
    Probe {
        http_get,
        tcp_socket,
        initial_delay_seconds: Some(i32::try_from(delay).unwrap_or(i32::MAX)),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(2),
        ..Default::default()
    }
}

fn deployment(svc: &ServiceModel, t: &Track, labels: &BTreeMap<String, String>) -> Deployment {
    let mut selector = selector_labels(svc);
    let mut pod_labels = labels.clone();
    let mut dep_labels = labels.clone();
    if let Some(track) = t.track {
        selector.insert(TRACK_LABEL.into(), track.into());
        pod_labels.insert(TRACK_LABEL.into(), track.into());
        dep_labels.insert(TRACK_LABEL.into(), track.into());
    }
    if let Some(tag) = &t.image.tag {
        pod_labels.insert("app.kubernetes.io/version".into(), tag.clone());
        dep_labels.insert("app.kubernetes.io/version".into(), tag.clone());
    }
    let mut env: Vec<EnvVar> = svc
        .env
        .iter()
        .map(|(k, v)| EnvVar {
            name: k.clone(),
            value: Some(v.clone()),
            ..Default::default()
        })
        .collect();
    env.extend(svc.secret_env.iter().map(|(k, r)| EnvVar {
        name: k.clone(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: r.secret.clone(),
                key: r.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }));
    let r = &svc.resources;
    let requests = BTreeMap::from([
        ("cpu".to_owned(), Quantity(r.cpu.clone())),
        ("memory".to_owned(), Quantity(r.memory.clone())),
    ]);
    let mut limits = BTreeMap::from([("memory".to_owned(), Quantity(r.memory_limit.clone()))]);
    if let Some(c) = &r.cpu_limit {
        limits.insert("cpu".to_owned(), Quantity(c.clone()));
    }

    let container = Container {
        name: svc.name.clone(),
        image: Some(t.image.raw.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        ports: Some(vec![ContainerPort {
            name: Some(port_name(svc).into()),
            container_port: i32::from(svc.port),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        env: if env.is_empty() { None } else { Some(env) },
        resources: Some(ResourceRequirements {
            requests: Some(requests),
            limits: Some(limits),
            ..Default::default()
        }),
        readiness_probe: Some(probe(
            port_name(svc),
            &svc.probes.readiness,
            svc.probes.initial_delay,
            5,
            3,
        )),
        liveness_probe: Some(probe(
            port_name(svc),
            &svc.probes.liveness,
            svc.probes.initial_delay,
            10,
            3,
        )),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        }]),
        ..Default::default()
    };

    let strategy = match &svc.strategy {
        StrategyModel::Rolling {
            max_surge,
            max_unavailable,
        }
        | StrategyModel::Canary {
            max_surge,
            max_unavailable,
            ..
        } => DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(int_or_percent(max_surge)),
                max_unavailable: Some(int_or_percent(max_unavailable)),
            }),
        },
        StrategyModel::BlueGreen { .. } => DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::String("25%".into())),
                max_unavailable: Some(IntOrString::Int(0)),
            }),
        },
    };

    let spread = svc.scaling.guaranteed() > 1 || matches!(svc.scaling, Scaling::Auto { .. });
    let topology = spread.then(|| {
        ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
            .into_iter()
            .map(|key| TopologySpreadConstraint {
                max_skew: 1,
                topology_key: key.into(),
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(selector.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    });

    Deployment {
        metadata: meta(&t.name, svc, dep_labels),
        spec: Some(DeploymentSpec {
            replicas: t.replicas,
            revision_history_limit: Some(10),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            strategy: Some(strategy),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }]),
                    topology_spread_constraints: topology,
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_or_percent(s: &str) -> IntOrString {
    match s.parse::<i32>() {
        Ok(n) => IntOrString::Int(n),
        Err(_) => IntOrString::String(s.to_owned()),
    }
}

fn hpa(
    svc: &ServiceModel,
    t: &Track,
    labels: &BTreeMap<String, String>,
) -> HorizontalPodAutoscaler {
    let Scaling::Auto {
        min,
        max,
        cpu,
        memory,
    } = svc.scaling
    else {
        return HorizontalPodAutoscaler::default();
    };
    let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let metric = |name: &str, pct: u32| MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: name.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(to_i32(pct)),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let mut metrics = vec![metric("cpu", cpu)];
    if let Some(m) = memory {
        metrics.push(metric("memory", m));
    }
    let mut l = labels.clone();
    if let Some(track) = t.track {
        l.insert(TRACK_LABEL.into(), track.into());
    }
    HorizontalPodAutoscaler {
        metadata: meta(&t.name, svc, l),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: t.name.clone(),
            },
            min_replicas: Some(to_i32(min)),
            max_replicas: to_i32(max),
            metrics: Some(metrics),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pdb(svc: &ServiceModel, min: u32, labels: &BTreeMap<String, String>) -> PodDisruptionBudget {
    let mut selector = selector_labels(svc);
    if let StrategyModel::BlueGreen { live, .. } = &svc.strategy {
        selector.insert(
            TRACK_LABEL.into(),
            match live {
                Colour::Blue => "blue".into(),
                Colour::Green => "green".into(),
            },
        );
    } else if matches!(svc.strategy, StrategyModel::Canary { .. }) {
        selector.insert(TRACK_LABEL.into(), "stable".into());
    }
    PodDisruptionBudget {
        metadata: meta(&svc.name, svc, labels.clone()),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(i32::try_from(min).unwrap_or(i32::MAX))),
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
