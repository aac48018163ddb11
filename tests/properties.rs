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

#[path = "../fuzz/harness.rs"]
mod harness;

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

/// `admin_cidrs` drawn as a random partition of a whole address family
/// (start from `/0`, split random pieces in halves), in random order, with
/// an overlapping piece sometimes added: the union is every address, so
/// `ssh-from-world` refuses it, at the `admin_cidrs` line, like `0.0.0.0/0`.
/// The same partition missing one address is no longer the world and is
/// judged by `admin-cidr-wide`'s size rule instead.
#[test]
fn admin_cidrs_covering_the_world_in_pieces_are_refused() {
    use ipnet::IpNet;

    fn halves(n: IpNet) -> Option<(IpNet, IpNet)> {
        let mut it = n.subnets(n.prefix_len() + 1).ok()?;
        Some((it.next()?, it.next()?))
    }
    let draw = (
        any::<bool>(),
        prop::collection::vec(any::<u64>(), 0..24),
        any::<bool>(),
        any::<u64>(),
        prop::option::of(any::<u64>()),
    );
    let mut runner = TestRunner::new_with_rng(
        config(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11u8; 32]),
    );
    let result = runner.run(&draw, |(v6, splits, drop_one, pick, overlap)| {
        let world: IpNet = if v6 { "::/0" } else { "0.0.0.0/0" }.parse().unwrap();
        let mut nets = vec![world];
        for s in &splits {
            let i = usize::try_from(*s % nets.len() as u64).unwrap();
            if let Some((a, b)) = halves(nets[i]) {
                nets[i] = a;
                nets.push(b);
            }
        }
        if drop_one {
            // Split one piece down to a single address along one path and
            // leave that address out.
            let i = usize::try_from(pick % nets.len() as u64).unwrap();
            let mut n = nets.remove(i);
            while let Some((a, b)) = halves(n) {
                nets.push(a);
                n = b;
            }
        }
        if let Some(o) = overlap {
            let i = usize::try_from(o % nets.len() as u64).unwrap();
            let inner = halves(nets[i]).map_or(nets[i], |(a, _)| a);
            nets.push(inner);
        }
        // A deterministic shuffle.
        let len = nets.len();
        for i in 0..len {
            let j = usize::try_from((pick.wrapping_mul(i as u64 + 7)) % len as u64).unwrap();
            nets.swap(i, j);
        }
        let list: Vec<String> = nets.iter().map(|n| format!("'{n}'")).collect();
        let src = format!(
            "version: 1\nproject: lab\ncluster:\n  k3s: {{version: v1.33.5+k3s1, servers: 1, agents: 1, ipv6: {v6}}}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [{}]\nservices:\n  web: {{image: 'ghcr.io/lab/web:1.0.0', port: 8080}}\n",
            list.join(", ")
        );
        let report = gen::lint_only("catalog.yaml", src.as_bytes(), &Policy::default(), TODAY)
            .map_err(|e| TestCaseError::fail(format!("refused: {e:?}\n{src}")))?;
        let of = |rule: &str| -> Vec<(gen::lint::Severity, usize)> {
            report
                .findings
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| (f.severity, f.problem.line_col().0))
                .collect()
        };
        let world_hits = of("ssh-from-world");
        let wide_hits = of("admin-cidr-wide");
        if drop_one {
            prop_assert!(world_hits.is_empty(), "one address short is not the world: {world_hits:?}\n{src}");
            prop_assert!(!wide_hits.is_empty(), "all but one address is wide\n{src}");
        } else {
            prop_assert!(!world_hits.is_empty(), "the world in pieces passed\n{src}");
            prop_assert!(
                world_hits.iter().all(|(s, line)| *s == gen::lint::Severity::Error && *line == 8),
                "{world_hits:?}\n{src}"
            );
            prop_assert!(wide_hits.is_empty(), "{wide_hits:?}\n{src}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Random strings in every catalog field that becomes a Kubernetes name,
/// label key or value, annotation or Secret/ConfigMap key: the catalog is
/// refused with located problems, or it builds and every object passes
/// gen's own Kubernetes validation. Never an internal error.
#[test]
fn strings_that_become_kubernetes_names_are_refused_or_valid() {
    let fields: [&str; 18] = [
        "namespaces: {shop: {labels: {'@': x}}}",
        "namespaces: {shop: {labels: {team: '@'}}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, secret_env: {DB: '@'}}}",
        "alerting: {slack: {url_secret: '@'}}",
        "alerting: {webhook: {url_secret: '@'}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, alerts: {error_rate: 5}}}\nalerting: {slack: {url_secret: a/b}, prometheus_labels: {'@': x}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, alerts: {error_rate: 5}}}\nalerting: {slack: {url_secret: a/b}, prometheus_labels: {release: '@'}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, alerts: {metrics: {path: '/@'}}}}\nalerting: {slack: {url_secret: a/b, channel: '#@'}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, env: {'@': x}}}",
        "ingress: {host: shop.example, tls_secret: '@'}",
        "ingress: {host: '@'}",
        "services: {'@': {image: 'registry.example/api:1.0.0-abc1234', port: 8080}}",
        "services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, namespace: '@'}}",
        "project: '@'",
        "ingress: {host: shop.example, controller_namespace: '@'}",
        "environments: {'@': {services: {api: {env: {A: b}}}}}",
        "gitops: {argocd: {repo_url: 'https://git.example/x.git', charts_path: out/charts, namespace: '@'}}",
        "services: {api: {image: '@', port: 8080}}",
    ];
    let text = prop_oneof![
        "[a-zA-Z0-9 ./_:@-]{0,70}",
        "[a-z0-9.-]{50,270}",
        "[a-z][a-z0-9-]{0,62}(/[a-z0-9._-]{0,70})?",
        Just(String::new()),
        Just("..".to_owned()),
        Just("-lead".to_owned()),
        Just("a b/c".to_owned()),
        Just("caf\u{e9}".to_owned()),
    ];
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: config().cases * 4,
            ..config()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[13u8; 32]),
    );
    let accepted = std::cell::Cell::new(0u32);
    let result = runner.run(&(0..fields.len(), text), |(field, s)| {
        let value = s.replace('\'', "''");
        let line = fields[field].replace('@', &value);
        let mut doc: Vec<String> = vec!["version: 1".into()];
        let has = |k: &str| line.starts_with(k);
        if !has("project:") {
            doc.push("project: shop".into());
        }
        if !has("services:") {
            doc.push("services: {api: {image: 'registry.example/api:1.0.0-abc1234', port: 8080, routes: [/api]}}".into());
        }
        if !has("ingress:") && !has("services:") {
            doc.push("ingress: {host: shop.example}".into());
        }
        doc.push(line);
        let src = doc.join("\n") + "\n";
        match gen::check("catalog.yaml", src.as_bytes(), &Policy::default(), TODAY) {
            Ok(_) => accepted.set(accepted.get() + 1),
            Err(gen::CompileError::Catalog(problems)) => {
                for p in &problems.0 {
                    let (line, col) = p.line_col();
                    prop_assert!(
                        line >= 1 && col >= 1 && p.span.end <= src.len() && p.help.is_some(),
                        "badly located or without help: {p:?}\n{src}"
                    );
                }
            }
            Err(e) => prop_assert!(false, "internal error: {e}\n{src}"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(accepted.get() > 0, "no string was ever accepted");
}

/// Services named after each other's derived objects (`api` and
/// `api-canary`, `api-blue`, `api-env`...) with random strategies, HPAs,
/// env and namespaces: an accepted catalog never emits two objects with the
/// same (namespace, kind, name), in the default render or an environment's;
/// a refused one is refused for exactly that, at a service's key.
#[test]
fn no_two_emitted_objects_share_a_name_unless_refused() {
    let service = (
        0usize..2,
        0usize..6,
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        0usize..3,
    );
    let mut runner = TestRunner::new_with_rng(
        config(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[17u8; 32]),
    );
    let (accepted, refused) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let draw = (prop::collection::vec(service, 2..8), any::<bool>());
    let result = runner.run(&draw, |(services, env_hpa)| {
        let bases = ["api", "web"];
        let suffixes = ["", "-canary", "-blue", "-green", "-env", "-canary-blue"];
        let mut src = String::from("version: 1\nproject: shop\nnamespaces: {shop: {}, other: {}}\ningress: {host: shop.example}\nservices:\n");
        let mut names = std::collections::BTreeSet::new();
        for (i, (b, suf, strat, hpa, env, ns)) in services.iter().enumerate() {
            let name = format!("{}{}", bases[*b], suffixes[*suf]);
            if !names.insert(name.clone()) {
                continue;
            }
            // Base names mostly get a strategy with derived names.
            let strat = if suffixes[*suf].is_empty() { 1 + strat % 2 } else { *strat };
            let strategy = match strat {
                0 => String::new(),
                1 => ", strategy: {type: blue-green}".to_owned(),
                _ => ", strategy: {type: canary, canary_image: 'registry.example/x:2.0.0-abc1234'}".to_owned(),
            };
            src.push_str(&format!(
                "  {name}: {{image: 'registry.example/x:1.0.0-abc1234', port: 8080, namespace: {}, routes: [/r{i}]{}{}{strategy}}}\n",
                ["shop", "shop", "other"][*ns],
                if *hpa { ", hpa: {min: 2, max: 4, cpu: 70}" } else { "" },
                if *env { ", env: {A: b}" } else { "" },
            ));
        }
        if env_hpa {
            let first = names.iter().next().unwrap();
            src.push_str(&format!("environments:\n  prod:\n    services:\n      {first}: {{hpa: {{min: 3, max: 5, cpu: 60}}, env: {{B: c}}}}\n"));
        }
        match gen::compile("catalog.yaml", src.as_bytes()) {
            Ok(c) => {
                accepted.set(accepted.get() + 1);
                // The fuzz targets' own check of the emitted identities.
                std::panic::catch_unwind(|| harness::assert_unique_objects(&c.model))
                    .map_err(|_| TestCaseError::fail(format!("an object is emitted twice\n{src}")))?;
            }
            Err(gen::CompileError::Catalog(p)) => {
                refused.set(refused.get() + 1);
                for p in &p.0 {
                    prop_assert_eq!(p.code, "catalog::name-collision", "{:?}\n{}", p, src);
                    let at = &src[p.span.clone()];
                    prop_assert!(names.contains(at), "not at a service key: {at:?}\n{src}");
                }
            }
            Err(e) => prop_assert!(false, "internal error: {e}\n{src}"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    if config().cases >= 64 {
        assert!(
            accepted.get() >= 5 && refused.get() >= 5,
            "{} / {}",
            accepted.get(),
            refused.get()
        );
    }
}
