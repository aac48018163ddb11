use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::{DEFAULT_CPU, DEFAULT_MEMORY};

/// Scheduling should rest on chosen requests, not gen's guess.
pub static RULE: Rule = Rule {
    id: "requests-defaulted",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "CPU or memory request left to gen's built-in default",
    what: "Neither the service's `resources` nor `defaults.resources` sets the \
`cpu` request, the `memory` request, or both, so gen's built-in defaults \
(100m CPU, 128Mi memory) apply.",
    why: "The scheduler places pods by their requests, and the kubelet \
evicts pods under pressure by how far they exceed them. A guessed request \
packs nodes with pods that need more than they asked for (CPU starvation, \
OOM kills, evictions) or reserves capacity nobody uses. The built-in memory \
request also becomes the memory limit when none is set, so a service that \
needs more than 128Mi is OOM-killed.",
    example: "version: 1\nproject: shop\nservices:\n  api: # <-\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n",
    fix: "Set `resources: {cpu: ..., memory: ...}` on the service from its \
measured use, or set both in `defaults.resources` for services that are \
alike.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    resources: {cpu: 250m, memory: 256Mi}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let cpu = super::written::origin(cx, &s.name, "resources", "cpu").is_none();
        let memory = super::written::origin(cx, &s.name, "resources", "memory").is_none();
        let what = match (cpu, memory) {
            (true, true) => format!(
                "no CPU or memory request, so gen's {DEFAULT_CPU} and {DEFAULT_MEMORY} apply"
            ),
            (true, false) => format!("no CPU request, so gen's {DEFAULT_CPU} applies"),
            (false, true) => format!("no memory request, so gen's {DEFAULT_MEMORY} applies"),
            (false, false) => continue,
        };
        out.push(
            Hit::at_key(
                super::written::block(cx, &s.name, "resources"),
                format!(
                    "`{}` has {what} (neither the service nor `defaults.resources` sets it)",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}
