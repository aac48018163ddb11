use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Workloads should not share the control-plane nodes.
pub static RULE: Rule = Rule {
    id: "k3s-no-agents",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "no K3s agents: the services run on the control-plane nodes",
    what: "`cluster.k3s.agents` is 0 (or not set) while the catalog has \
services.",
    why: "Servers are tainted `CriticalAddonsOnly` only when there are agents. \
With none, every service's pods run on the servers next to the API server \
and the datastore: a pod that exhausts memory or CPU starves the control \
plane, and a compromised pod sits on the machine that holds the cluster's \
secrets.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 0 # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Add agents (`agents: 2` or more) so the servers are tainted and the \
services run on dedicated workers.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(k) = &cx.model.k3s else { return };
    if k.agents > 0 || cx.model.services.is_empty() {
        return;
    }
    let msg = format!(
        "no agents: the {} service(s) run on the K3s servers, next to the control plane",
        cx.model.services.len()
    );
    let at = "/cluster/k3s/agents";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/cluster/k3s", msg));
    }
}
