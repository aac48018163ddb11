use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Administration is never open to the whole internet.
pub static RULE: Rule = Rule {
    id: "ssh-from-world",
    severity: Severity::Error,
    scope: Scope::Network,
    summary: "SSH and the Kubernetes API open to the whole internet",
    what: "`cluster.aws.admin_cidrs` contains `0.0.0.0/0` or `::/0`. The admin \
networks reach SSH (22) and the API server (6443), or the bastion.",
    why: "Port 22 and 6443 open to the world are scanned within minutes and \
brute-forced for as long as they stay open (CKV_AWS_24, AWS-0107).",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 1}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [0.0.0.0/0] # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "List the office or VPN networks (for example `203.0.113.7/32`) in \
`admin_cidrs`, and prefer `bastion: true`.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 1}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(a) = &cx.model.aws else { return };
    for (i, c) in a.admin_cidrs.iter().enumerate() {
        if c.0 == "0.0.0.0/0" || c.0 == "::/0" {
            out.push(Hit::at(
                format!("/cluster/aws/admin_cidrs/{i}"),
                format!(
                    "`{}` lets the whole internet reach SSH and the API server",
                    c.0
                ),
            ));
        }
    }
}
