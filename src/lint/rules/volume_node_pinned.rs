use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::K3S_STORAGE_CLASS;

/// `local-path` volumes live on one node's disk.
pub static RULE: Rule = Rule {
    id: "volume-node-pinned",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "volume on K3s's local-path class in a cluster of several nodes: the pod is pinned to one node",
    what: "A volume whose StorageClass is `local-path` (K3s's bundled \
provisioner, gen's default with `cluster.k3s`) in a K3s cluster of more than \
one node.",
    why: "`local-path` makes each claim a directory on the disk of the node \
where its pod first ran, and binds the volume to that node. The pod can then \
only ever run there: when the node is drained, fails or is replaced, the pod \
stays Pending and its data is unreachable (or gone with the machine). More \
nodes do not make the service more available.",
    example: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\nservices:\n  redis:\n    image: docker.io/library/redis:7.4.2-alpine\n    port: 6379\n    probes: {type: tcp}\n    replicas: 2\n    volumes: [{path: /data, size: 5Gi}] # <-\n",
    fix: "Install a replicated or network storage class (Longhorn on K3s, the \
EBS CSI driver with a `gp3` class on AWS) and name it in \
`cluster.storage_class` or the volume's `storage_class`; or, when the \
application replicates its data itself, waive this rule saying so.",
    passing: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  storage_class: longhorn\nservices:\n  redis:\n    image: docker.io/library/redis:7.4.2-alpine\n    port: 6379\n    probes: {type: tcp}\n    replicas: 2\n    volumes: [{path: /data, size: 5Gi}]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(k) = &cx.model.k3s else { return };
    let nodes = k.servers.saturating_add(k.agents);
    if nodes < 2 {
        return;
    }
    for s in &cx.model.services {
        for v in s.workload.volumes() {
            if v.storage_class.as_deref() != Some(K3S_STORAGE_CLASS) {
                continue;
            }
            out.push(
                Hit::at_key(
                    v.pointer.clone(),
                    format!(
                        "`{}`'s volume {} is on `local-path`: each pod is bound to one of the {nodes} nodes and cannot move when it fails",
                        s.name, v.mount.path
                    ),
                )
                .of(&s.name),
            );
        }
    }
}
