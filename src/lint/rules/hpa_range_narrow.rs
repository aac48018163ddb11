use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Scaling;

/// An HPA whose range is one value never scales.
pub static RULE: Rule = Rule {
    id: "hpa-range-narrow",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "HPA with min equal to max can never scale",
    what: "A service's `hpa.min` equals its `hpa.max`.",
    why: "The autoscaler can only choose a count between `min` and `max`, so \
it never changes anything: the service runs a fixed number of pods, with an \
extra object to maintain and a CPU target that does nothing. It usually means \
the range was narrowed during an incident and never widened again.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 256Mi}\n    hpa:\n      min: 3\n      max: 3 # <-\n      cpu: 70\n",
    fix: "Raise `hpa.max` so the service can scale out, or replace `hpa` with \
`replicas: <count>` if the count is meant to be fixed.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 256Mi}\n    hpa:\n      min: 3\n      max: 6\n      cpu: 70\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Scaling::Auto { min, max, .. } = s.scaling else {
            continue;
        };
        if min != max {
            continue;
        }
        out.push(Hit::at(
            super::svc_key(&s.name, "hpa") + "/max",
            format!(
                "`{}` has an HPA from {min} to {max} replicas, so it never scales",
                s.name
            ),
        ));
    }
}
