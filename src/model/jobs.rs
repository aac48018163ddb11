//! Batch work: a service with a `schedule` (a CronJob instead of a
//! Deployment) and a service's one-off `jobs` (hook Jobs run before its
//! rollout).
//!
//! The cron syntax check is gen's own: Kubernetes parses `schedule` with
//! robfig/cron's standard parser (five fields, or a `@` macro), and no Rust
//! crate parses exactly that dialect (the `cron` crate wants a seconds
//! field; `croner` accepts `L`, `W` and `#`, which the API server refuses).
//!
//! A Job's pod template is immutable, so a one-off job's name carries a
//! short hash of everything its pod is made of ([`job_name`]): a changed
//! job is a new object, which `gen apply` creates (and whose predecessor the
//! ApplySet prune deletes), where re-applying the old name would be refused.

use sha2::{Digest, Sha256};

use super::{ResourcesModel, SecretRef};
use crate::catalog::push_pointer;
use crate::catalog::types::{Concurrency, Service};
use crate::catalog::Parsed;
use crate::diag::Problem;

/// Default retries of a failed Job pod.
pub const DEFAULT_BACKOFF_LIMIT: u32 = 2;
/// Default count of successful runs a CronJob keeps.
pub const DEFAULT_KEEP_SUCCESSFUL: u32 = 3;
/// Default count of failed runs a CronJob keeps.
pub const DEFAULT_KEEP_FAILED: u32 = 1;
/// Hex digits of the spec hash in a one-off job's name.
pub const HASH_LEN: usize = 8;
/// Longest Job name (its pods carry it as the `job-name` label value).
pub const MAX_JOB_NAME: usize = 63;

/// A service's schedule, defaults resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleModel {
    /// Cron expression as written (checked).
    pub cron: String,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Concurrency policy.
    pub concurrency: Concurrency,
    /// startingDeadlineSeconds.
    pub starting_deadline: Option<u32>,
    /// The run's activeDeadlineSeconds.
    pub deadline: Option<u32>,
    /// The run's backoffLimit.
    pub backoff_limit: u32,
    /// successfulJobsHistoryLimit.
    pub keep_successful: u32,
    /// failedJobsHistoryLimit.
    pub keep_failed: u32,
}

/// A one-off job of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct JobModel {
    /// The catalog's key, e.g. `migrate`.
    pub key: String,
    /// Object name: `<service>-<key>-<hash>` ([`job_name`]).
    pub name: String,
    /// Container command (empty: the image's).
    pub command: Vec<String>,
    /// Container args.
    pub args: Vec<String>,
    /// activeDeadlineSeconds.
    pub deadline: Option<u32>,
    /// backoffLimit.
    pub backoff_limit: u32,
}

/// The schedule of `s`, defaults resolved.
pub fn schedule(s: &Service) -> Option<ScheduleModel> {
    s.schedule.as_ref().map(|c| ScheduleModel {
        cron: c.cron.trim().to_owned(),
        time_zone: c.time_zone.clone(),
        concurrency: c.concurrency.unwrap_or_default(),
        starting_deadline: c.starting_deadline,
        deadline: c.deadline,
        backoff_limit: c.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT),
        keep_successful: c.keep_successful.unwrap_or(DEFAULT_KEEP_SUCCESSFUL),
        keep_failed: c.keep_failed.unwrap_or(DEFAULT_KEEP_FAILED),
    })
}

/// What a one-off job's pod is made of, besides the job itself.
pub struct PodFacts<'a> {
    /// Image reference.
    pub image: String,
    /// Literal environment.
    pub env: &'a std::collections::BTreeMap<String, String>,
    /// Environment from Secrets.
    pub secret_env: &'a std::collections::BTreeMap<String, SecretRef>,
    /// Resources.
    pub resources: &'a ResourcesModel,
    /// Command, files, pull secrets, security: the rest of the pod.
    pub container: &'a super::container::ContainerModel,
    /// What the pod's labels carry besides the image: the project and the
    /// chart version.
    pub labels: (&'a str, &'a str),
}

/// The one-off jobs of service `service`, sorted by key.
pub fn jobs(service: &str, s: &Service, pod: &PodFacts) -> Vec<JobModel> {
    s.jobs
        .iter()
        .map(|(key, j)| {
            let mut m = JobModel {
                key: key.clone(),
                name: String::new(),
                command: j.command.clone(),
                args: j.args.clone(),
                deadline: j.deadline,
                backoff_limit: j.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT),
            };
            m.name = job_name(service, &m, pod);
            m
        })
        .collect()
}

/// `<service>-<key>-<hash>`: the hash covers the job and its pod's image,
/// environment, resources and container facts, so that a change to any of them names a new
/// Job (a Job's pod template cannot be changed in place).
pub fn job_name(service: &str, job: &JobModel, pod: &PodFacts) -> String {
    let facts = serde_json::json!({
        "command": job.command,
        "args": job.args,
        "deadline": job.deadline,
        "backoffLimit": job.backoff_limit,
        "image": pod.image,
        "env": pod.env,
        "secretEnv": pod.secret_env.iter()
            .map(|(k, r)| (k.clone(), format!("{}/{}", r.secret, r.key)))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "resources": [
            &pod.resources.cpu, &pod.resources.memory,
            &pod.resources.cpu_limit, &pod.resources.memory_limit,
        ],
        // Every other fact of the pod, as the model states it: a change of
        // gen's model may rename a Job, never leave a changed pod under an
        // old name.
        "container": format!("{:?}", pod.container),
        "labels": [pod.labels.0, pod.labels.1],
    });
    let digest = Sha256::digest(facts.to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{service}-{}-{}", job.key, &hex[..HASH_LEN])
}

/// Why `cron` is not a schedule Kubernetes accepts, if it is not.
pub fn cron_error(cron: &str) -> Option<String> {
    let t = cron.trim();
    if let Some(m) = t.strip_prefix('@') {
        return match m {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => None,
            _ => Some(format!(
                "`@{m}` is not a schedule macro; the macros Kubernetes documents are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly"
            )),
        };
    }
    if t.starts_with("TZ=") || t.starts_with("CRON_TZ=") {
        return Some("a time zone inside the schedule is refused by Kubernetes".into());
    }
    let fields: Vec<&str> = t.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "{} field{} where Kubernetes wants 5 (minute hour day-of-month month day-of-week)",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let specs: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day-of-month", 1, 31, &[]),
        ("month", 1, 12, &MONTHS),
        ("day-of-week", 0, 6, &DAYS),
    ];
    for (field, (what, lo, hi, names)) in fields.iter().zip(specs) {
        if let Err(why) = cron_field(
            field,
            lo,
            hi,
            names,
            what != "minute" && what != "hour" && what != "month",
        ) {
            return Some(format!("{what} field `{field}`: {why}"));
        }
    }
    None
}

/// One field: a comma list of `*`, `?` (day fields), `a`, `a-b`, each
/// optionally `/step`.
fn cron_field(field: &str, lo: u32, hi: u32, names: &[&str], question: bool) -> Result<(), String> {
    let value = |s: &str| -> Result<u32, String> {
        let n = match names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            Some(i) => u32::try_from(i).unwrap_or(0) + lo,
            None => s
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not a number"))?,
        };
        if n < lo || n > hi {
            return Err(format!("{n} is outside {lo}-{hi}"));
        }
        Ok(n)
    };
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        match range {
            "*" => {}
            "?" if question => {}
            r => match r.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(a)?, value(b)?);
                    if a > b {
                        return Err(format!("range {a}-{b} runs backwards"));
                    }
                }
                // `a/step` means a through the field's end.
                None => {
                    value(r)?;
                }
            },
        }
        if let Some(s) = step {
            let n = s
                .parse::<u32>()
                .map_err(|_| format!("step `{s}` is not a number"))?;
            if n == 0 {
                return Err("a step of 0".into());
            }
        }
    }
    Ok(())
}

/// Keys a scheduled service refuses: what only a long-running,
/// listening service has.
const NOT_WITH_SCHEDULE: [(&str, &str); 9] = [
    ("routes", "a CronJob has no Service for an Ingress to send requests to"),
    ("host", "a CronJob has no routes"),
    ("hpa", "an HPA scales Deployments; a CronJob runs one pod per run"),
    ("replicas", "a CronJob runs one pod per run"),
    ("min_available", "a PodDisruptionBudget guards long-running pods; a run's pod is not one"),
    ("strategy", "rollout strategies apply to Deployments; each run of a CronJob uses the current pod template"),
    ("probes", "a run's pod is not probed: it runs to completion"),
    ("alerts", "the alerts watch a Service's endpoints; a CronJob has none"),
    ("volumes", "persistent volumes make a StatefulSet; a run's pod has no claim of its own (use `writable` for scratch space)"),
];

/// The checks of `schedule`, `jobs` and the optional `port`.
pub fn check(parsed: &Parsed) -> Vec<Problem> {
    let src = &parsed.source;
    let spans = &parsed.spans;
    let mut out = Vec::new();
    let c = &parsed.catalog;
    for (name, s) in &c.services {
        let sp = push_pointer("/services", name);
        let at = |k: &str| push_pointer(&sp, k);
        let Some(sched) = &s.schedule else {
            if s.port.is_none() {
                out.push(
                    Problem::new(src, "catalog::missing-key", spans.key_or_value(&sp), format!("service `{name}` has no `port`"))
                        .label("no port")
                        .help("add `port: <the container's listening port>`, or a `schedule` for a batch service that listens on nothing"),
                );
            }
            jobs_check(parsed, name, s, &mut out);
            continue;
        };
        let cron_at = push_pointer(&at("schedule"), "cron");
        if let Some(why) = cron_error(&sched.cron) {
            out.push(
                Problem::new(src, "catalog::cron", spans.value(&cron_at), format!("`{}` is not a schedule Kubernetes accepts: {why}", sched.cron))
                    .label("schedule")
                    .help("write five fields, minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\" (daily at 03:00), or a macro such as @hourly; put the time zone in `time_zone`"),
            );
        }
        let present = |k: &str| match k {
            "routes" => !s.routes.is_empty(),
            "host" => s.host.is_some(),
            "hpa" => s.hpa.is_some(),
            "replicas" => s.replicas.is_some(),
            "min_available" => s.min_available.is_some(),
            "strategy" => s.strategy.is_some(),
            "probes" => s.probes.is_some(),
            "alerts" => s.alerts.is_some(),
            "volumes" => !s.volumes.is_empty(),
            // A key without a test here would never be refused.
            _ => unreachable!("NOT_WITH_SCHEDULE key `{k}` has no test"),
        };
        for (key, why) in NOT_WITH_SCHEDULE {
            if present(key) {
                out.push(
                    Problem::new(src, "catalog::schedule-conflict", spans.key_or_value(&at(key)), format!("service `{name}` has a `schedule` and `{key}`: {why}"))
                        .label(format!("`{key}` on a scheduled service"))
                        .note(spans.key_or_value(&at("schedule")), "runs as a CronJob because of this")
                        .help(format!("remove `{key}`, or remove `schedule` to run `{name}` as a long-running Deployment")),
                );
            }
        }
        jobs_check(parsed, name, s, &mut out);
    }
    // A scheduled service has no Service to call.
    for (name, s) in &c.services {
        for (i, callee) in s.calls.iter().enumerate() {
            if c.services.get(callee).is_some_and(|t| t.schedule.is_some()) {
                let p = push_pointer(
                    &push_pointer(&push_pointer("/services", name), "calls"),
                    &i.to_string(),
                );
                out.push(
                    Problem::new(src, "catalog::calls-scheduled", spans.value(&p), format!("`{name}` calls `{callee}`, which runs on a schedule and listens on nothing"))
                        .label("scheduled service")
                        .note(spans.key_or_value(&push_pointer(&push_pointer("/services", callee), "schedule")), "scheduled here")
                        .help(format!("remove `{callee}` from `calls`")),
                );
            }
        }
    }
    out
}

/// Each one-off job's name fits a Job name.
fn jobs_check(parsed: &Parsed, name: &str, s: &Service, out: &mut Vec<Problem>) {
    let jp = push_pointer(&push_pointer("/services", name), "jobs");
    for key in s.jobs.keys() {
        let len = name.len() + key.len() + HASH_LEN + 2;
        if len > MAX_JOB_NAME {
            out.push(
                Problem::new(&parsed.source, "catalog::job-name", parsed.spans.key_or_value(&push_pointer(&jp, key)), format!("the Job of `{key}` would be named `{name}-{key}-<hash>`, {len} characters; Kubernetes allows {MAX_JOB_NAME}"))
                    .label("job name")
                    .help(format!("shorten the job's name to at most {} characters", MAX_JOB_NAME.saturating_sub(name.len() + HASH_LEN + 2).max(1))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cron_error;

    #[test]
    fn kubernetes_schedules_pass() {
        for ok in [
            "0 3 * * *",
            "*/15 * * * *",
            "0 0 1,15 * MON-FRI",
            "5 4 * jan,jul sun",
            "0 22 ? * 1-5",
            "30 2/3 * * *",
            "@hourly",
            "@midnight",
            " 0 3 * * * ",
        ] {
            assert_eq!(cron_error(ok), None, "{ok}");
        }
    }

    #[test]
    fn what_the_api_server_refuses_is_refused() {
        for (bad, says) in [
            ("0 3 * *", "4 fields"),
            ("0 0 3 * * *", "6 fields"),
            ("60 * * * *", "60 is outside 0-59"),
            ("* 24 * * *", "outside 0-23"),
            ("* * 0 * *", "outside 1-31"),
            ("* * * 13 *", "outside 1-12"),
            ("* * * * 7", "outside 0-6"),
            ("*/0 * * * *", "step of 0"),
            ("5-1 * * * *", "backwards"),
            ("? * * * *", "not a number"),
            ("@every 5m", "not a schedule macro"),
            ("TZ=UTC 0 3 * * *", "time zone"),
            ("0 3 L * *", "not a number"),
            ("0 3 * * MON#2", "not a number"),
        ] {
            let why = cron_error(bad).unwrap_or_default();
            assert!(why.contains(says), "{bad}: {why}");
        }
    }
}
