use super::ssh_from_world::world_hits;
use crate::catalog::types::EndpointAccess;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// A public EKS API endpoint is never open to the whole internet.
pub static RULE: Rule = Rule {
    id: "eks-public-endpoint-open",
    severity: Severity::Error,
    scope: Scope::Network,
    summary: "the public EKS API endpoint is open to the whole internet",
    what: "`cluster.eks.endpoint` is `public` and `cluster.aws.admin_cidrs`, \
which becomes the endpoint's allow list (`publicAccessCIDRs`), covers every \
IPv4 or every IPv6 address: it contains `0.0.0.0/0` or `::/0`, or its \
networks together leave no address out. The finding is on the entry (or on \
the list when only the pieces together cover everything) and labels the \
endpoint setting. Networks that are merely wide are `admin-cidr-wide`'s \
warning (wider than its `max_ipv4_prefix`, default `/24`); set that rule's \
severity to `error` in the policy to refuse them as well.",
    why: "No security group guards the public endpoint: its allow list is \
the only network control. Open to everyone, any machine on the internet can \
talk to the Kubernetes API server, and only authentication stands between \
it and the cluster: a leaked access key, a too-generous access entry or an \
API server vulnerability is then exploitable from anywhere, and the \
endpoint is scanned constantly. EKS and eksctl open a public endpoint to \
`0.0.0.0/0` unless told otherwise (checkov CKV_AWS_38).",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    endpoint: public\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs:\n      - 0.0.0.0/0 # <-\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Set `endpoint: private` and reach the API from inside the VPC: \
through the bastion (`bastion: true`) or a VPN. If the endpoint must stay \
public, list only the administrators' egress addresses in `admin_cidrs` \
(for example `203.0.113.7/32`).",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    endpoint: public\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs:\n      - 203.0.113.7/32\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let (Some(e), Some(a)) = (&cx.model.eks, &cx.model.aws) else {
        return;
    };
    if e.endpoint != EndpointAccess::Public {
        return;
    }
    let endpoint = format!("{}/endpoint", e.pointer);
    out.extend(
        world_hits(a, "the public EKS API endpoint")
            .into_iter()
            .map(|h| h.note(endpoint.clone(), "public endpoint")),
    );
}
