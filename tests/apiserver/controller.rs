//! Deployment controller simulation.
//!
//! Mirrors what kube-controller-manager's deployment controller makes
//! visible to a client: one ReplicaSet per distinct pod template, named
//! `<deployment>-<hash>` and labelled with `pod-template-hash`, revision
//! annotations (a rollback to an earlier template reuses that ReplicaSet and
//! gives it the next revision), old ReplicaSets scaled to 0, and Deployment
//! `status` / conditions as the rollout progresses or gets stuck.
//!
//! Simplified: it runs synchronously inside the write that changed the
//! Deployment (so the write's response already carries the new revision and
//! status, with a single resourceVersion bump); completion and the progress
//! deadline come from tokio timers (see [`super::Rollout`]); pods are only
//! created for stuck rollouts; the template hash is a SHA-256 based
//! 10-character string, not the real FNV hash.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::fields;
use super::resources::by_kind;
use super::store::{Manager, Operation, State, Timer, TimerAction, TIME};
use super::Rollout;

/// The field manager name the real controller uses.
pub const MANAGER: &str = "kube-controller-manager";
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH_LABEL: &str = "pod-template-hash";
/// Delay before a stuck rollout reports `ProgressDeadlineExceeded`.
pub const STUCK_AFTER_MS: u64 = 200;

/// Pod name suffixes, one per replica.
const POD_SUFFIXES: &[&str] = &[
    "abcde", "fghij", "klmno", "pqrst", "uvwxy", "zabcd", "efghi", "jklmn",
];

/// 10-character hash of a pod template, in the real controller's alphabet.
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = Sha256::digest(template.to_string().as_bytes());
    digest
        .iter()
        .take(10)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// A template with the `pod-template-hash` label removed (for comparing a
/// ReplicaSet's template with a Deployment's).
fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        if labels.is_empty() {
            fields::remove(&mut t, &["metadata".into(), "labels".into()]);
        }
    }
    t
}

fn revision_of(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn condition(kind: &str, status: &str, reason: &str, message: String) -> Value {
    json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": TIME,
        "lastTransitionTime": TIME,
    })
}

fn replicas_of(dep: &Value) -> i64 {
    dep["spec"]["replicas"].as_i64().unwrap_or(1)
}

/// ReplicaSets in `ns` controlled by the Deployment with `uid`.
fn owned_replicasets(state: &State, ns: &str, uid: &str) -> Vec<Value> {
    let Some(rs_res) = by_kind("apps/v1", "ReplicaSet") else {
        return Vec::new();
    };
    state.list(rs_res, Some(ns), |o| {
        o["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| {
                refs.iter()
                    .any(|r| r["uid"].as_str() == Some(uid) && r["controller"] == json!(true))
            })
    })
}

/// Called from `State::write` for every stored change of a Deployment,
/// before it is stored: updates `dep` (revision annotation, status,
/// controller managedFields) and the ReplicaSets / Pods / Events.
pub fn deployment_written(
    state: &mut State,
    dep: &mut Value,
    managers: &mut Vec<Manager>,
    old: Option<&Value>,
) {
    let generation = dep["metadata"]["generation"].as_i64().unwrap_or(1);
    let old_generation = old.and_then(|o| o["metadata"]["generation"].as_i64());
    if old_generation == Some(generation) {
        return; // metadata-only change: nothing for the controller to do
    }
    let (Some(rs_res), Some(_)) = (by_kind("apps/v1", "ReplicaSet"), by_kind("v1", "Pod")) else {
        return;
    };
    let ns = dep["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = dep["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = dep["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let replicas = replicas_of(dep);
    let template = dep["spec"]["template"].clone();
    let owned = owned_replicasets(state, &ns, &uid);

    // The ReplicaSet for the current template: reuse one with an equal
    // template (rollback), else a new one.
    let current = owned
        .iter()
        .find(|rs| without_hash(&rs["spec"]["template"]) == template)
        .cloned();
    let template_changed =
        old.is_none_or(|o| o["spec"]["template"] != template) || current.is_none();
    let max_revision = owned.iter().map(revision_of).max().unwrap_or(0);
    let revision = if template_changed {
        max_revision + 1
    } else {
        revision_of(dep).max(1)
    };
    let rs_name = match &current {
        Some(rs) => rs["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        None => format!("{name}-{}", template_hash(&template)),
    };
    let hash = rs_name.rsplit('-').next().unwrap_or_default().to_string();

    // Old ReplicaSets scale to 0 (their pods go away).
    for rs in owned
        .iter()
        .filter(|rs| rs["metadata"]["name"].as_str() != Some(rs_name.as_str()))
    {
        if rs["spec"]["replicas"].as_i64() != Some(0) {
            let mut scaled = rs.clone();
            scaled["spec"]["replicas"] = json!(0);
            scaled["status"] =
                json!({ "replicas": 0, "observedGeneration": rs["metadata"]["generation"] });
            scaled["metadata"]
                .as_object_mut()
                .map(|m| m.remove("managedFields"));
            let rs_uid = rs["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            state.controller_put(rs_res, scaled);
            delete_pods_of(state, &ns, &rs_uid);
        }
    }

    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[HASH_LABEL] = json!(hash);
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"] = labels.clone();
    let mut selector = dep["spec"]["selector"].clone();
    if !selector.is_object() {
        selector = json!({});
    }
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": rs_name,
            "namespace": ns,
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string(),
            },
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
                "uid": uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": { "replicas": replicas, "selector": selector, "template": rs_template },
        "status": { "replicas": 0, "observedGeneration": 1 },
    });
    rs["metadata"]["annotations"][REVISION] = json!(revision.to_string());
    let rs = state.controller_put(rs_res, rs);
    let rs_uid = rs["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // The Deployment's revision annotation, owned by the controller.
    dep["metadata"]["annotations"][REVISION] = json!(revision.to_string());
    let path = vec![
        "metadata".to_string(),
        "annotations".to_string(),
        REVISION.to_string(),
    ];
    for m in managers.iter_mut() {
        m.fields.remove(&path);
    }
    match managers.iter_mut().find(|m| {
        m.manager == MANAGER && m.operation == Operation::Update && m.subresource.is_none()
    }) {
        Some(m) => {
            m.fields.insert(path);
        }
        None => managers.push(Manager {
            manager: MANAGER.into(),
            operation: Operation::Update,
            subresource: None,
            api_version: "apps/v1".into(),
            fields: [path].into_iter().collect(),
        }),
    }

    let rollout = state.rollouts.get(&name).cloned().unwrap_or_default();
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": 0,
        "availableReplicas": 0,
        "unavailableReplicas": replicas,
        "conditions": [
            condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.".into()),
            condition("Progressing", "True", "ReplicaSetUpdated", format!("ReplicaSet \"{rs_name}\" is progressing.")),
        ],
    });
    match rollout {
        Rollout::Ready { after } => state.timers.push(Timer {
            delay: after,
            namespace: ns.clone(),
            name: name.clone(),
            generation,
            action: TimerAction::Ready,
        }),
        Rollout::Stuck { reason, message } => {
            status["updatedReplicas"] = json!(replicas);
            delete_pods_of(state, &ns, &rs_uid);
            create_stuck_pods(state, &rs, replicas, reason, message);
            state.timers.push(Timer {
                delay: std::time::Duration::from_millis(STUCK_AFTER_MS),
                namespace: ns.clone(),
                name: name.clone(),
                generation,
                action: TimerAction::Deadline,
            });
        }
    }
    dep["status"] = status;
    super::store::set_status_owner(managers, dep, "apps/v1");
}

/// A timer fired: finish (`Ready`) or time out (`Deadline`) the rollout of
/// generation `timer.generation`, if the Deployment is still at it.
pub fn fire(state: &mut State, timer: &Timer) {
    let (Some(dep_res), Some(rs_res)) = (
        by_kind("apps/v1", "Deployment"),
        by_kind("apps/v1", "ReplicaSet"),
    ) else {
        return;
    };
    let Some(live) = state.get(dep_res, &timer.namespace, &timer.name).cloned() else {
        return;
    };
    if live.obj["metadata"]["generation"].as_i64() != Some(timer.generation) {
        return; // superseded by a newer rollout
    }
    let uid = live.obj["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let revision = revision_of(&live.obj);
    let Some(rs) = owned_replicasets(state, &timer.namespace, &uid)
        .into_iter()
        .find(|rs| revision_of(rs) == revision)
    else {
        return;
    };
    let rs_name = rs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let replicas = replicas_of(&live.obj);
    let mut dep = live.obj.clone();
    match timer.action {
        TimerAction::Ready => {
            let mut rs = rs.clone();
            rs["metadata"]
                .as_object_mut()
                .map(|m| m.remove("managedFields"));
            rs["status"] = json!({
                "replicas": replicas,
                "fullyLabeledReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "observedGeneration": rs["metadata"]["generation"],
            });
            state.controller_put(rs_res, rs);
            dep["status"] = json!({
                "observedGeneration": timer.generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
                    condition("Progressing", "True", "NewReplicaSetAvailable", format!("ReplicaSet \"{rs_name}\" has successfully progressed.")),
                ],
            });
        }
        TimerAction::Deadline => {
            let message = format!("ReplicaSet \"{rs_name}\" has timed out progressing.");
            create_event(
                state,
                &dep,
                "ProgressDeadlineExceeded",
                &message,
                "deployment-controller",
            );
            dep["status"]["conditions"] = json!([
                condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".into()
                ),
                condition("Progressing", "False", "ProgressDeadlineExceeded", message),
            ]);
        }
    }
    let mut managers = live.managers.clone();
    super::store::set_status_owner(&mut managers, &dep, "apps/v1");
    let (ns, name) = (timer.namespace.clone(), timer.name.clone());
    if let Err(e) = state.write(dep_res, &ns, &name, Some(live), dep, managers, false, true) {
        panic!("API test server: status update failed: {}", e.message);
    }
}

fn delete_pods_of(state: &mut State, ns: &str, rs_uid: &str) {
    let Some(pod_res) = by_kind("v1", "Pod") else {
        return;
    };
    let pods: Vec<String> = state
        .list(pod_res, Some(ns), |o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["uid"].as_str() == Some(rs_uid)))
        })
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    for p in pods {
        state.remove_cascade(pod_res, ns, &p);
    }
}

/// Pods of a stuck rollout: Pending, not Ready, every container waiting
/// with `reason` / `message`; plus a Warning event per pod, as the kubelet
/// would report.
fn create_stuck_pods(state: &mut State, rs: &Value, replicas: i64, reason: &str, message: &str) {
    let Some(pod_res) = by_kind("v1", "Pod") else {
        return;
    };
    let ns = rs["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rs_name = rs["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let count = usize::try_from(replicas.max(1))
        .unwrap_or(1)
        .min(POD_SUFFIXES.len());
    let containers: Vec<Value> = rs["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for suffix in &POD_SUFFIXES[..count] {
        let pod_name = format!("{rs_name}-{suffix}");
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                json!({
                    "name": c["name"],
                    "image": c["image"],
                    "imageID": "",
                    "ready": false,
                    "started": false,
                    "restartCount": 0,
                    "state": { "waiting": { "reason": reason, "message": message } },
                })
            })
            .collect();
        let not_ready: Vec<&str> = containers
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let unready_msg = format!("containers with unready status: [{}]", not_ready.join(" "));
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": ns,
                "labels": rs["spec"]["template"]["metadata"]["labels"],
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs_name,
                    "uid": rs["metadata"]["uid"],
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": rs["spec"]["template"]["spec"],
            "status": {
                "phase": "Pending",
                "conditions": [
                    { "type": "PodScheduled", "status": "True", "lastTransitionTime": TIME },
                    { "type": "Initialized", "status": "True", "lastTransitionTime": TIME },
                    { "type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": unready_msg, "lastTransitionTime": TIME },
                    { "type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": unready_msg, "lastTransitionTime": TIME },
                ],
                "containerStatuses": statuses,
            },
        });
        let pod = state.controller_put(pod_res, pod);
        create_event(state, &pod, "Failed", message, "kubelet");
    }
}

/// A Warning `v1` Event about `involved`.
fn create_event(state: &mut State, involved: &Value, reason: &str, message: &str, component: &str) {
    let Some(ev_res) = by_kind("v1", "Event") else {
        return;
    };
    let ns = involved["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = involved["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let event_name = format!("{name}.{}", state.next_event_suffix());
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": event_name, "namespace": ns },
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": name,
            "namespace": ns,
            "uid": involved["metadata"]["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": { "component": component },
        "reportingComponent": component,
        "reportingInstance": "",
        "count": 1,
        "firstTimestamp": TIME,
        "lastTimestamp": TIME,
    });
    state.controller_put(ev_res, event);
}
