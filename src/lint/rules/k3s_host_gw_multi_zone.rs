use crate::catalog::types::FlannelBackend;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// host-gw routes pods directly, which needs one L2 segment.
pub static RULE: Rule = Rule {
    id: "k3s-host-gw-multi-zone",
    severity: Severity::Error,
    scope: Scope::Cluster,
    summary: "flannel host-gw across several availability zones",
    what: "`cluster.k3s.flannel_backend` is `host-gw` and `cluster.aws.zones` \
lists more than one zone.",
    why: "host-gw sends pod traffic to the other node's address as the next \
hop, which only works when all nodes share one L2 segment. Every AWS subnet \
lives in one availability zone, so nodes in different zones are in different \
subnets: their pod-to-pod packets are routed by the VPC, which knows nothing \
of the pod networks and drops them. Services across zones cannot reach each \
other.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    flannel_backend: host-gw # <-\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Use `flannel_backend: wireguard-native` (encrypted) or `vxlan`, \
which encapsulate pod traffic between nodes, or keep every node in one zone.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    flannel_backend: wireguard-native\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let (Some(k), Some(a)) = (&cx.model.k3s, &cx.model.aws) else {
        return;
    };
    if k.flannel_backend != FlannelBackend::HostGw || a.zones.len() < 2 {
        return;
    }
    let msg = format!(
        "host-gw needs all nodes on one L2 segment, but the nodes span {} zones ({}); \
pod traffic between zones is dropped",
        a.zones.len(),
        a.zones.join(", ")
    );
    let at = "/cluster/k3s/flannel_backend";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/cluster/k3s", msg));
    }
}
