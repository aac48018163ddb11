use std::collections::{BTreeMap, BTreeSet};

use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::NodeGroupModel;

/// The machines of a kind should span at least two availability zones.
pub static RULE: Rule = Rule {
    id: "eks-single-zone-node-group",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "an EKS node group's machines all sit in one availability zone",
    what: "A node group's `zones` name one zone, and no other node group of \
the same kind (the same instance types and the same capacity, spot or on \
demand) runs in another zone. Groups of one kind pinned one per zone (the \
usual layout for the cluster autoscaler with EBS volumes) together span \
their zones and are not reported. Without `zones` a group spans every zone \
of `cluster.aws.zones`, of which EKS needs two.",
    why: "An availability zone fails as a whole. When every machine of a \
kind is in one zone, an outage there removes all of that capacity at once: \
the pods that need it (or fit only there) stay Pending until the zone comes \
back, however many replicas they run. Spot capacity is also priced and \
reclaimed per zone, so one zone is more often empty.",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general:\n        instance_types: [m6i.large, m5.large]\n        min: 2\n        desired: 2\n        max: 4\n        zones: [eu-west-1a] # <-\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Remove the group's `zones` so it spans every zone of \
`cluster.aws.zones`, or list two or more; or add a group of the same kind \
in another zone (one group per zone).",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general:\n        instance_types: [m6i.large, m5.large]\n        min: 2\n        desired: 2\n        max: 4\n        zones: [eu-west-1a, eu-west-1b]\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    // Node groups of one kind: the same instance types and capacity type.
    let mut kinds: BTreeMap<(BTreeSet<&str>, bool), Vec<&NodeGroupModel>> = BTreeMap::new();
    for g in &e.node_groups {
        let types = g.instance_types.iter().map(String::as_str).collect();
        kinds.entry((types, g.spot)).or_default().push(g);
    }
    for groups in kinds.values() {
        let zones: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| g.zones.iter().map(String::as_str))
            .collect();
        if zones.len() >= 2 {
            continue;
        }
        let zone = zones
            .first()
            .map_or_else(|| "no zone".to_owned(), |z| format!("`{z}` alone"));
        for g in groups {
            let others: Vec<String> = groups
                .iter()
                .filter(|o| o.name != g.name)
                .map(|o| format!("`{}`", o.name))
                .collect();
            let (also, what) = if others.is_empty() {
                (String::new(), "its machines")
            } else {
                (
                    format!(", like {} of the same kind,", others.join(", ")),
                    "the machines of that kind",
                )
            };
            let zones_at = format!("{}/zones", g.pointer);
            let at = if cx.parsed.spans.get(&zones_at).is_some() {
                zones_at
            } else {
                g.pointer.clone()
            };
            out.push(Hit::at_key(
                at,
                format!(
                    "node group `{}`{also} runs in {zone}: one zone outage takes all {what}",
                    g.name
                ),
            ));
        }
    }
}
