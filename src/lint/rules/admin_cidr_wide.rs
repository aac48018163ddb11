use super::ssh_from_world::{admin_families, admin_reach};
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Administration is open to a few addresses, not to large networks.
pub static RULE: Rule = Rule {
    id: "admin-cidr-wide",
    severity: Severity::Warning,
    scope: Scope::Network,
    summary: "an admin network wider than the policy allows",
    what: "An entry of `cluster.aws.admin_cidrs` is wider than `/24` (IPv4) \
or `/56` (IPv6), or its entries of one family together hold more addresses \
than one such network (overlaps counted once), without covering the whole \
internet (every IPv4 or every IPv6 address, in one piece or split, is \
reported by `ssh-from-world`). The limits are the parameters \
`max_ipv4_prefix` and `max_ipv6_prefix`.",
    why: "The admin networks reach SSH (22) and the Kubernetes API server \
(6443), or the bastion; on EKS the bastion, the private API endpoint, or \
the public one whose allow list they are. A `/16` is 65,536 addresses: a whole provider or \
campus network whose every machine, compromised or not, can knock on those \
ports. Administrators work from a few known addresses (an office egress, a \
VPN).",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs:\n      - 198.51.0.0/16 # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "List only the addresses the administrators connect from (for \
example the office's `198.51.100.7/32`, or the VPN's egress network), or \
raise the limits in `gen-policy.yaml` if the wide network is deliberate.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs:\n      - 198.51.100.7/32\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[("max_ipv4_prefix", "24"), ("max_ipv6_prefix", "56")],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(a) = &cx.model.aws else { return };
    let Some(reach) = admin_reach(cx.model, true) else {
        return;
    };
    let max4 = cx.param_u64("max_ipv4_prefix", 24);
    let max6 = cx.param_u64("max_ipv6_prefix", 56);
    for f in admin_families(a) {
        // The whole space, in one piece or split: ssh-from-world reports it.
        if f.whole {
            continue;
        }
        let max = if f.bits == 32 { max4 } else { max6 };
        let mut wide = false;
        for (i, c) in &f.entries {
            let Some(len) = c.split_once('/').and_then(|(_, l)| l.parse::<u64>().ok()) else {
                continue;
            };
            if len == 0 || len >= max {
                continue;
            }
            wide = true;
            out.push(Hit::at(
                format!("/cluster/aws/admin_cidrs/{i}"),
                format!(
                    "`{c}` ({} addresses) can reach {reach}; the policy allows /{max} or narrower",
                    count(1u128 << u64::from(f.bits).saturating_sub(len))
                ),
            ));
        }
        // Narrow pieces that add up to a wide network are that network.
        let allowed = 1u128
            .checked_shl(u32::try_from(u64::from(f.bits).saturating_sub(max)).unwrap_or(u32::MAX))
            .unwrap_or(u128::MAX);
        if !wide && f.addresses > allowed {
            out.push(Hit::at(
                "/cluster/aws/admin_cidrs",
                format!(
                    "together {} hold {} {} addresses that can reach {reach}; the policy allows as many as one /{max}",
                    f.list(),
                    count(f.addresses),
                    f.name
                ),
            ));
        }
    }
}

/// An address count: grouped digits, or a power of two when huge.
fn count(n: u128) -> String {
    if n >= 1 << 64 {
        let bits = 127 - n.leading_zeros();
        if n.is_power_of_two() {
            format!("2^{bits}")
        } else {
            format!("over 2^{bits}")
        }
    } else {
        group_thousands(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

/// `65536` -> `65,536`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}
