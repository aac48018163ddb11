//! `cargo bench`: gen's in-memory pipeline, stage by stage, on the synthetic
//! catalogs of `benches/gen_catalog.py` (10, 100 and 1000 services) and on
//! the examples. It has no peer: the side-by-side comparisons with
//! kubernetes-validate, Helm, checkov and `cp -r` are `benches/compare.py`
//! (see BENCHMARKS.md). Use it to see which stage a change made slower:
//!
//!   cargo bench --bench pipeline                 # everything
//!   cargo bench --bench pipeline -- 'emit/'      # one stage
//!
//! Stages: `parse` (decode + YAML with spans + schema + model checks),
//! `emit` (every output file, every object validated against the strict
//! Kubernetes schema), `lint` (parse + every rule), `check` (everything
//! `gen build --check` does in memory: parse, emit, lint).

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const TODAY: &str = "2026-11-22";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A synthetic catalog of `n` services, from the same generator as compare.py.
fn synthetic(n: usize) -> Vec<u8> {
    let out = Command::new("python3")
        .arg(root().join("benches/gen_catalog.py"))
        .arg(n.to_string())
        .output()
        .expect("python3 runs benches/gen_catalog.py");
    assert!(
        out.status.success(),
        "gen_catalog.py {n}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn examples() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("catalog.yaml").is_file())
        .map(|p: PathBuf| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, read(&p.join("catalog.yaml")))
        })
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn stages(c: &mut Criterion, label: &str, services: Option<u64>, bytes: &[u8]) {
    let policy = gen::lint::Policy::default();
    // A catalog that does not build would measure the refusal; fail loudly.
    let checked = gen::check("catalog.yaml", bytes, &policy, TODAY)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let model = checked.model;

    let throughput = |g: &mut criterion::BenchmarkGroup<'_, _>| {
        if let Some(n) = services {
            g.throughput(Throughput::Elements(n));
        }
    };

    let mut g = c.benchmark_group("parse");
    throughput(&mut g);
    g.bench_with_input(BenchmarkId::from_parameter(label), bytes, |b, bytes| {
        b.iter(|| {
            let source = gen::catalog::decode("catalog.yaml", bytes).expect("decodes");
            gen::model::analyze(&source).expect("valid")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("emit");
    throughput(&mut g);
    g.bench_with_input(BenchmarkId::from_parameter(label), &model, |b, model| {
        b.iter(|| gen::emit::emit(model).expect("emits"))
    });
    g.finish();

    let mut g = c.benchmark_group("lint");
    throughput(&mut g);
    g.bench_with_input(BenchmarkId::from_parameter(label), bytes, |b, bytes| {
        b.iter(|| gen::lint_only("catalog.yaml", bytes, &policy, TODAY).expect("lints"))
    });
    g.finish();

    let mut g = c.benchmark_group("check");
    throughput(&mut g);
    g.bench_with_input(BenchmarkId::from_parameter(label), bytes, |b, bytes| {
        b.iter(|| gen::check("catalog.yaml", bytes, &policy, TODAY).expect("checks"))
    });
    g.finish();
}

fn synthetic_catalogs(c: &mut Criterion) {
    for n in [10usize, 100, 1000] {
        let bytes = synthetic(n);
        stages(c, &format!("{n}-services"), Some(n as u64), &bytes);
    }
}

fn example_catalogs(c: &mut Criterion) {
    for (name, bytes) in examples() {
        stages(c, &name, None, &bytes);
    }
}

criterion_group! {
    name = benches;
    // Fewer samples than criterion's 100: the 1000-service cases take
    // seconds per iteration on this machine's two cores.
    config = Criterion::default().sample_size(10);
    targets = synthetic_catalogs, example_catalogs
}
criterion_main!(benches);
