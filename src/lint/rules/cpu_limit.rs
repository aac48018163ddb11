use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// CPU limits throttle; requests are usually enough.
pub static RULE: Rule = Rule {
    id: "cpu-limit",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "CPU limit set; CFS throttling adds latency",
    what: "The service has an effective `resources.cpu_limit`, set on the \
service or inherited from `defaults.resources`.",
    why: "The kernel enforces a CPU limit with CFS quotas: once a container \
has used its quota in a 100 ms period it is paused until the next one, even \
when the node has idle CPU. Multi-threaded runtimes (the JVM, Go) burn the \
quota in a few milliseconds, so requests stall and tail latency jumps while \
average CPU looks low. The CPU request already guarantees the share a pod \
gets under contention; the usual advice is to set requests and no CPU limit.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 250m, memory: 256Mi, cpu_limit: 500m} # <-\n",
    fix: "Remove `cpu_limit` and size the `cpu` request to what the service \
needs. Keep a limit only where a namespace quota or a noisy workload requires \
it, and turn this rule off for that case in `gen-policy.yaml`.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 250m, memory: 256Mi}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Some(limit) = &s.resources.cpu_limit else {
            continue;
        };
        let at = super::written::origin(cx, &s.name, "resources", "cpu_limit")
            .unwrap_or_else(|| super::written::block(cx, &s.name, "resources"));
        out.push(Hit::at(
            at,
            format!(
                "`{}` has a CPU limit of {limit} (request {}); CFS throttling can stall it even on an idle node",
                s.name, s.resources.cpu
            ),
        ).of(&s.name));
    }
}
