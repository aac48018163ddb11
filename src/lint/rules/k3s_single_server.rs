use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// One K3s server is a single point of failure.
pub static RULE: Rule = Rule {
    id: "k3s-single-server",
    severity: Severity::Info,
    scope: Scope::Cluster,
    summary: "one K3s server: the control plane is a single point of failure",
    what: "`cluster.k3s.servers` is 1.",
    why: "With one server, the Kubernetes API, the scheduler, the controllers \
and the datastore (SQLite) live on one machine. When it fails or is rebooted, \
nothing can be deployed, scaled or rescheduled, and losing its disk loses the \
cluster state. Three servers run embedded etcd, which keeps quorum when any \
one of them is down.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1 # <-\n    agents: 2\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Set `servers: 3` (or another odd number) for embedded-etcd high \
availability, or accept the risk for a development cluster by turning the \
rule off in `gen-policy.yaml`.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 3\n    agents: 2\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(k) = &cx.model.k3s else { return };
    if k.servers == 1 {
        out.push(Hit::at(
            "/cluster/k3s/servers",
            "one K3s server: the control plane and its datastore are a single point of failure",
        ));
    }
}
