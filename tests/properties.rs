//! Property tests (proptest): catalogs drawn from strategies over the
//! catalog's keys (services with random names and namespaces, ports,
//! replicas or HPA, strategies, routes, calls, egress, env, probes, a K3s
//! and AWS cluster block), with deliberately invalid values and
//! combinations mixed in. Properties:
//!
//! - gen never panics;
//! - a catalog that passes validation builds; every emitted Kubernetes
//!   object passed gen's own strict schema validation (`emit::validate`
//!   runs inside `emit` and turns a violation into `CompileError::Emit`,
//!   which fails the property), lint runs and prints in every format, and
//!   two builds are byte-identical;
//! - a refused catalog gets problems located in the source (line/col).
//!
//! 64 cases by default (`PROPTEST_CASES` overrides). The RNG seed is fixed
//! (`RngAlgorithm::ChaCha` with a constant seed), so CI runs the same cases
//! every time; a failure prints the minimal catalog.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use gen::lint::{format, Policy};

const TODAY: &str = "2026-11-22";

#[derive(Debug, Clone)]
struct Service {
    name: String,
    namespace: Option<String>,
    image: String,
    port: String,
    scaling: Scaling,
    strategy: Option<String>,
    routes: Vec<String>,
    calls: Vec<usize>,
    egress: Option<(String, u32)>,
    env: Vec<(String, String)>,
    probes: Option<(String, u32)>,
    min_available: Option<u32>,
    extra: Option<String>,
}

#[derive(Debug, Clone)]
enum Scaling {
    None,
    Replicas(u32),
    Hpa { min: u32, max: u32, cpu: u32 },
    Both(u32, u32, u32),
}

#[derive(Debug, Clone)]
struct Cluster {
    servers: u32,
    agents: u32,
    backend: String,
    embedded_registry: bool,
    aws: Option<Aws>,
}

#[derive(Debug, Clone)]
struct Aws {
    vpc_cidr: String,
    admin: String,
    zones: u32,
    bastion: bool,
    lb: String,
}

#[derive(Debug, Clone)]
struct Catalog {
    namespaces: Vec<String>,
    default_ns: String,
    ingress: Option<(String, bool)>,
    cluster: Option<Cluster>,
    services: Vec<Service>,
}

/// `bad`: mix invalid values in (most such catalogs are refused); else
/// only values that are valid on their own.
fn mixed(
    bad: bool,
    good: BoxedStrategy<String>,
    wrong: BoxedStrategy<String>,
) -> BoxedStrategy<String> {
    if bad {
        prop_oneof![6 => good, 1 => wrong].boxed()
    } else {
        good
    }
}

fn pick(xs: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(xs.to_vec())
        .prop_map(str::to_owned)
        .boxed()
}

fn name(bad: bool) -> BoxedStrategy<String> {
    mixed(
        bad,
        "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?".boxed(),
        prop_oneof!["[A-Za-z_][A-Za-z0-9_]{0,5}", Just("a-".to_owned())].boxed(),
    )
}

fn namespace(bad: bool) -> BoxedStrategy<String> {
    mixed(
        bad,
        pick(&["apps", "platform", "data"]),
        pick(&["default", "kube-system", "Bad_NS", "undeclared"]),
    )
}

fn image(bad: bool) -> BoxedStrategy<String> {
    mixed(
        bad,
        prop_oneof![
            4 => "[a-z]{1,5}".prop_map(|n| format!("ghcr.io/acme/{n}:1.2.3")),
            1 => Just("redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned()),
        ]
        .boxed(),
        pick(&["nginx", "ghcr.io/a/b:latest", "Not An Image", "a:b:c", ""]),
    )
}

fn port(bad: bool) -> BoxedStrategy<String> {
    mixed(
        bad,
        prop_oneof![
            4 => prop::sample::select(vec![80u32, 443, 3000, 6379, 8080]).prop_map(|p| p.to_string()),
            1 => (1024u32..65_536).prop_map(|p| p.to_string()),
        ]
        .boxed(),
        prop_oneof![
            (0u32..200_000).prop_map(|p| p.to_string()),
            pick(&["0", "65536", "\"8080\"", "-1", "http", "1e3", "null"]),
        ]
        .boxed(),
    )
}

fn scaling(bad: bool) -> BoxedStrategy<Scaling> {
    let good = prop_oneof![
        Just(Scaling::None),
        (1u32..5).prop_map(Scaling::Replicas),
        (1u32..4, 0u32..4, 30u32..95).prop_map(|(min, extra, cpu)| Scaling::Hpa {
            min,
            max: min + extra,
            cpu
        }),
    ];
    if bad {
        prop_oneof![
            3 => good,
            1 => (0u32..5, 0u32..8, 0u32..120).prop_map(|(min, max, cpu)| Scaling::Hpa { min, max, cpu }),
            1 => (1u32..4, 1u32..4, 1u32..8).prop_map(|(r, a, b)| Scaling::Both(r, a, b)),
        ]
        .boxed()
    } else {
        good.boxed()
    }
}

fn strategy(bad: bool) -> BoxedStrategy<Option<String>> {
    let good = prop_oneof![
        4 => Just(None),
        1 => prop::bool::ANY.prop_map(|green| Some(format!(
            "{{type: blue-green, live: {}, blue_image: ghcr.io/acme/x:1.0.0, green_image: ghcr.io/acme/x:2.0.0}}",
            if green { "green" } else { "blue" }
        ))),
        1 => (1u32..50).prop_map(|w| Some(format!(
            "{{type: canary, canary_weight: {w}, canary_image: ghcr.io/acme/x:2.0.0}}"
        ))),
        1 => Just(Some("{max_surge: 1, max_unavailable: 0}".to_owned())),
    ];
    if bad {
        prop_oneof![
            3 => good,
            1 => (prop::bool::ANY, prop::bool::ANY).prop_map(|(live, img)| Some(format!(
                "{{type: blue-green, live: {}{}}}",
                if live { "green" } else { "blue" },
                if img { ", green_image: ghcr.io/acme/x:2.0.0" } else { "" }
            ))),
            1 => (0u32..120, prop::bool::ANY).prop_map(|(w, img)| Some(format!(
                "{{type: canary, canary_weight: {w}{}}}",
                if img { ", canary_image: ghcr.io/acme/x:2.0.0" } else { "" }
            ))),
            1 => (0u32..3, 0u32..3).prop_map(|(s, u)| Some(format!("{{max_surge: {s}, max_unavailable: {u}}}"))),
            1 => pick(&["{max_surge: 25%, max_unavailable: 0}", "{type: rolling, max_surge: 150%}", "{type: nope}", "rolling"]).prop_map(Some),
        ]
        .boxed()
    } else {
        good.boxed()
    }
}

fn route(bad: bool) -> BoxedStrategy<String> {
    mixed(
        bad,
        "(/[a-z]{1,6}){0,2}".boxed(),
        pick(&["api", "/api/", "//", "/a b"]),
    )
}

fn hostile() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ._-]{0,12}",
        1 => pick(&[
            "{{ .Release.Name }}", "$(rm -rf /) `id`", "on", "0777", "수강신청 ✓",
            "line\\nbreak", "it's \\\"quoted\\\"", "${var}", "%{x}",
        ]),
    ]
    .boxed()
}

fn service(bad: bool) -> BoxedStrategy<Service> {
    let egress = (
        mixed(
            bad,
            pick(&["0.0.0.0/0", "10.0.0.0/16", "::/0"]),
            pick(&["10.0.0.1/16", "nonsense", "10.0.0.0/33"]),
        ),
        if bad {
            (0u32..70_000).boxed()
        } else {
            (1u32..65_536).boxed()
        },
    );
    let env_key = mixed(bad, "[A-Z][A-Z0-9_]{0,6}".boxed(), "[a-z-]{1,4}".boxed());
    let extra = if bad {
        prop::option::weighted(
            0.1,
            pick(&[
                "replica: 2",
                "port: 80",
                "hpa: null",
                "routes: /x",
                "calls: self",
            ]),
        )
        .boxed()
    } else {
        Just(None).boxed()
    };
    let min_available = if bad {
        prop::option::weighted(0.2, 0u32..6).boxed()
    } else {
        Just(None).boxed()
    };
    (
        (
            name(bad),
            prop::option::weighted(0.5, namespace(bad)),
            image(bad),
            port(bad),
            scaling(bad),
            strategy(bad),
        ),
        (
            prop::collection::vec(route(bad), 0..3),
            prop::collection::vec(0usize..8, 0..3),
            prop::option::weighted(0.2, egress),
            prop::collection::vec((env_key, hostile()), 0..3),
            prop::option::weighted(0.2, ("/[a-z]{0,8}", 0u32..300)),
            min_available,
            extra,
        ),
    )
        .prop_map(
            |(
                (name, namespace, image, port, scaling, strategy),
                (routes, calls, egress, env, probes, min_available, extra),
            )| Service {
                name,
                namespace,
                image,
                port,
                scaling,
                strategy,
                routes,
                calls,
                egress,
                env,
                probes,
                min_available,
                extra,
            },
        )
        .boxed()
}

fn cluster(bad: bool) -> BoxedStrategy<Cluster> {
    let aws = (
        mixed(
            bad,
            pick(&["10.0.0.0/16", "172.16.0.0/12"]),
            pick(&["10.0.0.1/16", "fd00::/64", "10.0.0.0/33"]),
        ),
        mixed(
            bad,
            pick(&["203.0.113.7/32", "198.51.100.0/24"]),
            pick(&["0.0.0.0/0", "::/0", "300.1.1.1/32"]),
        ),
        if bad {
            (0u32..4).boxed()
        } else {
            (1u32..4).boxed()
        },
        prop::bool::ANY,
        mixed(bad, pick(&["alb", "nlb"]), pick(&["none", "elb"])),
    )
        .prop_map(|(vpc_cidr, admin, zones, bastion, lb)| Aws {
            vpc_cidr,
            admin,
            zones,
            bastion,
            lb,
        });
    (
        if bad {
            prop_oneof![4 => Just(1u32), 2 => Just(3u32), 1 => 0u32..6].boxed()
        } else {
            prop::sample::select(vec![1u32, 3]).boxed()
        },
        0u32..4,
        mixed(
            bad,
            pick(&["vxlan", "wireguard-native", "host-gw"]),
            pick(&["none", "ipsec"]),
        ),
        prop::bool::ANY,
        prop::option::weighted(0.6, aws),
    )
        .prop_map(
            |(servers, agents, backend, embedded_registry, aws)| Cluster {
                servers,
                agents,
                backend,
                embedded_registry,
                aws,
            },
        )
        .boxed()
}

/// Catalogs, about half with invalid values or combinations mixed in.
fn catalog() -> impl Strategy<Value = (bool, Catalog)> {
    prop::bool::weighted(0.5).prop_flat_map(|bad| {
        (
            Just(bad),
            (
                if bad {
                    prop::collection::vec(namespace(true), 0..3).boxed()
                } else {
                    Just(vec![
                        "apps".to_owned(),
                        "platform".to_owned(),
                        "data".to_owned(),
                    ])
                    .boxed()
                },
                namespace(bad),
                if bad {
                    prop::option::weighted(
                        0.6,
                        (
                            pick(&["nginx", "traefik", "alb", "haproxy"]),
                            prop::bool::ANY,
                        ),
                    )
                    .boxed()
                } else {
                    (pick(&["nginx", "traefik", "alb"]), prop::bool::ANY)
                        .prop_map(Some)
                        .boxed()
                },
                prop::option::weighted(0.4, cluster(bad)),
                prop::collection::vec(service(bad), 1..6),
            )
                .prop_map(|(namespaces, default_ns, ingress, cluster, services)| {
                    Catalog {
                        namespaces,
                        default_ns,
                        ingress,
                        cluster,
                        services,
                    }
                }),
        )
    })
}

/// Make a valid-mode catalog's cross-references consistent: unique names,
/// calls to other existing services, routes unique per service.
fn tidy(c: &mut Catalog) {
    let n = c.services.len();
    for (i, s) in c.services.iter_mut().enumerate() {
        s.name = format!("{}{i}", s.name);
        s.calls = s.calls.iter().map(|&k| k % n).filter(|&k| k != i).collect();
        s.calls.sort_unstable();
        s.calls.dedup();
        s.routes = s.routes.iter().map(|r| format!("/s{i}{r}")).collect();
        s.routes.sort();
        s.routes.dedup();
        if s.strategy.as_deref().is_some_and(|t| t.contains("canary")) && s.routes.is_empty() {
            s.routes.push(format!("/s{i}"));
        }
    }
}

fn yaml_str(s: &str) -> String {
    format!("\"{s}\"")
}

fn render(c: &Catalog) -> String {
    let mut s = String::from("version: 1\nproject: prop-test\n");
    if let Some(k) = &c.cluster {
        s.push_str(&format!(
            "cluster:\n  k3s: {{version: v1.33.5+k3s1, servers: {}, agents: {}, flannel_backend: {}, embedded_registry: {}}}\n",
            k.servers, k.agents, k.backend, k.embedded_registry
        ));
        if let Some(a) = &k.aws {
            let zones: Vec<String> = (0..a.zones)
                .map(|i| format!("eu-west-1{}", ['a', 'b', 'c', 'd'][i as usize]))
                .collect();
            s.push_str(&format!(
                "  aws: {{region: eu-west-1, vpc_cidr: {}, admin_cidrs: [{}], zones: [{}], bastion: {}, load_balancer: {}}}\n",
                a.vpc_cidr,
                a.admin,
                zones.join(", "),
                a.bastion,
                a.lb
            ));
        }
    }
    if !c.namespaces.is_empty() {
        s.push_str("namespaces:\n");
        for ns in &c.namespaces {
            s.push_str(&format!("  {ns}: {{}}\n"));
        }
    }
    if let Some((class, tls)) = &c.ingress {
        s.push_str(&format!(
            "ingress: {{host: app.example, class: {class}{}}}\n",
            if *tls { ", tls_secret: app-tls" } else { "" }
        ));
    }
    s.push_str(&format!(
        "defaults:\n  namespace: {}\n  resources: {{cpu: 100m, memory: 128Mi}}\nservices:\n",
        c.default_ns
    ));
    for svc in &c.services {
        s.push_str(&format!("  {}:\n", svc.name));
        if let Some(ns) = &svc.namespace {
            s.push_str(&format!("    namespace: {ns}\n"));
        }
        s.push_str(&format!(
            "    image: {}\n    port: {}\n",
            yaml_str(&svc.image),
            svc.port
        ));
        match svc.scaling {
            Scaling::None => {}
            Scaling::Replicas(r) => s.push_str(&format!("    replicas: {r}\n")),
            Scaling::Hpa { min, max, cpu } => s.push_str(&format!(
                "    hpa: {{min: {min}, max: {max}, cpu: {cpu}}}\n"
            )),
            Scaling::Both(r, min, max) => s.push_str(&format!(
                "    replicas: {r}\n    hpa: {{min: {min}, max: {}, cpu: 70}}\n",
                min + max
            )),
        }
        if let Some(st) = &svc.strategy {
            s.push_str(&format!("    strategy: {st}\n"));
        }
        if !svc.routes.is_empty() {
            let r: Vec<String> = svc.routes.iter().map(|r| yaml_str(r)).collect();
            s.push_str(&format!("    routes: [{}]\n", r.join(", ")));
        }
        if !svc.calls.is_empty() {
            // Indices into the service list; out of range names an unknown service.
            let names: Vec<String> = svc
                .calls
                .iter()
                .map(|&i| {
                    c.services
                        .get(i)
                        .map_or_else(|| format!("ghost{i}"), |t| t.name.clone())
                })
                .collect();
            s.push_str(&format!("    calls: [{}]\n", names.join(", ")));
        }
        if let Some((cidr, port)) = &svc.egress {
            s.push_str(&format!("    egress: [{{cidr: {cidr}, port: {port}}}]\n"));
        }
        if !svc.env.is_empty() {
            s.push_str("    env:\n");
            for (k, v) in &svc.env {
                s.push_str(&format!("      {k}: {}\n", yaml_str(v)));
            }
        }
        if let Some((path, delay)) = &svc.probes {
            s.push_str(&format!(
                "    probes: {{readiness: {path}, liveness: {path}, initial_delay: {delay}}}\n"
            ));
        }
        if let Some(m) = svc.min_available {
            s.push_str(&format!("    min_available: {m}\n"));
        }
        if let Some(x) = &svc.extra {
            s.push_str(&format!("    {x}\n"));
        }
    }
    s
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        // Deterministic runs: no persistence file, a fixed seed below.
        failure_persistence: None,
        ..Config::default()
    }
}

/// The property for one catalog text; Err describes the violation.
fn holds(src: &str) -> Result<bool, String> {
    // gen trusts the build-time catalog validator's "valid" (and only then
    // skips the run-time one): the two must agree on every document.
    if let Ok(loaded) = gen::catalog::yaml::load(&gen::SourceFile::new("catalog.yaml", src)) {
        if !gen::catalog::schema::validators_agree(&loaded.value) {
            return Err("the build-time and run-time catalog validators disagree".to_owned());
        }
    }
    let policy = Policy::default();
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gen::check("catalog.yaml", src.as_bytes(), &policy, TODAY)
    }))
    .map_err(|_| "gen panicked".to_owned())?;
    match first {
        Ok(a) => {
            let _ = format::json(&a.report);
            let _ = format::sarif(&a.report, "0.0.0");
            let _ = format::github(&a.report);
            if a.tree.len() <= 3 {
                return Err(format!(
                    "an accepted catalog emitted only {} files",
                    a.tree.len()
                ));
            }
            let b = gen::check("catalog.yaml", src.as_bytes(), &policy, TODAY)
                .map_err(|e| format!("the second build failed: {e}"))?;
            if a.tree != b.tree {
                return Err("two builds differ".to_owned());
            }
            let spans = |c: &gen::Checked| -> Vec<(&'static str, std::ops::Range<usize>)> {
                c.report
                    .findings
                    .iter()
                    .map(|f| (f.rule, f.problem.span.clone()))
                    .collect()
            };
            if spans(&a) != spans(&b) {
                return Err("two lint runs differ".to_owned());
            }
            Ok(true)
        }
        Err(gen::CompileError::Catalog(problems)) => {
            if problems.0.is_empty() {
                return Err("refused without a problem".to_owned());
            }
            for p in &problems.0 {
                let (line, col) = p.line_col();
                if line < 1 || col < 1 || p.span.end > src.len() || p.message.is_empty() {
                    return Err(format!("badly located problem: {p:?}"));
                }
            }
            Ok(false)
        }
        // An emitted object that fails gen's own Kubernetes schema
        // validation (or any other internal error) lands here.
        Err(e) => Err(format!("internal error on an accepted catalog: {e}")),
    }
}

#[test]
fn catalogs_build_deterministically_or_are_refused_with_located_problems() {
    let seed = [7u8; 32];
    let mut runner =
        TestRunner::new_with_rng(config(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let accepted = std::cell::Cell::new(0u32);
    let refused = std::cell::Cell::new(0u32);
    let result = runner.run(&catalog(), |(bad, mut c)| {
        if !bad {
            tidy(&mut c);
        }
        let src = render(&c);
        match holds(&src) {
            Ok(true) => accepted.set(accepted.get() + 1),
            Ok(false) => refused.set(refused.get() + 1),
            Err(why) => {
                return Err(TestCaseError::fail(format!(
                    "{why}\n--- catalog ---\n{src}"
                )))
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{} accepted, {} refused", accepted.get(), refused.get());
    // The strategies must reach both sides, or the properties say little.
    if config().cases >= 64 {
        assert!(
            accepted.get() >= 5 && refused.get() >= 5,
            "accepted {} / refused {}",
            accepted.get(),
            refused.get()
        );
    }
}

/// Arbitrary edits of a valid catalog (a line dropped, duplicated or cut)
/// hit the parser and the schema mapping at odd places.
#[test]
fn mangled_catalogs_never_panic_and_are_located() {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/msa-k3s/catalog.yaml"
    ))
    .unwrap();
    let lines: Vec<String> = base.lines().map(str::to_owned).collect();
    let n = lines.len();
    let edit = (0..n, 0..n, 0u8..4, 0usize..40);
    let mut runner = TestRunner::new_with_rng(
        config(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[9u8; 32]),
    );
    let result = runner.run(&edit, |(a, b, op, cut)| {
        let mut l = lines.clone();
        match op {
            0 => {
                l.remove(a);
            }
            1 => {
                let dup = l[a].clone();
                l.insert(b, dup);
            }
            2 => {
                let keep: String = l[a].chars().take(cut).collect();
                l[a] = keep;
            }
            _ => l.swap(a, b),
        }
        let src = l.join("\n");
        holds(&src).map_err(|why| TestCaseError::fail(format!("{why}\n--- catalog ---\n{src}")))?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
