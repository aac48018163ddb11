use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::ProbeModel;

/// Readiness and liveness should not ask the same question.
pub static RULE: Rule = Rule {
    id: "readiness-equals-liveness",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "readiness and liveness probes hit the same HTTP path",
    what: "Both probes of a service are HTTP probes on the same path (a \
trailing `/` does not count), whether set on the service or inherited from \
`defaults.probes`.",
    why: "Readiness answers \"can this pod take traffic now?\", liveness \"is \
this process stuck for good?\". A shared health endpoint usually checks \
dependencies too, so when a database or downstream service is slow, every pod \
fails liveness at once and the kubelet restarts them all, turning a slow \
dependency into an outage and a restart storm, where failing readiness alone \
would only have taken the pods out of rotation until it recovered.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    probes: {readiness: /health, liveness: /health} # <-\n",
    fix: "Give liveness its own cheap path that only checks the process itself \
(for example `/actuator/health/liveness` or `/livez`) and keep dependency \
checks in the readiness path.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    probes: {readiness: /health/ready, liveness: /health/live}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let (ProbeModel::Http(r), ProbeModel::Http(l)) = (&s.probes.readiness, &s.probes.liveness)
        else {
            continue;
        };
        if norm(r) != norm(l) {
            continue;
        }
        let at = super::written::origin(cx, &s.name, "probes", "liveness")
            .unwrap_or_else(|| super::written::block(cx, &s.name, "probes"));
        let paths = if r == l {
            format!("`{l}` for both readiness and liveness")
        } else {
            format!("`{r}` and `{l}`, the same path, for readiness and liveness")
        };
        out.push(
            Hit::at(
                at,
                format!(
                    "`{}` uses {paths}, so a slow dependency restarts its pods",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}

fn norm(p: &str) -> &str {
    match p.trim_end_matches('/') {
        "" => "/",
        t => t,
    }
}
