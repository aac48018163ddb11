//! Waiting for Deployment and StatefulSet rollouts, the way `kubectl
//! rollout status` judges them. A Deployment: the controller has observed
//! the latest generation, every replica is updated, no old replica is left,
//! and every updated replica is available; a `Progressing=False` condition
//! with `ProgressDeadlineExceeded` is a failure. A StatefulSet (which has no
//! progress deadline): the controller has observed the latest generation,
//! every wanted replica is ready, and every replica above the rolling
//! update's partition runs the update revision (without a partition: the
//! current revision is the update revision).
//!
//! A watch may start from the API server's cache, which can be older than
//! the write gen just made; so a state counts only once its
//! `metadata.generation` and `status.observedGeneration` reach the
//! generation that gen's own apply returned.

use std::time::Duration;

use futures_util::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use tokio::time::Instant;

use super::desired::Desired;
use super::engine::Report;
use super::{ApplyError, Cluster};

/// The state of one rollout, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// Workload kind, lowercase: `deployment` or `statefulset`.
    pub kind: String,
    /// Workload name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Replicas wanted.
    pub desired: i32,
    /// Replicas running the new pod template.
    pub updated: i32,
    /// Of those, available.
    pub available: i32,
    /// Complete.
    pub done: bool,
    /// What it is waiting for, as kubectl says it.
    pub message: String,
}

/// Receives progress while gen waits (the binary draws progress bars).
pub trait Observer: Sync {
    /// A rollout's state changed.
    fn rollout(&self, state: &Rollout);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn rollout(&self, _: &Rollout) {}
}

enum Verdict {
    Done,
    Waiting(String),
    Failed(String),
}

/// A workload kind whose rollout gen waits for.
trait Rolled:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + serde::de::DeserializeOwned
    + Clone
    + std::fmt::Debug
    + Send
    + 'static
{
    /// The verdict, and the replicas wanted, updated and available (ready).
    fn judge(&self, applied: i64) -> (Verdict, i32, i32, i32);
    /// The label selector of its pods, as `k=v,...`.
    fn selector(&self) -> String;
}

fn selector_string(
    s: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> String {
    s.and_then(|s| s.match_labels.as_ref())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

impl Rolled for Deployment {
    fn judge(&self, applied: i64) -> (Verdict, i32, i32, i32) {
        judge(self, applied)
    }
    fn selector(&self) -> String {
        selector_string(self.spec.as_ref().map(|s| &s.selector))
    }
}

impl Rolled for StatefulSet {
    fn judge(&self, applied: i64) -> (Verdict, i32, i32, i32) {
        judge_statefulset(self, applied)
    }
    fn selector(&self) -> String {
        selector_string(self.spec.as_ref().map(|s| &s.selector))
    }
}

/// A StatefulSet's rollout (see the module documentation).
fn judge_statefulset(s: &StatefulSet, applied: i64) -> (Verdict, i32, i32, i32) {
    let spec = s.spec.as_ref();
    let want = spec.and_then(|s| s.replicas).unwrap_or(1);
    let generation = s.metadata.generation.unwrap_or(0);
    let waiting = |m: &str, u, a| (Verdict::Waiting(m.to_owned()), want, u, a);
    if generation < applied {
        return waiting(
            "waiting for the server to show the applied generation",
            0,
            0,
        );
    }
    let Some(st) = &s.status else {
        return waiting("waiting for the controller", 0, 0);
    };
    let updated = st.updated_replicas.unwrap_or(0);
    let ready = st.ready_replicas.unwrap_or(0);
    let observed = st.observed_generation.unwrap_or(0);
    if observed == 0 || observed < generation.max(applied) {
        return waiting(
            "waiting for the controller to observe the new generation",
            updated,
            ready,
        );
    }
    if ready < want {
        let m = format!("{} of {want} pods are not ready", want - ready);
        return (Verdict::Waiting(m), want, updated, ready);
    }
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    if let Some(t) = strategy.and_then(|u| u.type_.as_deref()) {
        if t != "RollingUpdate" {
            let m = format!("update strategy {t}: pods change only when deleted");
            return (Verdict::Failed(m), want, updated, ready);
        }
    }
    let v = match strategy.and_then(|u| u.rolling_update.as_ref()) {
        // The server defaults a partition of 0: the pods at or above the
        // partition's ordinal must run the update revision.
        Some(r) => {
            let due = want - r.partition.unwrap_or(0);
            if updated < due {
                Verdict::Waiting(format!("{updated} of {due} pods run the new revision"))
            } else {
                Verdict::Done
            }
        }
        None if st.update_revision != st.current_revision => Verdict::Waiting(format!(
            "{updated} pods run the new revision, waiting for the rest"
        )),
        None => Verdict::Done,
    };
    (v, want, updated, ready)
}

fn judge(d: &Deployment, applied: i64) -> (Verdict, i32, i32, i32) {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let generation = d.metadata.generation.unwrap_or(0);
    if generation < applied {
        return (
            Verdict::Waiting("waiting for the server to show the applied generation".into()),
            want,
            0,
            0,
        );
    }
    let generation = generation.max(applied);
    let Some(st) = &d.status else {
        return (
            Verdict::Waiting("waiting for the controller".into()),
            want,
            0,
            0,
        );
    };
    let updated = st.updated_replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let replicas = st.replicas.unwrap_or(0);
    if st.observed_generation.unwrap_or(0) < generation {
        return (
            Verdict::Waiting("waiting for the controller to observe the new generation".into()),
            want,
            updated,
            available,
        );
    }
    if let Some(c) = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
    {
        if c.reason.as_deref() == Some("ProgressDeadlineExceeded") {
            let msg = c.message.clone().unwrap_or_default();
            return (
                Verdict::Failed(format!("ProgressDeadlineExceeded: {msg}")),
                want,
                updated,
                available,
            );
        }
    }
    let v = if updated < want {
        Verdict::Waiting(format!(
            "{updated} of {want} new replicas have been updated"
        ))
    } else if replicas > updated {
        Verdict::Waiting(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Verdict::Waiting(format!(
            "{available} of {updated} updated replicas are available"
        ))
    } else {
        Verdict::Done
    };
    (v, want, updated, available)
}

/// The workload kinds gen waits for.
const KINDS: [&str; 2] = ["Deployment", "StatefulSet"];

/// Wait until every Deployment and StatefulSet of `desired` has rolled out, or `timeout`.
/// `applied` is the report of the apply just made: a Deployment's rollout
/// is judged only from the generation that apply returned on. Deployments
/// are watched concurrently; each state change reaches `observer`.
pub async fn wait(
    cluster: &Cluster,
    desired: &Desired,
    applied: &Report,
    timeout: Duration,
    observer: &dyn Observer,
) -> Result<(), ApplyError> {
    let deadline = Instant::now() + timeout;
    let targets: Vec<(String, String, String, i64, &'static str)> = desired
        .objects
        .iter()
        .filter(|o| KINDS.contains(&o.id.kind.kind))
        .map(|o| {
            let service = o.body["metadata"]["labels"]["app.kubernetes.io/instance"]
                .as_str()
                .unwrap_or(&o.id.name)
                .to_owned();
            let generation = applied
                .objects
                .iter()
                .find(|r| r.id == o.id)
                .and_then(|r| r.after.as_ref())
                .and_then(|a| a["metadata"]["generation"].as_i64())
                .unwrap_or(0);
            (
                o.id.namespace.clone().unwrap_or_default(),
                o.id.name.clone(),
                service,
                generation,
                o.id.kind.kind,
            )
        })
        .collect();
    let results =
        futures_util::future::join_all(targets.iter().map(|(ns, name, _, g, kind)| async move {
            if *kind == "StatefulSet" {
                one::<StatefulSet>(cluster, ns, name, *g, deadline, observer).await
            } else {
                one::<Deployment>(cluster, ns, name, *g, deadline, observer).await
            }
        }))
        .await;
    let mut pending = Vec::new();
    for ((ns, name, service, _, kind), r) in targets.iter().zip(results) {
        match r {
            Ok(true) => {}
            Ok(false) => pending.push((ns.clone(), name.clone(), service.clone(), *kind)),
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Rollout(why)) => {
                return Err(ApplyError::RolloutFailed {
                    kind: kind.to_lowercase(),
                    name: name.clone(),
                    namespace: ns.clone(),
                    undo: undo(kind, service, &cluster.context),
                    why,
                    details: explain_kind(cluster, kind, ns, name).await,
                });
            }
        }
    }
    if let Some((ns, _, _, _)) = pending.first() {
        let mut details = Vec::new();
        for (ns, name, _, kind) in &pending {
            details.push(explain_kind(cluster, kind, ns, name).await);
        }
        let services: std::collections::BTreeSet<(&String, &str)> =
            pending.iter().map(|(_, _, s, k)| (s, *k)).collect();
        return Err(ApplyError::RolloutTimeout {
            rollback: services
                .iter()
                .map(|(s, kind)| format!("or {}", undo(kind, s, &cluster.context)))
                .collect::<Vec<_>>()
                .join("; "),
            context: cluster.context.clone(),
            seconds: timeout.as_secs(),
            pending: pending
                .iter()
                .map(|(ns, n, _, kind)| format!("{}/{n} -n {ns}", kind.to_lowercase()))
                .collect::<Vec<_>>()
                .join(", "),
            namespace: ns.clone(),
            details: details.join("\n"),
        });
    }
    Ok(())
}

/// How to go back from a failed rollout of a workload of `kind`.
fn undo(kind: &str, service: &str, context: &str) -> String {
    if kind == "StatefulSet" {
        // See `rollback`: gen does not roll a StatefulSet back.
        format!("go back: set `{service}`'s previous image in the catalog and `gen apply --context {context}` (its volumes keep what the new version wrote)")
    } else {
        format!("roll back: `gen rollback {service} --context {context}`")
    }
}

enum Failure {
    Api(ApplyError),
    Rollout(String),
}

/// Watch one Deployment until done (`Ok(true)`), the deadline (`Ok(false)`)
/// or failure.
async fn one<K: Rolled>(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    applied: i64,
    deadline: Instant,
    observer: &dyn Observer,
) -> Result<bool, Failure> {
    let kind = K::kind(&()).to_lowercase();
    let mut last: Option<Rollout> = None;
    let end = watch_named::<K, Result<(), String>>(cluster, ns, name, deadline, |d| {
        let Some(d) = d else {
            return Some(Err(format!("the {} was deleted", K::kind(&()))));
        };
        let (verdict, want, updated, available) = d.judge(applied);
        let state = Rollout {
            kind: kind.clone(),
            name: name.to_owned(),
            namespace: ns.to_owned(),
            desired: want,
            updated,
            available,
            done: matches!(verdict, Verdict::Done),
            message: match &verdict {
                Verdict::Done => "successfully rolled out".into(),
                Verdict::Waiting(m) | Verdict::Failed(m) => m.clone(),
            },
        };
        if last.as_ref() != Some(&state) {
            observer.rollout(&state);
            last = Some(state);
        }
        match verdict {
            Verdict::Done => Some(Ok(())),
            Verdict::Failed(why) => Some(Err(why)),
            Verdict::Waiting(_) => None,
        }
    })
    .await
    .map_err(Failure::Api)?;
    match end {
        None => Ok(false),
        Some(Ok(())) => Ok(true),
        Some(Err(why)) => Err(Failure::Rollout(why)),
    }
}

/// Watch the object `name` of kind `K` in `ns` until `look` gives a final
/// answer for its latest state (`look(None)`: it was deleted), or until
/// the deadline (`Ok(None)`). Each watch request asks the server to end it
/// before the client's read timeout, and is re-opened until the deadline.
pub(super) async fn watch_named<K, T>(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    deadline: Instant,
    mut look: impl FnMut(Option<&K>) -> Option<T>,
) -> Result<Option<T>, ApplyError>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    let api: Api<K> = Api::namespaced(cluster.client.clone(), ns);
    let kind = K::kind(&()).to_lowercase();
    let per_watch = u32::try_from(cluster.timeout.as_secs().saturating_sub(1).max(1)).unwrap_or(1);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let secs = per_watch.min(u32::try_from(left.as_secs().max(1)).unwrap_or(1));
        let wp = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(secs);
        let what = || format!("watch {kind}/{name} -n {ns}");
        let stream = cluster.call(what, api.watch(&wp, "0")).await?;
        futures_util::pin_mut!(stream);
        loop {
            let next = tokio::time::timeout_at(deadline, stream.try_next()).await;
            let event = match next {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(cluster.error(&what(), e)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(ev))) => ev,
            };
            let answer = match event {
                WatchEvent::Added(d) | WatchEvent::Modified(d) => look(Some(&d)),
                WatchEvent::Deleted(_) => look(None),
                WatchEvent::Bookmark(_) => continue,
                // 410 Gone and friends: open a new watch.
                WatchEvent::Error(_) => break,
            };
            if answer.is_some() {
                return Ok(answer);
            }
        }
    }
}

/// Why a Deployment's pods are not available: each unready pod's waiting
/// reasons and false conditions, and the warning events of the pods and the
/// Deployment. Best effort: a failed request yields what is known.
pub async fn explain(cluster: &Cluster, ns: &str, name: &str) -> String {
    explain_of::<Deployment>(cluster, ns, name).await
}

/// [`explain`] for a workload of `kind` (`Deployment` or `StatefulSet`).
pub async fn explain_kind(cluster: &Cluster, kind: &str, ns: &str, name: &str) -> String {
    if kind == "StatefulSet" {
        explain_of::<StatefulSet>(cluster, ns, name).await
    } else {
        explain_of::<Deployment>(cluster, ns, name).await
    }
}

async fn explain_of<K: Rolled>(cluster: &Cluster, ns: &str, name: &str) -> String {
    let mut lines = Vec::new();
    let kind = K::kind(&()).into_owned();
    let workloads: Api<K> = Api::namespaced(cluster.client.clone(), ns);
    let selector = match cluster
        .call(
            || format!("get {}/{name}", kind.to_lowercase()),
            workloads.get(name),
        )
        .await
    {
        Ok(d) => d.selector(),
        Err(e) => return format!("(could not read the {kind}: {e})"),
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), ns);
    let mut subjects = vec![(kind.clone(), name.to_owned())];
    if let Ok(list) = cluster
        .call(
            || format!("list pods -n {ns}"),
            pods.list(&ListParams::default().labels(&selector)),
        )
        .await
    {
        for p in list.items {
            let pod = p.metadata.name.clone().unwrap_or_default();
            let Some(st) = &p.status else { continue };
            for cs in st.container_statuses.iter().flatten() {
                if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                    lines.push(format!(
                        "pod/{pod} container {}: {} {}",
                        cs.name,
                        w.reason.as_deref().unwrap_or("Waiting"),
                        w.message.as_deref().unwrap_or("")
                    ));
                }
            }
            for c in st.conditions.iter().flatten() {
                if c.status == "False" && (c.reason.is_some() || c.message.is_some()) {
                    lines.push(format!(
                        "pod/{pod} condition {}=False: {} {}",
                        c.type_,
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or("")
                    ));
                }
            }
            subjects.push(("Pod".to_owned(), pod));
        }
    }
    for (kind, subject) in subjects {
        let fs = format!("involvedObject.kind={kind},involvedObject.name={subject}");
        if let Ok(list) = cluster
            .call(
                || format!("list events -n {ns}"),
                events.list(&ListParams::default().fields(&fs)),
            )
            .await
        {
            for e in list.items {
                if e.type_.as_deref() == Some("Warning") {
                    lines.push(format!(
                        "event on {}/{subject}: {} {}",
                        kind.to_lowercase(),
                        e.reason.as_deref().unwrap_or(""),
                        e.message.as_deref().unwrap_or("")
                    ));
                }
            }
        }
    }
    let lines: Vec<String> = lines.into_iter().map(|l| l.trim_end().to_owned()).collect();
    if lines.is_empty() {
        format!(
            "no pod of {}/{name} -n {ns} reports a reason",
            kind.to_lowercase()
        )
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(
        generation: i64,
        observed: i64,
        replicas: i32,
        updated: i32,
        available: i32,
    ) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": {"observedGeneration": observed, "replicas": replicas,
                       "updatedReplicas": updated, "availableReplicas": available},
        }))
        .expect("deployment")
    }

    fn statefulset(
        (generation, observed): (i64, i64),
        (replicas, ready, updated): (i32, i32, i32),
        partition: Option<i32>,
        (current, update): (&str, &str),
    ) -> StatefulSet {
        let rolling = partition.map(|p| serde_json::json!({"partition": p}));
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "redis", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {}, "serviceName": "redis-headless",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}},
            "status": {"observedGeneration": observed, "replicas": replicas, "readyReplicas": ready,
                       "updatedReplicas": updated, "currentRevision": current, "updateRevision": update},
        }))
        .expect("statefulset")
    }

    fn done(s: &StatefulSet, applied: i64) -> bool {
        matches!(judge_statefulset(s, applied).0, Verdict::Done)
    }

    #[test]
    fn a_statefulset_is_rolled_out_as_kubectl_judges_it() {
        // Rolled out: observed, all ready, all on the update revision.
        assert!(done(
            &statefulset((2, 2), (3, 3, 3), Some(0), ("b", "b")),
            2
        ));
        // The watch cache's object from before gen's apply.
        assert!(!done(
            &statefulset((1, 1), (3, 3, 3), Some(0), ("a", "a")),
            2
        ));
        // Not yet observed by the controller.
        assert!(!done(
            &statefulset((2, 1), (3, 3, 3), Some(0), ("a", "a")),
            2
        ));
        // A pod is not ready (the one being replaced).
        assert!(!done(
            &statefulset((2, 2), (3, 2, 1), Some(0), ("a", "b")),
            2
        ));
        // All ready, but only one of three pods runs the new revision.
        assert!(!done(
            &statefulset((2, 2), (3, 3, 1), Some(0), ("a", "b")),
            2
        ));
        // A partition of 2: only ordinal 2 must be updated.
        assert!(done(
            &statefulset((2, 2), (3, 3, 1), Some(2), ("a", "b")),
            2
        ));
        // No rollingUpdate block: the revisions decide.
        assert!(!done(&statefulset((2, 2), (3, 3, 3), None, ("a", "b")), 2));
        assert!(done(&statefulset((2, 2), (3, 3, 3), None, ("b", "b")), 2));
        // Never observed (observedGeneration 0).
        assert!(!done(
            &statefulset((0, 0), (1, 1, 1), Some(0), ("a", "a")),
            0
        ));
    }

    #[test]
    fn a_stale_object_from_before_the_apply_is_not_done() {
        // The watch cache still shows generation 1, rolled out; gen's apply
        // returned generation 2.
        let stale = deployment(1, 1, 3, 3, 3);
        assert!(matches!(judge(&stale, 1).0, Verdict::Done));
        assert!(matches!(judge(&stale, 2).0, Verdict::Waiting(_)));
        // Generation 2 seen by the server, not yet by the controller.
        assert!(matches!(
            judge(&deployment(2, 1, 3, 3, 3), 2).0,
            Verdict::Waiting(_)
        ));
        // Observed and rolled out.
        assert!(matches!(
            judge(&deployment(2, 2, 3, 3, 3), 2).0,
            Verdict::Done
        ));
        assert!(matches!(
            judge(&deployment(3, 3, 3, 3, 3), 2).0,
            Verdict::Done
        ));
        assert!(matches!(
            judge(&deployment(2, 2, 3, 2, 2), 2).0,
            Verdict::Waiting(_)
        ));
    }
}
