use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::container::METRICS_PORT;

/// A container port below 1024 cannot be bound by the non-root user gen's
/// pods run as.
pub static RULE: Rule = Rule {
    id: "port-privileged",
    severity: Severity::Error,
    scope: Scope::Workloads,
    summary: "service port below 1024 while pods run as non-root",
    what: "The service's `port`, one of its extra `ports`, or its \
`alerts.metrics.port`, is below 1024.",
    why: "gen's pods run as a non-root user (10001 unless `security` says \
otherwise) with all capabilities dropped, so the process cannot bind a \
privileged port: the container starts, fails to listen \
and crash-loops. The Service can still expose any port; only the container \
port matters.",
    example: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 80 # <-\n",
    fix: "Make the process listen on a port of 1024 or above (8080 is usual; 8081 \
for a separate management port) and set `port` (or the extra port, or \
`alerts.metrics.port`) to it.",
    passing: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let user = s.container.security.run_as_user;
        if let Some(port) = s.port.filter(|p| *p < 1024) {
            out.push(Hit::at(
                super::svc_key(&s.name, "port"),
                format!(
                    "`{}` listens on port {port}, which user {user} cannot bind",
                    s.name
                ),
            ));
        }
        // Extra ports; a `metrics` one that `alerts.metrics.port` names is
        // reported there.
        let metrics = s.alerts.as_ref().and_then(|a| a.metrics_port);
        for (name, port) in &s.container.ports {
            if *port >= 1024 || (name == METRICS_PORT && metrics == Some(*port)) {
                continue;
            }
            out.push(Hit::at(
                push_pointer(&super::svc_key(&s.name, "ports"), name),
                format!(
                    "`{}` listens on its `{name}` port {port}, which user {user} cannot bind",
                    s.name
                ),
            ));
        }
        if let Some(m) = s
            .alerts
            .as_ref()
            .and_then(|a| a.metrics_port)
            .filter(|m| *m < 1024)
        {
            out.push(Hit::at(
                push_pointer(
                    &push_pointer(&super::svc_key(&s.name, "alerts"), "metrics"),
                    "port",
                ),
                format!(
                    "`{}` serves its metrics on port {m}, which user {user} cannot bind",
                    s.name
                ),
            ));
        }
    }
}
