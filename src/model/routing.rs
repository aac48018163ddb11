//! Which route wins a request when several services' routes match it.
//!
//! A Prefix route matches by whole path segments (`/a` takes `/a/b`, not
//! `/ab`), and the most specific route must win. ingress-nginx and Traefik
//! compare the routes of every Ingress of a host, so the longest route wins on
//! its own. The AWS Load Balancer Controller does not: it merges the
//! Ingresses of one IngressGroup into one ALB by `group.order` (then by
//! namespace/name), and orders by path length only inside one Ingress. With
//! one Ingress per service, a service whose route lies under another
//! service's route must come first: [`alb_group_orders`] gives each service
//! an order that does that, or names the services that no order can serve.

use std::collections::{BTreeMap, BTreeSet};

/// Lowest and highest `alb.ingress.kubernetes.io/group.order`.
pub const ALB_ORDER_RANGE: (i32, i32) = (-1000, 1000);

/// `/x/` and `/x` are the same Prefix route; `/` stays `/`.
pub fn normalize(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

/// The routes of `path` it lies under, nearest last: `/a/b/c` lies under
/// `/`, `/a` and `/a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let path = normalize(path);
    let inner = (path != "/").then_some(path);
    std::iter::once("/").filter(move |_| inner.is_some()).chain(
        inner
            .into_iter()
            .flat_map(|p| p.match_indices('/').skip(1).map(move |(i, _)| &p[..i])),
    )
}

/// Two services whose routes need each other first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderConflict {
    /// `(service, route)` that must be evaluated before `outer`...
    pub inner: (String, String),
    /// ...because it lies under this route of another service.
    pub outer: (String, String),
    /// A route of `outer`'s service that lies under a route of `inner`'s
    /// service, which asks for the opposite order (`None` when the way back
    /// goes through other services).
    pub back: Option<(String, String)>,
}

/// Why no ALB order serves the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderError {
    /// Two services each have a route under the other's.
    Conflict(Box<OrderConflict>),
    /// A chain of nested services longer than the order range.
    TooDeep(String),
}

/// The `group.order` of each service (by name) on one ALB: a service whose
/// route lies under another service's route on the same host gets a lower
/// order than that service, so the ALB evaluates the more specific rule
/// first. The order of a service is the length of the longest chain of more
/// specific services above it (0 for services under nothing), which keeps
/// the result deterministic and independent of names.
///
/// `services` lists each service's `(host, path)` routes.
pub fn alb_group_orders(
    services: &[(&str, Vec<(&str, &str)>)],
) -> Result<BTreeMap<String, i32>, OrderError> {
    // (host, route) -> owner
    let mut owner: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (name, routes) in services {
        for (host, path) in routes {
            owner.entry((host, normalize(path))).or_insert(name);
        }
    }
    // before[x] = services that must be evaluated before x, with the pair of
    // routes that says so: (inner service, inner route, outer route).
    let mut before: BTreeMap<&str, BTreeMap<&str, (&str, &str)>> = BTreeMap::new();
    for (name, routes) in services {
        before.entry(name).or_default();
        for (host, path) in routes {
            for a in ancestors(path) {
                if let Some(outer) = owner.get(&(*host, a)) {
                    if outer != name {
                        before
                            .entry(outer)
                            .or_default()
                            .entry(name)
                            .or_insert((normalize(path), a));
                    }
                }
            }
        }
    }
    // Longest chain, with cycle detection (0 = new, 1 = on the stack, 2 = done).
    fn level<'a>(
        x: &'a str,
        before: &BTreeMap<&'a str, BTreeMap<&'a str, (&'a str, &'a str)>>,
        state: &mut BTreeMap<&'a str, u8>,
        levels: &mut BTreeMap<&'a str, i32>,
    ) -> Result<i32, OrderError> {
        match state.get(x) {
            Some(2) => return Ok(levels[x]),
            Some(1) => unreachable!("cycles are caught at the edge"),
            _ => {}
        }
        state.insert(x, 1);
        let mut l = 0;
        for (inner, (inner_route, outer_route)) in before.get(x).into_iter().flatten() {
            if state.get(inner) == Some(&1) {
                // `inner` is already waiting on `x`: find the route of x's
                // that lies under one of inner's.
                let back = before
                    .get(inner)
                    .and_then(|m| m.get(x))
                    .map(|(r, _)| (x.to_owned(), (*r).to_owned()));
                return Err(OrderError::Conflict(Box::new(OrderConflict {
                    inner: ((*inner).to_owned(), (*inner_route).to_owned()),
                    outer: (x.to_owned(), (*outer_route).to_owned()),
                    back,
                })));
            }
            l = l.max(level(inner, before, state, levels)? + 1);
        }
        if l > ALB_ORDER_RANGE.1 {
            return Err(OrderError::TooDeep(x.to_owned()));
        }
        state.insert(x, 2);
        levels.insert(x, l);
        Ok(l)
    }
    let mut state = BTreeMap::new();
    let mut levels = BTreeMap::new();
    let names: BTreeSet<&str> = before.keys().copied().collect();
    for x in names {
        level(x, &before, &mut state, &mut levels)?;
    }
    Ok(levels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(s: &[(&str, &[&str])]) -> Result<BTreeMap<String, i32>, OrderError> {
        let v: Vec<(&str, Vec<(&str, &str)>)> = s
            .iter()
            .map(|(n, rs)| (*n, rs.iter().map(|r| ("h", *r)).collect()))
            .collect();
        alb_group_orders(&v)
    }

    #[test]
    fn ancestors_are_whole_segments() {
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), ["/", "/a", "/a/b"]);
        assert_eq!(ancestors("/a/").collect::<Vec<_>>(), ["/"]);
        assert_eq!(ancestors("/").count(), 0);
    }

    #[test]
    fn more_specific_services_come_first() {
        let o = orders(&[
            ("student", &["/", "/student", "/admin"]),
            ("subject", &["/sugang"]),
        ])
        .unwrap();
        assert!(o["subject"] < o["student"], "{o:?}");
        // A chain: /a/b/c before /a/b before /a before /.
        let o = orders(&[
            ("w", &["/"]),
            ("x", &["/a"]),
            ("y", &["/a/b"]),
            ("z", &["/a/b/c"]),
        ])
        .unwrap();
        assert_eq!(o.values().copied().collect::<Vec<_>>(), [3, 2, 1, 0]);
        // `/ab` does not lie under `/a`.
        let o = orders(&[("x", &["/a"]), ("y", &["/ab"])]).unwrap();
        assert_eq!(o["x"], o["y"]);
    }

    #[test]
    fn crossed_routes_have_no_order() {
        let e = orders(&[("x", &["/", "/b/c"]), ("y", &["/b"])]).unwrap_err();
        let OrderError::Conflict(c) = e else {
            panic!("{e:?}")
        };
        let mut services = [c.inner.0, c.outer.0];
        services.sort();
        assert_eq!(services, ["x", "y"]);
    }

    #[test]
    fn other_hosts_do_not_constrain() {
        let v = vec![("x", vec![("a", "/")]), ("y", vec![("b", "/y")])];
        let o = alb_group_orders(&v).unwrap();
        assert_eq!(o["x"], 0);
        assert_eq!(o["y"], 0);
    }
}
