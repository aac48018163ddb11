//! Crash safety: `gen build` killed with SIGKILL at many moments leaves
//! `--out` either the complete old tree or the complete new one, never a
//! mix; the next successful run leaves no temporary directory behind.
//!
//! CI runs a short form (40 services); the full form is
//! `GEN_CRASH_SERVICES=1000 cargo test --release --test crash`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn catalog(n: usize, replicas: u32) -> String {
    let mut s = String::from(
        "version: 1\nproject: crash\ningress: {host: crash.example, tls_secret: crash-tls}\ndefaults:\n  namespace: apps\n  resources: {cpu: 100m, memory: 128Mi}\n  probes: {readiness: /ready, liveness: /live}\nservices:\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  s{i:04}:\n    image: registry.example/s{i}:1.0.{i}\n    port: 8080\n    replicas: {replicas}\n    routes: [/s{i}]\n"
        ));
    }
    s
}

fn build(dir: &Path, cat: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["build", cat, "--out", "out"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", common::text(&o));
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("gen-tmp"))
        .collect()
}

#[test]
fn sigkill_at_any_moment_leaves_the_old_or_the_new_tree() {
    let d = tempfile::tempdir().unwrap();
    let n = std::env::var("GEN_CRASH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    std::fs::write(d.path().join("old.yaml"), catalog(n, 2)).unwrap();
    std::fs::write(d.path().join("new.yaml"), catalog(n, 3)).unwrap();
    build(d.path(), "new.yaml");
    let new = common::snapshot_tree(&d.path().join("out"));
    build(d.path(), "old.yaml");
    let old = common::snapshot_tree(&d.path().join("out"));
    assert_ne!(old, new);

    // How long one build takes, to spread the kills over it.
    let t = Instant::now();
    build(d.path(), "old.yaml");
    let span = t.elapsed().as_micros().max(1000) as u64;

    let (mut saw_old, mut saw_new) = (0, 0);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..50 {
        // Deterministic pseudo-random delay in [0, 1.2 x build time).
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = (seed >> 11) % (span * 6 / 5);
        let mut child = Command::new(env!("CARGO_BIN_EXE_gen"))
            .args(["build", "new.yaml", "--out", "out"])
            .current_dir(d.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = common::snapshot_tree(&d.path().join("out"));
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
            build(d.path(), "old.yaml");
        } else {
            panic!("round {round}: --out is neither the old nor the new tree (killed after {delay} us)");
        }
    }
    // The kills landed on both sides of the swap at least once... when the
    // machine is very fast or slow one side may dominate; the invariant
    // above is what matters, but show the split.
    eprintln!("kills: {saw_old} left the old tree, {saw_new} the new one");
    assert_eq!(saw_old + saw_new, 50);
    // The next successful run removes what the killed ones left.
    build(d.path(), "new.yaml");
    assert_eq!(common::snapshot_tree(&d.path().join("out")), new);
    assert_eq!(leftovers(d.path()), Vec::<String>::new());
}
