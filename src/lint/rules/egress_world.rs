use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Egress to the whole internet.
pub static RULE: Rule = Rule {
    id: "egress-world",
    severity: Severity::Info,
    scope: Scope::Network,
    summary: "service egress open to the whole internet",
    what: "An `egress` entry of a service has the network `0.0.0.0/0` or \
`::/0` (any network with prefix length 0).",
    why: "The entry lets every pod of the service connect to that port of any \
address: the NetworkPolicy allows it, and with `cluster.aws` the workers' \
security group does too, for every workload on those nodes. A compromised \
pod can then send data anywhere or reach a command server on that port, \
and nothing in the catalog says which destination the service really needs.",
    example: "version: 1\nproject: shop\nservices:\n  notify:\n    image: ghcr.io/shop/notify:1.0.0\n    port: 8080\n    egress: [{cidr: 0.0.0.0/0, port: 443}] # <-\n",
    fix: "Narrow `cidr` to the destination's network: the database subnet, \
the provider's published address ranges, or a VPC endpoint. For internet \
APIs without fixed addresses, send the traffic through an egress proxy or \
NAT with a domain allow-list and put the proxy's network here; if the \
service truly needs the internet, waive the rule with the reason.",
    passing: "version: 1\nproject: shop\nservices:\n  notify:\n    image: ghcr.io/shop/notify:1.0.0\n    port: 8080\n    egress: [{cidr: 203.0.113.0/24, port: 443}]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let Some(cs) = cx.parsed.catalog.services.get(&s.name) else {
            continue;
        };
        let base = super::svc_key(&s.name, "egress");
        for (i, e) in cs.egress.iter().enumerate() {
            let cidr = &e.cidr.0;
            if cidr.rsplit_once('/').is_some_and(|(_, len)| len == "0") {
                out.push(Hit::at(
                    push_pointer(&push_pointer(&base, &i.to_string()), "cidr"),
                    format!(
                        "`{}` may connect to port {} of any address (`{cidr}`)",
                        s.name, e.port
                    ),
                ));
            }
        }
    }
}
