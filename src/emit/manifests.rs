//! Rendered Kubernetes manifests, built from typed k8s-openapi objects.
//!
//! Layout: `manifests/namespaces.yaml` (every Namespace once) and
//! `manifests/<namespace>/<service>.yaml` (the service's objects in apply
//! order). Namespace names cannot contain `.`, so `namespaces.yaml` can never
//! clash with a namespace directory.
//!
//! [`render`] is the Rust twin of the chart templates in
//! `blueprints/chart/templates/`: given the same [`Values`], release name and
//! namespace it builds the objects Helm renders. The test suite holds the two
//! to each other with Helm's own engine.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference,
    Namespace, PodSpec, PodTemplateSpec, Probe, SecretKeySelector, Service, ServiceAccount,
    ServicePort, ServiceSpec, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::helm::values::{
    Controller, ImageValues, JobValues, ProbeKind, ProbeValues, ScheduleValues, StrategyKind,
    Values,
};
use super::k3s::REDIRECT_MIDDLEWARE;
use super::{EmitError, Tree, HEADER};
use crate::model::Model;

/// Label that distinguishes the tracks of blue-green and canary services.
pub const TRACK_LABEL: &str = "gen.dev/track";
/// What `.Release.Service` is in Helm.
pub const RELEASE_SERVICE: &str = "Helm";

/// The chart and release a render is for.
#[derive(Debug, Clone)]
pub struct Release<'a> {
    /// Chart name (the service name).
    pub chart: &'a str,
    /// Chart version.
    pub version: &'a str,
    /// Release name.
    pub name: &'a str,
    /// Release namespace.
    pub namespace: &'a str,
}

/// A rendered object: a short description for messages and its JSON form.
pub type Object = (String, serde_json::Value);

/// Serialize objects as a multi-document YAML file with the gen header.
pub fn yaml_documents(docs: &[Object]) -> Result<String, EmitError> {
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
) -> Result<Object, EmitError> {
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

/// Emit every manifest of the model into `tree`, under `manifests/`.
pub fn emit(model: &Model, values: &[Values], tree: &mut Tree) -> Result<(), EmitError> {
    emit_under(model, values, "manifests", tree)
}

/// Emit every manifest of the model into `tree` under `root` (`manifests`,
/// or `environments/<env>/manifests` for an environment's model).
pub fn emit_under(
    model: &Model,
    values: &[Values],
    root: &str,
    tree: &mut Tree,
) -> Result<(), EmitError> {
    // One file at a time: the objects' JSON is dropped as soon as its YAML
    // is in the tree, so peak memory stays at the output's size.
    each_file(model, values, root, |file| {
        tree.insert(file.path, yaml_documents(&file.objects)?);
        Ok(())
    })
}

/// One manifest file: its path in the output tree and its objects in apply
/// order.
#[derive(Debug, Clone)]
pub struct File {
    /// Path in the output tree (`<root>/...`).
    pub path: String,
    /// The objects, each validated against the Kubernetes schema.
    pub objects: Vec<Object>,
}

/// The Pod Security admission modes gen sets to `restricted` on its
/// Namespaces.
pub const POD_SECURITY_MODES: [&str; 3] = ["enforce", "audit", "warn"];

/// Every manifest of the model as validated objects, grouped by file under
/// `root`: the Namespaces first, then each service's objects. `gen build`
/// writes them; `gen apply` sends them.
pub fn files(model: &Model, values: &[Values], root: &str) -> Result<Vec<File>, EmitError> {
    let mut files = Vec::new();
    each_file(model, values, root, |f| {
        files.push(f);
        Ok(())
    })?;
    Ok(files)
}

/// Render and validate the files of [`files`] one by one, handing each to
/// `sink`.
fn each_file(
    model: &Model,
    values: &[Values],
    root: &str,
    mut sink: impl FnMut(File) -> Result<(), EmitError>,
) -> Result<(), EmitError> {
    let mut ns_docs = Vec::new();
    for (name, ns) in &model.namespaces {
        let obj = namespace(model, name, ns);
        ns_docs.push(doc(&obj)?);
    }
    let path = format!("{root}/namespaces.yaml");
    super::validate::objects(&path, &ns_docs)?;
    sink(File {
        path,
        objects: ns_docs,
    })?;
    for (svc, values) in model.services.iter().zip(values) {
        let release = Release {
            chart: &svc.name,
            version: &model.chart_version,
            name: &svc.name,
            namespace: &svc.namespace,
        };
        let docs = render(values, &release)?;
        let path = format!("{root}/{}/{}.yaml", svc.namespace, svc.name);
        super::validate::objects(&path, &docs)?;
        listed(&path, &docs, model, svc)?;
        sink(File {
            path,
            objects: docs,
        })?;
    }
    Ok(())
}

/// The Namespace object of `name`: Pod Security admission at `restricted`,
/// which every pod gen renders meets (a pod that does not, added by hand or
/// by a chart of someone else's, is refused by the API server); the model's
/// own `pod-security.kubernetes.io/*` labels (the catalog's, an add-on's)
/// win.
pub fn namespace(model: &Model, name: &str, ns: &crate::model::NamespaceModel) -> Namespace {
    let mut labels = ns.labels.clone();
    for mode in POD_SECURITY_MODES {
        labels
            .entry(format!("pod-security.kubernetes.io/{mode}"))
            .or_insert_with(|| "restricted".into());
    }
    labels.insert("app.kubernetes.io/part-of".into(), model.project.clone());
    labels.insert("kubernetes.io/metadata.name".into(), name.to_owned());
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The rendered objects are exactly those `model::objects::of_service`
/// lists, which the model checked for name collisions: a kind or name the
/// renderer adds without listing it there is an internal error, caught by
/// every test that builds a catalog.
fn listed(
    path: &str,
    docs: &[Object],
    model: &Model,
    svc: &crate::model::ServiceModel,
) -> Result<(), EmitError> {
    let mut rendered: Vec<(String, String)> = docs
        .iter()
        .map(|(_, d)| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (text(&d["kind"]), text(&d["metadata"]["name"]))
        })
        .collect();
    let mut expected: Vec<(String, String)> = crate::model::objects::of_service(model, svc)
        .into_iter()
        .map(|o| (o.kind.to_owned(), o.name))
        .collect();
    rendered.sort();
    expected.sort();
    if rendered == expected {
        return Ok(());
    }
    Err(EmitError::Invalid {
        file: path.to_owned(),
        what: format!("the objects of service {}", svc.name),
        field: "/metadata/name".to_owned(),
        why: format!("rendered {rendered:?}, but model::objects::of_service lists {expected:?}"),
    })
}

/// `gen.selectorLabels`.
fn selector_labels(r: &Release) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), r.chart.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), r.name.to_owned()),
    ])
}

/// `gen.chart`: printf "%s-%s" | replace "+" "_" | trunc 63 | trimSuffix "-".
fn chart_label(r: &Release) -> String {
    let s = format!("{}-{}", r.chart, r.version).replace('+', "_");
    let cut: String = s.chars().take(63).collect();
    cut.strip_suffix('-').map_or(cut.clone(), str::to_owned)
}

/// `gen.liveImage`.
fn live_image(v: &Values) -> &ImageValues {
    match (&v.strategy.kind, &v.strategy.blue_green) {
        (StrategyKind::BlueGreen, Some(bg)) => match bg.live {
            super::helm::values::ColourValue::Blue => &bg.blue,
            super::helm::values::ColourValue::Green => &bg.green,
        },
        _ => &v.image,
    }
}

/// `gen.liveTrack`.
fn live_track(v: &Values) -> Option<&'static str> {
    match v.strategy.kind {
        StrategyKind::BlueGreen => v.strategy.blue_green.as_ref().map(|bg| bg.live.as_str()),
        StrategyKind::Canary | StrategyKind::Rolling => Some("stable"),
    }
}

/// `gen.labels`.
fn labels(v: &Values, r: &Release) -> BTreeMap<String, String> {
    let mut l = selector_labels(r);
    l.insert("helm.sh/chart".into(), chart_label(r));
    l.insert("app.kubernetes.io/part-of".into(), v.part_of.clone());
    l.insert(
        "app.kubernetes.io/managed-by".into(),
        RELEASE_SERVICE.into(),
    );
    let version = live_image(v).version_label();
    if !version.is_empty() {
        l.insert("app.kubernetes.io/version".into(), version);
    }
    l
}

pub(super) fn meta(name: &str, r: &Release, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(r.namespace.to_owned()),
        labels: Some(labels),
        ..Default::default()
    }
}

fn non_empty<K, V>(m: &BTreeMap<K, V>) -> Option<BTreeMap<K, V>>
where
    K: Clone + Ord,
    V: Clone,
{
    (!m.is_empty()).then(|| m.clone())
}

/// One Deployment track (`gen.tracks`).
pub(super) struct Track<'a> {
    pub(super) name: String,
    pub(super) track: &'a str,
    pub(super) image: &'a ImageValues,
    pub(super) autoscaled: bool,
    pub(super) replicas: u32,
}

pub(super) fn tracks<'a>(v: &'a Values, r: &Release) -> Vec<Track<'a>> {
    let auto = v.autoscaling.enabled;
    match (&v.strategy.kind, &v.strategy.blue_green, &v.strategy.canary) {
        (StrategyKind::BlueGreen, Some(bg), _) => vec![
            Track {
                name: format!("{}-blue", r.name),
                track: "blue",
                image: &bg.blue,
                autoscaled: auto,
                replicas: v.replicas,
            },
            Track {
                name: format!("{}-green", r.name),
                track: "green",
                image: &bg.green,
                autoscaled: auto,
                replicas: v.replicas,
            },
        ],
        (StrategyKind::Canary, _, Some(c)) => vec![
            Track {
                name: r.name.to_owned(),
                track: "stable",
                image: &v.image,
                autoscaled: auto,
                replicas: v.replicas,
            },
            Track {
                name: format!("{}-canary", r.name),
                track: "canary",
                image: &c.image,
                autoscaled: false,
                replicas: c.replicas,
            },
        ],
        _ => vec![Track {
            name: r.name.to_owned(),
            track: "stable",
            image: &v.image,
            autoscaled: auto,
            replicas: v.replicas,
        }],
    }
}

pub(super) fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Render the chart's objects for `values`, in apply order.
pub fn render(v: &Values, r: &Release) -> Result<Vec<Object>, EmitError> {
    let mut docs = Vec::new();
    docs.push(doc(&service_account(v, r))?);
    if !v.env.is_empty() {
        docs.push(doc(&config_map(v, r))?);
    }
    if !v.files.is_empty() {
        docs.push(doc(&ConfigMap {
            metadata: meta(&format!("{}-files", r.name), r, labels(v, r)),
            data: Some(files_data(v)),
            ..Default::default()
        })?);
    }
    if !v.service_account.rules.is_empty() {
        docs.push(doc(&role(v, r))?);
        docs.push(doc(&role_binding(v, r))?);
    }
    for j in &v.jobs {
        docs.push(doc(&hook_job(v, r, j))?);
    }
    if let Some(s) = &v.schedule {
        docs.push(doc(&cron_job(v, r, s))?);
        if v.network_policy.enabled {
            docs.push(doc(&network_policy(v, r))?);
        }
        return Ok(docs);
    }
    for s in services(v, r) {
        docs.push(doc(&s)?);
    }
    let tracks = tracks(v, r);
    for t in &tracks {
        if v.volumes.is_empty() {
            docs.push(doc(&deployment(v, r, t))?);
        } else {
            docs.push(doc(&super::statefulset::statefulset(v, r, t))?);
        }
    }
    for t in tracks.iter().filter(|t| t.autoscaled) {
        docs.push(doc(&hpa(v, r, t))?);
    }
    if v.pod_disruption_budget.enabled {
        docs.push(doc(&pdb(v, r))?);
    }
    for i in ingresses(v, r) {
        docs.push(doc(&i)?);
    }
    if v.network_policy.enabled {
        docs.push(doc(&network_policy(v, r))?);
    }
    Ok(docs)
}

fn service_account(v: &Values, r: &Release) -> ServiceAccount {
    let mut m = meta(r.name, r, labels(v, r));
    m.annotations = non_empty(&v.service_account.annotations);
    ServiceAccount {
        metadata: m,
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Name of the pod volume of the configuration files.
pub const FILES_VOLUME: &str = "files";

/// The data of the `<release>-files` ConfigMap: key -> content.
fn files_data(v: &Values) -> BTreeMap<String, String> {
    v.files
        .iter()
        .map(|(k, f)| (k.clone(), f.content.clone()))
        .collect()
}

/// The Role of the service's API access (`rbac.yaml`).
fn role(v: &Values, r: &Release) -> Role {
    Role {
        metadata: meta(r.name, r, labels(v, r)),
        rules: Some(v.service_account.rules.clone()),
    }
}

/// The RoleBinding of that Role to the service's ServiceAccount.
fn role_binding(v: &Values, r: &Release) -> RoleBinding {
    RoleBinding {
        metadata: meta(r.name, r, labels(v, r)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: r.name.to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: r.name.to_owned(),
            namespace: Some(r.namespace.to_owned()),
            ..Default::default()
        }]),
    }
}

fn config_map(v: &Values, r: &Release) -> ConfigMap {
    ConfigMap {
        metadata: meta(&format!("{}-env", r.name), r, labels(v, r)),
        data: Some(v.env.clone()),
        ..Default::default()
    }
}

/// The ports of the container and of each Service, by name: the service's
/// port, then its extra ports (`metrics` among them) by name.
fn named_ports(v: &Values) -> Vec<(&str, u32)> {
    let mut ports: Vec<(&str, u32)> = v
        .service
        .port
        .map(|p| (v.service.port_name.as_str(), p))
        .into_iter()
        .collect();
    ports.extend(v.service.ports.iter().map(|(n, p)| (n.as_str(), *p)));
    ports
}

/// `gen.serviceName`: the Service's name, the release's unless the
/// catalog names it.
pub fn service_name<'a>(v: &'a Values, r: &Release<'a>) -> &'a str {
    if v.service.name.is_empty() {
        r.name
    } else {
        &v.service.name
    }
}

fn services(v: &Values, r: &Release) -> Vec<Service> {
    let name = service_name(v, r);
    let mut list = vec![(name.to_owned(), live_track(v), false)];
    if v.strategy.kind == StrategyKind::Canary {
        list.push((format!("{name}-canary"), Some("canary"), false));
    }
    if !v.volumes.is_empty() {
        list.push((super::statefulset::headless_name(r), live_track(v), true));
    }
    list.into_iter()
        .map(|(name, track, headless)| {
            let mut selector = selector_labels(r);
            if let Some(t) = track {
                selector.insert(TRACK_LABEL.into(), t.into());
            }
            Service {
                metadata: meta(&name, r, labels(v, r)),
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    cluster_ip: headless.then(|| "None".into()),
                    publish_not_ready_addresses: headless.then_some(true),
                    selector: Some(selector),
                    ports: Some(
                        named_ports(v)
                            .into_iter()
                            .map(|(name, port)| ServicePort {
                                name: Some(name.into()),
                                port: to_i32(port),
                                target_port: Some(IntOrString::String(name.into())),
                                protocol: Some("TCP".into()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect()
}

fn probe(p: &ProbeValues, port: &str) -> Probe {
    let (http_get, tcp_socket) = match p.kind {
        ProbeKind::Http => (
            Some(HTTPGetAction {
                path: Some(p.path.clone()),
                port: IntOrString::String(port.into()),
                ..Default::default()
            }),
            None,
        ),
        ProbeKind::Tcp => (
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
        initial_delay_seconds: Some(to_i32(p.initial_delay_seconds)),
        period_seconds: Some(to_i32(p.period_seconds)),
        timeout_seconds: Some(to_i32(p.timeout_seconds)),
        failure_threshold: Some(to_i32(p.failure_threshold)),
        ..Default::default()
    }
}

/// Go's `toJson` of a string map: sorted keys, and `encoding/json`'s HTML
/// escaping of `<`, `>`, `&` and the JavaScript line separators.
pub fn go_json(m: &BTreeMap<String, String>) -> String {
    let plain = serde_json::to_string(m).unwrap_or_default();
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Labels of a track's pods and their selector: the release's, plus the
/// track and the track image's version.
pub(super) fn track_labels(
    v: &Values,
    r: &Release,
    t: &Track,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut selector = selector_labels(r);
    let mut l = labels(v, r);
    if !t.track.is_empty() {
        selector.insert(TRACK_LABEL.into(), t.track.into());
        l.insert(TRACK_LABEL.into(), t.track.into());
    }
    let version = t.image.version_label();
    if version.is_empty() {
        l.remove("app.kubernetes.io/version");
    } else {
        l.insert("app.kubernetes.io/version".into(), version);
    }
    (l, selector)
}

/// Annotations of every pod of the release (`gen.podAnnotations`): the
/// catalog's, plus checksums that roll the pods when their configuration
/// changes.
fn pod_annotations(v: &Values) -> BTreeMap<String, String> {
    let mut annotations = v.pod_annotations.clone();
    if !v.env.is_empty() {
        annotations.insert("checksum/env".into(), sha256_hex(&go_json(&v.env)));
    }
    if !v.files.is_empty() {
        annotations.insert(
            "checksum/files".into(),
            sha256_hex(&go_json(&files_data(v))),
        );
    }
    annotations
}

/// What a batch pod runs (`gen.podTemplate`'s `run`), instead of serving.
pub struct Run<'a> {
    /// Container command (empty: the image's).
    pub command: &'a [String],
    /// Container arguments.
    pub args: &'a [String],
    /// A hook runs before the release's other objects exist: the default
    /// ServiceAccount, and literal `env` inline rather than from the
    /// release's ConfigMap.
    pub hook: bool,
}

/// The service's container running `image` (`gen.container`), or a batch
/// container when `run` is given: its command, no probes.
fn container_for(v: &Values, r: &Release, image: &ImageValues, run: Option<&Run>) -> Container {
    let inline = run.is_some_and(|x| x.hook);
    let literal = v.env.iter().filter(|_| inline).map(|(k, x)| EnvVar {
        name: k.clone(),
        value: Some(x.clone()),
        ..Default::default()
    });
    let env: Vec<EnvVar> = literal
        .chain(v.secret_env.iter().map(|(k, s)| EnvVar {
            name: k.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: s.secret.clone(),
                    key: s.key.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .collect();
    let port = v.service.port_name.as_str();
    let ports: Vec<ContainerPort> = named_ports(v)
        .into_iter()
        .map(|(name, port)| ContainerPort {
            name: Some(name.into()),
            container_port: to_i32(port),
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect();
    let serve = run.is_none();
    let words = |w: &[String]| (!w.is_empty()).then(|| w.to_vec());
    // A run's command and args, when it has either, replace the service's.
    let (command, args) = match run {
        Some(x) if !x.command.is_empty() || !x.args.is_empty() => (x.command, x.args),
        _ => (v.command.as_slice(), v.args.as_slice()),
    };
    Container {
        name: r.chart.to_owned(),
        image: Some(image.reference()),
        image_pull_policy: Some(v.image_pull_policy.as_str().into()),
        command: words(command),
        args: words(args),
        ports: (!ports.is_empty()).then_some(ports),
        env_from: (!v.env.is_empty() && !inline).then(|| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: format!("{}-env", r.name),
                    ..Default::default()
                }),
                ..Default::default()
            }]
        }),
        env: (!env.is_empty()).then_some(env),
        resources: Some(v.resources.clone()),
        readiness_probe: serve.then(|| probe(&v.probes.readiness, port)),
        liveness_probe: serve.then(|| probe(&v.probes.liveness, port)),
        security_context: Some(v.security_context.clone()),
        volume_mounts: Some(
            std::iter::once(VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            })
            .chain(
                v.files
                    .iter()
                    .filter(|_| !inline)
                    .map(|(key, f)| VolumeMount {
                        name: FILES_VOLUME.into(),
                        mount_path: f.path.clone(),
                        sub_path: Some(key.clone()),
                        read_only: Some(true),
                        ..Default::default()
                    }),
            )
            .chain(mounts(v, run.is_some()).map(|(name, path)| VolumeMount {
                name: name.into(),
                mount_path: path.into(),
                ..Default::default()
            }))
            .collect(),
        ),
        ..Default::default()
    }
}

/// The container's mounts (name, path) after /tmp and the files: the
/// persistent volumes (none in a batch pod), the writable empty
/// directories.
fn mounts(v: &Values, batch: bool) -> impl Iterator<Item = (&str, &str)> {
    v.volumes
        .iter()
        .filter(move |_| !batch)
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .chain(
            v.writable
                .iter()
                .map(|m| (m.name.as_str(), m.mount_path.as_str())),
        )
}

/// The pod template every workload kind of the release shares
/// (`gen.podTemplate`): `labels` on the pods, `selector` for spreading them
/// over nodes and zones when `spread`; a batch pod (restart policy `Never`,
/// so that a failed pod stays to be read) when `run` is given.
pub(super) fn pod_template(
    v: &Values,
    r: &Release,
    image: &ImageValues,
    labels: BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    spread: bool,
    run: Option<&Run>,
) -> PodTemplateSpec {
    let hook = run.is_some_and(|x| x.hook);
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
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: non_empty(&pod_annotations(v)),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: (!hook).then(|| r.name.to_owned()),
            restart_policy: run.map(|_| "Never".into()),
            automount_service_account_token: Some(!hook && !v.service_account.rules.is_empty()),
            image_pull_secrets: (!v.image_pull_secrets.is_empty()).then(|| {
                v.image_pull_secrets
                    .iter()
                    .map(|s| LocalObjectReference {
                        name: s.name.clone(),
                    })
                    .collect()
            }),
            security_context: Some(v.pod_security_context.clone()),
            containers: vec![container_for(v, r, image, run)],
            // The persistent volumes come from the StatefulSet's claims.
            volumes: Some(
                std::iter::once(Volume {
                    name: "tmp".into(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                })
                .chain((!hook && !v.files.is_empty()).then(|| Volume {
                    name: FILES_VOLUME.into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: format!("{}-files", r.name),
                        ..Default::default()
                    }),
                    ..Default::default()
                }))
                .chain(v.writable.iter().map(|w| Volume {
                    name: w.name.clone(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                }))
                .collect(),
            ),
            topology_spread_constraints: topology,
            node_selector: non_empty(&v.node_selector),
            tolerations: (!v.tolerations.is_empty()).then(|| v.tolerations.clone()),
            ..Default::default()
        }),
    }
}

fn deployment(v: &Values, r: &Release, t: &Track) -> Deployment {
    let (l, selector) = track_labels(v, r, t);
    let spread = t.autoscaled || t.replicas > 1;
    Deployment {
        metadata: meta(&t.name, r, l.clone()),
        spec: Some(DeploymentSpec {
            replicas: (!t.autoscaled).then(|| to_i32(t.replicas)),
            revision_history_limit: Some(10),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(v.strategy.rolling_update.max_surge.clone()),
                    max_unavailable: Some(v.strategy.rolling_update.max_unavailable.clone()),
                }),
            }),
            template: pod_template(v, r, t.image, l, &selector, spread, None),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn hpa(v: &Values, r: &Release, t: &Track) -> HorizontalPodAutoscaler {
    let a = &v.autoscaling;
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
    let mut metrics = vec![metric("cpu", a.target_cpu)];
    if a.target_memory > 0 {
        metrics.push(metric("memory", a.target_memory));
    }
    let mut l = labels(v, r);
    if !t.track.is_empty() {
        l.insert(TRACK_LABEL.into(), t.track.into());
    }
    HorizontalPodAutoscaler {
        metadata: meta(&t.name, r, l),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: if v.volumes.is_empty() {
                    "Deployment"
                } else {
                    "StatefulSet"
                }
                .into(),
                name: t.name.clone(),
            },
            min_replicas: Some(to_i32(a.min_replicas)),
            max_replicas: to_i32(a.max_replicas),
            metrics: Some(metrics),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pdb(v: &Values, r: &Release) -> PodDisruptionBudget {
    let p = &v.pod_disruption_budget;
    let mut selector = selector_labels(r);
    if let Some(t) = live_track(v) {
        selector.insert(TRACK_LABEL.into(), t.into());
    }
    let (min_available, max_unavailable) = if p.min_available > 0 {
        (Some(IntOrString::Int(to_i32(p.min_available))), None)
    } else {
        (None, Some(IntOrString::Int(to_i32(p.max_unavailable))))
    };
    PodDisruptionBudget {
        metadata: meta(r.name, r, labels(v, r)),
        spec: Some(PodDisruptionBudgetSpec {
            min_available,
            max_unavailable,
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn rule(host: &str, paths: &[String], backend: &str, port: ServiceBackendPort) -> IngressRule {
    IngressRule {
        host: Some(host.to_owned()),
        http: Some(HTTPIngressRuleValue {
            paths: paths
                .iter()
                .map(|p| HTTPIngressPath {
                    path: Some(p.clone()),
                    path_type: "Prefix".into(),
                    backend: IngressBackend {
                        service: Some(IngressServiceBackend {
                            name: backend.to_owned(),
                            port: Some(port.clone()),
                        }),
                        ..Default::default()
                    },
                })
                .collect(),
        }),
    }
}

fn ingresses(v: &Values, r: &Release) -> Vec<Ingress> {
    let ing = &v.ingress;
    if !ing.enabled || ing.paths.is_empty() {
        return Vec::new();
    }
    let canary = match (&v.strategy.kind, &v.strategy.canary) {
        (StrategyKind::Canary, Some(c)) => Some(c),
        _ => None,
    };
    let mut backend = service_name(v, r).to_owned();
    let mut port = ServiceBackendPort {
        name: Some(v.service.port_name.clone()),
        ..Default::default()
    };
    let mut ann: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, x: String| {
        ann.insert(k.to_owned(), x);
    };
    match ing.controller {
        Controller::Nginx => {
            if ing.tls.enabled {
                set(
                    "nginx.ingress.kubernetes.io/ssl-redirect",
                    ing.https_redirect.to_string(),
                );
            } else if ing.https_redirect {
                set(
                    "nginx.ingress.kubernetes.io/force-ssl-redirect",
                    "true".into(),
                );
            }
        }
        // Behind an ALB every request arrives on `web`; the middleware
        // redirects by X-Forwarded-Proto.
        Controller::Traefik if ing.forwarded_scheme => {
            if ing.https_redirect {
                set(
                    "traefik.ingress.kubernetes.io/router.middlewares",
                    format!("kube-system-{REDIRECT_MIDDLEWARE}@kubernetescrd"),
                );
            }
        }
        // HTTPS only; the `web` entry point redirects. Without the redirect
        // the route serves both entry points (`websecure` ends TLS).
        Controller::Traefik => {
            if ing.https_redirect {
                if ing.tls.enabled {
                    set("traefik.ingress.kubernetes.io/router.tls", "true".into());
                }
                set(
                    "traefik.ingress.kubernetes.io/router.entrypoints",
                    "websecure".into(),
                );
            }
        }
        Controller::Alb => {
            set("alb.ingress.kubernetes.io/scheme", "internet-facing".into());
            set("alb.ingress.kubernetes.io/target-type", "ip".into());
            set("alb.ingress.kubernetes.io/group.name", v.part_of.clone());
            if let Some(order) = ing.group_order {
                set("alb.ingress.kubernetes.io/group.order", order.to_string());
            }
            if !ing.security_groups.is_empty() {
                set(
                    "alb.ingress.kubernetes.io/security-groups",
                    ing.security_groups.join(","),
                );
                set(
                    "alb.ingress.kubernetes.io/manage-backend-security-group-rules",
                    "false".into(),
                );
            }
            if ing.tls.enabled {
                set(
                    "alb.ingress.kubernetes.io/listen-ports",
                    r#"[{"HTTP": 80}, {"HTTPS": 443}]"#.into(),
                );
                if ing.https_redirect {
                    set("alb.ingress.kubernetes.io/ssl-redirect", "443".into());
                }
            } else {
                set(
                    "alb.ingress.kubernetes.io/listen-ports",
                    r#"[{"HTTP": 80}]"#.into(),
                );
            }
            if v.probes.readiness.kind == ProbeKind::Http {
                set(
                    "alb.ingress.kubernetes.io/healthcheck-path",
                    v.probes.readiness.path.clone(),
                );
            }
            if let Some(c) = canary {
                backend = format!("{}-weighted", r.name);
                port = ServiceBackendPort {
                    name: Some("use-annotation".into()),
                    ..Default::default()
                };
                let w = c.weight;
                let p = v.service.port.unwrap_or_default();
                let action = format!(
                    r#"{{"type":"forward","forwardConfig":{{"targetGroups":[{{"serviceName":"{n}","servicePort":"{p}","weight":{s}}},{{"serviceName":"{n}-canary","servicePort":"{p}","weight":{w}}}]}}}}"#,
                    n = service_name(v, r),
                    s = 100_i64 - i64::from(w),
                );
                set(
                    &format!("alb.ingress.kubernetes.io/actions.{backend}"),
                    action,
                );
            }
        }
    }
    for (k, x) in &ing.annotations {
        ann.insert(k.clone(), x.clone());
    }
    let mut m = meta(r.name, r, labels(v, r));
    m.annotations = non_empty(&ann);
    let mut out = vec![Ingress {
        metadata: m,
        spec: Some(IngressSpec {
            ingress_class_name: Some(ing.class_name.clone()),
            tls: ing.tls.enabled.then(|| {
                vec![IngressTLS {
                    hosts: Some(vec![ing.host.clone()]),
                    secret_name: (!ing.tls.secret_name.is_empty())
                        .then(|| ing.tls.secret_name.clone()),
                }]
            }),
            rules: Some(vec![rule(&ing.host, &ing.paths, &backend, port)]),
            ..Default::default()
        }),
        ..Default::default()
    }];
    if let (Some(c), Controller::Nginx) = (canary, ing.controller) {
        let mut l = labels(v, r);
        l.insert(TRACK_LABEL.into(), "canary".into());
        let name = format!("{}-canary", r.name);
        let mut m = meta(&name, r, l);
        m.annotations = Some(BTreeMap::from([
            (
                "nginx.ingress.kubernetes.io/canary".to_owned(),
                "true".to_owned(),
            ),
            (
                "nginx.ingress.kubernetes.io/canary-weight".to_owned(),
                c.weight.to_string(),
            ),
        ]));
        out.push(Ingress {
            metadata: m,
            spec: Some(IngressSpec {
                ingress_class_name: Some(ing.class_name.clone()),
                rules: Some(vec![rule(
                    &ing.host,
                    &ing.paths,
                    &format!("{}-canary", service_name(v, r)),
                    ServiceBackendPort {
                        name: Some(v.service.port_name.clone()),
                        ..Default::default()
                    },
                )]),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    out
}

/// `gen.podPeer`.
fn pod_peer(namespace: &str, labels: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                namespace.to_owned(),
            )])),
            ..Default::default()
        }),
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tcp(port: u32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(to_i32(port))),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A service's port and its extra ports.
fn tcp_with_extra<'a>(
    port: u32,
    extra: impl IntoIterator<Item = &'a u32>,
) -> Vec<NetworkPolicyPort> {
    std::iter::once(port)
        .chain(extra.into_iter().copied())
        .map(tcp)
        .collect()
}

fn name_label(service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_owned(), service.to_owned())])
}

fn network_policy(v: &Values, r: &Release) -> NetworkPolicy {
    let np = &v.network_policy;
    // Only rules of a listening service use it.
    let port = v.service.port.unwrap_or_default();
    // The pods of the service reach each other on any port (clustering,
    // peer discovery).
    let own = || NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(selector_labels(r)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![own()]),
        ports: None,
    }];
    if let Some(c) = np
        .ingress_controller
        .as_ref()
        .filter(|_| v.ingress.enabled && !v.ingress.paths.is_empty())
    {
        let peer = if c.cidr.is_empty() {
            pod_peer(&c.namespace, c.pod_labels.clone())
        } else {
            NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: c.cidr.clone(),
                    except: None,
                }),
                ..Default::default()
            }
        };
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![peer]),
            ports: Some(vec![tcp(port)]),
        });
    }
    if let Some(p) = &np.prometheus {
        // The monitoring add-on's Prometheus scrapes the metrics port.
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![pod_peer(&p.namespace, p.pod_labels.clone())]),
            ports: Some(vec![tcp(v.service.metrics_port().unwrap_or(port))]),
        });
    }
    if !np.from.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(
                np.from
                    .iter()
                    .map(|p| pod_peer(&p.namespace, name_label(&p.service)))
                    .collect(),
            ),
            // Callers reach the metrics port too: a Prometheus that calls
            // this service scrapes it there.
            ports: Some(tcp_with_extra(port, v.service.ports.values())),
        });
    }
    let mut egress = vec![NetworkPolicyEgressRule {
        to: Some(vec![own()]),
        ports: None,
    }];
    if np.dns {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![pod_peer(
                "kube-system",
                BTreeMap::from([("k8s-app".to_owned(), "kube-dns".to_owned())]),
            )]),
            ports: Some(
                ["UDP", "TCP"]
                    .into_iter()
                    .map(|proto| NetworkPolicyPort {
                        port: Some(IntOrString::Int(53)),
                        protocol: Some(proto.into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        });
    }
    for p in &np.to {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![pod_peer(&p.namespace, name_label(&p.service))]),
            ports: Some(tcp_with_extra(p.port.unwrap_or(0), &p.ports)),
        });
    }
    for e in &np.egress {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: e.cidr.clone(),
                    except: None,
                }),
                ..Default::default()
            }]),
            ports: Some(vec![tcp(e.port)]),
        });
    }
    NetworkPolicy {
        metadata: meta(r.name, r, labels(v, r)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(r)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}

/// Annotations that make a one-off Job a hook: Helm runs it before each
/// install and upgrade, Argo CD before each sync; each replaces the last
/// run's Job when it creates the next.
pub const HOOK_ANNOTATIONS: [(&str, &str); 5] = [
    ("helm.sh/hook", "pre-install,pre-upgrade"),
    ("helm.sh/hook-weight", "0"),
    ("helm.sh/hook-delete-policy", "before-hook-creation"),
    ("argocd.argoproj.io/hook", "PreSync"),
    (
        "argocd.argoproj.io/hook-delete-policy",
        "BeforeHookCreation",
    ),
];

/// Label naming the one-off job a Job and its pods belong to.
pub const JOB_LABEL: &str = "gen.dev/job";

/// A Job's spec around its pod (`gen.jobSpec`).
fn job_spec(backoff: u32, deadline: u32, template: PodTemplateSpec) -> JobSpec {
    JobSpec {
        backoff_limit: Some(to_i32(backoff)),
        active_deadline_seconds: (deadline > 0).then(|| i64::from(deadline)),
        template,
        ..Default::default()
    }
}

/// A one-off job (`job.yaml`).
fn hook_job(v: &Values, r: &Release, j: &JobValues) -> Job {
    let mut l = labels(v, r);
    l.insert(JOB_LABEL.into(), j.job.clone());
    let run = Run {
        command: &j.command,
        args: &j.args,
        hook: true,
    };
    let template = pod_template(v, r, &v.image, l.clone(), &l, false, Some(&run));
    let mut m = meta(&j.name, r, l);
    m.annotations = Some(
        HOOK_ANNOTATIONS
            .iter()
            .map(|(k, x)| ((*k).to_owned(), (*x).to_owned()))
            .collect(),
    );
    Job {
        metadata: m,
        spec: Some(job_spec(
            j.backoff_limit,
            j.active_deadline_seconds,
            template,
        )),
        ..Default::default()
    }
}

/// The CronJob of a scheduled service (`cronjob.yaml`).
fn cron_job(v: &Values, r: &Release, s: &ScheduleValues) -> CronJob {
    let l = labels(v, r);
    let run = Run {
        command: &[],
        args: &[],
        hook: false,
    };
    let template = pod_template(v, r, &v.image, l.clone(), &l, false, Some(&run));
    CronJob {
        metadata: meta(r.name, r, l.clone()),
        spec: Some(CronJobSpec {
            schedule: s.cron.clone(),
            time_zone: (!s.time_zone.is_empty()).then(|| s.time_zone.clone()),
            concurrency_policy: Some(s.concurrency_policy.clone()),
            starting_deadline_seconds: (s.starting_deadline_seconds > 0)
                .then(|| i64::from(s.starting_deadline_seconds)),
            successful_jobs_history_limit: Some(to_i32(s.successful_jobs_history_limit)),
            failed_jobs_history_limit: Some(to_i32(s.failed_jobs_history_limit)),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l),
                    ..Default::default()
                }),
                spec: Some(job_spec(
                    s.backoff_limit,
                    s.active_deadline_seconds,
                    template,
                )),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}
