use super::api_unavailable::minor;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// The EKS version is past Amazon's end of standard support.
pub static RULE: Rule = Rule {
    id: "eks-version-support",
    severity: Severity::Warning,
    scope: Scope::Cluster,
    summary: "EKS version past the end of standard support",
    what: "`cluster.eks.version` is past the end of its standard support in \
Amazon EKS's release calendar on today's date (UTC; `GEN_TODAY=YYYY-MM-DD` \
sets another, so a run is reproducible), or older than every version in \
the calendar. A version newer than the calendar gen knows is not reported. \
The message says when extended support ends too, or that it has.",
    why: "EKS supports a minor version for 14 months after its release \
(standard support). After that the cluster moves to extended support for 12 \
more months, which AWS bills extra per cluster-hour (several times the \
standard price; it is on by default); after that EKS upgrades the control \
plane itself, to a version the add-ons and the workloads were never tested \
on. Upgrades go one minor version at a time, so each release skipped makes \
the way back longer.",
    example: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.29\" # <-\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    fix: "Upgrade the control plane one minor version at a time (`eksctl \
upgrade cluster`), then the node groups and the add-ons, to a version in \
standard support, and set `cluster.eks.version` to it. Check the EKS \
release calendar for the next end date and plan the following upgrade \
before it.",
    passing: "version: 1\nproject: shop\ncluster:\n  eks:\n    version: \"1.35\"\n    node_groups:\n      general: {instance_types: [m6i.large, m5.large], min: 2, desired: 2, max: 4}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    zones: [eu-west-1a, eu-west-1b]\n    bastion: true\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

/// Amazon EKS's Kubernetes release calendar: minor version, last day of
/// standard support, last day of extended support. Source: the Amazon EKS
/// User Guide, "Understand the Kubernetes version lifecycle on EKS"
/// (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html),
/// cross-checked with endoflife.date/amazon-eks; read on 2026-12-03. Add a
/// row when EKS releases a version.
const CALENDAR: &[(u32, &str, &str)] = &[
    (23, "2023-10-11", "2024-10-11"),
    (24, "2024-01-31", "2025-01-31"),
    (25, "2024-05-01", "2025-05-01"),
    (26, "2024-06-11", "2025-06-11"),
    (27, "2024-07-24", "2025-07-24"),
    (28, "2024-11-26", "2025-11-26"),
    (29, "2025-03-23", "2026-03-23"),
    (30, "2025-07-23", "2026-07-23"),
    (31, "2025-11-26", "2026-11-26"),
    (32, "2026-03-23", "2027-03-23"),
    (33, "2026-07-29", "2027-07-29"),
    (34, "2026-12-02", "2027-12-02"),
    (35, "2027-03-27", "2028-03-27"),
];

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(e) = &cx.model.eks else { return };
    let Some(have) = minor(&e.version) else {
        return;
    };
    let at = format!("{}/version", e.pointer);
    let Some(&(oldest, _, _)) = CALENDAR.first() else {
        return;
    };
    if have < oldest {
        out.push(Hit::at(
            at,
            format!(
                "EKS {} is older than every version EKS still lists: its standard and extended support are over, and EKS no longer runs it",
                e.version
            ),
        ));
        return;
    }
    let Some(&(_, standard, extended)) = CALENDAR.iter().find(|(m, _, _)| *m == have) else {
        return;
    };
    // ISO dates compare as strings; each date is the last supported day.
    if cx.today <= standard {
        return;
    }
    let msg = if cx.today <= extended {
        format!(
            "EKS {}'s standard support ended on {standard}: it runs on extended support, billed extra per cluster-hour, until {extended}, when EKS upgrades it itself",
            e.version
        )
    } else {
        format!(
            "EKS {}'s standard support ended on {standard} and its extended support on {extended}: EKS upgrades such clusters itself",
            e.version
        )
    };
    out.push(Hit::at(at, msg));
}
