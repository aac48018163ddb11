use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::StrategyModel;

/// Without surge, a rollout always runs below the desired capacity.
pub static RULE: Rule = Rule {
    id: "rolling-no-surge",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "rolling update without surge runs below capacity",
    what: "The effective `strategy.max_surge` of a rolling or canary service \
(on the service or in `defaults.strategy`) is `0` or `0%` while \
`max_unavailable` is above 0.",
    why: "With no surge the Deployment must stop old pods before it may start \
new ones, so every rollout runs below the desired replica count until it \
ends, and a slow or failing new version keeps capacity down. A surge of one \
pod costs a little spare room in the cluster for the duration of the \
rollout.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 3\n    strategy:\n      max_surge: 0 # <-\n      max_unavailable: 1\n",
    fix: "Set `max_surge: 1` (or `25%`), and `max_unavailable: 0` if the \
cluster has room for the extra pod, so a rollout never goes below the \
desired count. Keep `max_surge: 0` only where there is no room at all (for \
example a fixed quota).",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 3\n    strategy:\n      max_surge: 1\n      max_unavailable: 0\n",
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
            max_surge,
            max_unavailable,
        }
        | StrategyModel::Canary {
            max_surge,
            max_unavailable,
            ..
        }) = &s.strategy
        else {
            continue;
        };
        if !zero(max_surge) || zero(max_unavailable) {
            continue;
        }
        let at = super::written::origin(cx, &s.name, "strategy", "max_surge")
            .unwrap_or_else(|| super::svc(&s.name));
        out.push(Hit::at(
            at,
            format!(
                "`{}` rolls out with max_surge {max_surge} and max_unavailable {max_unavailable}, so it runs below capacity during every rollout",
                s.name
            ),
        ).of(&s.name));
    }
}

fn zero(v: &str) -> bool {
    v.trim_end_matches('%').parse::<u32>() == Ok(0)
}
