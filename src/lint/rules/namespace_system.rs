use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The namespaces Kubernetes keeps for itself.
const SYSTEM: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// Services in a namespace that belongs to Kubernetes.
pub static RULE: Rule = Rule {
    id: "namespace-system",
    severity: Severity::Error,
    scope: Scope::Workloads,
    summary: "service runs in a Kubernetes system namespace",
    what: "A service's namespace is `kube-system`, `kube-public` or \
`kube-node-lease`: set on the service, inherited from `defaults.namespace`, \
or taken from the `project` name. The finding points at the value that puts \
it there; a finding on `defaults.namespace` or `project` lists every service \
that inherits it and leaves out the services that waive this rule.",
    why: "These namespaces belong to the cluster. `kube-system` holds the \
control-plane add-ons (DNS, the network plugin, K3s's Traefik and \
metrics-server) and service accounts with wide permissions, so anyone who can \
deploy a workload there is close to cluster admin, and a misbehaving service \
competes with the add-ons the whole cluster needs. `kube-public` is readable \
by everyone, unauthenticated users included. `kube-node-lease` holds only \
the nodes' heartbeat Leases. Pod Security admission and many policy engines \
exempt these namespaces, so gen's restrictions are not enforced there either.",
    example: "version: 1\nproject: shop\nservices:\n  web:\n    namespace: kube-system # <-\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    fix: "Move the service to a namespace of its own application or team \
(`namespace: web`). Cluster add-ons that really belong in `kube-system` are \
installed with the cluster (for example as K3s server manifests), not from \
the service catalog.",
    passing: "version: 1\nproject: shop\nservices:\n  web:\n    namespace: web\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    super::namespace_default::report(
        cx,
        out,
        RULE.id,
        |ns| SYSTEM.contains(&ns),
        |ns, who| format!("{who} in `{ns}`, a namespace Kubernetes keeps for itself"),
    );
}
