use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::StrategyModel;

/// A rollout should not be allowed to take most pods down.
pub static RULE: Rule = Rule {
    id: "rolling-unavailable-high",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "rolling update may take most or all pods down at once",
    what: "The effective `strategy.max_unavailable` of a rolling or canary \
service (on the service or in `defaults.strategy`) is a percentage of 50% or \
more, or a count equal to or above the guaranteed replicas (`replicas`, or \
`hpa.min`).",
    why: "`max_unavailable` is how many of the desired pods the Deployment may \
stop before their replacements are ready. At 50% and more, a rollout halves \
the serving capacity (or worse) while the new pods start; a count at or above \
the replica count lets the rollout stop every pod at once, which is an \
outage, and a bad image then leaves nothing serving.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 4\n    strategy: {max_surge: 1, max_unavailable: 50%} # <-\n",
    fix: "Lower `max_unavailable`: `0` with `max_surge: 1` (or `25%`) never \
goes below the desired count; `25%` or `1` trades a little capacity for \
speed.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 4\n    strategy: {max_surge: 1, max_unavailable: 0}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    // A StatefulSet replaces one pod at a time: no surge, no budget.
    let deployments = cx
        .model
        .services
        .iter()
        .filter(|s| s.workload.volumes().is_empty());
    for s in deployments {
        let (StrategyModel::Rolling {
            max_unavailable, ..
        }
        | StrategyModel::Canary {
            max_unavailable, ..
        }) = &s.strategy
        else {
            continue;
        };
        let replicas = s.scaling.guaranteed();
        let message = if let Some(p) = max_unavailable.strip_suffix('%') {
            match p.parse::<u32>() {
                Ok(p) if p >= 50 => format!(
                    "`{}` may take {p}% of its pods down during a rollout",
                    s.name
                ),
                _ => continue,
            }
        } else {
            match max_unavailable.parse::<u32>() {
                Ok(n) if n > 0 && replicas > 0 && n >= replicas => format!(
                    "`{}` may take {n} pod(s) down during a rollout but guarantees only {replicas} replica(s)",
                    s.name
                ),
                _ => continue,
            }
        };
        let at = super::written::origin(cx, &s.name, "strategy", "max_unavailable")
            .unwrap_or_else(|| super::svc(&s.name));
        out.push(Hit::at(at, message).of(&s.name));
    }
}
