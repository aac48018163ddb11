use crate::catalog::types::IngressClass;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::flows::{Group, Peer};

/// Routed services on AWS need something public in front of the ingress
/// controller.
pub static RULE: Rule = Rule {
    id: "routes-without-load-balancer",
    severity: Severity::Info,
    scope: Scope::Network,
    summary: "routed services on AWS without a load balancer in front of the ingress controller",
    what: "The catalog has an `ingress` (class `nginx` or `traefik`) and \
services with `routes`, and `cluster.aws` is present, but it has no \
`load_balancer`: the flow table has no flow into the load balancer group.",
    why: "The ingress controller listens on the workers' host ports 80 and \
443, which the security groups open to nobody outside the cluster. Without \
a load balancer, nothing public forwards to them, so the routes cannot be \
reached from the internet (unless some other, hand-made security group rule \
admits clients).",
    example: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws: # <-\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\ningress: {host: shop.example}\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080, replicas: 2, routes: [/]}\n",
    fix: "Set `cluster.aws.load_balancer: alb` (or `nlb`) and attach the \
`load_balancer` security group to it; the workers then admit it on ports 80 \
and 443.",
    passing: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    load_balancer: nlb\ningress: {host: shop.example}\nservices:\n  web: {image: 'ghcr.io/shop/web:1.0.0', port: 8080, replicas: 2, routes: [/]}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let (Some(a), Some(i)) = (&cx.model.aws, &cx.model.ingress) else {
        return;
    };
    // With class alb, the AWS Load Balancer Controller creates its own
    // load balancer and targets the pods: there are no host ports.
    if i.class == IngressClass::Alb {
        return;
    }
    let routed: Vec<&str> = cx
        .model
        .services
        .iter()
        .filter(|s| !s.routes.is_empty())
        .map(|s| s.name.as_str())
        .collect();
    if routed.is_empty() {
        return;
    }
    let lb = Peer::Group(Group::LoadBalancer);
    if a.load_balancer.is_some() || cx.flows.iter().any(|f| f.to == lb) {
        return;
    }
    out.push(Hit::at_key(
        "/cluster/aws",
        format!(
            "no load balancer forwards to the ingress controller, so the routes of {} are not reachable from the internet",
            routed
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
}
