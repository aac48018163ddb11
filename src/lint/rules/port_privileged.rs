use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// A container port below 1024 cannot be bound by the non-root user gen's
/// pods run as.
pub static RULE: Rule = Rule {
    id: "port-privileged",
    severity: Severity::Error,
    scope: Scope::Workloads,
    summary: "service port below 1024 while pods run as non-root",
    what: "The service's `port`, or its `alerts.metrics.port`, is below 1024.",
    why: "gen's pods run as user 10001 with all capabilities dropped, so the \
process cannot bind a privileged port: the container starts, fails to listen \
and crash-loops. The Service can still expose any port; only the container \
port matters.",
    example: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 80 # <-\n",
    fix: "Make the process listen on a port of 1024 or above (8080 is usual; 8081 \
for a separate management port) and set `port` (or `alerts.metrics.port`) to it.",
    passing: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        if let Some(port) = s.port.filter(|p| *p < 1024) {
            out.push(Hit::at(
                super::svc_key(&s.name, "port"),
                format!(
                    "`{}` listens on port {port}, which user 10001 cannot bind",
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
                    "`{}` serves its metrics on port {m}, which user 10001 cannot bind",
                    s.name
                ),
            ));
        }
    }
}
