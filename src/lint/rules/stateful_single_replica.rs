use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Workload;

/// A stateful service's one pod holds the only copy of its data.
pub static RULE: Rule = Rule {
    id: "stateful-single-replica",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "stateful service runs one replica: its volume holds the only copy of the data",
    what: "A service with `volumes` (a StatefulSet) whose guaranteed replica \
count is 1 (`replicas`, `defaults.replicas` or `hpa.min`), and which does not \
say, by waiving this rule, how its data is backed up.",
    why: "Each pod of a StatefulSet has its own PersistentVolumeClaim. With one \
pod, that claim is the only copy of the data: a lost disk or node (and, with \
K3s's `local-path`, any node failure) loses it, and every rollout or drain \
takes the service down until the pod is back on its volume. Nothing in the \
cluster makes a copy for you.",
    example: "version: 1\nproject: shop\nservices:\n  redis:\n    image: docker.io/library/redis:7.4.2-alpine\n    port: 6379\n    probes: {type: tcp}\n    replicas: 1\n    volumes: [{path: /data, size: 5Gi}] # <-\n",
    fix: "Back the data up (a snapshot schedule, an export job, a replica the \
application keeps itself) and say so in a waiver of this rule whose reason \
names the backup; or, when the application replicates its data, run \
`replicas: 2` or more.",
    passing: "version: 1\nproject: shop\nservices:\n  redis:\n    image: docker.io/library/redis:7.4.2-alpine\n    port: 6379\n    probes: {type: tcp}\n    replicas: 1\n    volumes: [{path: /data, size: 5Gi}]\n    waivers:\n      - rule: stateful-single-replica\n        reason: RDB snapshots are copied to the backup bucket every hour\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Workload::StatefulSet { .. } = s.workload else {
            continue;
        };
        if s.scaling.guaranteed() > 1 {
            continue;
        }
        out.push(
            Hit::at_key(
                super::svc_key(&s.name, "volumes"),
                format!(
                    "`{}` keeps its data on one pod's volume, with no backup named: a lost node or disk loses it",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}
