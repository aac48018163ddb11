//! An independent model of how a request finds its backend: the load
//! balancer in front of the cluster, then the ingress controller.
//!
//! This is NOT the real controllers. It is a small re-statement of their
//! documented behaviour, written from the documentation and not from gen's
//! code, that reads only what gen renders (the Ingress objects and the K3s
//! server manifests that configure the controller) plus the one fact a
//! manifest cannot carry: which load balancer the catalog puts in front.
//! What it encodes:
//!
//! - Kubernetes Ingress: `Exact` paths match the whole path; `Prefix` paths
//!   match element by element (`/a` matches `/a` and `/a/b`, not `/ab`), a
//!   trailing `/` ignored; the longest matching prefix wins, `Exact` before
//!   `Prefix`. Hosts match exactly.
//! - ingress-nginx: the Kubernetes rules across all Ingresses of a host. The
//!   scheme of a request is the connection's, or `X-Forwarded-Proto` when the
//!   controller ConfigMap has `use-forwarded-headers: "true"`. An HTTP request
//!   is redirected to HTTPS when the location has `force-ssl-redirect`, or
//!   when the host has TLS and `ssl-redirect` is not `"false"` (its default
//!   is true). A canary Ingress (`canary: "true"`) on the same host and path
//!   takes `canary-weight` percent of the requests (0 none, 100 all).
//! - Traefik (Kubernetes Ingress provider): a `Prefix` path becomes
//!   `PathPrefix`, which matches by characters (`/a` also matches `/ab`); an
//!   `Exact` path becomes `Path`. Of the matching routers, the one with the
//!   longest rule text wins. A router serves the entry points of its
//!   `router.entrypoints` annotation (default: all), and with `router.tls`
//!   only TLS requests. A redirection on the `web` entry point redirects every
//!   request on it. A `redirectScheme` middleware redirects when the request's
//!   scheme differs; that scheme is `X-Forwarded-Proto` only when the sending
//!   address is in the entry point's `forwardedHeaders.trustedIPs` (Traefik
//!   removes the header otherwise).
//! - AWS Load Balancer Controller (`class: alb`): the Ingresses of one
//!   `group.name` make one ALB. Its listeners are the union of
//!   `listen-ports`; `ssl-redirect` turns the HTTP listener into a redirect to
//!   HTTPS. Rules are evaluated in order: Ingresses by `group.order`
//!   (default 0), ties by `namespace/name`; inside an Ingress, `Exact` paths
//!   first, then `Prefix` paths longest first. The first matching rule
//!   answers; no match is a 404. A `use-annotation` backend forwards to the
//!   target groups of `actions.<name>` by weight.
//! - The load balancer in front of an in-cluster controller
//!   (`cluster.aws.load_balancer`): an ALB ends TLS with the host's ACM
//!   certificate and forwards both listeners to the controller's HTTP port
//!   with `X-Forwarded-Proto` set to the listener's protocol, from an address
//!   of the VPC; an NLB passes TCP through (HTTPS reaches the controller's
//!   HTTPS port, which needs a certificate for the host).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

/// The load balancer in front of an in-cluster controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// Clients reach the controller directly.
    None,
    /// An ALB ending TLS, from this VPC.
    Alb(IpNet),
    /// An NLB passing TCP through.
    Nlb,
}

/// A request as the client sends it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    pub https: bool,
    pub host: String,
    pub path: String,
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host, self.path)
    }
}

/// What the client gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Served by one of these Services (`namespace/name`), each with a share
    /// of the requests above zero.
    Served(BTreeSet<String>),
    /// A redirect to this request.
    Redirect(Request),
    /// No rule matches.
    NotFound,
    /// Nothing listens for this scheme, or TLS ends at a certificate that is
    /// not the host's (the controller's default one).
    NoHttps(String),
    /// Two rules of equal standing disagree.
    Ambiguous(String),
}

#[derive(Debug, Clone)]
struct Path {
    exact: bool,
    path: String,
    /// `namespace/name` of the backend Service, or of the action name for
    /// `use-annotation`.
    service: String,
    port_name: String,
}

#[derive(Debug, Clone)]
struct Ingress {
    namespace: String,
    name: String,
    class: String,
    annotations: BTreeMap<String, String>,
    tls_hosts: Vec<(String, bool)>,
    rules: Vec<(String, Vec<Path>)>,
}

impl Ingress {
    fn ann(&self, k: &str) -> Option<&str> {
        self.annotations.get(k).map(String::as_str)
    }
    fn full(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Traefik's static configuration, as far as routing and redirects go.
#[derive(Debug, Clone, Default)]
struct Traefik {
    web_redirect: bool,
    trusted: BTreeMap<String, Vec<IpNet>>,
    /// `namespace-name@kubernetescrd` -> redirect scheme.
    redirect_middlewares: BTreeMap<String, String>,
}

/// A cluster as rendered: its Ingresses, its controller configuration and
/// what stands in front of it.
#[derive(Debug, Clone)]
pub struct Cluster {
    ingresses: Vec<Ingress>,
    front: Front,
    nginx_forwarded_headers: bool,
    traefik: Traefik,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn parse_ingress(o: &Value) -> Ingress {
    let meta = &o["metadata"];
    let namespace = s(&meta["namespace"]);
    let annotations = meta["annotations"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
        .unwrap_or_default();
    let spec = &o["spec"];
    let mut tls_hosts = Vec::new();
    for t in spec["tls"].as_array().into_iter().flatten() {
        for h in t["hosts"].as_array().into_iter().flatten() {
            tls_hosts.push((s(h), t["secretName"].is_string()));
        }
    }
    let mut rules = Vec::new();
    for r in spec["rules"].as_array().into_iter().flatten() {
        let paths = r["http"]["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let svc = &p["backend"]["service"];
                Path {
                    exact: p["pathType"] == "Exact",
                    path: s(&p["path"]),
                    service: format!("{namespace}/{}", s(&svc["name"])),
                    port_name: s(&svc["port"]["name"]),
                }
            })
            .collect();
        rules.push((s(&r["host"]), paths));
    }
    Ingress {
        name: s(&meta["name"]),
        namespace,
        class: s(&spec["ingressClassName"]),
        annotations,
        tls_hosts,
        rules,
    }
}

/// Every YAML document of a multi-document text.
pub fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("unreadable YAML: {e}\n{text}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

impl Cluster {
    /// From rendered objects: Ingresses, and the K3s server manifests
    /// (HelmChart / HelmChartConfig / Middleware) when there are any.
    pub fn new(objects: &[Value], front: Front) -> Cluster {
        let mut c = Cluster {
            ingresses: Vec::new(),
            front,
            nginx_forwarded_headers: false,
            traefik: Traefik::default(),
        };
        for o in objects {
            match o["kind"].as_str().unwrap_or_default() {
                "Ingress" => c.ingresses.push(parse_ingress(o)),
                "HelmChart" if o["spec"]["chart"] == "ingress-nginx" => {
                    let values: Value =
                        serde_saphyr::from_str(o["spec"]["valuesContent"].as_str().unwrap_or(""))
                            .unwrap();
                    c.nginx_forwarded_headers =
                        values["controller"]["config"]["use-forwarded-headers"] == "true";
                }
                "HelmChartConfig" if o["metadata"]["name"] == "traefik" => {
                    let values: Value =
                        serde_saphyr::from_str(o["spec"]["valuesContent"].as_str().unwrap_or(""))
                            .unwrap();
                    let r = &values["ports"]["web"]["redirections"]["entryPoint"];
                    c.traefik.web_redirect = r["to"] == "websecure" && r["scheme"] == "https";
                    for ep in ["web", "websecure"] {
                        let nets = values["ports"][ep]["forwardedHeaders"]["trustedIPs"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|n| n.as_str()?.parse().ok())
                            .collect();
                        c.traefik.trusted.insert(ep.to_owned(), nets);
                    }
                }
                "Middleware" => {
                    if let Some(scheme) = o["spec"]["redirectScheme"]["scheme"].as_str() {
                        let key = format!(
                            "{}-{}@kubernetescrd",
                            s(&o["metadata"]["namespace"]),
                            s(&o["metadata"]["name"])
                        );
                        c.traefik
                            .redirect_middlewares
                            .insert(key, scheme.to_owned());
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// What the client gets for `req`.
    pub fn answer(&self, req: &Request) -> Answer {
        let classes: BTreeSet<&str> = self
            .ingresses
            .iter()
            .filter(|i| i.rules.iter().any(|(h, _)| *h == req.host))
            .map(|i| i.class.as_str())
            .collect();
        if classes.len() > 1 {
            return Answer::Ambiguous(format!("host {} is on classes {classes:?}", req.host));
        }
        match classes.into_iter().next() {
            None => Answer::NotFound,
            Some("alb") => self.alb(req),
            Some(class) => {
                // The hop from the load balancer to the controller.
                let hop = match self.front {
                    Front::None | Front::Nlb => Hop {
                        tls: req.https,
                        forwarded_proto: None,
                        from: "203.0.113.77".parse().unwrap(),
                    },
                    Front::Alb(vpc) => Hop {
                        tls: false,
                        forwarded_proto: Some(if req.https { "https" } else { "http" }),
                        from: vpc.hosts().nth(9).unwrap_or(vpc.addr()),
                    },
                };
                if hop.tls && !self.has_certificate(class, &req.host) {
                    return Answer::NoHttps(format!(
                        "TLS ends at the {class} controller, which has no certificate for {}",
                        req.host
                    ));
                }
                match class {
                    "nginx" => self.nginx(req, &hop),
                    "traefik" => self.traefik(req, &hop),
                    other => Answer::Ambiguous(format!("unknown ingress class {other}")),
                }
            }
        }
    }

    fn has_certificate(&self, class: &str, host: &str) -> bool {
        self.ingresses
            .iter()
            .filter(|i| i.class == class)
            .flat_map(|i| &i.tls_hosts)
            .any(|(h, secret)| h == host && *secret)
    }

    fn nginx(&self, req: &Request, hop: &Hop) -> Answer {
        let scheme_https = match (self.nginx_forwarded_headers, hop.forwarded_proto) {
            (true, Some(p)) => p == "https",
            _ => hop.tls,
        };
        let is_canary = |i: &Ingress| i.ann("nginx.ingress.kubernetes.io/canary") == Some("true");
        let mains: Vec<&Ingress> = self
            .ingresses
            .iter()
            .filter(|i| i.class == "nginx" && !is_canary(i))
            .collect();
        let candidates: Vec<(&Ingress, &Path)> = mains
            .iter()
            .flat_map(|i| {
                i.rules
                    .iter()
                    .filter(|(h, _)| *h == req.host)
                    .flat_map(move |(_, ps)| ps.iter().map(move |p| (*i, p)))
            })
            .collect();
        let best = match best_kubernetes(&candidates, &req.path) {
            Ok(b) => b,
            Err(e) => return Answer::Ambiguous(e),
        };
        let Some((ing, path)) = best else {
            return Answer::NotFound;
        };
        let host_tls = mains
            .iter()
            .any(|i| i.tls_hosts.iter().any(|(h, _)| *h == req.host));
        let ssl_redirect = ing.ann("nginx.ingress.kubernetes.io/ssl-redirect") != Some("false");
        let force = ing.ann("nginx.ingress.kubernetes.io/force-ssl-redirect") == Some("true");
        if !scheme_https && ((host_tls && ssl_redirect) || force) {
            return Answer::Redirect(Request {
                https: true,
                ..req.clone()
            });
        }
        let mut served = BTreeSet::new();
        let canary = self
            .ingresses
            .iter()
            .filter(|i| i.class == "nginx" && is_canary(i))
            .find_map(|c| {
                c.rules
                    .iter()
                    .filter(|(h, _)| *h == req.host)
                    .flat_map(|(_, ps)| ps)
                    .find(|p| p.path == path.path && p.exact == path.exact)
                    .map(|p| {
                        let w: u32 = c
                            .ann("nginx.ingress.kubernetes.io/canary-weight")
                            .and_then(|w| w.parse().ok())
                            .unwrap_or(0);
                        (p.service.clone(), w)
                    })
            });
        match canary {
            Some((svc, w)) if w >= 100 => {
                served.insert(svc);
            }
            Some((svc, w)) if w > 0 => {
                served.insert(svc);
                served.insert(path.service.clone());
            }
            _ => {
                served.insert(path.service.clone());
            }
        }
        Answer::Served(served)
    }

    fn traefik(&self, req: &Request, hop: &Hop) -> Answer {
        let entrypoint = if hop.tls { "websecure" } else { "web" };
        if entrypoint == "web" && self.traefik.web_redirect {
            return Answer::Redirect(Request {
                https: true,
                ..req.clone()
            });
        }
        let trusted = self
            .traefik
            .trusted
            .get(entrypoint)
            .is_some_and(|nets| nets.iter().any(|n| n.contains(&hop.from)));
        let scheme = match (trusted, hop.forwarded_proto) {
            (true, Some(p)) => p,
            _ if hop.tls => "https",
            _ => "http",
        };
        let mut best: Option<(usize, &Ingress, &Path)> = None;
        let mut tie = false;
        for i in self.ingresses.iter().filter(|i| i.class == "traefik") {
            let eps: Vec<&str> = i
                .ann("traefik.ingress.kubernetes.io/router.entrypoints")
                .map(|e| e.split(',').map(str::trim).collect())
                .unwrap_or_else(|| vec!["web", "websecure"]);
            if !eps.contains(&entrypoint) {
                continue;
            }
            if i.ann("traefik.ingress.kubernetes.io/router.tls") == Some("true")
                && entrypoint != "websecure"
            {
                continue;
            }
            for (host, paths) in &i.rules {
                if *host != req.host {
                    continue;
                }
                for p in paths {
                    let (matcher, hit) = if p.exact {
                        ("Path", req.path == p.path)
                    } else {
                        ("PathPrefix", req.path.starts_with(&p.path))
                    };
                    if !hit {
                        continue;
                    }
                    let priority = format!("Host(`{host}`) && {matcher}(`{}`)", p.path).len();
                    match best {
                        Some((b, _, _)) if b > priority => {}
                        Some((b, _, bp)) if b == priority => tie |= bp.service != p.service,
                        _ => {
                            best = Some((priority, i, p));
                            tie = false;
                        }
                    }
                }
            }
        }
        if tie {
            return Answer::Ambiguous(format!("two Traefik routers tie for {req}"));
        }
        let Some((_, ing, path)) = best else {
            return Answer::NotFound;
        };
        for m in ing
            .ann("traefik.ingress.kubernetes.io/router.middlewares")
            .map(|m| m.split(',').map(str::trim).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            match self.traefik.redirect_middlewares.get(m) {
                Some(to) if to != scheme => {
                    return Answer::Redirect(Request {
                        https: to == "https",
                        ..req.clone()
                    })
                }
                Some(_) => {}
                None => return Answer::Ambiguous(format!("middleware {m} does not exist")),
            }
        }
        Answer::Served(BTreeSet::from([path.service.clone()]))
    }

    fn alb(&self, req: &Request) -> Answer {
        let group = |i: &Ingress| {
            i.ann("alb.ingress.kubernetes.io/group.name")
                .map_or_else(|| format!("implicit:{}", i.full()), str::to_owned)
        };
        let groups: BTreeSet<String> = self
            .ingresses
            .iter()
            .filter(|i| i.class == "alb" && i.rules.iter().any(|(h, _)| *h == req.host))
            .map(group)
            .collect();
        if groups.len() != 1 {
            return Answer::Ambiguous(format!("host {} is on ALBs {groups:?}", req.host));
        }
        let g = groups.into_iter().next().unwrap();
        let mut members: Vec<(i64, String, &Ingress)> = Vec::new();
        for i in self
            .ingresses
            .iter()
            .filter(|i| i.class == "alb" && group(i) == g)
        {
            let order = match i.ann("alb.ingress.kubernetes.io/group.order") {
                None => 0,
                Some(o) => match o.parse::<i64>() {
                    Ok(n) if (-1000..=1000).contains(&n) => n,
                    _ => {
                        return Answer::Ambiguous(format!(
                            "{}: group.order {o} is invalid",
                            i.full()
                        ))
                    }
                },
            };
            members.push((order, i.full(), i));
        }
        members.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut listeners = BTreeSet::new();
        for (_, _, i) in &members {
            let ports: Value = i
                .ann("alb.ingress.kubernetes.io/listen-ports")
                .map_or(Value::Null, |p| serde_json::from_str(p).unwrap());
            for p in ports.as_array().into_iter().flatten() {
                for (proto, port) in p.as_object().into_iter().flatten() {
                    listeners.insert((proto.clone(), port.as_u64().unwrap_or(0)));
                }
            }
            if ports.is_null() {
                listeners.insert(("HTTP".to_owned(), 80));
            }
        }
        let want = if req.https {
            ("HTTPS".to_owned(), 443)
        } else {
            ("HTTP".to_owned(), 80)
        };
        if !listeners.contains(&want) {
            return Answer::NoHttps(format!("the ALB has no {}:{} listener", want.0, want.1));
        }
        let redirect = members
            .iter()
            .any(|(_, _, i)| i.ann("alb.ingress.kubernetes.io/ssl-redirect").is_some());
        if !req.https && redirect {
            return Answer::Redirect(Request {
                https: true,
                ..req.clone()
            });
        }
        for (_, _, i) in &members {
            let mut paths: Vec<&Path> = i
                .rules
                .iter()
                .filter(|(h, _)| *h == req.host)
                .flat_map(|(_, ps)| ps)
                .collect();
            // Exact first, then Prefix, longest first (a stable sort keeps
            // the listed order among equals).
            paths.sort_by_key(|p| (!p.exact, std::cmp::Reverse(p.path.len())));
            let Some(p) = paths.into_iter().find(|p| kubernetes_match(p, &req.path)) else {
                continue;
            };
            if p.port_name != "use-annotation" {
                return Answer::Served(BTreeSet::from([p.service.clone()]));
            }
            let action_name = p.service.rsplit('/').next().unwrap_or_default();
            let Some(action) = i.ann(&format!("alb.ingress.kubernetes.io/actions.{action_name}"))
            else {
                return Answer::Ambiguous(format!("{}: no action {action_name}", i.full()));
            };
            let action: Value = serde_json::from_str(action).unwrap();
            let served: BTreeSet<String> = action["forwardConfig"]["targetGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["weight"].as_u64().unwrap_or(0) > 0)
                .map(|t| format!("{}/{}", i.namespace, s(&t["serviceName"])))
                .collect();
            return Answer::Served(served);
        }
        Answer::NotFound
    }
}

struct Hop {
    /// TLS ends at the controller.
    tls: bool,
    forwarded_proto: Option<&'static str>,
    from: IpAddr,
}

/// Whether an Ingress path matches a request path by the Kubernetes rules.
fn kubernetes_match(p: &Path, request: &str) -> bool {
    if p.exact {
        return p.path == request;
    }
    let prefix = p.path.trim_end_matches('/');
    prefix.is_empty()
        || request == prefix
        || request
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

type Candidate<'a> = (&'a Ingress, &'a Path);

/// The Kubernetes winner: an Exact match, else the longest Prefix match.
fn best_kubernetes<'a>(
    candidates: &[Candidate<'a>],
    request: &str,
) -> Result<Option<Candidate<'a>>, String> {
    let matching: Vec<&Candidate> = candidates
        .iter()
        .filter(|(_, p)| kubernetes_match(p, request))
        .collect();
    let key = |c: &Candidate| (c.1.exact, c.1.path.trim_end_matches('/').len());
    let Some(top) = matching.iter().map(|c| key(c)).max() else {
        return Ok(None);
    };
    let winners: Vec<&&Candidate> = matching.iter().filter(|c| key(c) == top).collect();
    let services: BTreeSet<&str> = winners.iter().map(|c| c.1.service.as_str()).collect();
    if services.len() > 1 {
        return Err(format!("{request} matches equal rules of {services:?}"));
    }
    Ok(Some(**winners[0]))
}

/// A route the catalog declares, and what it expects.
#[derive(Debug, Clone)]
pub struct Declared {
    pub host: String,
    pub path: String,
    /// `namespace/name` of the Services that should answer.
    pub backends: BTreeSet<String>,
    /// Plain HTTP should get one redirect to HTTPS.
    pub redirect: bool,
    /// HTTPS should work.
    pub https: bool,
}

/// Follow redirects from `req` (at most a few).
pub fn follow(cluster: &Cluster, req: &Request) -> (Vec<Request>, Answer) {
    let mut hops = Vec::new();
    let mut at = req.clone();
    loop {
        match cluster.answer(&at) {
            Answer::Redirect(next) if hops.len() < 5 => {
                hops.push(next.clone());
                at = next;
            }
            other => return (hops, other),
        }
    }
}

/// Every problem of the declared routes on `cluster`: a request that reaches
/// another Service, none, or not through exactly the redirects asked for.
pub fn problems(cluster: &Cluster, declared: &[Declared]) -> Vec<String> {
    let mut out = Vec::new();
    for d in declared {
        let base = d.path.trim_end_matches('/');
        for path in [
            if base.is_empty() {
                "/".to_owned()
            } else {
                base.to_owned()
            },
            format!("{base}/gen-probe"),
        ] {
            let want = Answer::Served(d.backends.clone());
            let http = Request {
                https: false,
                host: d.host.clone(),
                path: path.clone(),
            };
            let https = Request {
                https: true,
                ..http.clone()
            };
            let (hops, got) = follow(cluster, &http);
            let expected_hops = if d.redirect {
                vec![https.clone()]
            } else {
                Vec::new()
            };
            if hops.len() > 1 && hops.iter().skip(1).any(|h| *h == hops[0]) || hops.len() > 4 {
                out.push(format!("{http}: redirect loop through {}", show(&hops)));
            } else if hops != expected_hops {
                out.push(format!(
                    "{http}: redirects {} where {} were expected",
                    show(&hops),
                    show(&expected_hops)
                ));
            } else if got != want {
                out.push(format!("{http}: {got:?}, expected {want:?}"));
            }
            if d.https {
                let (hops, got) = follow(cluster, &https);
                if !hops.is_empty() {
                    out.push(format!("{https}: redirected through {}", show(&hops)));
                } else if got != want {
                    out.push(format!("{https}: {got:?}, expected {want:?}"));
                }
            }
        }
    }
    out
}

fn show(hops: &[Request]) -> String {
    if hops.is_empty() {
        return "none".to_owned();
    }
    hops.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}
