//! Hostile surroundings rather than hostile catalogs: diagnostics on lines
//! longer than 65,535 columns, inputs that are not regular files or never
//! end, an `--out` that holds the catalog, builds racing for one `--out`,
//! and an API server that streams an endless body. Each must end in a clear
//! diagnostic and a non-zero exit, never a panic, a hang, unbounded memory
//! or a lost file.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{gen, snapshot_tree, text};

/// Run gen, killing it (and failing) if it has not finished within a
/// minute: a guard against hangs, not a timing assertion.
fn gen_bounded(cwd: &Path, args: &[&str], stdin: Stdio) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gen");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!("gen {args:?} still ran after a minute: {:?}", text(&o));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A diagnostic run: the exit code wanted, no panic, the output bounded.
fn refused(o: &Output, code: i32, what: &str) -> String {
    let (_, err) = text(o);
    assert_eq!(o.status.code(), Some(code), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        err.len() < 20_000,
        "{what}: {} bytes of diagnostics",
        err.len()
    );
    err
}

// --- long lines (item 8) ---------------------------------------------------

const HEAD: &str = r#"{"version": 1, "project": "p", "defaults": {"namespace": "apps", "resources": {"cpu": "100m", "memory": "128Mi"}}, "services": {"#;

/// A one-line JSON catalog whose service key `api` starts at column `col`
/// (spaces before it); with `port` invalid when `bad`. Returns the text and
/// the column of the first problem (the service key, or the bad port).
fn one_line(col: usize, bad: bool) -> (String, usize) {
    let port = if bad { r#""x""# } else { "8080" };
    let tail = format!(r#""api": {{"image": "registry.example/api:1.0.0", "port": {port}}}}}}}"#);
    let pad = " ".repeat(col - 1 - HEAD.len());
    let at = if bad { tail.find(port).unwrap() } else { 0 };
    (format!("{HEAD}{pad}{tail}"), col + at)
}

#[test]
fn problems_past_column_65535_render_an_excerpt_in_every_command() {
    let d = tempfile::tempdir().unwrap();
    for col in [
        1_000, 65_000, 65_534, 65_535, 65_536, 65_537, 70_000, 131_072, 262_144,
    ] {
        let (bad, at) = one_line(col, true);
        std::fs::write(d.path().join("bad.json"), &bad).unwrap();
        let here = format!("[bad.json:1:{at}]");
        for args in [
            &["build", "bad.json", "--out", "o"][..],
            &["build", "bad.json", "--check"],
            &["lint", "bad.json"],
            &["diff", "bad.json", "--context", "c"],
            &["apply", "bad.json", "--context", "c"],
            &["rollback", "api", "--catalog", "bad.json", "--context", "c"],
        ] {
            let err = refused(&gen(d.path(), args), 2, &format!("{args:?} at {col}"));
            assert!(err.contains(&here), "{args:?} at {col}: no {here} in {err}");
            assert!(
                err.contains(r#""x""#),
                "{args:?} at {col}: no excerpt: {err}"
            );
        }
        assert!(!d.path().join("o").exists(), "a refused build wrote");

        // A valid catalog lints; its findings point at the service key.
        let (good, at) = one_line(col, false);
        std::fs::write(d.path().join("good.json"), &good).unwrap();
        let o = gen(d.path(), &["lint", "good.json"]);
        let (_, err) = text(&o);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "lint at {col}: {err}"
        );
        assert!(!err.contains("panicked"), "lint at {col}: {err}");
        assert!(err.contains(&format!("[good.json:1:{at}]")), "{col}: {err}");
        assert!(err.len() < 20_000, "lint at {col}: {} bytes", err.len());
    }
}

// --- inputs that are not regular files, or too large (item 9) ---------------

fn example(dir: &Path) {
    std::fs::copy(
        common::root().join("examples/karina/catalog.yaml"),
        dir.join("catalog.yaml"),
    )
    .unwrap();
}

#[test]
fn devices_fifos_directories_and_huge_files_are_refused_unread() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let fifo = d.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::create_dir(d.path().join("dir")).unwrap();
    // Sparse files: 16 MiB is the catalog limit, 1 MiB the policy's.
    for (name, len) in [
        ("huge.yaml", (16 << 20) + 1),
        ("vast.yaml", 1 << 34),
        ("big-policy.yaml", (1 << 20) + 1),
    ] {
        std::fs::File::create(d.path().join(name))
            .unwrap()
            .set_len(len)
            .unwrap();
    }
    let not_regular = [
        ("/dev/zero", "not a regular file"),
        ("/dev/null", "not a regular file"),
        ("fifo", "not a regular file"),
        ("dir", "is a directory"),
    ];
    for (input, why) in not_regular
        .iter()
        .copied()
        .chain([("huge.yaml", "16 MiB"), ("vast.yaml", "16 MiB")])
    {
        for args in [
            &["build", input, "--out", "o"][..],
            &["build", input, "--check"],
            &["lint", input],
            &["diff", input, "--context", "c"],
        ] {
            let o = gen_bounded(d.path(), args, Stdio::null());
            let err = refused(&o, 2, &format!("{args:?}"));
            assert!(err.contains(input) && err.contains(why), "{args:?}: {err}");
        }
    }
    for (input, why) in not_regular
        .iter()
        .copied()
        .chain([("big-policy.yaml", "1 MiB")])
    {
        for args in [
            &["build", "catalog.yaml", "--policy", input, "--out", "o"][..],
            &["lint", "catalog.yaml", "--policy", input],
        ] {
            let o = gen_bounded(d.path(), args, Stdio::null());
            let err = refused(&o, 2, &format!("{args:?}"));
            assert!(err.contains(input) && err.contains(why), "{args:?}: {err}");
        }
    }
    assert!(!d.path().join("o").exists(), "a refused build wrote");
}

#[test]
fn standard_input_is_read_with_the_same_bound() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let cat = || Stdio::from(std::fs::File::open(d.path().join("catalog.yaml")).unwrap());
    let o = gen_bounded(d.path(), &["build", "-", "--out", "piped"], cat());
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(gen(d.path(), &["build", "catalog.yaml", "--out", "file"])
        .status
        .success());
    assert_eq!(
        snapshot_tree(&d.path().join("piped")),
        snapshot_tree(&d.path().join("file"))
    );
    let o = gen_bounded(d.path(), &["lint", "-"], cat());
    assert!(o.status.success(), "{:?}", text(&o));
    // An endless standard input stops at the limit.
    for args in [&["build", "-", "--out", "o"][..], &["lint", "-"]] {
        let zero = Stdio::from(std::fs::File::open("/dev/zero").unwrap());
        let err = refused(&gen_bounded(d.path(), args, zero), 2, "stdin");
        assert!(err.contains("16 MiB"), "{args:?}: {err}");
    }
}

// --- an --out that holds the inputs (item 11) ----------------------------------

#[test]
fn an_out_that_contains_the_catalog_or_policy_is_refused_before_any_write() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    // `proj` is a gen output (it carries the marker) into which the user
    // then put the catalog, the policy and a directory of their own.
    example(root);
    assert!(gen(root, &["build", "catalog.yaml", "--out", "proj"])
        .status
        .success());
    std::fs::rename(root.join("catalog.yaml"), root.join("proj/catalog.yaml")).unwrap();
    std::fs::create_dir(root.join("proj/sub")).unwrap();
    std::fs::write(root.join("proj/gen-policy.yaml"), "rules: {}\n").unwrap();
    example(root);
    std::os::unix::fs::symlink(root.join("proj"), root.join("alias")).unwrap();
    let before = snapshot_tree(root);
    // (working directory, catalog, --out, extra arguments)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("proj", "catalog.yaml", ".", &[]),
        ("proj", "catalog.yaml", "./", &[]),
        ("proj", "./catalog.yaml", "sub/..", &[]),
        ("proj/sub", "../catalog.yaml", "..", &[]),
        ("proj", "catalog.yaml", "../proj/", &[]),
        ("", "proj/catalog.yaml", "proj", &[]),
        ("", "proj/catalog.yaml", "alias/sub/..", &[]),
        ("", "alias/catalog.yaml", "proj", &[]),
        ("", "proj/catalog.yaml", "alias/../proj", &[]),
        ("", "proj/catalog.yaml", "", &[]),
        // The policy file inside --out, the catalog outside.
        (
            "",
            "catalog.yaml",
            "proj",
            &["--policy", "proj/gen-policy.yaml"],
        ),
        (
            "",
            "catalog.yaml",
            "alias/sub/..",
            &["--policy", "alias/gen-policy.yaml"],
        ),
    ];
    for (cwd, catalog, out, extra) in cases {
        let cwd = root.join(cwd);
        let out = if out.is_empty() {
            root.display().to_string()
        } else {
            (*out).to_owned()
        };
        let mut args = vec!["build", catalog, "--out", &out];
        args.extend_from_slice(extra);
        let err = refused(&gen(&cwd, &args), 2, &format!("{args:?}"));
        assert!(err.contains("contains"), "{args:?}: {err}");
        assert_eq!(snapshot_tree(root), before, "{args:?} changed files");
    }
    // An --out inside the catalog's directory is fine.
    let o = gen(
        root,
        &["build", "proj/catalog.yaml", "--out", "proj/sub/out"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
}

// --- builds racing for one --out (item 12) ---------------------------------

#[test]
fn concurrent_builds_on_a_fresh_out_all_succeed_with_a_clean_tree() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    assert!(gen(d.path(), &["build", "--out", "clean"]).status.success());
    let clean = snapshot_tree(&d.path().join("clean"));
    for round in 0..5 {
        let out = format!("race{round}");
        let children: Vec<_> = (0..6)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_gen"))
                    .args(["build", "--out", &out])
                    .current_dir(d.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {:?}", text(&o));
        }
        assert_eq!(snapshot_tree(&d.path().join(&out)), clean, "round {round}");
        let left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("gen-tmp"))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "round {round}");
    }
}

// --- an API server with an endless body (item 10) ----------------------------

/// A socket that answers every request with a 200 whose chunked JSON body
/// never ends (up to `cap` bytes); returns the port and the most bytes one
/// connection took before the client hung up.
fn endless_server(cap: u64) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let most = Arc::new(AtomicU64::new(0));
    let seen = most.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut b).unwrap_or(0) == 1 {
                    head.push(b[0]);
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, " ".repeat(1 << 20));
                let _ = conn.write_all(b"1\r\n[\r\n");
                let mut sent = 0u64;
                while sent < cap && conn.write_all(chunk.as_bytes()).is_ok() {
                    sent += 1 << 20;
                    seen.fetch_max(sent, Ordering::Relaxed);
                }
            });
        }
    });
    (port, most)
}

#[test]
fn an_endless_response_body_is_cut_at_the_limit() {
    let d = tempfile::tempdir().unwrap();
    // A catalog without environments: any context will do.
    std::fs::write(d.path().join("mini.json"), one_line(200, false).0).unwrap();
    // Three times gen's 64 MiB limit: an unbounded client reads all of it.
    let (port, most) = endless_server(192 << 20);
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         clusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n\
         users:\n- name: u\n  user: {{token: t}}\n\
         contexts:\n- name: c\n  context: {{cluster: c, user: u}}\n"
    );
    std::fs::write(d.path().join("kubeconfig"), kubeconfig).unwrap();
    for cmd in ["diff", "apply"] {
        let o = gen_bounded(
            d.path(),
            &[
                cmd,
                "mini.json",
                "--context",
                "c",
                "--kubeconfig",
                "kubeconfig",
                "--request-timeout",
                "50s",
            ],
            Stdio::null(),
        );
        let err = refused(&o, 3, cmd);
        assert!(err.contains("64 MiB"), "{cmd}: {err}");
        let took = most.load(Ordering::Relaxed);
        // The limit plus what socket buffers hold.
        assert!(took < 96 << 20, "{cmd}: the client read {took} bytes");
    }
}
