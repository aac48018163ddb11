use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::quantity;

/// A memory limit far above the request overcommits the node.
pub static RULE: Rule = Rule {
    id: "memory-limit-ratio",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "memory limit far above the memory request",
    what: "The effective `resources.memory_limit` is more than `max_ratio` \
times (default 4) the effective memory request, with either value set on the \
service or inherited from `defaults.resources`.",
    why: "The scheduler places pods by their requests, not their limits. A pod \
that really uses memory far above its request overcommits the node: when \
several do so at once the node runs out of memory, and the kernel OOM-kills \
containers or the kubelet evicts pods, starting with those furthest above \
their requests. A request close to the real use keeps the node honest.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 250m, memory: 128Mi, memory_limit: 1Gi} # <-\n",
    fix: "Raise the `memory` request to what the service really uses under \
load, or lower `memory_limit`; a limit of 1 to 2 times the request is usual.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 250m, memory: 512Mi, memory_limit: 1Gi}\n",
    params: &[("max_ratio", "4")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let max = cx
        .param("max_ratio")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(4.0);
    for s in &cx.model.services {
        let r = &s.resources;
        let (Some(limit), Some(request)) =
            (quantity::value(&r.memory_limit), quantity::value(&r.memory))
        else {
            continue;
        };
        if request <= 0.0 || limit / request <= max {
            continue;
        }
        // The service's own value if it wrote one, else the inherited limit.
        let own = |key| {
            super::written::origin(cx, &s.name, "resources", key)
                .filter(|p| p.starts_with("/services/"))
        };
        let at = own("memory_limit")
            .or_else(|| own("memory"))
            .or_else(|| super::written::origin(cx, &s.name, "resources", "memory_limit"))
            .unwrap_or_else(|| super::written::block(cx, &s.name, "resources"));
        out.push(
            Hit::at(
                at,
                format!(
                    "`{}` may use up to {} of memory but requests {} ({:.1}x, more than {max}x)",
                    s.name,
                    r.memory_limit,
                    r.memory,
                    limit / request
                ),
            )
            .of(&s.name),
        );
    }
}
