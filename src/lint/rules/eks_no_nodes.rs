use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// An EKS cluster needs nodes to run anything.
pub static RULE: Rule = Rule {
    id: "eks-no-nodes",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "every EKS node group starts with no node",
    what: "Every node group in `cluster.eks.node_groups` has `desired: 0`.",
    why: "A managed node group runs `desired` machines; its `min` and `max` \
only bound what an autoscaler may do, and gen installs none (no Cluster \
Autoscaler, no Karpenter). With no machine at all, nothing schedules: not \
CoreDNS, not the add-ons gen installs (the AWS Load Balancer Controller, \
metrics-server, the EBS CSI driver), not the services. Every pod stays \
Pending and the deployment never becomes ready.",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups: # <-\n      general: {instance_types: [m6i.large, m5.large], min: 0, desired: 0, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Give at least one node group `desired` (and `min`) of 2 or more, \
enough for the services' requests plus the add-ons. To park a cluster, turn \
this rule off in that environment's policy rather than shipping a catalog \
that cannot run.",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    if e.node_groups.is_empty() || e.node_groups.iter().any(|g| g.desired > 0) {
        return;
    }
    let names: Vec<String> = e
        .node_groups
        .iter()
        .map(|g| format!("`{}`", g.name))
        .collect();
    out.push(Hit::at_key(
        format!("{}/node_groups", e.pointer),
        format!(
            "no node group starts a machine ({} all have `desired: 0`) and gen installs no node autoscaler: every pod stays Pending",
            names.join(", ")
        ),
    ));
}
