use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Scaling;

/// Routed services keep a minimum number of replicas.
pub static RULE: Rule = Rule {
    id: "replicas-routed",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "routed service with fewer guaranteed replicas than the minimum",
    what: "A service with `routes` runs fewer guaranteed replicas (`replicas`, or \
`hpa.min`) than the policy minimum (default 2; per namespace with \
`params.namespaces`).",
    why: "With one pod, every rollout, node drain or crash is an outage of a \
public path. Two replicas spread across nodes keep the route answering.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 1 # <-\n    routes: [/]\n",
    fix: "Raise `replicas` (or `hpa.min`) to at least the minimum, or lower \
the minimum for the namespace in `gen-policy.yaml`.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    params: &[
        ("min", "2"),
        ("namespaces", "{} (namespace -> minimum)"),
    ],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let default = cx.param_u64("min", 2);
    for s in cx.model.services.iter().filter(|s| !s.routes.is_empty()) {
        let min = cx
            .param("namespaces")
            .and_then(|n| n.get(&s.namespace))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(default);
        let have = u64::from(s.scaling.guaranteed());
        if have >= min {
            continue;
        }
        let at = match s.scaling {
            Scaling::Auto { .. } => super::svc_key(&s.name, "hpa") + "/min",
            Scaling::Fixed(_)
                if cx
                    .parsed
                    .catalog
                    .services
                    .get(&s.name)
                    .is_some_and(|c| c.replicas.is_some()) =>
            {
                super::svc_key(&s.name, "replicas")
            }
            Scaling::Fixed(_) => super::svc(&s.name),
        };
        out.push(Hit::at(
            at,
            format!(
                "`{}` serves routes with {have} guaranteed replica(s); the minimum in `{}` is {min}",
                s.name, s.namespace
            ),
        ));
    }
}
