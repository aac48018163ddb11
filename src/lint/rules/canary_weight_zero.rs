use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::StrategyModel;

/// A canary with no traffic tests nothing.
pub static RULE: Rule = Rule {
    id: "canary-weight-zero",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "canary receives no traffic",
    what: "A canary service's effective `strategy.canary_weight` (on the \
service or in `defaults.strategy`) is 0.",
    why: "With weight 0 the ingress sends no requests to the canary track, so \
its pod runs, uses resources and tests nothing. That is the right state just \
after a rollback, but a canary left at 0 is easily forgotten, and raising the \
weight later sends traffic to whatever old image it still runs.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {readiness: /ready, liveness: /live}\n    strategy:\n      type: canary\n      canary_image: ghcr.io/shop/web:1.1.0\n      canary_weight: 0 # <-\n",
    fix: "Once the rollback is done, remove the canary strategy (delete \
`strategy` or set `type: rolling`), or give the canary a share of traffic to \
test a new image.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {readiness: /ready, liveness: /live}\n    strategy:\n      type: canary\n      canary_image: ghcr.io/shop/web:1.1.0\n      canary_weight: 10\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let StrategyModel::Canary {
            weight: 0, image, ..
        } = &s.strategy
        else {
            continue;
        };
        let at = super::written::origin(cx, &s.name, "strategy", "canary_weight")
            .unwrap_or_else(|| super::svc_key(&s.name, "strategy"));
        out.push(
            Hit::at(
                at,
                format!(
                    "the canary `{image}` of `{}` gets 0% of the traffic",
                    s.name
                ),
            )
            .of(&s.name),
        );
    }
}
