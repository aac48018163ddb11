//! Semantic checks: rules that relate values to each other or need more than
//! a schema can say. Each problem points at the node that causes it, with
//! related nodes as secondary labels.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;

use super::image::{Image, ImageError};
use super::quantity;
use super::routing;
use crate::catalog::schema::closest;
use crate::catalog::types::{
    Catalog, Cluster, Eks, IngressClass, LoadBalancer, Resources, Service, Strategy, StrategyType,
};
use crate::catalog::{push_pointer, Parsed, SpanIndex};
use crate::diag::{Problem, SourceFile};

struct Ctx<'a> {
    src: &'a SourceFile,
    spans: &'a SpanIndex,
    out: Vec<Problem>,
}

impl Ctx<'_> {
    fn val(&self, p: &str) -> Range<usize> {
        self.spans.value(p)
    }
    fn key(&self, p: &str) -> Range<usize> {
        self.spans.key_or_value(p)
    }
    /// Whether an environment's override replaced this node (in an
    /// environment's view; never in the base catalog).
    fn overridden(&self, p: &str) -> bool {
        self.spans.resolve(p) != p
    }
    fn push(&mut self, p: Problem) {
        self.out.push(p);
    }
    fn problem(&self, code: &'static str, span: Range<usize>, msg: impl Into<String>) -> Problem {
        Problem::new(self.src, code, span, msg)
    }
}

/// The `1.NN` minor version of a K3s release like `v1.33.5+k3s1`.
pub fn k3s_minor(version: &str) -> Option<String> {
    let v = version.strip_prefix('v')?;
    let mut it = v.split('.');
    let major = it.next()?;
    let minor = it.next()?;
    Some(format!("{major}.{minor}"))
}

/// Run every semantic check; return all problems.
pub fn run(parsed: &Parsed) -> Vec<Problem> {
    let mut out = run_view(parsed);
    let mut cx = Ctx {
        src: &parsed.source,
        spans: &parsed.spans,
        out: Vec::new(),
    };
    environments(&mut cx, &parsed.catalog);
    out.append(&mut cx.out);
    out
}

/// The checks of the catalog's content, without those of its `environments`
/// block: what runs on an environment's view (`model::environment::view`).
pub fn run_view(parsed: &Parsed) -> Vec<Problem> {
    let mut cx = Ctx {
        src: &parsed.source,
        spans: &parsed.spans,
        out: Vec::new(),
    };
    let c = &parsed.catalog;
    namespaces(&mut cx, c);
    kubernetes_strings(&mut cx, c);
    services(&mut cx, c);
    routes(&mut cx, c);
    alb_route_order(&mut cx, c);
    ingress_front(&mut cx, c);
    calls(&mut cx, c);
    cluster(&mut cx, c);
    alerting(&mut cx, c);
    cx.out.extend(super::addons::check(parsed));
    object_names(&mut cx, parsed);
    cx.out.extend(super::jobs::check(parsed));
    cx.out.extend(super::mounts::check(parsed));
    if let Some(d) = &c.defaults {
        if let Some(s) = &d.strategy {
            strategy(&mut cx, "/defaults/strategy", s, None, false);
        }
    }
    cx.out
}

/// Labels gen sets itself on its PrometheusRules and ServiceMonitors.
const RESERVED_MONITORING_LABELS: [&str; 3] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
];

/// `alerting` names exactly one receiver, and its Prometheus labels do not
/// replace gen's own.
fn alerting(cx: &mut Ctx, c: &Catalog) {
    let Some(a) = &c.alerting else {
        return;
    };
    match (&a.slack, &a.webhook) {
        (Some(_), Some(_)) => {
            let p = cx
                .problem(
                    "catalog::alerting-receiver",
                    cx.key("/alerting/webhook"),
                    "`alerting` names two receivers; Alertmanager gets one",
                )
                .label("second receiver")
                .note(cx.key("/alerting/slack"), "first receiver")
                .help("keep `slack` for a Slack incoming webhook, or `webhook` for a receiver that reads Alertmanager's webhook JSON");
            cx.push(p);
        }
        (None, None) => {
            let p = cx
                .problem(
                    "catalog::alerting-receiver",
                    cx.key("/alerting"),
                    "`alerting` says nowhere to send alerts",
                )
                .label("no receiver")
                .help("add `slack: {url_secret: <secret>/<key>}` for a Slack incoming webhook, or `webhook: {url_secret: <secret>/<key>}` for a generic one");
            cx.push(p);
        }
        _ => {}
    }
    for key in a
        .prometheus_labels
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| RESERVED_MONITORING_LABELS.contains(&k.as_str()))
    {
        let p = cx
            .problem(
                "catalog::reserved-label",
                cx.key(&push_pointer("/alerting/prometheus_labels", key)),
                format!("label `{key}` is set by gen"),
            )
            .label("reserved")
            .help("remove it; gen names the service, the project and itself with it; select on another label such as `release`");
        cx.push(p);
    }
}

/// The `environments` block: overrides name existing services and things
/// that exist, and Argo CD deploys an environment that exists.
fn environments(cx: &mut Ctx, c: &Catalog) {
    let services: Vec<&str> = c.services.keys().map(String::as_str).collect();
    for (env, e) in &c.environments {
        let ep = push_pointer("/environments", env);
        for name in e.services.keys() {
            if c.services.contains_key(name) {
                continue;
            }
            let help = match closest(name, services.iter().copied()) {
                Some(s) => {
                    format!("did you mean `{s}`? An environment overrides services of `services:`")
                }
                None => format!(
                    "an environment overrides services of `services:`: {}",
                    services.join(", ")
                ),
            };
            let p = cx
                .problem(
                    "catalog::unknown-service",
                    cx.key(&push_pointer(&push_pointer(&ep, "services"), name)),
                    format!("environment `{env}` overrides `{name}`, which is not a service in this catalog"),
                )
                .label("unknown service")
                .help(help);
            cx.push(p);
        }
        if e.ingress.is_some() && c.ingress.is_none() {
            let p = cx
                .problem(
                    "catalog::environment-ingress",
                    cx.key(&push_pointer(&ep, "ingress")),
                    format!("environment `{env}` overrides the ingress, but the catalog has no `ingress`"),
                )
                .label("nothing to override")
                .help("add a top-level `ingress: {host: ..., class: nginx}`; an environment only changes its `host` and `tls_secret`");
            cx.push(p);
        }
    }
    let argo = c.gitops.as_ref().map(|g| &g.argocd);
    if let Some(env) = argo.and_then(|a| a.environment.as_deref()) {
        if !c.environments.contains_key(env) {
            let names: Vec<&str> = c.environments.keys().map(String::as_str).collect();
            let help = if names.is_empty() {
                format!("define `environments: {{{env}: {{...}}}}`, or remove `environment` to deploy the charts' default values")
            } else {
                match closest(env, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? Environments: {}", names.join(", ")),
                    None => format!(
                        "use one of the catalog's environments: {}",
                        names.join(", ")
                    ),
                }
            };
            let p = cx
                .problem(
                    "catalog::unknown-environment",
                    cx.val("/gitops/argocd/environment"),
                    format!("Argo CD deploys environment `{env}`, which is not in `environments`"),
                )
                .label("unknown environment")
                .help(help);
            cx.push(p);
        }
    }
}

/// Labels gen sets itself on Namespaces.
const RESERVED_NS_LABELS: [&str; 2] = ["app.kubernetes.io/part-of", "kubernetes.io/metadata.name"];

fn namespaces(cx: &mut Ctx, c: &Catalog) {
    let Some(declared) = &c.namespaces else {
        return;
    };
    for (name, ns) in declared {
        for key in ns.labels.keys().filter(|k| {
            RESERVED_NS_LABELS.contains(&k.as_str()) || k.starts_with("applyset.kubernetes.io/")
        }) {
            let ptr = push_pointer(
                &push_pointer(&push_pointer("/namespaces", name), "labels"),
                key,
            );
            let p = cx
                .problem(
                    "catalog::reserved-label",
                    cx.key(&ptr),
                    format!("label `{key}` is set by gen and Kubernetes"),
                )
                .label("reserved")
                .help(if key.starts_with("applyset.kubernetes.io/") {
                    "remove it; ApplySet membership is gen's to set (`gen apply`), and an object belongs to one set only"
                } else {
                    "remove it; gen sets it from the project and namespace names"
                });
            cx.push(p);
        }
    }
    let names: Vec<&str> = declared.keys().map(String::as_str).collect();
    let check = |cx: &mut Ctx, pointer: String, ns: &str| {
        if !declared.contains_key(ns) {
            let help = match closest(ns, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? Or declare `{ns}` under `namespaces:`"),
                None => format!(
                    "declare `{ns}` under `namespaces:` or use one of: {}",
                    names.join(", ")
                ),
            };
            let p = cx
                .problem(
                    "catalog::unknown-namespace",
                    cx.val(&pointer),
                    format!("namespace `{ns}` is not declared"),
                )
                .label("not in `namespaces`")
                .help(help);
            cx.push(p);
        }
    };
    let check_key = |cx: &mut Ctx, pointer: String, ns: &str| {
        if !declared.contains_key(ns) {
            let p = cx
                .problem("catalog::unknown-namespace", cx.key(&pointer), format!("this service runs in namespace `{ns}` (the project name), which is not declared"))
                .label("no `namespace` set")
                .note(cx.val("/project"), "default namespace comes from here")
                .help(format!("set `namespace:` on the service or `defaults.namespace`, or declare `{ns}` under `namespaces:`"));
            cx.push(p);
        }
    };
    if let Some(ns) = c.defaults.as_ref().and_then(|d| d.namespace.as_deref()) {
        check(cx, "/defaults/namespace".to_owned(), ns);
    }
    for (name, s) in &c.services {
        if let Some(ns) = &s.namespace {
            check(
                cx,
                push_pointer(&push_pointer("/services", name), "namespace"),
                ns,
            );
        } else if c
            .defaults
            .as_ref()
            .and_then(|d| d.namespace.as_ref())
            .is_none()
        {
            check_key(cx, push_pointer("/services", name), &c.project);
        }
    }
}

/// Catalog strings that become Kubernetes label keys and values, Secret
/// names and Secret/ConfigMap keys follow the API server's syntax
/// (`model::names`), so a catalog that passes is never refused by gen's own
/// validation of the objects (names, namespaces and hosts are held to it by
/// the schema's patterns).
fn kubernetes_strings(cx: &mut Ctx, c: &Catalog) {
    use super::names::{self, data_key, dns_subdomain, label_key, label_value};
    let bad = |cx: &mut Ctx, span: Range<usize>, what: String, rule: &str| {
        let p = cx
            .problem("catalog::invalid-name", span, what)
            .label("not accepted by Kubernetes")
            .help(format!("Kubernetes wants {rule}"));
        cx.push(p);
    };
    // A map of labels at `pointer`.
    let labels = |cx: &mut Ctx, pointer: &str, map: &std::collections::BTreeMap<String, String>| {
        for (k, v) in map {
            let at = push_pointer(pointer, k);
            if !label_key(k) {
                bad(
                    cx,
                    cx.key(&at),
                    format!("`{k}` is not a valid label key"),
                    names::LABEL_KEY_RULE,
                );
            }
            if !label_value(v) {
                bad(
                    cx,
                    cx.val(&at),
                    format!("`{v}` is not a valid value for label `{k}`"),
                    names::LABEL_VALUE_RULE,
                );
            }
        }
    };
    for (ns, decl) in c.namespaces.iter().flatten() {
        let lp = push_pointer(&push_pointer("/namespaces", ns), "labels");
        labels(cx, &lp, &decl.labels);
    }
    let secret_ref = |cx: &mut Ctx, pointer: &str, raw: &str| {
        let (secret, key) = raw.split_once('/').unwrap_or((raw, ""));
        if !dns_subdomain(secret) {
            bad(
                cx,
                cx.val(pointer),
                format!("`{secret}` is not a valid Secret name"),
                names::DNS_SUBDOMAIN_RULE,
            );
        } else if !data_key(key) {
            bad(
                cx,
                cx.val(pointer),
                format!("`{key}` is not a valid key of a Secret"),
                names::DATA_KEY_RULE,
            );
        }
    };
    if let Some(a) = &c.alerting {
        if let Some(sl) = &a.slack {
            secret_ref(cx, "/alerting/slack/url_secret", &sl.url_secret);
        }
        if let Some(w) = &a.webhook {
            secret_ref(cx, "/alerting/webhook/url_secret", &w.url_secret);
        }
        if let Some(map) = &a.prometheus_labels {
            labels(cx, "/alerting/prometheus_labels", map);
        }
    }
    for (name, s) in &c.services {
        let sp = push_pointer("/services", name);
        for (k, v) in &s.secret_env {
            secret_ref(cx, &push_pointer(&push_pointer(&sp, "secret_env"), k), v);
        }
        // Literal env becomes the keys of the service's ConfigMap.
        for k in s.env.keys().filter(|k| !data_key(k)) {
            let at = cx.key(&push_pointer(&push_pointer(&sp, "env"), k));
            bad(
                cx,
                at,
                format!("`{k}` is not a valid ConfigMap key"),
                names::DATA_KEY_RULE,
            );
        }
    }
}

/// A separate metrics port must not be the service's `port` (the only other
/// port a service exposes): the container and the Service would carry one
/// number twice under two names.
fn metrics_port(cx: &mut Ctx, sp: &str, s: &Service) {
    let Some(m) = s.alerts.as_ref().and_then(|a| a.metrics.as_ref()?.port) else {
        return;
    };
    if Some(m) != s.port {
        return;
    }
    let at = push_pointer(
        &push_pointer(&push_pointer(sp, "alerts"), "metrics"),
        "port",
    );
    let p = cx
        .problem(
            "catalog::metrics-port",
            cx.val(&at),
            format!("`alerts.metrics.port` ({m}) is the service's `port`"),
        )
        .label("metrics port")
        .note(cx.val(&push_pointer(sp, "port")), "service port")
        .help(format!(
            "drop `metrics.port` when the metrics are served on port {m}, or set it to the separate management port (e.g. Spring's `management.server.port`)"
        ));
    cx.push(p);
}

fn services(cx: &mut Ctx, c: &Catalog) {
    for (name, s) in &c.services {
        let sp = push_pointer("/services", name);
        let at = |k: &str| push_pointer(&sp, k);

        // Image pinned and well-formed.
        let latest_waived = waives(s, "image-latest");
        image(cx, &at("image"), &s.image, latest_waived);
        waivers(cx, &sp, s);
        canary_traffic(cx, c, name, s);
        if s.alerts.is_some() && c.alerting.is_none() {
            let p = cx
                .problem("catalog::alerts-without-receiver", cx.key(&at("alerts")), format!("`{name}` has alerts but the catalog says nowhere to send them"))
                .label("no receiver")
                .help("add `alerting: {slack: {url_secret: <secret>/<key>}}` (or `webhook:` for a generic webhook) naming the Secret that holds the URL");
            cx.push(p);
        }
        metrics_port(cx, &sp, s);
        let mut ccx = super::container::Cx {
            src: cx.src,
            spans: cx.spans,
            out: Vec::new(),
        };
        super::container::check(&mut ccx, &sp, s);
        cx.out.append(&mut ccx.out);
        for (i, e) in s.egress.iter().enumerate() {
            cidr(
                cx,
                &push_pointer(&push_pointer(&at("egress"), &i.to_string()), "cidr"),
                &e.cidr.0,
            );
        }

        // HPA range and replicas.
        if let Some(h) = &s.hpa {
            let hp = at("hpa");
            if h.min > h.max {
                let p = cx
                    .problem(
                        "catalog::hpa-range",
                        cx.val(&push_pointer(&hp, "min")),
                        format!(
                            "`hpa.min` ({}) is greater than `hpa.max` ({})",
                            h.min, h.max
                        ),
                    )
                    .label("min")
                    .note(cx.val(&push_pointer(&hp, "max")), "max")
                    .help("make `min` less than or equal to `max`");
                cx.push(p);
            }
            if let Some(r) = s.replicas.filter(|_| h.min <= h.max) {
                if r < h.min || r > h.max {
                    let p = cx
                        .problem("catalog::replicas-outside-hpa", cx.val(&at("replicas")), format!("`replicas` ({r}) lies outside the HPA range {}..={}", h.min, h.max))
                        .label("initial replicas")
                        .note(cx.key(&hp), "HPA range set here")
                        .help(format!("set `replicas` between {} and {}, or drop it (the HPA starts at `hpa.min`)", h.min, h.max));
                    cx.push(p);
                }
            }
        }

        // PDB must leave room for evictions.
        if let Some(m) = s.min_available {
            // The guaranteed count, where it is set and the key to raise.
            let (guaranteed, source, key) = match (&s.hpa, s.replicas) {
                (Some(h), _) => (h.min, Some(push_pointer(&at("hpa"), "min")), "`hpa.min`"),
                (None, Some(r)) => (r, Some(at("replicas")), "`replicas`"),
                (None, None) => match c.defaults.as_ref().and_then(|d| d.replicas) {
                    Some(r) => (
                        r,
                        Some("/defaults/replicas".to_owned()),
                        "`defaults.replicas`",
                    ),
                    // An environment's `null` that unset the count is
                    // where the 1 comes from.
                    None => (
                        1,
                        [at("replicas"), "/defaults/replicas".to_owned()]
                            .into_iter()
                            .find(|p| cx.overridden(p)),
                        "`replicas`",
                    ),
                },
            };
            if m >= guaranteed {
                let mut p = cx
                    .problem("catalog::min-available", cx.val(&at("min_available")), format!("`min_available` ({m}) is not below the guaranteed replicas ({guaranteed}); no pod could ever be evicted and node drains would hang"))
                    .label("blocks every eviction");
                if let Some(src) = source {
                    p = p.note(cx.val(&src), "guaranteed replicas");
                }
                // `min_available` is at least 1: below 2 guaranteed
                // replicas there is nothing to lower it to.
                let other = if guaranteed >= 2 {
                    format!("lower `min_available` to {}", guaranteed - 1)
                } else {
                    "remove `min_available` (one replica leaves no room for a disruption budget)"
                        .to_owned()
                };
                let p = p.help(format!(
                    "raise {key} to {}, or {other}",
                    m.saturating_add(1)
                ));
                cx.push(p);
            }
        }

        // Routes need a host.
        if !s.routes.is_empty() && c.ingress.is_none() {
            let p = cx
                .problem(
                    "catalog::route-without-host",
                    cx.key(&at("routes")),
                    format!("service `{name}` has routes but the catalog has no `ingress` to serve them"),
                )
                .label("routes need an ingress")
                .help("add a top-level `ingress: {host: ..., class: nginx}`; a service's own `host:` only changes the host name");
            cx.push(p);
        }

        // env and secret_env must not define the same variable.
        for k in s.env.keys() {
            if s.secret_env.contains_key(k) {
                let p = cx
                    .problem(
                        "catalog::duplicate-env",
                        cx.key(&push_pointer(&at("secret_env"), k)),
                        format!("environment variable `{k}` is set in both `env` and `secret_env`"),
                    )
                    .label("second definition")
                    .note(cx.key(&push_pointer(&at("env"), k)), "first definition")
                    .help("keep only one of the two");
                cx.push(p);
            }
        }

        let dres = c.defaults.as_ref().and_then(|d| d.resources.as_ref());
        effective_resources(cx, &sp, s.resources.as_ref(), dres);
        let dstrat = c.defaults.as_ref().and_then(|d| d.strategy.as_ref());
        if let Some(st) = &s.strategy {
            strategy(
                cx,
                &at("strategy"),
                st,
                dstrat.and_then(|d| d.kind),
                latest_waived,
            );
        }
        effective_strategy(cx, &sp, s.strategy.as_ref(), dstrat);

        // Route list without duplicates inside one service.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, r) in s.routes.iter().enumerate() {
            let norm = normalize_route(r);
            if let Some(first) = seen.get(&norm) {
                let p = cx
                    .problem(
                        "catalog::duplicate-route",
                        cx.val(&push_pointer(&at("routes"), &i.to_string())),
                        format!("route `{r}` is listed twice in service `{name}`"),
                    )
                    .label("repeated")
                    .note(
                        cx.val(&push_pointer(&at("routes"), &first.to_string())),
                        "first listed here",
                    )
                    .help("remove the repeated route");
                cx.push(p);
            } else {
                seen.insert(norm, i);
            }
        }
    }
}

/// No two services may make objects of the same namespace, kind and name
/// (`api`'s canary track and a service `api-canary` would overwrite each
/// other). Reported at the service written second, naming the first and,
/// where a key makes the object exist (`strategy`, `hpa`, `env`), that key,
/// so an environment's override that causes it is shown.
fn object_names(cx: &mut Ctx, parsed: &Parsed) {
    let model = super::resolve(parsed);
    let at = |i: usize| cx.key(&model.services[i].pointer);
    let mut found = Vec::new();
    for k in super::objects::collisions(&model, |i| at(i).start) {
        let (a, b) = (&model.services[k.first], &model.services[k.second]);
        let list: Vec<String> = k
            .objects
            .iter()
            .map(|(o, _)| format!("{} `{}`", o.kind, o.name))
            .collect();
        let mut p = cx
            .problem(
                "catalog::name-collision",
                at(k.second),
                format!(
                    "services `{}` and `{}` both make {} in namespace `{}`",
                    a.name,
                    b.name,
                    list.join(", "),
                    b.namespace
                ),
            )
            .label("second service with these names")
            .note(at(k.first), format!("`{}` makes them first", a.name));
        let mut noted = vec![at(k.first), at(k.second)];
        for (svc, because) in k
            .objects
            .iter()
            .flat_map(|(x, y)| [(a, x.because), (b, y.because)])
        {
            let Some(key) = because else { continue };
            let span = cx.key(&push_pointer(&svc.pointer, key));
            if !noted.contains(&span) {
                p = p.note(span.clone(), format!("`{key}` of `{}` adds them", svc.name));
                noted.push(span);
            }
        }
        let help = format!(
            "rename `{}` or move it to another namespace: a service `<name>` makes objects named `<name>`, `<name>-env` (its ConfigMap), `<name>-blue` and `<name>-green` (blue-green), `<name>-canary` (canary), so no other service in its namespace may use those names",
            b.name
        );
        found.push(p.help(help));
    }
    cx.out.append(&mut found);
}

/// Catalog checks a waiver may name, besides every lint rule.
pub const WAIVABLE: [&str; 1] = ["image-latest"];

/// Whether a service waives `rule`.
pub fn waives(s: &crate::catalog::types::Service, rule: &str) -> bool {
    s.waivers.iter().any(|w| w.rule == rule)
}

fn image(cx: &mut Ctx, pointer: &str, raw: &str, latest_waived: bool) {
    let (msg, help) = match Image::parse(raw) {
        Ok(_) => return,
        Err(ImageError::Latest) if latest_waived => return,
        Err(ImageError::Syntax(why)) => (format!("`{raw}` is not a valid image reference: {why}"), "write `[registry/]repository:tag` or `repository@sha256:<digest>`".to_owned()),
        Err(ImageError::Unpinned) => (
            format!("image `{raw}` is not pinned to a version"),
            format!("add an immutable tag such as `{raw}:1.4.2-3f9c2ab` (version + git hash) or a digest `@sha256:...`; an unpinned image does not roll the Deployment when re-pushed"),
        ),
        Err(ImageError::Latest) => (
            format!("image `{raw}` uses the mutable tag `latest`"),
            "use a unique tag per build such as `<version>-<git hash>`, or a digest; re-pushing `latest` does not roll the Deployment. If there is truly no other tag, add `waivers: [{rule: image-latest, reason: ...}]` to the service".to_owned(),
        ),
    };
    let p = cx
        .problem("catalog::image", cx.val(pointer), msg)
        .label("image")
        .help(help);
    cx.push(p);
}

/// Compare effective (service over defaults) requests and limits.
fn effective_resources(
    cx: &mut Ctx,
    sp: &str,
    own: Option<&Resources>,
    defaults: Option<&Resources>,
) {
    type Get = fn(&Resources) -> Option<&crate::catalog::scalars::Quantity>;
    let pick = |get: Get, key: &str| -> Option<(String, String)> {
        if let Some(q) = own.and_then(get) {
            return Some((
                q.0.clone(),
                push_pointer(&push_pointer(sp, "resources"), key),
            ));
        }
        defaults
            .and_then(get)
            .map(|q| (q.0.clone(), push_pointer("/defaults/resources", key)))
    };
    let pairs: [(&str, Get, &str, Get); 2] = [
        (
            "cpu",
            |r| r.cpu.as_ref(),
            "cpu_limit",
            |r| r.cpu_limit.as_ref(),
        ),
        (
            "memory",
            |r| r.memory.as_ref(),
            "memory_limit",
            |r| r.memory_limit.as_ref(),
        ),
    ];
    // Requests fall back to gen's built-in defaults (then reported at the limit).
    let builtin = |key: &str| match key {
        "cpu" => Some((crate::model::DEFAULT_CPU.to_owned(), String::new())),
        "memory" => Some((crate::model::DEFAULT_MEMORY.to_owned(), String::new())),
        _ => None,
    };
    for (req_key, req_get, lim_key, lim_get) in pairs {
        let (Some((req, req_ptr)), Some((lim, lim_ptr))) = (
            pick(req_get, req_key).or_else(|| builtin(req_key)),
            pick(lim_get, lim_key),
        ) else {
            continue;
        };
        let (Some(a), Some(b)) = (quantity::value(&req), quantity::value(&lim)) else {
            continue;
        };
        if b < a {
            if req_ptr.is_empty() {
                let p = cx
                    .problem("catalog::limit-below-request", cx.val(&lim_ptr), format!("`{lim_key}` ({lim}) is below gen's default request `{req_key}` ({req})"))
                    .label("here")
                    .help(format!("raise the limit, or set the request `{req_key}` at or below it"));
                cx.push(p);
                continue;
            }
            let (at, other, other_text) = if lim_ptr.starts_with(sp) {
                (lim_ptr, req_ptr, "request")
            } else {
                (req_ptr, lim_ptr, "limit")
            };
            let p = cx
                .problem("catalog::limit-below-request", cx.val(&at), format!("`{lim_key}` ({lim}) is below the request `{req_key}` ({req})"))
                .label("here")
                .note(cx.val(&other), other_text)
                .help("Kubernetes refuses a limit below its request; raise the limit or lower the request");
            cx.push(p);
        }
    }
}

/// Checks on the effective strategy of a service (its own over defaults).
fn effective_strategy(cx: &mut Ctx, sp: &str, own: Option<&Strategy>, defaults: Option<&Strategy>) {
    use crate::catalog::scalars::IntOrPercent;
    let kind = own
        .and_then(|s| s.kind)
        .or(defaults.and_then(|d| d.kind))
        .unwrap_or_default();
    let sptr = push_pointer(sp, "strategy");
    if kind == StrategyType::Canary && own.and_then(|s| s.canary_image.as_ref()).is_none() {
        let at = if own.is_some() {
            cx.key(&sptr)
        } else {
            cx.key(sp)
        };
        let p = cx
            .problem("catalog::canary-image", at, "a canary strategy needs `canary_image`, the new version to try")
            .label("canary without a candidate")
            .help("add `strategy: {canary_image: <repository>:<new tag>}`; promote by moving it to `image` and removing the canary");
        cx.push(p);
    }
    if kind == StrategyType::BlueGreen {
        return;
    }

    type Get = fn(&Strategy) -> Option<&IntOrPercent>;
    let pick = |get: Get, key: &str| {
        own.and_then(get)
            .map(|v| (v.clone(), push_pointer(&sptr, key)))
            .or_else(|| {
                defaults
                    .and_then(get)
                    .map(|v| (v.clone(), push_pointer("/defaults/strategy", key)))
            })
    };
    let zero = |v: &IntOrPercent| matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0));
    let surge = pick(|s| s.max_surge.as_ref(), "max_surge");
    let unavailable = pick(|s| s.max_unavailable.as_ref(), "max_unavailable");
    if let (Some((s, sptr2)), Some((u, uptr))) = (surge, unavailable) {
        if zero(&s) && zero(&u) {
            let p = cx
                .problem("catalog::rolling-stuck", cx.val(&sptr2), "`max_surge` and `max_unavailable` are both 0, so a rollout can never make progress")
                .label("no room to roll")
                .note(cx.val(&uptr), "also 0")
                .help("for zero downtime keep `max_unavailable: 0` and set `max_surge: 1` (or 25%)");
            cx.push(p);
        }
    }
}

fn strategy(
    cx: &mut Ctx,
    pointer: &str,
    s: &Strategy,
    inherited: Option<StrategyType>,
    latest_waived: bool,
) {
    let kind = s.kind.or(inherited).unwrap_or_default();
    let kind_name = match kind {
        StrategyType::Rolling => "rolling",
        StrategyType::BlueGreen => "blue-green",
        StrategyType::Canary => "canary",
    };
    let fields: [(&str, bool, &[StrategyType]); 7] = [
        (
            "max_surge",
            s.max_surge.is_some(),
            &[StrategyType::Rolling, StrategyType::Canary],
        ),
        (
            "max_unavailable",
            s.max_unavailable.is_some(),
            &[StrategyType::Rolling, StrategyType::Canary],
        ),
        ("live", s.live.is_some(), &[StrategyType::BlueGreen]),
        (
            "blue_image",
            s.blue_image.is_some(),
            &[StrategyType::BlueGreen],
        ),
        (
            "green_image",
            s.green_image.is_some(),
            &[StrategyType::BlueGreen],
        ),
        (
            "canary_image",
            s.canary_image.is_some(),
            &[StrategyType::Canary],
        ),
        (
            "canary_weight",
            s.canary_weight.is_some(),
            &[StrategyType::Canary],
        ),
    ];
    for (field, set, allowed) in fields {
        if set && !allowed.contains(&kind) {
            let p = cx
                .problem(
                    "catalog::strategy-field",
                    cx.key(&push_pointer(pointer, field)),
                    format!("`{field}` does not apply to a {kind_name} strategy"),
                )
                .label("ignored by this strategy")
                .help(format!(
                    "remove `{field}`, or set `type:` to the strategy it belongs to"
                ));
            cx.push(p);
        }
    }
    let images = [
        ("blue_image", &s.blue_image),
        ("green_image", &s.green_image),
        ("canary_image", &s.canary_image),
    ];
    for (field, value) in images {
        let Some(raw) = value else { continue };
        let at = push_pointer(pointer, field);
        image(cx, &at, raw, latest_waived);
        if pointer.starts_with("/defaults") {
            let p = cx
                .problem(
                    "catalog::strategy-field",
                    cx.key(&at),
                    format!("`{field}` cannot be a default: images belong to one service"),
                )
                .label("not inherited")
                .help(format!(
                    "move `{field}` into the `strategy` of the service it belongs to"
                ));
            cx.push(p);
        }
    }
}

/// `/student/` and `/student` are the same Prefix route.
fn normalize_route(r: &str) -> String {
    let t = r.trim_end_matches('/');
    if t.is_empty() {
        "/".to_owned()
    } else {
        t.to_owned()
    }
}

fn routes(cx: &mut Ctx, c: &Catalog) {
    let default_host = c
        .ingress
        .as_ref()
        .map(|i| i.host.clone())
        .unwrap_or_default();
    // (host, route) -> (service, route pointer, host pointer)
    let mut owners: BTreeMap<(String, String), (String, String, String)> = BTreeMap::new();
    for (name, s) in &c.services {
        let sp = push_pointer("/services", name);
        let host = s.host.clone().unwrap_or_else(|| default_host.clone());
        let host_ptr = if s.host.is_some() {
            push_pointer(&sp, "host")
        } else {
            "/ingress/host".to_owned()
        };
        let mut in_service = BTreeSet::new();
        for (i, r) in s.routes.iter().enumerate() {
            let norm = normalize_route(r);
            if !in_service.insert(norm.clone()) {
                continue;
            }
            let pointer = push_pointer(&push_pointer(&sp, "routes"), &i.to_string());
            match owners.get(&(host.clone(), norm.clone())) {
                Some((other, other_ptr, other_host)) => {
                    let message = if host.is_empty() {
                        format!("route `{r}` is claimed by both `{other}` and `{name}`")
                    } else {
                        format!("route `{r}` on host `{host}` is claimed by both `{other}` and `{name}`")
                    };
                    let help = "each path prefix on a host must belong to one service; rename one of the routes or move one service to another `host`";
                    // An environment's host override that brings the two
                    // together is the cause: point there.
                    let p = match [&host_ptr, other_host]
                        .into_iter()
                        .find(|h| cx.overridden(h))
                    {
                        Some(h) => cx
                            .problem("catalog::route-conflict", cx.val(h), message)
                            .label(format!("this host puts `{name}` and `{other}` on `{host}`"))
                            .note(cx.val(&pointer), format!("claimed by `{name}`"))
                            .note(cx.val(other_ptr), format!("already claimed by `{other}`")),
                        None => cx
                            .problem("catalog::route-conflict", cx.val(&pointer), message)
                            .label(format!("claimed by `{name}`"))
                            .note(cx.val(other_ptr), format!("already claimed by `{other}`")),
                    };
                    cx.push(p.help(help));
                }
                None => {
                    owners.insert(
                        (host.clone(), norm),
                        (name.clone(), pointer, host_ptr.clone()),
                    );
                }
            }
        }
    }
}

/// With `class: alb` every routed service is one Ingress of one
/// IngressGroup, and the ALB evaluates Ingresses in `group.order`: refuse
/// routes that no order serves (each service has a route under the other's).
fn alb_route_order(cx: &mut Ctx, c: &Catalog) {
    let Some(ing) = c.ingress.as_ref().filter(|i| i.class == IngressClass::Alb) else {
        return;
    };
    let services: Vec<(&str, Vec<(&str, &str)>)> = c
        .services
        .iter()
        .map(|(name, s)| {
            let host = s.host.as_deref().unwrap_or(&ing.host);
            (
                name.as_str(),
                s.routes.iter().map(|r| (host, r.as_str())).collect(),
            )
        })
        .collect();
    let pointer = |service: &str, route: &str| {
        let s = &c.services[service];
        let i = s
            .routes
            .iter()
            .position(|r| routing::normalize(r) == route)
            .unwrap_or(0);
        push_pointer(
            &push_pointer(&push_pointer("/services", service), "routes"),
            &i.to_string(),
        )
    };
    match routing::alb_group_orders(&services) {
        Ok(_) => {}
        Err(routing::OrderError::Conflict(k)) => {
            let ((inner, ir), (outer, or)) = (&k.inner, &k.outer);
            let mut p = cx
                .problem(
                    "catalog::alb-route-order",
                    cx.val(&pointer(inner, ir)),
                    format!("behind `class: alb` no rule order serves both `{inner}` and `{outer}`: each has a route under the other's"),
                )
                .label(format!("`{ir}` lies under `{or}` of `{outer}`, so `{inner}` must come first"))
                .note(cx.val(&pointer(outer, or)), format!("route of `{outer}`"));
            if let Some((b, br)) = &k.back {
                p = p.note(
                    cx.val(&pointer(b, br)),
                    format!("and this route of `{b}` lies under a route of `{inner}`, so `{b}` must come first"),
                );
            }
            cx.push(p.help("the ALB orders the Ingresses of one group as a whole (one per service); move the nested route to the service it lies under, give one service its own `host`, or use `class: nginx`, which picks the longest route across services"));
        }
        Err(routing::OrderError::TooDeep(svc)) => {
            let p = cx
                .problem("catalog::alb-route-order", cx.val("/ingress/class"), format!("behind `class: alb` the routes nest more than {} services deep (at `{svc}`)", routing::ALB_ORDER_RANGE.1))
                .label("ALB")
                .help("`group.order` ranges from -1000 to 1000; flatten the route hierarchy or use `class: nginx`");
            cx.push(p);
        }
    }
}

/// What stands in front of the ingress controller (`cluster.aws.load_balancer`)
/// and where TLS ends must give every request one answer: refuse the
/// combinations that would redirect forever or to an HTTPS nobody serves.
fn ingress_front(cx: &mut Ctx, c: &Catalog) {
    let Some(ing) = &c.ingress else { return };
    let lb = c
        .cluster
        .as_ref()
        .and_then(|cl| cl.aws.as_ref())
        .and_then(|a| a.load_balancer);
    let k3s = c.cluster.as_ref().is_some_and(|cl| cl.k3s.is_some());
    let redirect = ing.https_redirect.unwrap_or(ing.tls_secret.is_some());
    let class = match ing.class {
        IngressClass::Nginx => "nginx",
        IngressClass::Traefik => "traefik",
        IngressClass::Alb => "alb",
    };
    let lb_at = "/cluster/aws/load_balancer";
    let redirect_at = if ing.https_redirect.is_some() {
        "/ingress/https_redirect"
    } else {
        "/ingress/tls_secret"
    };
    match (ing.class, lb) {
        (IngressClass::Alb, Some(LoadBalancer::Nlb)) => {
            let p = cx
                .problem("catalog::load-balancer-class", cx.val(lb_at), "an NLB cannot stand in front of `class: alb`: the AWS Load Balancer Controller makes its own ALB the load balancer")
                .label("NLB")
                .note(cx.val("/ingress/class"), "the ALB is the entry point")
                .help("set `load_balancer: alb` (the ALB the controller creates; attach the `load_balancer` security group to it) or remove it, or keep the NLB with `class: nginx` or `traefik`");
            cx.push(p);
        }
        (IngressClass::Alb, _) => {}
        (_, Some(LoadBalancer::Alb)) if redirect && !k3s => {
            let p = cx
                .problem("catalog::load-balancer-controller", cx.val(lb_at), format!("behind an ALB, the {class} controller must take the scheme from the ALB's X-Forwarded-Proto to redirect only plain HTTP, and gen configures that only on the controller it installs on K3s"))
                .label("TLS ends here and HTTPS reaches the controller as plain HTTP")
                .note(cx.val(redirect_at), "HTTP is redirected to HTTPS")
                .help(format!("add `cluster.k3s` so gen installs the {class} controller configured for the ALB, or use `class: alb`; with a controller of your own, remove `load_balancer`, trust X-Forwarded-Proto from the ALB in it (ingress-nginx `use-forwarded-headers`, Traefik `forwardedHeaders.trustedIPs`) and end TLS at it with `tls_secret`"));
            cx.push(p);
        }
        (_, Some(LoadBalancer::Alb)) => {}
        (_, lb) if redirect && ing.tls_secret.is_none() => {
            let why = if lb == Some(LoadBalancer::Nlb) {
                format!("the NLB passes TCP through to the {class} controller, which has no certificate for the host")
            } else {
                format!("no load balancer that ends TLS stands in front of the {class} controller (`cluster.aws.load_balancer`), and the controller has no certificate for the host")
            };
            let mut p = cx
                .problem("catalog::redirect-without-tls", cx.val("/ingress/https_redirect"), format!("`https_redirect: true` without `tls_secret` sends clients to HTTPS that nothing serves: {why}"))
                .label("redirect to HTTPS");
            if lb.is_some() {
                p = p.note(cx.val(lb_at), "TCP pass-through");
            }
            cx.push(p.help("set `ingress.tls_secret` so the controller ends TLS with the host's certificate, or put an ALB in front (`cluster.aws.load_balancer: alb` with `cluster.k3s`), or use `class: alb`; or remove `https_redirect`"));
        }
        (IngressClass::Traefik, _) if redirect && !k3s => {
            let p = cx
                .problem("catalog::traefik-redirect-without-k3s", cx.val(redirect_at), "Traefik redirects HTTP to HTTPS through its own configuration (its `web` entry point), which gen writes only for the Traefik it installs with K3s")
                .label("HTTP is to be redirected to HTTPS")
                .help("add `cluster.k3s` so gen configures K3s's Traefik, or use `class: nginx` (the redirect is an Ingress annotation there); with a Traefik of your own, set `https_redirect: false` and redirect its `web` entry point yourself");
            cx.push(p);
        }
        _ => {}
    }
}

fn calls(cx: &mut Ctx, c: &Catalog) {
    let names: Vec<&str> = c.services.keys().map(String::as_str).collect();
    for (name, s) in &c.services {
        let base = push_pointer(&push_pointer("/services", name), "calls");
        for (i, target) in s.calls.iter().enumerate() {
            let pointer = push_pointer(&base, &i.to_string());
            if target == name {
                let p = cx
                    .problem(
                        "catalog::self-call",
                        cx.val(&pointer),
                        format!("service `{name}` lists itself in `calls`"),
                    )
                    .label("calls itself")
                    .help("remove it: pods of one service may always talk to each other");
                cx.push(p);
            } else if !c.services.contains_key(target) {
                let help = match closest(target, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "`calls` names services of this catalog: {}",
                        names.join(", ")
                    ),
                };
                let p = cx
                    .problem(
                        "catalog::unknown-service",
                        cx.val(&pointer),
                        format!(
                            "`{name}` calls `{target}`, which is not a service in this catalog"
                        ),
                    )
                    .label("unknown service")
                    .help(help);
                cx.push(p);
            }
        }
    }
}

fn cidr(cx: &mut Ctx, pointer: &str, raw: &str) {
    match raw.parse::<IpNet>() {
        Ok(net) => {
            if net.trunc() != net {
                let p = cx
                    .problem(
                        "catalog::cidr-host-bits",
                        cx.val(pointer),
                        format!("`{raw}` has host bits set"),
                    )
                    .label("not a network address")
                    .help(format!(
                        "did you mean `{}`? For one address use /{}",
                        net.trunc(),
                        net.max_prefix_len()
                    ));
                cx.push(p);
            }
        }
        Err(_) => {
            let help = match raw.parse::<IpAddr>() {
                Ok(ip) => format!(
                    "add a prefix length, e.g. `{raw}/{}` for this one address",
                    if ip.is_ipv4() { 32 } else { 128 }
                ),
                Err(_) => "write an IPv4 or IPv6 network such as `203.0.113.7/32` or `10.0.0.0/16`"
                    .to_owned(),
            };
            let p = cx
                .problem(
                    "catalog::invalid-cidr",
                    cx.val(pointer),
                    format!("`{raw}` is not a valid CIDR"),
                )
                .label("invalid CIDR")
                .help(help);
            cx.push(p);
        }
    }
}

/// A zone listed a second time, at `pointer`.
fn duplicate_zone(cx: &mut Ctx, pointer: &str, zone: &str) {
    let p = cx
        .problem(
            "catalog::duplicate-zone",
            cx.val(pointer),
            format!("zone `{zone}` is listed twice"),
        )
        .help("list each zone once");
    cx.push(p);
}

fn cluster(cx: &mut Ctx, c: &Catalog) {
    let Some(cl) = &c.cluster else { return };
    if let Some(k) = &cl.k3s {
        let servers = k.servers;
        if servers % 2 == 0 {
            let p = cx
                .problem("catalog::k3s-quorum", cx.val("/cluster/k3s/servers"), format!("{servers} K3s servers cannot keep etcd quorum"))
                .label("even server count")
                .help(format!("etcd needs a majority: {servers} servers tolerate no more failures than {}; use 1 (single server) or an odd number such as 3 or 5", servers - 1));
            cx.push(p);
        }
        if let (Some(want), Some(have)) = (&c.kubernetes, k3s_minor(&k.version)) {
            if *want != have {
                let p = cx
                    .problem("catalog::kubernetes-version", cx.val("/kubernetes"), format!("`kubernetes: {want}` disagrees with K3s {} (Kubernetes {have})", k.version))
                    .label("targeted version")
                    .note(cx.val("/cluster/k3s/version"), "K3s release")
                    .help(format!("set `kubernetes: \"{have}\"` or remove it (it defaults to the K3s version)"));
                cx.push(p);
            }
        }
    }
    if let Some(e) = &cl.eks {
        eks(cx, c, cl, e);
    }
    if let Some(a) = &cl.aws {
        ipv6_consistency(cx, c, a);
        if a.load_balancer.is_some() && c.ingress.is_none() {
            let p = cx
                .problem("catalog::load-balancer-without-ingress", cx.key("/cluster/aws/load_balancer"), "a load balancer needs the top-level `ingress` it forwards to")
                .label("nothing behind it")
                .help("add `ingress: {host: ..., class: nginx}` and routes, or remove `load_balancer`");
            cx.push(p);
        }
        cidr(cx, "/cluster/aws/vpc_cidr", &a.vpc_cidr.0);
        for (i, ac) in a.admin_cidrs.iter().enumerate() {
            cidr(cx, &format!("/cluster/aws/admin_cidrs/{i}"), &ac.0);
        }
        let mut seen = BTreeSet::new();
        for (i, z) in a.zones.iter().enumerate() {
            let p = format!("/cluster/aws/zones/{i}");
            let in_region = z.strip_prefix(a.region.as_str()).is_some_and(|rest| {
                rest.len() == 1 && rest.chars().all(|ch| ch.is_ascii_lowercase())
            });
            if !in_region {
                let pr = cx
                    .problem(
                        "catalog::zone-region",
                        cx.val(&p),
                        format!(
                            "zone `{z}` is not an availability zone of region `{}`",
                            a.region
                        ),
                    )
                    .label("wrong zone")
                    .note(cx.val("/cluster/aws/region"), "region")
                    .help(format!(
                        "zones of {} look like `{}a`, `{}c`",
                        a.region, a.region, a.region
                    ));
                cx.push(pr);
            } else if !seen.insert(z.clone()) {
                duplicate_zone(cx, &p, z);
            }
        }
        if let Some(asg) = &a.autoscaling {
            let agents = cl.k3s.as_ref().map(|k| k.agents);
            if asg.min > asg.max {
                let p = cx
                    .problem(
                        "catalog::autoscaling-range",
                        cx.val("/cluster/aws/autoscaling/min"),
                        format!(
                            "`autoscaling.min` ({}) is greater than `autoscaling.max` ({})",
                            asg.min, asg.max
                        ),
                    )
                    .note(cx.val("/cluster/aws/autoscaling/max"), "max")
                    .help("make `min` less than or equal to `max`");
                cx.push(p);
            } else if let Some(n) = agents {
                if n < asg.min || n > asg.max {
                    let p = cx
                        .problem(
                            "catalog::autoscaling-range",
                            cx.val("/cluster/k3s/agents"),
                            format!(
                                "{n} agents lie outside the auto scaling range {}..={}",
                                asg.min, asg.max
                            ),
                        )
                        .label("desired agents")
                        .note(cx.key("/cluster/aws/autoscaling"), "range")
                        .help("make `cluster.k3s.agents` the desired size inside the range");
                    cx.push(p);
                }
            }
        }
    }
}

/// EKS: one cluster kind, the AWS facts it needs, node groups that can be
/// scheduled, and only the ingress set-ups gen installs there.
fn eks(cx: &mut Ctx, c: &Catalog, cl: &Cluster, e: &Eks) {
    if cl.k3s.is_some() {
        let p = cx
            .problem("catalog::cluster-kind", cx.key("/cluster/eks"), "a cluster is either K3s or EKS, not both")
            .label("EKS")
            .note(cx.key("/cluster/k3s"), "K3s")
            .help("keep `cluster.eks` for Amazon's managed control plane or `cluster.k3s` for K3s on EC2 machines; describe a second cluster in a catalog of its own");
        cx.push(p);
    }
    let Some(a) = &cl.aws else {
        let p = cx
            .problem("catalog::eks-without-aws", cx.key("/cluster/eks"), "EKS runs in an AWS VPC, and the catalog has no `cluster.aws`")
            .label("needs region, VPC, zones and admin networks")
            .help("add `cluster.aws: {region: ..., vpc_cidr: ..., admin_cidrs: [...], zones: [..., ...]}`");
        cx.push(p);
        return;
    };
    if let Some(want) = &c.kubernetes {
        if *want != e.version {
            let p = cx
                .problem(
                    "catalog::kubernetes-version",
                    cx.val("/kubernetes"),
                    format!(
                        "`kubernetes: {want}` disagrees with the EKS control plane's version {}",
                        e.version
                    ),
                )
                .label("targeted version")
                .note(cx.val("/cluster/eks/version"), "EKS version")
                .help(format!(
                    "set `kubernetes: \"{}\"` or remove it (it defaults to the EKS version)",
                    e.version
                ));
            cx.push(p);
        }
    }
    if a.zones.len() < 2 {
        let at = if a.zones.is_empty() {
            cx.key("/cluster/aws")
        } else {
            cx.val("/cluster/aws/zones")
        };
        let p = cx
            .problem("catalog::eks-zones", at, format!("EKS needs subnets in at least two availability zones; `cluster.aws.zones` lists {}", a.zones.len()))
            .label("fewer than two zones")
            .help(format!("list two or more zones of {}, e.g. `zones: [{}a, {}c]`", a.region, a.region, a.region));
        cx.push(p);
    }
    // eksctl lays the VPC's subnets out itself and takes /16 to /24 only.
    if let Ok(net) = a.vpc_cidr.0.parse::<IpNet>() {
        let len = net.prefix_len();
        if net.addr().is_ipv4() && !(16..=24).contains(&len) {
            let p = cx
                .problem(
                    "catalog::eks-vpc-cidr",
                    cx.val("/cluster/aws/vpc_cidr"),
                    format!(
                        "eksctl creates an EKS VPC of /16 to /24 only, and `{}` is a /{len}",
                        a.vpc_cidr.0
                    ),
                )
                .label(if len < 16 {
                    "wider than /16"
                } else {
                    "narrower than /24"
                })
                .note(cx.key("/cluster/eks"), "eksctl lays out the subnets")
                .help("choose a /16 (e.g. `10.0.0.0/16`, room for large node groups) up to a /24");
            cx.push(p);
        }
    }
    if a.autoscaling.is_some() {
        let p = cx
            .problem("catalog::eks-autoscaling", cx.key("/cluster/aws/autoscaling"), "`cluster.aws.autoscaling` sizes K3s agents; EKS node groups carry their own range")
            .label("K3s only")
            .help("remove it and give each of `cluster.eks.node_groups` its `min`, `desired` and `max`");
        cx.push(p);
    }
    for (name, g) in &e.node_groups {
        let gp = push_pointer("/cluster/eks/node_groups", name);
        if !(g.min <= g.desired && g.desired <= g.max) {
            let (at, what) = if g.min > g.max {
                (
                    "min",
                    format!("`min` ({}) is greater than `max` ({})", g.min, g.max),
                )
            } else {
                (
                    "desired",
                    format!(
                        "`desired` ({}) lies outside {}..={}",
                        g.desired, g.min, g.max
                    ),
                )
            };
            let p = cx
                .problem(
                    "catalog::node-group-range",
                    cx.val(&format!("{gp}/{at}")),
                    format!("node group `{name}`: {what}"),
                )
                .note(cx.key(&gp), "node group")
                .help("make `min <= desired <= max`");
            cx.push(p);
        }
        let mut seen = BTreeSet::new();
        for (i, z) in g.zones.iter().enumerate() {
            let zp = format!("{gp}/zones/{i}");
            if !a.zones.contains(z) {
                let p = cx
                    .problem("catalog::node-group-zone", cx.val(&zp), format!("node group `{name}` names zone `{z}`, which is not in `cluster.aws.zones`"))
                    .label("unknown zone")
                    .help(if a.zones.is_empty() {
                        "list the zone in `cluster.aws.zones` too".to_owned()
                    } else {
                        format!("use one of {}, or add it to `cluster.aws.zones`", a.zones.join(", "))
                    });
                cx.push(p);
            } else if !seen.insert(z) {
                duplicate_zone(cx, &zp, z);
            }
        }
    }
    if c.gitops.is_some() {
        for name in super::addons::EKS_RELEASES {
            if c.services.contains_key(name) {
                let p = cx
                    .problem("catalog::addon-name-collision", cx.key(&push_pointer("/services", name)), format!("service `{name}` and the EKS add-on of the same name would both be the Argo CD Application `{name}`"))
                    .label("same Application name")
                    .note(cx.key("/cluster/eks"), "on EKS gen installs the add-on releases as Applications")
                    .help("rename the service");
                cx.push(p);
            }
        }
    }
    let Some(ing) = &c.ingress else { return };
    match (ing.class, a.load_balancer) {
        (IngressClass::Traefik, _) => {
            let p = cx
                .problem("catalog::eks-ingress", cx.val("/ingress/class"), "gen installs Traefik only as K3s's bundled controller; EKS has none")
                .label("no Traefik on EKS")
                .note(cx.key("/cluster/eks"), "the cluster is EKS")
                .help("use `class: alb` (the AWS Load Balancer Controller, which gen installs on EKS) or `class: nginx` with `cluster.aws.load_balancer: nlb`");
            cx.push(p);
        }
        (IngressClass::Nginx, Some(LoadBalancer::Alb)) => {
            let p = cx
                .problem("catalog::eks-ingress", cx.val("/cluster/aws/load_balancer"), "on EKS the AWS Load Balancer Controller makes the ALB from the Ingresses themselves; an ALB in front of ingress-nginx is not what gen installs")
                .label("ALB in front of nginx")
                .note(cx.val("/ingress/class"), "nginx")
                .help("set `ingress.class: alb` (the ALB routes to the pods directly), or `load_balancer: nlb` to keep ingress-nginx behind an NLB");
            cx.push(p);
        }
        (IngressClass::Nginx, None) => {
            let p = cx
                .problem("catalog::eks-ingress", cx.key("/ingress/class"), "on EKS ingress-nginx needs a load balancer in front of it, and the catalog names none")
                .label("nothing reaches the controller")
                .help("add `cluster.aws.load_balancer: nlb` (an NLB the AWS Load Balancer Controller makes for ingress-nginx), or use `class: alb`");
            cx.push(p);
        }
        _ => {}
    }
}

/// Longest service name whose alb action annotation name part
/// (`actions.<name>-weighted`) stays within 63 characters.
const ALB_CANARY_NAME_MAX: usize = 63 - "actions.".len() - "-weighted".len();

/// A canary's share of traffic is set at the ingress, so it needs routes and
/// an ingress class with weighted backends.
fn canary_traffic(cx: &mut Ctx, c: &Catalog, name: &str, s: &Service) {
    let kind = s
        .strategy
        .as_ref()
        .and_then(|st| st.kind)
        .or(c
            .defaults
            .as_ref()
            .and_then(|d| d.strategy.as_ref())
            .and_then(|d| d.kind))
        .unwrap_or_default();
    if kind != StrategyType::Canary {
        return;
    }
    let sp = push_pointer("/services", name);
    let at = cx.key(&sp);
    if s.routes.is_empty() {
        let p = cx
            .problem("catalog::canary-routes", at, format!("canary service `{name}` has no `routes`: its traffic share is set at the ingress"))
            .label("canary without routes")
            .help("add `routes:` so the ingress can split traffic, or use `type: blue-green` for an internal service");
        cx.push(p);
    } else if c.ingress.as_ref().map(|i| i.class) == Some(IngressClass::Alb)
        && name.len() > ALB_CANARY_NAME_MAX
    {
        let p = cx
            .problem("catalog::name-too-long", cx.key(&sp), format!("`{name}` is {} characters; behind alb a canary service name may have at most {ALB_CANARY_NAME_MAX}", name.len()))
            .label("too long for the alb action annotation")
            .help("the weighted action is the annotation `alb.ingress.kubernetes.io/actions.<name>-weighted`, whose name part is limited to 63 characters; shorten the service name");
        cx.push(p);
    } else if c.ingress.as_ref().map(|i| i.class) == Some(IngressClass::Traefik) {
        let p = cx
            .problem("catalog::canary-ingress", at, "a weighted canary needs ingress class `nginx` or `alb`; Traefik splits traffic only through its TraefikService CRD")
            .label("canary behind traefik")
            .help("set `ingress.class: nginx` (or `alb`), or use `type: blue-green`");
        cx.push(p);
    }
}

fn waivers(cx: &mut Ctx, sp: &str, s: &Service) {
    for (i, w) in s.waivers.iter().enumerate() {
        let wp = push_pointer(&push_pointer(sp, "waivers"), &i.to_string());
        if !WAIVABLE.contains(&w.rule.as_str()) && !crate::lint::is_rule(&w.rule) {
            let ids: Vec<&str> = WAIVABLE
                .iter()
                .copied()
                .chain(crate::lint::all().iter().map(|r| r.id))
                .collect();
            let help = match closest(&w.rule, ids.iter().copied()) {
                Some(r) => format!("did you mean `{r}`? `gen rules` lists the rules"),
                None => "waive `image-latest` or a lint rule; `gen rules` lists them".to_owned(),
            };
            let p = cx
                .problem(
                    "catalog::unknown-rule",
                    cx.val(&push_pointer(&wp, "rule")),
                    format!("no rule `{}` to waive", w.rule),
                )
                .label("unknown rule")
                .help(help);
            cx.push(p);
        }
        if w.reason.trim().is_empty() {
            let p = cx
                .problem(
                    "catalog::waiver-reason",
                    cx.val(&push_pointer(&wp, "reason")),
                    "a waiver needs a reason",
                )
                .label("blank reason")
                .help("say why the rule does not apply here; reviewers and reports show it");
            cx.push(p);
        }
        if let Some(d) = &w.expires {
            if !valid_date(d) {
                let p = cx
                    .problem(
                        "catalog::invalid-date",
                        cx.val(&push_pointer(&wp, "expires")),
                        format!("`{d}` is not a calendar date"),
                    )
                    .label("not a date")
                    .help("write the last day the waiver holds as `YYYY-MM-DD`, e.g. `2027-03-31`");
                cx.push(p);
            }
        }
    }
}

fn valid_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    let [y, m, day] = parts.as_slice() else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// IPv6 networks need `cluster.k3s.ipv6: true`: without it the nodes get no
/// IPv6 addresses and the security groups would open flows nothing uses.
fn ipv6_consistency(cx: &mut Ctx, c: &Catalog, a: &crate::catalog::types::Aws) {
    let ipv6 = c
        .cluster
        .as_ref()
        .and_then(|cl| cl.k3s.as_ref())
        .is_some_and(|k| k.ipv6);
    if ipv6 || c.cluster.as_ref().and_then(|cl| cl.k3s.as_ref()).is_none() {
        return;
    }
    let is_v6 = |s: &str| s.parse::<IpNet>().is_ok_and(|n| matches!(n, IpNet::V6(_)));
    let mut at: Vec<String> = Vec::new();
    if is_v6(&a.vpc_cidr.0) {
        at.push("/cluster/aws/vpc_cidr".to_owned());
    }
    for (i, ac) in a.admin_cidrs.iter().enumerate() {
        if is_v6(&ac.0) {
            at.push(format!("/cluster/aws/admin_cidrs/{i}"));
        }
    }
    for (name, s) in &c.services {
        for (i, e) in s.egress.iter().enumerate() {
            if is_v6(&e.cidr.0) {
                at.push(push_pointer(
                    &push_pointer(
                        &push_pointer(&push_pointer("/services", name), "egress"),
                        &i.to_string(),
                    ),
                    "cidr",
                ));
            }
        }
    }
    for p in at {
        let pr = cx
            .problem(
                "catalog::ipv6-off",
                cx.val(&p),
                "an IPv6 network, but the cluster is IPv4-only",
            )
            .label("IPv6")
            .help("set `cluster.k3s.ipv6: true` for a dual-stack cluster, or use an IPv4 network");
        cx.push(pr);
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::{decode, parse};

    /// The help of the one `catalog::min-available` problem of `src`.
    fn min_available_help(src: &str) -> String {
        let source = decode("catalog.yaml", src.as_bytes()).unwrap();
        let parsed = parse(&source).unwrap_or_else(|e| panic!("{e:?}\n{src}"));
        let found: Vec<_> = super::run(&parsed)
            .into_iter()
            .filter(|p| p.code == "catalog::min-available")
            .collect();
        assert_eq!(found.len(), 1, "{src}");
        found[0].help.clone().unwrap()
    }

    /// The number after `phrase` in `help`, if the phrase is there.
    fn number_after(help: &str, phrase: &str) -> Option<u32> {
        let rest = &help[help.find(phrase)? + phrase.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(digits.parse().unwrap())
    }

    /// Every suggestion of the hint can be followed, and following it fixes
    /// the problem: `min_available` is lowered only to a value it may take
    /// (1 or more) below the guaranteed replicas, never to its own value, and
    /// the replicas are raised above it at the key that sets them.
    #[test]
    fn the_min_available_hint_is_right_for_every_value() {
        let sources = [
            ("hpa", "hpa: {min: G, max: 20, cpu: 70}", "`hpa.min`"),
            ("replicas", "replicas: G", "`replicas`"),
            ("defaults", "", "`defaults.replicas`"),
            ("none", "", "`replicas`"),
        ];
        let mut checked = 0;
        for (kind, key, raised) in sources {
            let range: Vec<u32> = if kind == "none" {
                vec![1]
            } else {
                (1..=4).collect()
            };
            for g in range {
                for m in g..=g + 2 {
                    let defaults = if kind == "defaults" {
                        format!("defaults: {{replicas: {g}}}\n")
                    } else {
                        String::new()
                    };
                    let own = if key.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", key.replace('G', &g.to_string()))
                    };
                    let src = format!(
                        "version: 1\nproject: p\n{defaults}services:\n  a: {{image: 'r/a:1.0.0', port: 80, min_available: {m}{own}}}\n"
                    );
                    let help = min_available_help(&src);
                    let what = format!("{kind}: guaranteed {g}, min_available {m}: {help}");
                    assert_eq!(
                        number_after(&help, &format!("raise {raised} to ")),
                        Some(m + 1),
                        "{what}"
                    );
                    match number_after(&help, "lower `min_available` to ") {
                        Some(n) => assert!(n >= 1 && n < g && n != m, "{what}"),
                        None => assert!(g < 2 && help.contains("remove `min_available`"), "{what}"),
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 30);
    }
}
