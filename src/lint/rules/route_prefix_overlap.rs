use std::collections::BTreeMap;

use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// One service's route nested under another service's route on a host.
pub static RULE: Rule = Rule {
    id: "route-prefix-overlap",
    severity: Severity::Info,
    scope: Scope::Ingress,
    summary: "a route lies under another service's route on the same host",
    what: "On one host, a route of one service lies under a route of another \
service, by whole path segments: `/api/v2` lies under `/api`, but `/apix` \
does not. The finding is on the inner route and names the nearest route it \
lies under; when that nearest route belongs to the same service, nothing is \
reported. A trailing `/` does not count (`/api/` is `/api`). The catch-all \
`/` is left out: a service that takes `/` is the host's default backend, and \
every other route lies under it by design.",
    why: "Prefix routes are matched by the longest prefix, so `/api/v2/orders` \
goes to the inner service and `/api/orders` to the outer one. The split is \
invisible in each service's own routes: when the team of the inner service \
renames or drops its route, its requests silently go to the outer service \
(and get its errors, or worse, its answers); when the outer team adds \
`/api/v2/...` handlers, they are never reached.",
    example: "version: 1\nproject: shop\ningress: {host: shop.example, tls_secret: shop-tls}\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/api]\n  api-v2:\n    image: ghcr.io/shop/api-v2:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/api/v2] # <-\n",
    fix: "Give each service a prefix of its own that no other service's route \
contains (`/api` and `/api-v2`, or `/api/v1` and `/api/v2`), or serve one of \
them on its own `host`. If the split is intended, keep it and note it in both \
services.",
    passing: "version: 1\nproject: shop\ningress: {host: shop.example, tls_secret: shop-tls}\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/api]\n  api-v2:\n    image: ghcr.io/shop/api-v2:1.0.0\n    port: 8080\n    replicas: 2\n    routes: [/api-v2]\n",
    params: &[],
    check,
};

/// `/x/` and `/x` are the same Prefix route.
fn normalize(r: &str) -> &str {
    let t = r.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

/// Whether `outer` is a whole-segment prefix of `inner` (both normalized,
/// different).
fn contains(outer: &str, inner: &str) -> bool {
    inner.len() > outer.len() && inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'/'
}

struct Owned<'a> {
    service: &'a str,
    written: &'a str,
    pointer: String,
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let c = &cx.parsed.catalog;
    let default_host = c.ingress.as_ref().map(|i| i.host.as_str()).unwrap_or("");
    // host -> normalized route -> owner (first writer; conflicts are refused
    // by the catalog checks).
    let mut hosts: BTreeMap<&str, BTreeMap<&str, Owned>> = BTreeMap::new();
    for (name, s) in &c.services {
        let host = s.host.as_deref().unwrap_or(default_host);
        let base = super::svc_key(name, "routes");
        for (i, r) in s.routes.iter().enumerate() {
            hosts
                .entry(host)
                .or_default()
                .entry(normalize(r))
                .or_insert_with(|| Owned {
                    service: name,
                    written: r,
                    pointer: push_pointer(&base, &i.to_string()),
                });
        }
    }
    for (host, routes) in &hosts {
        for (path, inner) in routes {
            let nearest = routes
                .iter()
                .filter(|(p, _)| **p != "/" && contains(p, path))
                .max_by_key(|(p, _)| p.len());
            let Some((_, outer)) = nearest else { continue };
            if outer.service == inner.service {
                continue;
            }
            out.push(Hit::at(
                inner.pointer.clone(),
                format!(
                    "route `{}` of `{}` lies under `{}` of `{}` on host `{host}`: requests are split between them by longest prefix",
                    inner.written, inner.service, outer.written, outer.service
                ),
            ));
        }
    }
}
