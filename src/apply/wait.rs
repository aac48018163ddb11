//! Waiting for Deployment rollouts, the way `kubectl rollout status` judges
//! them: the controller has observed the latest generation, every replica
//! is updated, no old replica is left, and every updated replica is
//! available; a `Progressing=False` condition with `ProgressDeadlineExceeded`
//! is a failure.
//!
//! A watch may start from the API server's cache, which can be older than
//! the write gen just made; so a state counts only once its
//! `metadata.generation` and `status.observedGeneration` reach the
//! generation that gen's own apply returned.

use std::time::Duration;

use futures_util::TryStreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use tokio::time::Instant;

use super::desired::Desired;
use super::engine::Report;
use super::{ApplyError, Cluster};

/// The state of one rollout, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// Deployment name.
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

/// Wait until every Deployment of `desired` has rolled out, or `timeout`.
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
    let targets: Vec<(String, String, String, i64)> = desired
        .objects
        .iter()
        .filter(|o| o.id.kind.kind == "Deployment")
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
            )
        })
        .collect();
    let results = futures_util::future::join_all(
        targets
            .iter()
            .map(|(ns, name, _, g)| one(cluster, ns, name, *g, deadline, observer)),
    )
    .await;
    let mut pending = Vec::new();
    for ((ns, name, service, _), r) in targets.iter().zip(results) {
        match r {
            Ok(true) => {}
            Ok(false) => pending.push((ns.clone(), name.clone(), service.clone())),
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Rollout(why)) => {
                return Err(ApplyError::RolloutFailed {
                    context: cluster.context.clone(),
                    name: name.clone(),
                    namespace: ns.clone(),
                    service: service.clone(),
                    why,
                    details: explain(cluster, ns, name).await,
                });
            }
        }
    }
    if let Some((ns, _, _)) = pending.first() {
        let mut details = Vec::new();
        for (ns, name, _) in &pending {
            details.push(explain(cluster, ns, name).await);
        }
        let services: std::collections::BTreeSet<&String> =
            pending.iter().map(|(_, _, s)| s).collect();
        return Err(ApplyError::RolloutTimeout {
            rollback: services
                .iter()
                .map(|s| {
                    format!(
                        "or roll back: `gen rollback {s} --context {}`",
                        cluster.context
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            context: cluster.context.clone(),
            seconds: timeout.as_secs(),
            pending: pending
                .iter()
                .map(|(ns, n, _)| format!("deployment/{n} -n {ns}"))
                .collect::<Vec<_>>()
                .join(", "),
            namespace: ns.clone(),
            details: details.join("\n"),
        });
    }
    Ok(())
}

enum Failure {
    Api(ApplyError),
    Rollout(String),
}

/// Watch one Deployment until done (`Ok(true)`), the deadline (`Ok(false)`)
/// or failure. Each watch request asks the server to end it before the
/// client's read timeout, and is re-opened until the deadline.
async fn one(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    applied: i64,
    deadline: Instant,
    observer: &dyn Observer,
) -> Result<bool, Failure> {
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let per_watch = u32::try_from(cluster.timeout.as_secs().saturating_sub(1).max(1)).unwrap_or(1);
    let mut last: Option<Rollout> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let secs = per_watch.min(u32::try_from(left.as_secs().max(1)).unwrap_or(1));
        let wp = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(secs);
        let what = || format!("watch deployment/{name} -n {ns}");
        let stream = cluster
            .call(what, api.watch(&wp, "0"))
            .await
            .map_err(Failure::Api)?;
        futures_util::pin_mut!(stream);
        loop {
            let next = tokio::time::timeout_at(deadline, stream.try_next()).await;
            let event = match next {
                Err(_) => return Ok(false),
                Ok(Err(e)) => return Err(Failure::Api(cluster.error(&what(), e))),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(ev))) => ev,
            };
            let d = match event {
                WatchEvent::Added(d) | WatchEvent::Modified(d) => d,
                WatchEvent::Deleted(_) => {
                    return Err(Failure::Rollout("the Deployment was deleted".into()))
                }
                WatchEvent::Bookmark(_) => continue,
                // 410 Gone and friends: open a new watch.
                WatchEvent::Error(_) => break,
            };
            let (verdict, want, updated, available) = judge(&d, applied);
            let state = Rollout {
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
                Verdict::Done => return Ok(true),
                Verdict::Failed(why) => return Err(Failure::Rollout(why)),
                Verdict::Waiting(_) => {}
            }
        }
    }
}

/// Why a Deployment's pods are not available: each unready pod's waiting
/// reasons and false conditions, and the warning events of the pods and the
/// Deployment. Best effort: a failed request yields what is known.
pub async fn explain(cluster: &Cluster, ns: &str, name: &str) -> String {
    let mut lines = Vec::new();
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let selector = match cluster
        .call(|| format!("get deployment/{name}"), deployments.get(name))
        .await
    {
        Ok(d) => d
            .spec
            .and_then(|s| s.selector.match_labels)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        Err(e) => return format!("(could not read the Deployment: {e})"),
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), ns);
    let mut subjects = vec![("Deployment".to_owned(), name.to_owned())];
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
        format!("no pod of deployment/{name} -n {ns} reports a reason")
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
