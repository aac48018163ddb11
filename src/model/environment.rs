//! Environments: the catalog as one environment sees it.
//!
//! An environment (`environments.<name>` in the catalog) overrides a few
//! facts of the services: replicas, HPA, resources, image, route host, literal
//! `env`, `min_available`, and the shared ingress's host and TLS Secret; `null`
//! unsets an optional one (the catalog is seen as if it did not set it, so
//! gen's default applies). [`view`] applies them to a copy of the catalog and
//! redirects the spans of every replaced or unset node to its override, so the
//! same semantic checks, resolution, emitters and lint rules run unchanged on
//! the environment and still point at the catalog line that set the value in
//! effect (or unset it).
//!
//! Problems and findings of an environment that the base catalog has too are
//! reported once; the others say which environment(s) they come from
//! ([`suffix`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::types::{Catalog, HpaOverride, Override, Resources, ResourcesOverride};
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
        if o.tls_secret.apply(&mut ing.tls_secret) {
            redirect(
                "/ingress/tls_secret".into(),
                push_pointer(&at, "tls_secret"),
            );
        }
    }
    if let Some(o) = &env.defaults {
        let at = push_pointer(&ep, "defaults");
        let d = c.defaults.get_or_insert_with(Default::default);
        if o.replicas.apply(&mut d.replicas) {
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
        if o.replicas.apply(&mut s.replicas) {
            moved("replicas");
        }
        let hpa = match &o.hpa {
            Override::Set(HpaOverride::Range(r)) => Override::Set(r.clone()),
            Override::Set(HpaOverride::Off(_)) | Override::Unset => Override::Unset,
            Override::Inherit => Override::Inherit,
        };
        if hpa.apply(&mut s.hpa) {
            moved("hpa");
        }
        if o.min_available.apply(&mut s.min_available) {
            moved("min_available");
        }
        if let Some(i) = &o.image {
            s.image.clone_from(i);
            moved("image");
        }
        if o.host.apply(&mut s.host) {
            moved("host");
        }
        for (k, v) in &o.env {
            match v {
                Override::Set(v) => {
                    s.env.insert(k.clone(), v.clone());
                }
                Override::Unset | Override::Inherit => {
                    s.env.remove(k);
                }
            }
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

/// `from` over `into`, key by key, redirecting each replaced or unset key.
fn merge_resources(
    into: &mut Resources,
    from: &ResourcesOverride,
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
        if value.apply(slot) {
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

#[cfg(test)]
mod tests {
    use crate::model::{Model, Scaling, ServiceModel};

    fn svc<'a>(m: &'a Model, name: &str) -> &'a ServiceModel {
        m.services.iter().find(|s| s.name == name).unwrap()
    }

    const BASE: &str = "version: 1
project: shop
ingress: {host: shop.example, tls_secret: shop-tls}
defaults:
  replicas: 2
  resources: {cpu: 100m, cpu_limit: '1'}
services:
  api:
    image: ghcr.io/shop/api:1.0.0
    port: 8080
    replicas: 3
    min_available: 2
    host: api.shop.example
    routes: [/]
    env: {A: '1', B: '2'}
    resources: {cpu_limit: '2', memory: 300Mi}
  web:
    image: ghcr.io/shop/web:1.0.0
    port: 8080
    hpa: {min: 2, max: 4, cpu: 70}
";

    fn compile(src: &str) -> Result<Model, crate::CompileError> {
        crate::compile("catalog.yaml", src.as_bytes()).map(|c| c.model)
    }

    fn problems(src: &str) -> Vec<(&'static str, String, Vec<String>)> {
        match compile(src) {
            Ok(_) => panic!("compiled:\n{src}"),
            Err(crate::CompileError::Catalog(p)) => p
                .iter()
                .map(|p| {
                    let (l, c) = p.line_col();
                    let notes = p
                        .notes
                        .iter()
                        .map(|n| {
                            let (l, c) = p.source().location(n.span.start);
                            format!("{l}:{c}")
                        })
                        .collect();
                    (p.code, format!("{l}:{c}"), notes)
                })
                .collect(),
            Err(e) => panic!("{e:?}"),
        }
    }

    /// `null` in an environment unsets the key there: the service (or the
    /// shared ingress, or `defaults`) is seen as if it did not set it, so
    /// gen's default applies; the base model keeps its values.
    #[test]
    fn null_unsets_a_key_in_one_environment() {
        let src = format!(
            "{BASE}environments:
  dev:
    ingress: {{tls_secret: null}}
    defaults:
      replicas: null
      resources: {{cpu_limit: null}}
    services:
      api:
        replicas: null
        min_available: null
        host: null
        env: {{A: null, C: '3'}}
        resources: {{cpu_limit: null}}
      web: {{hpa: null}}
"
        );
        let model = compile(&src).unwrap_or_else(|e| panic!("{e:?}"));
        let base = svc(&model, "api");
        assert_eq!(base.min_available, Some(2));
        assert_eq!(base.scaling, Scaling::Fixed(3));
        let dev = model.in_environment("dev").unwrap();
        let api = svc(dev, "api");
        assert_eq!(api.min_available, None);
        // replicas unset, and defaults.replicas too: gen's 1.
        assert_eq!(api.scaling, Scaling::Fixed(1));
        assert_eq!(api.routes[0].host, "shop.example");
        let env: Vec<(&str, &str)> = api
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(env, [("B", "2"), ("C", "3")]);
        // The service's and the defaults' CPU limits are both unset.
        assert_eq!(api.resources.cpu_limit, None);
        assert_eq!(api.resources.memory, "300Mi");
        assert_eq!(svc(dev, "web").scaling, Scaling::Fixed(1));
        assert_eq!(dev.ingress.as_ref().unwrap().tls_secret, None);
        assert_eq!(
            model.ingress.as_ref().unwrap().tls_secret.as_deref(),
            Some("shop-tls")
        );
    }

    /// What `null` cannot unset, and what unsetting breaks, is reported at
    /// the environment's line.
    #[test]
    fn null_problems_are_located_in_the_environment() {
        // A required key cannot be unset.
        let src =
            format!("{BASE}environments:\n  dev:\n    services:\n      api: {{image: null}}\n");
        assert_eq!(
            problems(&src),
            [("catalog::wrong-type", "24:20".to_owned(), vec![])]
        );
        let src = format!("{BASE}environments:\n  dev:\n    ingress: {{host: null}}\n");
        assert_eq!(
            problems(&src),
            [("catalog::wrong-type", "23:21".to_owned(), vec![])]
        );
        // Unsetting replicas leaves min_available 2 over 1 replica: reported
        // at min_available, with the environment's null labelled.
        let src = format!(
            "{BASE}environments:\n  dev:\n    defaults: {{replicas: null}}\n    services:\n      api:\n        replicas: null\n"
        );
        let got = problems(&src);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "catalog::min-available");
        assert_eq!(got[0].1, "12:20");
        assert!(got[0].2.contains(&"26:19".to_owned()), "{got:?}");
        // A wrong type is still a wrong type.
        let src =
            format!("{BASE}environments:\n  dev:\n    services:\n      api: {{replicas: two}}\n");
        assert_eq!(
            problems(&src),
            [("catalog::wrong-type", "24:23".to_owned(), vec![])]
        );
    }
}
