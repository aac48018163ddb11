use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// SSH should reach the nodes through a bastion.
pub static RULE: Rule = Rule {
    id: "aws-no-bastion",
    severity: Severity::Info,
    scope: Scope::Network,
    summary: "no bastion: SSH reaches the nodes straight from the admin networks",
    what: "`cluster.aws.bastion` is `false` (the default), on K3s or without \
a cluster kind. Not on EKS: its managed nodes take no SSH from the admin \
networks, and the API endpoint is judged by `eks-public-endpoint`.",
    why: "Without a bastion, the security groups admit the admin networks to \
SSH (22) on every node and to the API server (6443) on the servers, so every \
node is an SSH entry point from outside the VPC. A bastion is the only host \
that needs to be reachable, hardened and audited; the nodes then accept SSH \
from it alone.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    bastion: false # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Set `bastion: true` and attach the `bastion` security group to a \
small host in a public subnet; `fetch-kubeconfig.sh` can jump through it. \
Alternatively reach the nodes with AWS Systems Manager Session Manager and \
turn this rule off.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(a) = &cx.model.aws else { return };
    if a.bastion || cx.model.eks.is_some() {
        return;
    }
    let msg = "no bastion: the admin networks reach SSH on the nodes directly";
    let at = "/cluster/aws/bastion";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/cluster/aws", msg));
    }
}
