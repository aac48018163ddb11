use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The nodes should span at least two availability zones.
pub static RULE: Rule = Rule {
    id: "aws-single-zone",
    severity: Severity::Warning,
    scope: Scope::Network,
    summary: "the nodes span fewer than two availability zones",
    what: "`cluster.aws.zones` lists fewer than two zones, or is not set.",
    why: "An availability zone fails as a whole (power, network, a bad \
deployment by AWS). When every node sits in one zone, one zone outage takes \
the whole cluster and every service down, however many replicas they run.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a] # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "List at least two zones of the region in `zones` (for example \
`[eu-west-1a, eu-west-1b]`) and spread the nodes over subnets in each of \
them (K3s: the servers and the agents' auto scaling group). EKS refuses \
fewer than two zones; its node groups are judged by \
`eks-single-zone-node-group`.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(a) = &cx.model.aws else { return };
    if a.zones.len() >= 2 {
        return;
    }
    let at = "/cluster/aws/zones";
    if cx.parsed.spans.get(at).is_some() {
        let msg = match a.zones.first() {
            Some(z) => format!("every node is in `{z}`: one zone outage takes the cluster down"),
            None => "no zone is listed: one zone outage may take the cluster down".to_owned(),
        };
        out.push(Hit::at_key(at, msg));
    } else {
        out.push(Hit::at_key(
            "/cluster/aws",
            "no `zones` listed: the nodes may all sit in one availability zone",
        ));
    }
}
