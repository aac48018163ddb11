use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// TLS configured, but plain HTTP still served.
pub static RULE: Rule = Rule {
    id: "ingress-redirect-off",
    severity: Severity::Warning,
    scope: Scope::Ingress,
    summary: "TLS is configured but HTTP is not redirected to HTTPS",
    what: "`ingress.https_redirect` is `false` while `ingress.tls_secret` is \
set, and the catalog has services with `routes`.",
    why: "The routes then answer on plain HTTP as well as on HTTPS. Links, \
bookmarks and users typing the bare host name keep using HTTP, so cookies, \
tokens and form data still cross the network in clear text, and the \
certificate protects only the clients that ask for it. A redirect (with \
HSTS) moves every client to HTTPS.",
    example: "version: 1\nproject: shop\ningress:\n  host: shop.example\n  tls_secret: shop-tls\n  https_redirect: false # <-\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    fix: "Remove `https_redirect: false` (with `tls_secret` the redirect is on \
by default) or set it to `true`. If a client truly cannot follow redirects, \
give it its own host rather than leaving HTTP open for everyone.",
    passing: "version: 1\nproject: shop\ningress:\n  host: shop.example\n  tls_secret: shop-tls\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(ing) = &cx.parsed.catalog.ingress else {
        return;
    };
    let Some(secret) = &ing.tls_secret else {
        return;
    };
    if ing.https_redirect != Some(false) {
        return;
    }
    if cx.model.services.iter().all(|s| s.routes.is_empty()) {
        return;
    }
    out.push(Hit::at(
        "/ingress/https_redirect",
        format!(
            "`{}` has TLS (Secret `{secret}`) but `https_redirect: false` keeps plain HTTP open",
            ing.host
        ),
    ));
}
