use crate::catalog::types::{FlannelBackend, IngressClass};
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// ALB Ingresses on K3s: the ALB targets pod IPs the VPC cannot route.
pub static RULE: Rule = Rule {
    id: "ingress-alb-k3s-overlay",
    severity: Severity::Error,
    scope: Scope::Ingress,
    summary: "ALB Ingresses on a K3s cluster whose pods live on a flannel overlay",
    what: "`ingress.class` is `alb` and the catalog has `cluster.k3s` with a \
flannel backend (`vxlan`, `wireguard-native` or `host-gw`; not `none`).",
    why: "gen's ALB Ingresses use `target-type: ip`: the AWS Load Balancer \
Controller registers each pod's IP address as a target, and the ALB sends \
requests straight to it. That needs pod IPs the VPC can route, as the Amazon \
VPC CNI gives them on EKS. K3s's flannel gives pods addresses from its own \
`cluster-cidr` (10.42.0.0/16), which exist only inside the overlay: the ALB \
cannot reach them, every target stays unhealthy and every request fails. The \
controller itself is not part of K3s either (gen does not install it).",
    example: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws: {region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [203.0.113.7/32]}\ningress: {host: shop.example, class: alb, https_redirect: true} # <-\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    fix: "Keep the ALB in front and let an in-cluster controller route: set \
`ingress.class: nginx` (gen installs ingress-nginx on the workers' ports \
80/443, where `cluster.aws.load_balancer: alb` forwards) or `traefik`. Use \
`class: alb` on a cluster whose pods have VPC addresses (EKS, or K3s with \
`flannel_backend: none` and the Amazon VPC CNI).",
    passing: "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\ningress: {host: shop.example, class: nginx, tls_secret: shop-tls}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let (Some(k), Some(ing)) = (&cx.model.k3s, &cx.model.ingress) else {
        return;
    };
    if ing.class != IngressClass::Alb || k.flannel_backend == FlannelBackend::None {
        return;
    }
    let backend = k.flannel_backend.as_str();
    let msg = format!(
        "ALB Ingresses target pod IPs, but K3s's flannel (`{backend}`) keeps pod IPs \
inside the overlay, where the ALB cannot reach them"
    );
    let at = "/ingress/class";
    if cx.parsed.spans.get(at).is_some() {
        out.push(Hit::at(at, msg));
    } else {
        out.push(Hit::at_key("/ingress", msg));
    }
}
