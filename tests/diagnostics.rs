//! Snapshot tests of rendered diagnostics (miette graphical, unicode, no
//! colour, 80 columns). Snapshots live in `tests/snapshots/*.txt`; re-bless
//! with `GEN_BLESS=1 cargo test --test diagnostics` and review the diff.

mod common;

use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(name: &str, catalog: &str) -> String {
    let err = match gen::compile(&format!("{name}/catalog.yaml"), catalog.as_bytes()) {
        Err(gen::CompileError::Catalog(p)) => p,
        other => panic!("{name}: expected catalog problems, got {other:?}"),
    };
    let h = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(80);
    let mut out = String::new();
    for p in err.iter() {
        h.render_report(&mut out, p).unwrap();
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, catalog: &str) {
    let actual = render(name, catalog);
    common::assert_matches_file(
        &common::root().join(format!("tests/snapshots/{name}.txt")),
        &actual,
    );
}

#[test]
fn typo_in_service_key() {
    snapshot(
        "typo",
        "version: 1\nproject: shop\nservices:\n  api:\n    image: registry.example/api:1.0.0\n    port: 8080\n    replcas: 2\n",
    );
}

#[test]
fn schema_and_semantic_problems_together() {
    snapshot(
        "mixed",
        "version: 1
project: shop
ingress: {host: shop.example}
services:
  api:
    image: registry.example/api
    port: \"8080\"
    hpa: {min: 4, max: 2, cpu: 70}
    routes: [/api]
  web:
    image: registry.example/web:latest
    port: 3000
    routes: [/api/]
    calls: [apii]
",
    );
}

#[test]
fn cluster_topology() {
    snapshot(
        "cluster",
        "version: 1
project: shop
cluster:
  k3s: {version: v1.33.5+k3s1, servers: 2, agents: 2, flannel_backend: vxlan2}
  aws:
    region: ap-northeast-2
    vpc_cidr: 10.0.0.0/16
    admin_cidrs: [203.0.113.7/24]
    zones: [us-east-1a]
services: {}
",
    );
}

#[test]
fn yaml_syntax_error() {
    snapshot(
        "syntax",
        "version: 1\nproject: shop\nservices:\n  api: {image: a:1, port: 80\n",
    );
}

#[test]
fn environment_overrides() {
    snapshot(
        "environments",
        "version: 1
project: shop
services:
  api:
    image: registry.example/api:1.0.0-abc1234
    port: 8080
    replicas: 2
    hpa: {min: 2, max: 4, cpu: 70}
environments:
  staging:
    services:
      api: {image: registry.example/api:latest}
      apii: {replicas: 1}
  prod:
    services:
      api: {hpa: {min: 4, max: 8, cpu: 70}}
",
    );
}
