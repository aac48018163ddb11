use crate::catalog::types::ProbeType;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::ProbeModel;

/// Routed HTTP traffic should be gated by an HTTP readiness check.
pub static RULE: Rule = Rule {
    id: "probe-tcp-for-http",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "routed service whose readiness probe is only a TCP connect",
    what: "A service with `routes` has a TCP readiness probe: its probes are \
`type: tcp` (on the service or in `defaults.probes`), or no `readiness` path \
is set, so gen falls back to a TCP connect to the container port.",
    why: "A TCP connect succeeds as soon as the process listens, which is \
often long before the application can answer (caches cold, database not \
connected), and it keeps succeeding while the application answers every \
request with an error. The ingress then sends routed traffic to pods that \
cannot serve it. An HTTP readiness check keeps a pod out of rotation until the \
application itself says it is ready.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {type: tcp} # <-\n",
    fix: "Set `probes.readiness` to a path that answers 200 only when the \
application can serve requests (for example `/actuator/health/readiness`), on \
the service or in `defaults.probes`, and remove `type: tcp`.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n    probes: {readiness: /ready, liveness: /live}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let c = &cx.parsed.catalog;
    let default_kind = c
        .defaults
        .as_ref()
        .and_then(|d| d.probes.as_ref())
        .and_then(|p| p.kind);
    for s in cx.model.services.iter().filter(|s| !s.routes.is_empty()) {
        if s.probes.readiness != ProbeModel::Tcp {
            continue;
        }
        let kind = c
            .services
            .get(&s.name)
            .and_then(|cs| cs.probes.as_ref())
            .and_then(|p| p.kind)
            .or(default_kind);
        let typed = if kind == Some(ProbeType::Tcp) {
            super::written::origin(cx, &s.name, "probes", "type")
        } else {
            None
        };
        match typed {
            Some(at) => out.push(Hit::at(
                at,
                format!(
                    "`{}` serves routes but its probes are `type: tcp`, so readiness is only a TCP connect to port {}",
                    s.name, s.port.unwrap_or_default()
                ),
            ).of(&s.name)),
            None => out.push(Hit::at_key(
                super::written::block(cx, &s.name, "probes"),
                format!(
                    "`{}` serves routes but sets no readiness path, so readiness is only a TCP connect to port {}",
                    s.name, s.port.unwrap_or_default()
                ),
            ).of(&s.name)),
        }
    }
}
