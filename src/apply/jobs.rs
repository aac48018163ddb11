//! Waiting for the one-off Jobs of a wave (`gen apply --wait`) before the
//! next wave rolls out the Deployments that depend on them (a migration
//! before the new code), and saying why one failed: its failed pod's
//! container termination reason and message and the tail of its log.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use tokio::time::Instant;

use super::{ApplyError, Cluster};

/// Lines of a failed pod's log shown.
pub const LOG_TAIL: i64 = 20;

/// Where a Job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Completed.
    Done,
    /// Still running (or not yet started).
    Running,
    /// Failed for good: why, as the controller says.
    Failed(String),
}

/// Judge a Job by its conditions: `Complete` or `Failed` (with the
/// controller's reason, e.g. `BackoffLimitExceeded` or `DeadlineExceeded`);
/// more failed pods than `backoffLimit` allows is a failure even before the
/// controller writes the condition.
pub fn judge(job: &Job) -> JobState {
    let Some(st) = &job.status else {
        return JobState::Running;
    };
    for c in st.conditions.iter().flatten() {
        if c.status != "True" {
            continue;
        }
        match c.type_.as_str() {
            "Complete" | "SuccessCriteriaMet" => return JobState::Done,
            "Failed" | "FailureTarget" => {
                let reason = c.reason.clone().unwrap_or_else(|| "Failed".into());
                let message = c.message.clone().unwrap_or_default();
                let why = match reason.as_str() {
                    "BackoffLimitExceeded" => "its pods failed more often than backoffLimit allows",
                    "DeadlineExceeded" => "it ran longer than its deadline (activeDeadlineSeconds)",
                    _ => "",
                };
                return JobState::Failed(
                    [reason, why.to_owned(), message]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(": "),
                );
            }
            _ => {}
        }
    }
    let backoff = job.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6);
    if st.failed.unwrap_or(0) > backoff {
        return JobState::Failed(format!(
            "BackoffLimitExceeded: {} pods failed, backoffLimit is {backoff}",
            st.failed.unwrap_or(0)
        ));
    }
    JobState::Running
}

/// What a failed pod says: each terminated container's reason, exit code
/// and message.
pub fn terminations(pod: &Pod) -> Vec<String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter_map(|c| {
            let t = c.state.as_ref()?.terminated.as_ref()?;
            (t.exit_code != 0).then(|| {
                let mut line = format!(
                    "pod {name}: container {} terminated: {} (exit code {})",
                    c.name,
                    t.reason.clone().unwrap_or_else(|| "Error".into()),
                    t.exit_code
                );
                if let Some(m) = t.message.as_ref().filter(|m| !m.trim().is_empty()) {
                    line.push_str(": ");
                    line.push_str(m.trim());
                }
                line
            })
        })
        .collect()
}

/// Wait until every Job of `jobs` (namespace, name) is complete, or fail
/// with the first failed one's reasons and log, or time out. Each Job is
/// watched, so its end is seen as soon as the controller writes it.
pub async fn wait(
    cluster: &Cluster,
    jobs: &[(String, String)],
    timeout: Duration,
) -> Result<(), ApplyError> {
    let deadline = Instant::now() + timeout;
    for (ns, name) in jobs {
        let end =
            super::wait::watch_named::<Job, JobState>(cluster, ns, name, deadline, |j| {
                match j.map(judge) {
                    None => Some(JobState::Failed("the Job was deleted".into())),
                    Some(JobState::Running) => None,
                    Some(s) => Some(s),
                }
            })
            .await?;
        match end {
            Some(JobState::Done) => {}
            Some(JobState::Failed(why)) => {
                return Err(ApplyError::JobFailed {
                    context: cluster.context.clone(),
                    name: name.clone(),
                    namespace: ns.clone(),
                    why,
                    details: explain(cluster, ns, name).await,
                })
            }
            Some(JobState::Running) | None => {
                return Err(ApplyError::JobTimeout {
                    context: cluster.context.clone(),
                    name: name.clone(),
                    namespace: ns.clone(),
                    seconds: timeout.as_secs(),
                    details: explain(cluster, ns, name).await,
                })
            }
        }
    }
    Ok(())
}

/// The failed pods of Job `name`: their containers' terminations and the
/// tail of their logs. Best effort: a failed request yields what is known.
pub async fn explain(cluster: &Cluster, ns: &str, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let lp = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}"));
    let Ok(list) = cluster
        .call(
            || format!("list pods of job/{name} -n {ns}"),
            pods.list(&lp),
        )
        .await
    else {
        return String::new();
    };
    let mut out = Vec::new();
    for pod in &list.items {
        let lines = terminations(pod);
        if lines.is_empty() {
            continue;
        }
        out.extend(lines);
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let params = LogParams {
            tail_lines: Some(LOG_TAIL),
            ..Default::default()
        };
        match cluster
            .call(
                || format!("log of pod/{pod_name} -n {ns}"),
                pods.logs(&pod_name, &params),
            )
            .await
        {
            Ok(log) if log.trim().is_empty() => out.push("its log is empty".into()),
            Ok(log) => {
                out.push(format!("last {LOG_TAIL} lines of its log:"));
                out.extend(log.lines().map(|l| format!("  {l}")));
            }
            // The node may be gone, or the log rotated away: say so rather
            // than show nothing.
            Err(e) => out.push(format!("its log could not be read: {e}")),
        }
        // One failed pod tells the story; retries repeat it.
        break;
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};

    fn job(conditions: &[(&str, &str, &str)], failed: i32, backoff: i32) -> Job {
        Job {
            spec: Some(JobSpec {
                backoff_limit: Some(backoff),
                ..Default::default()
            }),
            status: Some(JobStatus {
                failed: Some(failed),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s, r)| JobCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            reason: (!r.is_empty()).then(|| (*r).into()),
                            message: (!r.is_empty()).then(|| "job says so".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn complete_is_done_and_no_status_is_running() {
        assert_eq!(
            judge(&job(&[("Complete", "True", "")], 0, 2)),
            JobState::Done
        );
        assert_eq!(judge(&Job::default()), JobState::Running);
        assert_eq!(
            judge(&job(&[("Complete", "False", "")], 1, 2)),
            JobState::Running
        );
    }

    #[test]
    fn backoff_exhausted_and_deadline_exceeded_fail_with_the_reason() {
        let JobState::Failed(why) =
            judge(&job(&[("Failed", "True", "BackoffLimitExceeded")], 3, 2))
        else {
            panic!("not failed");
        };
        assert!(
            why.starts_with("BackoffLimitExceeded: its pods failed"),
            "{why}"
        );
        assert!(why.ends_with("job says so"), "{why}");
        let JobState::Failed(why) = judge(&job(&[("Failed", "True", "DeadlineExceeded")], 0, 2))
        else {
            panic!("not failed");
        };
        assert!(why.contains("activeDeadlineSeconds"), "{why}");
    }

    #[test]
    fn more_failures_than_the_limit_fail_before_the_condition() {
        assert!(
            matches!(judge(&job(&[], 3, 2)), JobState::Failed(w) if w.contains("3 pods failed"))
        );
        assert_eq!(judge(&job(&[], 2, 2)), JobState::Running);
    }

    #[test]
    fn a_terminated_container_says_reason_code_and_message() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api-migrate-1234abcd-x7k2p"},
            "status": {"containerStatuses": [{
                "name": "api", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 3, "reason": "Error", "message": "no such table\n"}}
            }]}
        }))
        .expect("pod");
        assert_eq!(
            terminations(&pod),
            ["pod api-migrate-1234abcd-x7k2p: container api terminated: Error (exit code 3): no such table"]
        );
    }
}
