use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Long initial delays slow every rollout.
pub static RULE: Rule = Rule {
    id: "probe-delay-long",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "probes wait a long time before the first check",
    what: "The effective `probes.initial_delay` (on the service or in \
`defaults.probes`) is longer than the policy maximum (default 120 seconds).",
    why: "No pod can become ready before the delay has passed, so every \
rollout, scale-out and rescheduled pod waits at least that long: a rolling \
update of many replicas crawls, and an HPA scale-out arrives minutes after \
the spike. A long delay is usually a guess at a slow start; a pod that starts \
faster still waits, and one that starts slower is still killed.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    probes:\n      readiness: /ready\n      liveness: /live\n      initial_delay: 300 # <-\n",
    fix: "Lower `initial_delay` (readiness probes failing during start-up are \
harmless: the pod just is not ready yet), make the application start faster, \
or raise the maximum in `gen-policy.yaml` for slow starters that cannot be \
fixed.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    probes:\n      readiness: /ready\n      liveness: /live\n      initial_delay: 30\n",
    params: &[("max", "120 (seconds)")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let max = cx.param_u64("max", 120);
    for s in &cx.model.services {
        let delay = s.probes.initial_delay;
        if u64::from(delay) <= max {
            continue;
        }
        let at = super::written::origin(cx, &s.name, "probes", "initial_delay")
            .unwrap_or_else(|| super::written::block(cx, &s.name, "probes"));
        out.push(
            Hit::at(
                at,
                format!(
                    "`{}` waits {delay} s before its first probe; the maximum is {max} s",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}
