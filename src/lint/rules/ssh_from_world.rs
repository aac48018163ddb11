use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::catalog::types::{Aws, EndpointAccess};
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Model;

/// Administration is never open to the whole internet.
pub static RULE: Rule = Rule {
    id: "ssh-from-world",
    severity: Severity::Error,
    scope: Scope::Network,
    summary: "SSH and the Kubernetes API open to the whole internet",
    what: "`cluster.aws.admin_cidrs` covers every IPv4 or every IPv6 address: \
it contains `0.0.0.0/0` or `::/0`, or its networks together leave no address \
out (`[0.0.0.0/1, 128.0.0.0/1]`, `[::/1, 8000::/1]`, any split of the whole \
space). The admin networks reach SSH (22) and the API server (6443), or the \
bastion. On EKS they reach SSH on the bastion, or without one the private \
API endpoint (443); a public endpoint's allow list open to everyone is \
`eks-public-endpoint-open`.",
    why: "Port 22 and 6443 open to the world are scanned within minutes and \
brute-forced for as long as they stay open (CKV_AWS_24, AWS-0107). Splitting \
the world into pieces opens exactly the same ports to exactly the same \
machines.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 1}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [0.0.0.0/0] # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "List the office or VPN networks (for example `203.0.113.7/32`) in \
`admin_cidrs`, and prefer `bastion: true`.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 1}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    params: &[],
    check,
};

/// The admin networks of one address family, merged.
pub(super) struct Family {
    /// `IPv4` or `IPv6`.
    pub name: &'static str,
    /// Address bits: 32 or 128.
    pub bits: u8,
    /// Index and text of each admin CIDR of this family.
    pub entries: Vec<(usize, String)>,
    /// Whether their union is the whole address space.
    pub whole: bool,
    /// Addresses in their union (saturating; meaningless when `whole` in IPv6).
    pub addresses: u128,
}

impl Family {
    /// The entries as text: `` `0.0.0.0/1`, `128.0.0.0/1` ``.
    pub fn list(&self) -> String {
        let quoted: Vec<String> = self.entries.iter().map(|(_, c)| format!("`{c}`")).collect();
        quoted.join(", ")
    }
}

/// The admin CIDRs per family (IPv4, then IPv6), judged as a union: overlaps
/// merged, so a world split into pieces is the world.
pub(super) fn admin_families(a: &Aws) -> [Family; 2] {
    let mut v4: Vec<Ipv4Net> = Vec::new();
    let mut v6: Vec<Ipv6Net> = Vec::new();
    let mut e4 = Vec::new();
    let mut e6 = Vec::new();
    for (i, c) in a.admin_cidrs.iter().enumerate() {
        match c.0.parse::<IpNet>().map(|n| n.trunc()) {
            Ok(IpNet::V4(n)) => {
                v4.push(n);
                e4.push((i, c.0.clone()));
            }
            Ok(IpNet::V6(n)) => {
                v6.push(n);
                e6.push((i, c.0.clone()));
            }
            Err(_) => {}
        }
    }
    let count = |lens: Vec<u8>, bits: u8| {
        lens.into_iter().fold(0u128, |sum, len| {
            sum.saturating_add(
                1u128
                    .checked_shl(u32::from(bits - len))
                    .unwrap_or(u128::MAX),
            )
        })
    };
    let m4 = Ipv4Net::aggregate(&v4);
    let m6 = Ipv6Net::aggregate(&v6);
    [
        Family {
            name: "IPv4",
            bits: 32,
            entries: e4,
            whole: m4.iter().any(|n| n.prefix_len() == 0),
            addresses: count(m4.iter().map(Ipv4Net::prefix_len).collect(), 32),
        },
        Family {
            name: "IPv6",
            bits: 128,
            entries: e6,
            whole: m6.iter().any(|n| n.prefix_len() == 0),
            addresses: count(m6.iter().map(Ipv6Net::prefix_len).collect(), 128),
        },
    ]
}

/// What the admin networks reach, for messages: SSH and the API server on
/// K3s; on EKS SSH on the bastion, else the private API endpoint through the
/// cluster security group, and with `public_endpoint` the public endpoint
/// (whose allow list they are). None when they reach nothing of that.
pub(super) fn admin_reach(m: &Model, public_endpoint: bool) -> Option<String> {
    let Some(e) = &m.eks else {
        return Some("SSH and the API server".to_owned());
    };
    let bastion = m.aws.as_ref().is_some_and(|a| a.bastion);
    let public = e.endpoint == EndpointAccess::Public;
    let mut parts = Vec::new();
    if bastion {
        parts.push("SSH on the bastion");
    } else if !public {
        parts.push("the private EKS API endpoint");
    }
    if public && public_endpoint {
        parts.push("the public EKS API endpoint");
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Whether this CIDR text is itself a `/0`.
pub(super) fn is_world(cidr: &str) -> bool {
    cidr.parse::<IpNet>().is_ok_and(|n| n.prefix_len() == 0)
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(a) = &cx.model.aws else { return };
    // A public EKS endpoint's own allow list is eks-public-endpoint-open's.
    let Some(reach) = admin_reach(cx.model, false) else {
        return;
    };
    out.extend(world_hits(a, &reach));
}

/// A finding per admin CIDR that is a whole address space, or one on the
/// list when its networks together cover one: the whole internet reaches
/// `reach`.
pub(super) fn world_hits(a: &Aws, reach: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    for f in admin_families(a) {
        let whole: Vec<&(usize, String)> = f.entries.iter().filter(|(_, c)| is_world(c)).collect();
        for (i, c) in &whole {
            out.push(Hit::at(
                format!("/cluster/aws/admin_cidrs/{i}"),
                format!("`{c}` lets the whole internet reach {reach}"),
            ));
        }
        if f.whole && whole.is_empty() {
            out.push(Hit::at(
                "/cluster/aws/admin_cidrs",
                format!(
                    "together {} cover every {} address: the whole internet can reach {reach}",
                    f.list(),
                    f.name
                ),
            ));
        }
    }
    out
}
