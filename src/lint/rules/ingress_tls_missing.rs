use std::collections::BTreeSet;

use crate::catalog::types::{IngressClass, LoadBalancer};
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// Routed services served over plain HTTP.
pub static RULE: Rule = Rule {
    id: "ingress-tls-missing",
    severity: Severity::Warning,
    scope: Scope::Ingress,
    summary: "routed services are served over plain HTTP",
    what: "The catalog has services with `routes`, and `ingress` has no \
`tls_secret`. With `https_redirect: true` and an ALB in front (`class: alb`, \
or `cluster.aws.load_balancer: alb` before `nginx` or `traefik`) the rule \
does not fire: the ALB serves HTTPS with the ACM certificate of the host, \
without a Secret, and redirects HTTP there.",
    why: "Without TLS, every request and response crosses the network in \
clear text: session cookies, tokens, passwords and personal data can be read \
and changed by anyone on the path (a shared Wi-Fi, a compromised router). \
Browsers mark such sites as not secure, and HTTP/2 and many browser features \
need HTTPS.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example} # <-\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    fix: "Create a TLS Secret for the host in each routed service's namespace \
(for example with cert-manager, or `kubectl create secret tls shop-tls \
--cert=... --key=...`) and set `ingress.tls_secret` to its name; HTTP then \
redirects to HTTPS by default. Behind an ALB (`class: alb`, or \
`cluster.aws.load_balancer: alb`), set `https_redirect: true` instead and let \
the ALB use the ACM certificate of the host.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example, tls_secret: shop-tls}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(ing) = &cx.model.ingress else { return };
    let alb_in_front = ing.class == IngressClass::Alb
        || cx.model.aws.as_ref().and_then(|a| a.load_balancer) == Some(LoadBalancer::Alb);
    if ing.tls_secret.is_some() || (alb_in_front && ing.https_redirect) {
        return;
    }
    let routed: Vec<String> = cx
        .model
        .services
        .iter()
        .filter(|s| !s.routes.is_empty())
        .map(|s| format!("`{}`", s.name))
        .collect();
    if routed.is_empty() {
        return;
    }
    let hosts: BTreeSet<String> = cx
        .model
        .services
        .iter()
        .flat_map(|s| s.routes.iter().map(|r| format!("`{}`", r.host)))
        .collect();
    let why = if alb_in_front {
        "it has no `tls_secret` and no `https_redirect: true`"
    } else {
        "it has no `tls_secret`"
    };
    out.push(Hit::at_key(
        "/ingress",
        format!(
            "the ingress serves the routes of {} on {} over plain HTTP: {why}",
            routed.join(", "),
            hosts.into_iter().collect::<Vec<_>>().join(", "),
        ),
    ));
}

#[cfg(test)]
mod tests {
    use crate::lint::Policy;

    /// `ingress-alb-k3s-overlay`'s fix: keep the ALB in front of K3s, let
    /// ingress-nginx route. The ALB ends TLS and the catalog redirects: no
    /// finding about plain HTTP.
    const RECOMMENDED: &str = "version: 1\nproject: shop\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    load_balancer: alb\ningress: {host: shop.example, class: nginx, https_redirect: true}\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n";

    fn rules(src: &str) -> Vec<&'static str> {
        let checked = crate::check(
            "catalog.yaml",
            src.as_bytes(),
            &Policy::default(),
            "2026-01-01",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        checked.report.findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn an_alb_ending_tls_in_front_of_nginx_is_not_plain_http() {
        let found = rules(RECOMMENDED);
        assert!(!found.contains(&"ingress-tls-missing"), "{found:?}");
        assert!(!found.contains(&"ingress-alb-k3s-overlay"), "{found:?}");
        // Without the redirect the ALB listens on HTTP only: plain HTTP.
        let plain = RECOMMENDED.replace(", https_redirect: true", "");
        assert!(rules(&plain).contains(&"ingress-tls-missing"));
    }
}
