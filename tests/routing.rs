//! Routing at run time: every example and golden catalog, rendered for each
//! ingress class its catalog allows, is replayed against an independent model
//! of the load balancer and the ingress controllers ([`model`]): every
//! declared route must reach its own Service and nothing else, and plain HTTP
//! must get exactly one redirect to HTTPS when the catalog asks for one.
//!
//! The model is a re-statement of the controllers' documented behaviour, not
//! the real controllers; the negative tests at the end show that it catches a
//! misroute and a redirect loop.

mod common;
#[path = "routing/model.rs"]
mod model;

use std::collections::BTreeSet;

use model::{Cluster, Declared, Front};
use serde_json::Value;

const CLASSES: [&str; 3] = ["nginx", "traefik", "alb"];

fn cases() -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for parent in ["golden", "examples"] {
        for e in std::fs::read_dir(common::root().join(parent))
            .unwrap()
            .flatten()
        {
            if e.path().join("catalog.yaml").is_file() {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

fn load(text: &str) -> Value {
    gen::catalog::yaml::load(&gen::SourceFile::new("catalog.yaml", text))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .value
}

/// The load balancer the catalog puts in front of the cluster.
fn front(cat: &Value) -> Front {
    let aws = &cat["cluster"]["aws"];
    match aws["load_balancer"].as_str() {
        Some("alb") => Front::Alb(aws["vpc_cidr"].as_str().unwrap().parse().unwrap()),
        Some("nlb") => Front::Nlb,
        _ => Front::None,
    }
}

/// The routes the catalog declares, read from the catalog itself (with the
/// environment's overrides), and what each should reach.
fn declared(cat: &Value, env: Option<&str>) -> Vec<Declared> {
    let ing = &cat["ingress"];
    if ing.is_null() {
        return Vec::new();
    }
    let over = env.map_or(&Value::Null, |e| &cat["environments"][e]);
    let pick = |a: &Value, b: &Value| -> Option<String> {
        a.as_str().or_else(|| b.as_str()).map(str::to_owned)
    };
    let host = pick(&over["ingress"]["host"], &ing["host"]).unwrap();
    let tls = pick(&over["ingress"]["tls_secret"], &ing["tls_secret"]);
    let redirect = ing["https_redirect"].as_bool().unwrap_or(tls.is_some());
    let default_ns = pick(&cat["defaults"]["namespace"], &cat["project"]).unwrap();
    let mut out = Vec::new();
    for (name, svc) in cat["services"].as_object().unwrap() {
        let ns = svc["namespace"].as_str().unwrap_or(&default_ns);
        let host = pick(&over["services"][name]["host"], &svc["host"]).unwrap_or(host.clone());
        // The Service callers and the Ingress use: `service_name`, else the
        // service's own name.
        let service = svc["service_name"].as_str().unwrap_or(name);
        let main = format!("{ns}/{service}");
        let canary = format!("{ns}/{service}-canary");
        let backends: BTreeSet<String> = match svc["strategy"]["type"].as_str() {
            Some("canary") => match svc["strategy"]["canary_weight"].as_u64().unwrap_or(10) {
                0 => BTreeSet::from([main]),
                100 => BTreeSet::from([canary]),
                _ => BTreeSet::from([main, canary]),
            },
            _ => BTreeSet::from([main]),
        };
        for r in svc["routes"].as_array().into_iter().flatten() {
            out.push(Declared {
                host: host.clone(),
                path: r.as_str().unwrap().to_owned(),
                backends: backends.clone(),
                redirect,
                https: tls.is_some() || redirect,
            });
        }
    }
    out
}

/// The objects of one environment's render (`""` for the default one) and
/// the K3s server manifests.
fn objects(tree: &gen::emit::Tree, root: &str) -> Vec<Value> {
    let manifests = format!("{root}manifests/");
    tree.iter()
        .filter(|(p, _)| {
            (p.starts_with(&manifests) || p.starts_with("k3s/manifests/")) && p.ends_with(".yaml")
        })
        .flat_map(|(_, b)| model::documents(std::str::from_utf8(b).unwrap()))
        .collect()
}

#[test]
fn every_declared_route_reaches_its_service_for_every_class() {
    let mut failures = Vec::new();
    let mut checked = BTreeSet::new();
    let mut refused = Vec::new();
    for dir in cases() {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("catalog.yaml")).unwrap();
        let cat = load(&text);
        if cat["ingress"].is_null() {
            continue;
        }
        let own = cat["ingress"]["class"]
            .as_str()
            .unwrap_or("nginx")
            .to_owned();
        for class in CLASSES {
            let (variant, bytes) = if class == own {
                (cat.clone(), text.clone())
            } else {
                let mut v = cat.clone();
                v["ingress"]["class"] = Value::from(class);
                let t = serde_json::to_string_pretty(&v).unwrap();
                (v, t)
            };
            let compiled = match gen::compile("catalog.yaml", bytes.as_bytes()) {
                Ok(c) => c,
                Err(gen::CompileError::Catalog(p)) if class != own => {
                    // The catalog does not allow this class: refused, and
                    // said where.
                    assert!(
                        !p.0.is_empty(),
                        "{case} as {class}: refused without a problem"
                    );
                    refused.push(format!("{case} as {class}: {}", p.0[0].code));
                    continue;
                }
                Err(e) => panic!("{case} as {class}: {e:?}"),
            };
            let mut envs = vec![None];
            envs.extend(
                variant["environments"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys().map(|k| Some(k.as_str()))),
            );
            for env in envs {
                let root = env.map_or(String::new(), |e| format!("environments/{e}/"));
                let cluster = Cluster::new(&objects(&compiled.tree, &root), front(&variant));
                let want = declared(&variant, env);
                for p in model::problems(&cluster, &want) {
                    failures.push(format!(
                        "{case} as {class} ({}): {p}",
                        env.unwrap_or("default")
                    ));
                }
                checked.insert((case.clone(), class));
            }
        }
    }
    eprintln!("refused: {refused:#?}");
    assert!(
        failures.is_empty(),
        "{} routing problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Each routed case is replayed for every class it allows: the K3s
    // examples for all three, the managed-cluster ones without Traefik
    // (whose redirect gen configures only on K3s), edge-cases (an ALB in
    // front, no K3s) only as alb; on EKS only what gen installs there:
    // ordersystem's NLB fronts nginx only, the EKS ALB cases are alb only.
    for (case, classes) in [
        ("karina", 3),
        ("karina-eks", 1),
        ("eks", 1),
        ("msa-k3s", 3),
        ("ordersystem", 1),
        ("strategies", 2),
        ("environments", 2),
        ("hostile-strings", 3),
        ("edge-cases", 1),
    ] {
        let n = checked.iter().filter(|(c, _)| c == case).count();
        assert_eq!(
            n, classes,
            "{case} was checked for {n} classes\n{refused:#?}"
        );
    }
}

/// Every `load_balancer` x `class` x `tls_secret` x `https_redirect` (with
/// and without K3s, where gen installs the controller) either routes every
/// declared route correctly, redirect included, or is refused with a located
/// problem.
#[test]
fn every_front_and_tls_combination_is_correct_or_refused() {
    let mut accepted = BTreeSet::new();
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for lb in [None, Some("alb"), Some("nlb")] {
        for class in CLASSES {
            for tls in [false, true] {
                for redirect in [None, Some(true), Some(false)] {
                    for k3s in [false, true] {
                        let mut text = String::from("version: 1\nproject: karina\ncluster:\n");
                        if k3s {
                            text.push_str("  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2, flannel_backend: none}\n");
                        }
                        text.push_str("  aws: {region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [203.0.113.7/32]");
                        if let Some(lb) = lb {
                            text.push_str(&format!(", load_balancer: {lb}"));
                        }
                        text.push_str(&format!(
                            "}}\ningress: {{host: sugang.example, class: {class}"
                        ));
                        if tls {
                            text.push_str(", tls_secret: sugang-tls");
                        }
                        if let Some(r) = redirect {
                            text.push_str(&format!(", https_redirect: {r}"));
                        }
                        text.push_str("}\nservices:\n  student: {image: r.example/student:1.0.0-abc1234, port: 8080, replicas: 2, routes: [/, /student]}\n  subject: {image: r.example/subject:1.0.0-abc1234, port: 8080, replicas: 2, routes: [/sugang]}\n");
                        let name = format!(
                            "lb={lb:?} class={class} tls={tls} redirect={redirect:?} k3s={k3s}"
                        );
                        match gen::compile("catalog.yaml", text.as_bytes()) {
                            Ok(c) => {
                                let cat = load(&text);
                                let cluster = Cluster::new(&objects(&c.tree, ""), front(&cat));
                                for p in model::problems(&cluster, &declared(&cat, None)) {
                                    failures.push(format!("{name}: {p}"));
                                }
                                accepted.insert((lb, class));
                                outcomes.push(format!("{name}: served"));
                            }
                            Err(gen::CompileError::Catalog(problems)) => {
                                for p in &problems.0 {
                                    let (line, col) = p.line_col();
                                    // On the load balancer or the ingress line.
                                    let aws_line = if k3s { 5 } else { 4 };
                                    let located = (line == aws_line || line == aws_line + 1)
                                        && col > 1
                                        && p.span.end <= text.len();
                                    if !located || p.help.is_none() {
                                        failures.push(format!(
                                            "{name}: badly located or without help: {p:?}"
                                        ));
                                    }
                                }
                                outcomes.push(format!("{name}: refused {}", problems.0[0].code));
                            }
                            Err(e) => failures.push(format!("{name}: {e:?}")),
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nall outcomes:\n{}",
        failures.join("\n"),
        outcomes.join("\n")
    );
    // Each class serves behind each load balancer, but class alb behind an NLB.
    for lb in [None, Some("alb"), Some("nlb")] {
        for class in CLASSES {
            let want = !(lb == Some("nlb") && class == "alb");
            assert_eq!(
                accepted.contains(&(lb, class)),
                want,
                "{lb:?} {class}\n{}",
                outcomes.join("\n")
            );
        }
    }
}

// --- The model must be able to fail. ---------------------------------------

fn cluster(yaml: &str, front: Front) -> Cluster {
    Cluster::new(&model::documents(yaml), front)
}

fn route(path: &str, service: &str, redirect: bool) -> Declared {
    Declared {
        host: "shop.example".into(),
        path: path.into(),
        backends: BTreeSet::from([format!("shop/{service}")]),
        redirect,
        https: redirect,
    }
}

fn ingress(name: &str, class: &str, annotations: &str, tls: bool, paths: &[&str]) -> String {
    let paths: String = paths
        .iter()
        .map(|p| {
            format!(
                "      - path: {p}\n        pathType: Prefix\n        backend: {{service: {{name: {name}, port: {{name: http}}}}}}\n"
            )
        })
        .collect();
    let tls = if tls {
        "  tls: [{hosts: [shop.example], secretName: shop-tls}]\n"
    } else {
        ""
    };
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: shop\n  annotations: {{{annotations}}}\nspec:\n  ingressClassName: {class}\n{tls}  rules:\n  - host: shop.example\n    http:\n      paths:\n{paths}"
    )
}

const ALB: &str = "alb.ingress.kubernetes.io/group.name: shop, alb.ingress.kubernetes.io/listen-ports: '[{\"HTTP\": 80}]'";

#[test]
fn the_model_sees_an_alb_group_route_lost_to_a_shorter_prefix() {
    // `a-web` sorts before `b-sugang`; without group.order its `/` rule is
    // evaluated first and takes `/sugang`.
    let yaml = ingress("a-web", "alb", ALB, false, &["/"])
        + &ingress("b-sugang", "alb", ALB, false, &["/sugang"]);
    let want = [
        route("/", "a-web", false),
        route("/sugang", "b-sugang", false),
    ];
    let p = model::problems(&cluster(&yaml, Front::None), &want);
    assert!(
        p.iter()
            .any(|p| p.contains("http://shop.example/sugang:") && p.contains("shop/a-web")),
        "{p:#?}"
    );
    // With the more specific Ingress ordered first, nothing is lost.
    let first = format!("{ALB}, alb.ingress.kubernetes.io/group.order: '-1'");
    let yaml = ingress("a-web", "alb", ALB, false, &["/"])
        + &ingress("b-sugang", "alb", &first, false, &["/sugang"]);
    assert_eq!(
        model::problems(&cluster(&yaml, Front::None), &want),
        Vec::<String>::new()
    );
}

#[test]
fn the_model_sees_an_nginx_redirect_loop_behind_an_alb() {
    let vpc = Front::Alb("10.0.0.0/16".parse().unwrap());
    let ing = ingress(
        "web",
        "nginx",
        "nginx.ingress.kubernetes.io/force-ssl-redirect: 'true'",
        false,
        &["/"],
    );
    let want = [route("/", "web", true)];
    let p = model::problems(&cluster(&ing, vpc), &want);
    assert!(p.iter().any(|p| p.contains("redirect loop")), "{p:#?}");
    // ingress-nginx trusting X-Forwarded-Proto redirects once.
    let chart = "---\napiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: ingress-nginx, namespace: kube-system}\nspec:\n  chart: ingress-nginx\n  valuesContent: |\n    controller:\n      config:\n        use-forwarded-headers: \"true\"\n";
    let p = model::problems(&cluster(&(ing.clone() + chart), vpc), &want);
    assert_eq!(p, Vec::<String>::new());
    // Without a load balancer in front, the same Ingress has no certificate.
    let p = model::problems(&cluster(&ing, Front::None), &want);
    assert!(p.iter().any(|p| p.contains("no certificate")), "{p:#?}");
}

#[test]
fn the_model_sees_a_traefik_entrypoint_redirect_loop_behind_an_alb() {
    let vpc = Front::Alb("10.0.0.0/16".parse().unwrap());
    let config = "---\napiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata: {name: traefik, namespace: kube-system}\nspec:\n  valuesContent: |\n    ports:\n      web:\n        redirections:\n          entryPoint: {to: websecure, scheme: https, permanent: true}\n";
    let ing = ingress("web", "traefik", "", true, &["/"]);
    let want = [route("/", "web", true)];
    let p = model::problems(&cluster(&(ing.clone() + config), vpc), &want);
    assert!(p.iter().any(|p| p.contains("redirect loop")), "{p:#?}");
    // Directly reached (or through an NLB), the entry point redirect is right.
    assert_eq!(
        model::problems(&cluster(&(ing + config), Front::Nlb), &want),
        Vec::<String>::new()
    );
}

#[test]
fn the_model_sees_a_wrong_canary_share_and_a_missing_route() {
    let canary = ingress("web-canary", "nginx", "nginx.ingress.kubernetes.io/canary: 'true', nginx.ingress.kubernetes.io/canary-weight: '0'", false, &["/"]);
    let yaml = ingress("web", "nginx", "", false, &["/"]) + &canary;
    let mut both = route("/", "web", false);
    both.backends.insert("shop/web-canary".into());
    let p = model::problems(&cluster(&yaml, Front::None), &[both]);
    assert!(p.iter().any(|p| p.contains("expected Served")), "{p:#?}");
    let mut elsewhere = route("/api", "api", false);
    elsewhere.host = "api.example".into();
    let p = model::problems(&cluster(&yaml, Front::None), &[elsewhere]);
    assert!(p.iter().any(|p| p.contains("NotFound")), "{p:#?}");
}
