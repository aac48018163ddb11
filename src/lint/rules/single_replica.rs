use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Scaling;

/// One pod means every rollout or drain interrupts the service.
pub static RULE: Rule = Rule {
    id: "single-replica",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "unrouted service runs exactly one replica and no HPA",
    what: "A service without `routes` and without `hpa` runs exactly one \
replica (its `replicas`, else `defaults.replicas`, else gen's default of 1). \
Routed services are covered by `replicas-routed`, stateful ones (with \
`volumes`) by `stateful-single-replica`.",
    why: "With one pod, every rollout, node drain, eviction or crash \
interrupts the service, and its callers see errors until the new pod is \
ready. A single pod also gets no PodDisruptionBudget, so a node drain evicts \
it without waiting. That is fine for a singleton by design (a scheduler, a \
small cache), but it should be a choice.",
    example: "version: 1\nproject: shop\nservices:\n  worker:\n    image: ghcr.io/shop/worker:1.0.0\n    port: 8080\n    replicas: 1 # <-\n",
    fix: "Run at least 2 replicas (`replicas: 2`, or `hpa` with `min: 2`) if \
the service can run more than one copy; otherwise turn the rule off for it \
with a waiver that says why it must be a singleton.",
    passing: "version: 1\nproject: shop\nservices:\n  worker:\n    image: ghcr.io/shop/worker:1.0.0\n    port: 8080\n    replicas: 2\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let c = &cx.parsed.catalog;
    // A stateful singleton is `stateful-single-replica`'s, which says more.
    let stateless = |s: &&crate::model::ServiceModel| s.workload.volumes().is_empty();
    for s in cx
        .model
        .services
        .iter()
        .filter(|s| s.routes.is_empty() && s.schedule.is_none())
        .filter(stateless)
    {
        if s.scaling != Scaling::Fixed(1) {
            continue;
        }
        let own = c
            .services
            .get(&s.name)
            .is_some_and(|cs| cs.replicas.is_some());
        let inherited = c.defaults.as_ref().is_some_and(|d| d.replicas.is_some());
        let hit = if own {
            Hit::at(super::svc_key(&s.name, "replicas"), message(&s.name))
        } else if inherited {
            Hit::at("/defaults/replicas", message(&s.name))
        } else {
            Hit::at_key(
                super::svc(&s.name),
                format!("{} (gen's default)", message(&s.name)),
            )
        };
        out.push(hit.of(&s.name));
    }
}

fn message(name: &str) -> String {
    format!("`{name}` runs 1 replica and no HPA, so every rollout or drain interrupts it")
}
