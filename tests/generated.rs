//! Generated catalogs: hundreds of catalogs drawn from a small grammar
//! (services, scaling, strategies, routes, calls, egress, env with hostile
//! strings, a cluster block; some deliberately wrong). For each: gen never
//! panics; a catalog it accepts builds byte-identically twice, every
//! emitted object passed gen's own OpenAPI validation (or the build would
//! have failed), and lint runs; a catalog it refuses gets located problems.
//!
//! The generator is a seeded PCG, so a failure names the seed that
//! reproduces it: `GEN_SEED=<seed> cargo test --test generated`.

use gen::lint::Policy;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = self.0;
        (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd) >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const STRINGS: [&str; 10] = [
    "plain",
    "{{ .Release.Name }}",
    "$(rm -rf /) `id`",
    "it's \\\"quoted\\\"",
    "line\\nbreak",
    "on",
    "0777",
    "수강신청 ✓",
    "<b>&amp;</b>",
    "",
];

fn catalog(rng: &mut Rng) -> String {
    let mut s = String::from("version: 1\nproject: gen-test\n");
    let k3s = rng.chance(40);
    let aws = k3s && rng.chance(60);
    if rng.chance(70) {
        s.push_str(&format!(
            "ingress: {{host: app.example, class: {}{}}}\n",
            rng.pick(&["nginx", "traefik", "alb"]),
            if rng.chance(50) {
                ", tls_secret: app-tls"
            } else {
                ""
            }
        ));
    }
    if k3s {
        s.push_str(&format!(
            "cluster:\n  k3s: {{version: v1.33.5+k3s1, servers: {}, agents: {}, flannel_backend: {}, embedded_registry: {}}}\n",
            if rng.chance(10) { "2" } else { rng.pick(&["1", "3"]) },
            rng.below(4),
            rng.pick(&["vxlan", "wireguard-native", "host-gw", "none"]),
            rng.chance(30)
        ));
        if aws {
            s.push_str(&format!(
                "  aws: {{region: eu-west-1, vpc_cidr: {}, admin_cidrs: [{}], zones: [eu-west-1a], bastion: {}, load_balancer: alb, database: {{engine: postgres}}}}\n",
                if rng.chance(10) { "10.0.0.1/16" } else { "10.0.0.0/16" },
                rng.pick(&["203.0.113.7/32", "0.0.0.0/0", "198.51.100.0/24"]),
                rng.chance(50)
            ));
        }
    }
    s.push_str("defaults:\n  namespace: apps\n  resources: {cpu: 100m, memory: 128Mi}\n");
    s.push_str("services:\n");
    let n = 1 + rng.below(6);
    for i in 0..n {
        s.push_str(&format!("  s{i}:\n"));
        let image = if rng.chance(8) {
            rng.pick(&["ghcr.io/t/app:latest", "Not An Image"])
        } else {
            rng.pick(&[
                "ghcr.io/t/app:1.0.0",
                "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ])
        };
        s.push_str(&format!("    image: {image}\n"));
        let port = if rng.chance(5) {
            "70000"
        } else {
            rng.pick(&["8080", "80", "6379"])
        };
        s.push_str(&format!("    port: {port}\n"));
        match rng.below(3) {
            0 => s.push_str(&format!("    replicas: {}\n", rng.below(5))),
            1 => {
                let min = 1 + rng.below(3);
                let max = if rng.chance(10) {
                    min - 1
                } else {
                    min + rng.below(4)
                };
                s.push_str(&format!("    hpa: {{min: {min}, max: {max}, cpu: 70}}\n"));
            }
            _ => {}
        }
        if rng.chance(50) {
            s.push_str(&format!("    routes: [/s{i}, /api/s{i}]\n"));
        }
        if rng.chance(40) && i > 0 {
            s.push_str(&format!("    calls: [s{}]\n", rng.below(i)));
        }
        if rng.chance(40) {
            s.push_str(&format!(
                "    env: {{A: \"{}\", B: \"{}\"}}\n",
                rng.pick(&STRINGS),
                rng.pick(&STRINGS)
            ));
        }
        if rng.chance(20) {
            s.push_str("    egress: [{cidr: 0.0.0.0/0, port: 443}]\n");
        }
        match rng.below(4) {
            0 => s.push_str("    strategy: {type: blue-green, live: green, green_image: ghcr.io/t/app:1.1.0}\n"),
            1 => s.push_str("    strategy: {type: canary, canary_image: ghcr.io/t/app:1.1.0, canary_weight: 30}\n"),
            2 => s.push_str("    strategy: {max_surge: 1, max_unavailable: 0}\n"),
            _ => {}
        }
    }
    // Environments overriding some services (now and then a bad override:
    // an inverted HPA range, `latest`, an unknown service).
    if rng.chance(50) {
        s.push_str("environments:\n");
        for env in ["staging", "prod"] {
            if !rng.chance(70) {
                continue;
            }
            s.push_str(&format!("  {env}:\n    protected: {}\n", rng.chance(50)));
            if rng.chance(30) {
                s.push_str("    ingress: {host: env.app.example, tls_secret: env-tls}\n");
            }
            if rng.chance(30) {
                s.push_str(&format!(
                    "    defaults: {{replicas: {}, resources: {{cpu: 50m}}}}\n",
                    rng.below(4)
                ));
            }
            let mut overrides = String::new();
            for i in 0..n {
                if !rng.chance(60) {
                    continue;
                }
                let name = if rng.chance(5) {
                    format!("x{i}")
                } else {
                    format!("s{i}")
                };
                overrides.push_str(&format!("      {name}:\n"));
                match rng.below(3) {
                    0 => overrides.push_str(&format!("        replicas: {}\n", rng.below(5))),
                    1 => {
                        let min = 1 + rng.below(4);
                        let max = if rng.chance(10) {
                            min - 1
                        } else {
                            min + rng.below(4)
                        };
                        overrides.push_str(&format!(
                            "        hpa: {{min: {min}, max: {max}, cpu: 80}}\n"
                        ));
                    }
                    _ => overrides.push_str("        min_available: 1\n"),
                }
                if rng.chance(30) {
                    overrides.push_str(&format!(
                        "        image: {}\n",
                        rng.pick(&["ghcr.io/t/app:2.0.0", "ghcr.io/t/app:latest"])
                    ));
                }
                if rng.chance(30) {
                    overrides.push_str(&format!("        host: s{i}.env.example\n"));
                }
                if rng.chance(30) {
                    overrides
                        .push_str(&format!("        env: {{A: \"{}\"}}\n", rng.pick(&STRINGS)));
                }
                if rng.chance(30) {
                    overrides.push_str("        resources: {memory: 256Mi}\n");
                }
            }
            if overrides.is_empty() {
                s.push_str("    services: {}\n");
            } else {
                s.push_str("    services:\n");
                s.push_str(&overrides);
            }
        }
    }
    s
}

#[test]
fn generated_catalogs_build_deterministically_or_fail_cleanly() {
    let seeds: Vec<u64> = match std::env::var("GEN_SEED") {
        Ok(s) => vec![s.parse().expect("GEN_SEED is a number")],
        Err(_) => (1..=300).collect(),
    };
    let (mut ok, mut refused, mut with_environments) = (0, 0, 0);
    for seed in seeds {
        let mut rng = Rng(seed);
        let src = catalog(&mut rng);
        let result = std::panic::catch_unwind(|| {
            gen::check(
                "catalog.yaml",
                src.as_bytes(),
                &Policy::default(),
                "2026-11-22",
            )
        });
        let Ok(result) = result else {
            panic!("seed {seed}: gen panicked on\n{src}");
        };
        match result {
            Ok(a) => {
                let b = gen::check(
                    "catalog.yaml",
                    src.as_bytes(),
                    &Policy::default(),
                    "2026-11-22",
                )
                .unwrap();
                assert_eq!(a.tree, b.tree, "seed {seed}: two builds differ");
                assert!(a.tree.len() > 3, "seed {seed}: empty tree");
                // Lint's output is stable too.
                let fa: Vec<_> = a
                    .report
                    .findings
                    .iter()
                    .map(|f| (f.rule, f.problem.span.clone()))
                    .collect();
                let fb: Vec<_> = b
                    .report
                    .findings
                    .iter()
                    .map(|f| (f.rule, f.problem.span.clone()))
                    .collect();
                assert_eq!(fa, fb, "seed {seed}: lint differs");
                ok += 1;
                if a.model.environments().next().is_some() {
                    with_environments += 1;
                }
            }
            Err(gen::CompileError::Catalog(problems)) => {
                assert!(
                    !problems.0.is_empty(),
                    "seed {seed}: refused without a problem"
                );
                for p in &problems.0 {
                    let (line, col) = p.line_col();
                    assert!(line >= 1 && col >= 1, "seed {seed}: {p:?}");
                    assert!(!p.message.is_empty());
                }
                refused += 1;
            }
            Err(e) => panic!("seed {seed}: internal error {e}\n{src}"),
        }
    }
    eprintln!("{ok} accepted ({with_environments} with environments), {refused} refused");
    if std::env::var("GEN_SEED").is_err() {
        assert!(
            ok >= 30 && refused >= 30 && with_environments >= 10,
            "the grammar should produce both, and environments: {ok} ({with_environments}) / {refused}"
        );
    }
}
