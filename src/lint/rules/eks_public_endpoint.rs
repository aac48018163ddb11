use crate::catalog::types::EndpointAccess;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The EKS API endpoint is best kept private.
pub static RULE: Rule = Rule {
    id: "eks-public-endpoint",
    severity: Severity::Info,
    scope: Scope::Network,
    summary: "the EKS API endpoint is reachable from the internet",
    what: "`cluster.eks.endpoint` is `public`: the Kubernetes API server \
answers on a public address to the networks in `cluster.aws.admin_cidrs` \
(nodes still use the private endpoint). Info rather than warning: a public \
endpoint limited to a few addresses is a supported set-up, `public` is an \
explicit choice in the catalog (the default is `private`), and the \
dangerous form, open to everyone, is the error `eks-public-endpoint-open`.",
    why: "A public endpoint is one more way in that does not pass through \
the VPC: it depends on the allow list staying short and on every credential \
that can reach it staying secret, and it exposes the API server to \
vulnerabilities before authentication. A private endpoint is reachable only \
from inside the VPC or networks routed into it, so a leaked credential alone \
is not enough (checkov CKV_AWS_39, CIS EKS 5.4.2).",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    endpoint: public # <-\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Set `endpoint: private` (the default) and reach the API from inside \
the VPC: `bastion: true` gives the admin networks SSH to a bastion that \
reaches the endpoint, or route a VPN (Client VPN, a site-to-site link) into \
the VPC. Turn this rule off in `gen-policy.yaml` when the public endpoint \
with a short allow list is a deliberate choice.",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    endpoint: private\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    if e.endpoint == EndpointAccess::Public {
        out.push(Hit::at(
            format!("{}/endpoint", e.pointer),
            "the EKS API endpoint is public: it answers on the internet to the admin networks",
        ));
    }
}
