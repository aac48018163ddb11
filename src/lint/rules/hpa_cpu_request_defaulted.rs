use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::{Scaling, DEFAULT_CPU};

/// An HPA on CPU utilisation needs a CPU request someone chose.
pub static RULE: Rule = Rule {
    id: "hpa-cpu-request-defaulted",
    severity: Severity::Error,
    scope: Scope::Workloads,
    summary: "HPA scales on utilisation of gen's built-in CPU request",
    what: "A service with `hpa` sets no `cpu` request, neither in its \
`resources` nor in `defaults.resources`, so its CPU request is gen's \
built-in 100m.",
    why: "`hpa.cpu` is a percentage of the CPU request: the autoscaler adds \
pods when the average use exceeds that share of the request. With a request \
nobody chose, the target means nothing: a service that needs a full core \
idles at 1000% of 100m and is pinned at `hpa.max`, while one that needs 20m \
never scales. Other linters check that a Deployment has requests, not that \
the request an HPA scales on was chosen.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    hpa: {min: 2, max: 6, cpu: 70} # <-\n",
    fix: "Set `resources.cpu` on the service (or `defaults.resources.cpu`) to \
what one pod needs at its normal load; `hpa.cpu` is then a meaningful share \
of it.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 500m, memory: 256Mi}\n    hpa: {min: 2, max: 6, cpu: 70}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Scaling::Auto { cpu, .. } = s.scaling else {
            continue;
        };
        if super::written::origin(cx, &s.name, "resources", "cpu").is_some() {
            continue;
        }
        // Where the request goes: the service's `resources`, else its `hpa`.
        let at = match super::written::block(cx, &s.name, "resources") {
            p if p == super::svc(&s.name) => super::svc_key(&s.name, "hpa"),
            p => p,
        };
        out.push(Hit::at_key(
            at,
            format!(
                "`{}` autoscales at {cpu}% of a CPU request nobody set (gen's default {DEFAULT_CPU})",
                s.name
            ),
        ).of(&s.name));
    }
}
