use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Administration is open to a few addresses, not to large networks.
pub static RULE: Rule = Rule {
    id: "admin-cidr-wide",
    severity: Severity::Warning,
    scope: Scope::Network,
    summary: "an admin network wider than the policy allows",
    what: "An entry of `cluster.aws.admin_cidrs` is wider than `/24` (IPv4) \
or `/56` (IPv6), without being the whole internet (`0.0.0.0/0` and `::/0` \
are reported by `ssh-from-world`). The limits are the parameters \
`max_ipv4_prefix` and `max_ipv6_prefix`.",
    why: "The admin networks reach SSH (22) and the Kubernetes API server \
(6443), or the bastion. A `/16` is 65,536 addresses: a whole provider or \
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
    let max4 = cx.param_u64("max_ipv4_prefix", 24);
    let max6 = cx.param_u64("max_ipv6_prefix", 56);
    for (i, c) in a.admin_cidrs.iter().enumerate() {
        let Some((addr, len)) = c.0.split_once('/') else {
            continue;
        };
        let Ok(len) = len.parse::<u64>() else {
            continue;
        };
        let (max, bits) = if addr.contains(':') {
            (max6, 128)
        } else {
            (max4, 32)
        };
        // `/0` is the whole internet: ssh-from-world reports it.
        if len == 0 || len >= max {
            continue;
        }
        let addresses = if bits - len >= 64 {
            format!("2^{}", bits - len)
        } else {
            group_thousands(1u64 << (bits - len))
        };
        out.push(Hit::at(
            format!("/cluster/aws/admin_cidrs/{i}"),
            format!(
                "`{}` ({addresses} addresses) can reach SSH and the API server; the policy allows /{max} or narrower",
                c.0
            ),
        ));
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
