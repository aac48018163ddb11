use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// An EKS cluster should keep some on-demand capacity.
pub static RULE: Rule = Rule {
    id: "eks-spot-only",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "every EKS node that runs is a spot instance",
    what: "The node groups that start machines (`desired` above 0) all have \
`spot: true`: no on-demand group runs any node.",
    why: "AWS reclaims spot instances at two minutes' notice whenever it \
needs the capacity back, and a shortage of one size in one region reclaims \
many at once. With no on-demand baseline, CoreDNS, the add-ons gen installs \
(the AWS Load Balancer Controller, the EBS CSI driver) and every replica of \
every service can be evicted together; pod disruption budgets do not hold \
back a spot reclaim.",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general:\n        instance_types: [m6i.large, m5.large, m6a.large]\n        min: 2\n        desired: 2\n        max: 4\n        spot: true # <-\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Add an on-demand node group (no `spot`) with `desired` of 2 or \
more for the system pods and the services' minimum replicas, and keep spot \
groups for the capacity above it.",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      base: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n      general:\n        instance_types: [m6i.large, m5.large, m6a.large]\n        min: 2\n        desired: 2\n        max: 4\n        spot: true\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    let running: Vec<_> = e.node_groups.iter().filter(|g| g.desired > 0).collect();
    // No node at all is eks-no-nodes'.
    if running.is_empty() || running.iter().any(|g| !g.spot) {
        return;
    }
    for g in running {
        out.push(Hit::at(
            format!("{}/spot", g.pointer),
            format!(
                "node group `{}` runs on spot, and no on-demand group runs a node: one reclaim can evict every pod at once",
                g.name
            ),
        ));
    }
}
