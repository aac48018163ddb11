use crate::catalog::types::FlannelBackend;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Pod traffic between availability zones should be encrypted.
pub static RULE: Rule = Rule {
    id: "k3s-pod-traffic-unencrypted",
    severity: Severity::Info,
    scope: Scope::Cluster,
    summary: "pod-to-pod traffic crosses availability zones unencrypted",
    what: "`cluster.k3s.flannel_backend` is `vxlan` (the default) while \
`cluster.aws.zones` lists two or more zones. (`host-gw` across zones does \
not work at all: `k3s-host-gw-multi-zone`.)",
    why: "With vxlan and host-gw, traffic between pods on different nodes \
travels in clear text. Across zones it leaves the data center over AWS's \
inter-zone links, so anything the services send each other without TLS \
(internal HTTP calls, database credentials in transit) is readable by \
whoever can observe that network. wireguard-native encrypts every packet \
between nodes at the cost of a little CPU.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    flannel_backend: vxlan # <-\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Set `flannel_backend: wireguard-native` (K3s then opens 51820/udp \
between the nodes instead of 8472/udp), or make sure every service-to-service \
call uses TLS. The backend can only be chosen when the cluster is created.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s:\n    version: v1.33.5+k3s1\n    servers: 1\n    agents: 2\n    flannel_backend: wireguard-native\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let (Some(k), Some(a)) = (&cx.model.k3s, &cx.model.aws) else {
        return;
    };
    // Across zones host-gw is an error of its own rule.
    if k.flannel_backend != FlannelBackend::Vxlan {
        return;
    }
    let name = k.flannel_backend.as_str();
    if a.zones.len() < 2 {
        return;
    }
    let msg = format!(
        "with {name}, pod-to-pod traffic between the {} zones travels unencrypted",
        a.zones.len()
    );
    let at = "/cluster/k3s/flannel_backend";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/cluster/k3s", msg));
    }
}
