use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Spot node groups need several instance types to find capacity.
pub static RULE: Rule = Rule {
    id: "eks-spot-single-instance-type",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "a spot node group offers too few instance types",
    what: "A node group with `spot: true` lists fewer `instance_types` than \
`min_instance_types` (default 2, so one type alone is reported; raise it to \
3 to hold the groups to AWS's advice).",
    why: "Spot capacity is EC2's spare capacity, per instance type and per \
zone. With one type the group draws from a single pool: when AWS needs that \
type back, it reclaims the nodes at two minutes' notice and has none to \
replace them, so the group stays below its desired size, for hours at \
times, and its pods stay Pending. Several similar types (the same vCPU and \
memory, different families or generations) let the managed node group's \
capacity-optimized allocation pick the deepest pools.",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n      batch:\n        instance_types: [c6i.xlarge] # <-\n        min: 0\n        desired: 1\n        max: 10\n        spot: true\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "List three or more instance types of the same size in the group, \
for example `[c6i.xlarge, c5.xlarge, c6a.xlarge, c7i.xlarge]` (pods are \
scheduled by requests, so same-size types are interchangeable), or run the \
group on demand (`spot: false`).",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n      batch:\n        instance_types: [c6i.xlarge, c5.xlarge, c6a.xlarge]\n        min: 0\n        desired: 1\n        max: 10\n        spot: true\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[("min_instance_types", "2")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    let min = cx.param_u64("min_instance_types", 2);
    for g in e.node_groups.iter().filter(|g| g.spot) {
        let n = g.instance_types.len() as u64;
        if n >= min {
            continue;
        }
        let count = if n == 1 {
            "one instance type".to_owned()
        } else {
            format!("{n} instance types")
        };
        let types = g
            .instance_types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Hit::at(
            format!("{}/instance_types", g.pointer),
            format!(
                "spot node group `{}` draws on {count} ({types}): when AWS reclaims that capacity there is no other pool to replace its nodes (`min_instance_types` is {min})",
                g.name
            ),
        ));
    }
}
