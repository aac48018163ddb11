use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::StrategyModel;

/// A canary that takes most traffic is no longer a canary.
pub static RULE: Rule = Rule {
    id: "canary-weight-high",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "canary takes most of the traffic",
    what: "A canary service's effective `strategy.canary_weight` (on the \
service or in `defaults.strategy`) is above 50 percent.",
    why: "A canary exposes a small share of requests to a new version to \
limit the damage if it is bad. Above 50% most users already get the new \
version, served by a single canary pod without a PodDisruptionBudget, while \
the stable track, sized for all the traffic, mostly idles. The canary has \
been judged good: it is time to promote it.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {readiness: /ready, liveness: /live}\n    strategy:\n      type: canary\n      canary_image: ghcr.io/shop/web:1.1.0\n      canary_weight: 80 # <-\n",
    fix: "Promote the canary: set `image` to the canary image and remove the \
canary strategy (or set `canary_weight: 0` until the next canary). To keep \
testing, lower `canary_weight` to a minority share such as 10-25.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {readiness: /ready, liveness: /live}\n    strategy:\n      type: canary\n      canary_image: ghcr.io/shop/web:1.1.0\n      canary_weight: 20\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let StrategyModel::Canary { weight, image, .. } = &s.strategy else {
            continue;
        };
        if *weight <= 50 {
            continue;
        }
        let at = super::written::origin(cx, &s.name, "strategy", "canary_weight")
            .unwrap_or_else(|| super::svc_key(&s.name, "strategy"));
        out.push(
            Hit::at(
                at,
                format!(
                "the canary `{image}` of `{}` takes {weight}% of the traffic; promote it instead",
                s.name
            ),
            )
            .of(&s.name),
        );
    }
}
