//! Environments: the catalog as one environment sees it.
//!
//! An environment (`environments.<name>` in the catalog) overrides a few
//! facts of the services: replicas, HPA, resources, image, route host, literal
//! `env`, `min_available`, and the shared ingress's host and TLS Secret. [`view`] applies them
//! to a copy of the catalog and redirects the spans of every replaced node to
//! its override, so the same semantic checks, resolution, emitters and lint
//! rules run unchanged on the environment and still point at the catalog line
//! that set the value in effect.
//!
//! Problems and findings of an environment that the base catalog has too are
//! reported once; the others say which environment(s) they come from
//! ([`suffix`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::types::{Catalog, HpaOverride, Resources};
use crate::catalog::{push_pointer, Parsed};
use crate::diag::Problem;

/// Catalog pointer of an environment, e.g. `/environments/prod`.
pub fn pointer(name: &str) -> String {
    push_pointer("/environments", name)
}

/// The catalog as environment `name` sees it: its overrides applied, the
/// spans of replaced nodes redirected to the overrides, and no
/// `environments` left. `None` if the catalog has no such environment.
/// Overrides naming unknown services are skipped (`model::check` reports
/// them).
pub fn view(parsed: &Parsed, name: &str) -> Option<Parsed> {
    let env = parsed.catalog.environments.get(name)?;
    let ep = pointer(name);
    let mut c: Catalog = parsed.catalog.clone();
    c.environments.clear();
    let mut redirects = BTreeMap::new();
    let mut redirect = |from: String, to: String| {
        redirects.insert(from, to);
    };

    if let (Some(o), Some(ing)) = (&env.ingress, c.ingress.as_mut()) {
        let at = push_pointer(&ep, "ingress");
        if let Some(h) = &o.host {
            ing.host.clone_from(h);
            redirect("/ingress/host".into(), push_pointer(&at, "host"));
        }
        if let Some(t) = &o.tls_secret {
            ing.tls_secret = Some(t.clone());
            redirect(
                "/ingress/tls_secret".into(),
                push_pointer(&at, "tls_secret"),
            );
        }
    }
    if let Some(o) = &env.defaults {
        let at = push_pointer(&ep, "defaults");
        let d = c.defaults.get_or_insert_with(Default::default);
        if let Some(r) = o.replicas {
            d.replicas = Some(r);
            redirect("/defaults/replicas".into(), push_pointer(&at, "replicas"));
        }
        if let Some(r) = &o.resources {
            let into = d.resources.get_or_insert_with(Default::default);
            merge_resources(
                into,
                r,
                "/defaults/resources",
                &push_pointer(&at, "resources"),
                &mut redirect,
            );
        }
    }
    for (sname, o) in &env.services {
        let Some(s) = c.services.get_mut(sname) else {
            continue;
        };
        let sp = push_pointer("/services", sname);
        let op = push_pointer(&push_pointer(&ep, "services"), sname);
        let mut moved = |key: &str| redirect(push_pointer(&sp, key), push_pointer(&op, key));
        if let Some(r) = o.replicas {
            s.replicas = Some(r);
            moved("replicas");
        }
        if let Some(h) = &o.hpa {
            s.hpa = match h {
                HpaOverride::Range(r) => Some(r.clone()),
                HpaOverride::Off(_) => None,
            };
            moved("hpa");
        }
        if let Some(m) = o.min_available {
            s.min_available = Some(m);
            moved("min_available");
        }
        if let Some(i) = &o.image {
            s.image.clone_from(i);
            moved("image");
        }
        if let Some(h) = &o.host {
            s.host = Some(h.clone());
            moved("host");
        }
        for (k, v) in &o.env {
            s.env.insert(k.clone(), v.clone());
            redirect(
                push_pointer(&push_pointer(&sp, "env"), k),
                push_pointer(&push_pointer(&op, "env"), k),
            );
        }
        if let Some(r) = &o.resources {
            let into = s.resources.get_or_insert_with(Default::default);
            merge_resources(
                into,
                r,
                &push_pointer(&sp, "resources"),
                &push_pointer(&op, "resources"),
                &mut redirect,
            );
        }
    }
    Some(Parsed {
        catalog: c,
        spans: parsed.spans.with_redirects(redirects),
        source: parsed.source.clone(),
    })
}

/// `from` over `into`, key by key, redirecting each replaced key.
fn merge_resources(
    into: &mut Resources,
    from: &Resources,
    base: &str,
    over: &str,
    redirect: &mut impl FnMut(String, String),
) {
    let fields = [
        ("cpu", &from.cpu, &mut into.cpu),
        ("memory", &from.memory, &mut into.memory),
        ("cpu_limit", &from.cpu_limit, &mut into.cpu_limit),
        ("memory_limit", &from.memory_limit, &mut into.memory_limit),
    ];
    for (key, value, slot) in fields {
        if let Some(v) = value {
            *slot = Some(v.clone());
            redirect(push_pointer(base, key), push_pointer(over, key));
        }
    }
}

/// The message suffix of something found only in these environments:
/// ` (environment prod)`, ` (environments prod, staging)`.
pub fn suffix(environments: &[String]) -> String {
    match environments {
        [] => String::new(),
        [one] => format!(" (environment {one})"),
        more => format!(" (environments {})", more.join(", ")),
    }
}

/// What makes two problems the same report.
fn identity(p: &Problem) -> (&'static str, usize, usize, &str) {
    (p.code, p.span.start, p.span.end, p.message.as_str())
}

/// Merge the problems of each environment into those of the base catalog:
/// a problem the base has too is reported once, as the base's; the others
/// are reported once with the environments they occur in, and with a note at
/// the environment when they point outside it (say, at a base `replicas`
/// that an environment's `hpa` no longer admits).
pub fn merge_problems(
    parsed: &Parsed,
    base: Vec<Problem>,
    per_env: Vec<(String, Vec<Problem>)>,
) -> Vec<Problem> {
    let known: BTreeSet<(&str, usize, usize, &str)> = base.iter().map(identity).collect();
    let mut extra: Vec<(Problem, Vec<String>)> = Vec::new();
    let mut index: BTreeMap<(&'static str, usize, usize, String), usize> = BTreeMap::new();
    for (env, problems) in per_env {
        for p in problems {
            if known.contains(&identity(&p)) {
                continue;
            }
            let id = (p.code, p.span.start, p.span.end, p.message.clone());
            match index.get(&id) {
                Some(&i) => {
                    if extra[i].1.last() != Some(&env) {
                        extra[i].1.push(env.clone());
                    }
                }
                None => {
                    index.insert(id, extra.len());
                    extra.push((p, vec![env.clone()]));
                }
            }
        }
    }
    let mut out = base;
    for (mut p, envs) in extra {
        p.message.push_str(&suffix(&envs));
        for env in &envs {
            let block = parsed.spans.nearest(&pointer(env));
            let inside = block.value.start <= p.span.start && p.span.end <= block.value.end;
            if !inside {
                let at = block.key.unwrap_or(block.value);
                p = p.note(at, format!("environment `{env}`"));
            }
        }
        out.push(p);
    }
    out
}
