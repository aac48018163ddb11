//! Distribution (README "Install"): the release workflow, the static
//! binary, the wheel, the container image's Dockerfile and the GitHub
//! Action, each checked as far as this machine allows. The artifacts come
//! from `bash scripts/dist.sh` (scripts/test.sh runs it before the tests):
//! the same script every job of `.github/workflows/release.yml` runs.
//! Not provable here: GitHub itself (no access: the workflow and the Action
//! run on a real runner only after a tag), the macOS and aarch64 builds
//! (no such machine), and the image build (no Docker engine).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dist::{self, Dist};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(common::root().join(path)).unwrap();
    let loaded = gen::catalog::yaml::load(&gen::SourceFile::new(path, text))
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert!(loaded.problems.is_empty(), "{path}: {:?}", loaded.problems);
    loaded.value
}

fn runs(steps: &Value) -> Vec<&str> {
    steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["run"].as_str().unwrap_or(""))
        .collect()
}

/// The first step for which `is` holds.
fn find<'a>(steps: &'a Value, what: &str, is: impl Fn(&Value) -> bool) -> &'a Value {
    steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| is(s))
        .unwrap_or_else(|| panic!("no step {what}"))
}

fn step_with<'a>(steps: &'a Value, part: &str) -> &'a Value {
    find(steps, &format!("runs {part:?}"), |s| {
        s["run"].as_str().is_some_and(|r| r.contains(part))
    })
}

fn uses<'a>(steps: &'a Value, action: &str) -> &'a Value {
    find(steps, &format!("uses {action}"), |s| {
        s["uses"].as_str().is_some_and(|u| u.starts_with(action))
    })
}

/// The release workflow: on a version tag, the four targets (Linux static),
/// each built by scripts/dist.sh after checking the tag against Cargo.toml,
/// an SBOM per target, SHA256SUMS over everything, then the GitHub release,
/// PyPI and the image.
#[test]
fn release_workflow_builds_every_target_with_checksums_and_sbom() {
    let wf = load(".github/workflows/release.yml");
    assert_eq!(wf["on"]["push"]["tags"][0], "v*", "runs on version tags");
    assert!(wf["on"].get("pull_request").is_none());
    let build = &wf["jobs"]["build"];
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin"
        ]
    );
    let steps = &build["steps"];
    assert_eq!(
        uses(steps, "dtolnay/rust-toolchain@")["with"]["targets"],
        "${{ matrix.target }}"
    );
    let r = runs(steps);
    let pos = |part: &str| r.iter().position(|s| s.contains(part)).unwrap();
    let tag = pos("\"$GITHUB_REF_NAME\" != \"v$version\"");
    let dist = pos("bash scripts/dist.sh \"${{ matrix.target }}\" dist");
    let sbom = pos("cargo cyclonedx --format json --target \"${{ matrix.target }}\"");
    assert!(tag < dist && dist < sbom, "tag check, build, SBOM: {r:?}");
    assert!(r[sbom].contains("cargo install --locked cargo-cyclonedx@"));
    assert!(r[sbom].contains("\"dist/gen-$version-${{ matrix.target }}.cdx.json\""));
    assert_eq!(
        step_with(steps, "scripts/dist.sh")["env"]["GEN_BUILD_COMMIT"],
        "${{ github.sha }}"
    );
    assert_eq!(
        uses(steps, "actions/upload-artifact@")["with"]["path"],
        "dist/*"
    );
    // What scripts/dist.sh does for the Linux targets (this test suite runs
    // it): static linking, the static check, the checksum file.
    let script = std::fs::read_to_string(common::root().join("scripts/dist.sh")).unwrap();
    for part in [
        "*-linux-gnu)",
        "-C target-feature=+crt-static",
        "maturin\" build --release --locked --target \"$target\"",
        "'(NEEDED)' <<<\"$elf\"",
        "sha256sum \"$archive\" >\"$archive.sha256\"",
    ] {
        assert!(script.contains(part), "scripts/dist.sh: {part}");
    }

    let release = &wf["jobs"]["release"];
    assert_eq!(release["needs"], serde_json::json!(["build", "sdist"]));
    assert_eq!(release["permissions"]["contents"], "write");
    let r = runs(&release["steps"]);
    assert!(
        r.iter().any(|s| s.contains("sha256sum -c \"$f\"")
            && s.contains("sha256sum -- *.tar.gz *.whl *.cdx.json > SHA256SUMS")),
        "every archive verified, then SHA256SUMS: {r:?}"
    );
    assert!(r
        .iter()
        .any(|s| s.contains("gh release create \"$GITHUB_REF_NAME\" dist/*")));
    assert_eq!(wf["jobs"]["pypi"]["permissions"]["id-token"], "write");
    uses(&wf["jobs"]["pypi"]["steps"], "pypa/gh-action-pypi-publish@");
    let image = uses(&wf["jobs"]["image"]["steps"], "docker/build-push-action@");
    assert_eq!(image["with"]["platforms"], "linux/amd64,linux/arm64");
}

/// `cargo binstall gen` finds the archive the workflow publishes.
#[test]
fn binstall_metadata_names_the_release_archive() {
    let toml = std::fs::read_to_string(common::root().join("Cargo.toml")).unwrap();
    assert!(toml.contains("[package.metadata.binstall]"));
    assert!(toml.contains(
        "pkg-url = \"{ repo }/releases/download/v{ version }/gen-{ version }-{ target }.tar.gz\""
    ));
    assert!(toml.contains("pkg-fmt = \"tgz\""));
    assert!(toml.contains("\nrepository = \"https://github.com/your-org/gen\"\n"));
}

/// Every place that names the release version agrees with Cargo.toml.
#[test]
fn versions_agree() {
    let v = env!("CARGO_PKG_VERSION");
    let action = dist::action();
    assert_eq!(action["inputs"]["version"]["default"], v, "action.yml");
    let mirror =
        std::fs::read_to_string(common::root().join("packaging/pre-commit/pyproject.toml"))
            .unwrap();
    assert!(
        mirror.contains(&format!("\nversion = \"{v}\"\n")),
        "{mirror}"
    );
    assert!(
        mirror.contains(&format!("\"gen-catalog=={v}\"")),
        "{mirror}"
    );
    // Keep a Changelog: an Unreleased section; a release needs its own
    // section, which the workflow's tag check demands.
    let changelog = std::fs::read_to_string(common::root().join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains("\n## [Unreleased]\n"));
    assert!(changelog.contains("[Keep a Changelog](https://keepachangelog.com/"));
    let wf = load(".github/workflows/release.yml");
    let r = runs(&wf["jobs"]["build"]["steps"]);
    assert!(
        r.iter()
            .any(|s| s.contains(r#"grep -q "^## \[$version\] - " CHANGELOG.md"#)),
        "the release checks CHANGELOG.md: {r:?}"
    );
}

/// A tool scripts/dist.sh installs into ./.venv-dist (from PyPI).
fn dist_tool(name: &str) -> Option<PathBuf> {
    common::tool_in(&common::root().join(".venv-dist"), name, "scripts/dist.sh")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unpack the release archive (after checking its checksum file) into `to`.
fn unpack(d: &Dist, to: &Path) {
    let sums = std::fs::read_to_string(d.archive.with_extension("gz.sha256")).unwrap();
    let name = d.archive.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        sums,
        format!(
            "{}  {name}\n",
            sha256_hex(&std::fs::read(&d.archive).unwrap())
        ),
        "the checksum file matches the archive, in sha256sum's format"
    );
    std::fs::create_dir_all(to).unwrap();
    let o = Command::new("tar")
        .arg("-xzf")
        .arg(&d.archive)
        .arg("-C")
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", common::text(&o));
    let mut names: Vec<String> = std::fs::read_dir(to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["CHANGELOG.md", "README.md", "gen"]);
}

/// The release binary has no program interpreter and no shared library to
/// load, and runs in a root directory holding nothing but itself and a
/// catalog: `gen --version` is the version of the tag and this commit, and
/// `gen build` writes the same tree as the test build.
#[test]
fn static_binary_runs_in_an_empty_root() {
    let Some(d) = dist::dist() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    unpack(&d, &root);
    std::fs::remove_file(root.join("README.md")).unwrap();
    std::fs::remove_file(root.join("CHANGELOG.md")).unwrap();
    let bin = root.join("gen");
    let elf = Command::new("readelf")
        .arg("-ld")
        .arg(&bin)
        .output()
        .unwrap();
    let (elf, _) = common::text(&elf);
    assert!(
        elf.contains("ELF") || elf.contains("Program Headers"),
        "{elf}"
    );
    assert!(
        !elf.contains("program interpreter"),
        "dynamically loaded:\n{elf}"
    );
    assert!(!elf.contains("(NEEDED)"), "needs shared libraries:\n{elf}");
    let o = Command::new("ldd").arg(&bin).output().unwrap();
    let (out, err) = common::text(&o);
    assert!(
        format!("{out}{err}").contains("not a dynamic executable")
            || out.contains("statically linked"),
        "ldd: {out}{err}"
    );

    std::fs::copy(
        common::root().join("examples/strategies/catalog.yaml"),
        root.join("catalog.yaml"),
    )
    .unwrap();
    // chroot needs root (CI runs as root); otherwise a user namespace
    // makes this user root inside it.
    let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let in_root = |args: &[&str]| {
        let mut c = if as_root {
            Command::new("chroot")
        } else {
            let mut c = Command::new("unshare");
            c.args(["--user", "--map-root-user", "chroot"]);
            c
        };
        c.arg(&root)
            .arg("/gen")
            .args(args)
            .env_clear()
            // Where chroot and unshare are; nothing is there inside the root.
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("NO_COLOR", "1");
        c.output().unwrap()
    };
    let o = in_root(&["--version"]);
    let (out, err) = common::text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert_eq!(
        out.trim(),
        dist::version_line(),
        "rebuild with bash scripts/dist.sh"
    );
    // Real work inside the empty root: a build, compared with the test build.
    let o = in_root(&["build", "/catalog.yaml", "--out", "/out"]);
    assert!(o.status.success(), "{:?}", common::text(&o));
    let here = t.path().join("here");
    std::fs::create_dir(&here).unwrap();
    std::fs::copy(root.join("catalog.yaml"), here.join("catalog.yaml")).unwrap();
    assert!(common::gen(&here, &["build"]).status.success());
    let (a, b) = (
        common::snapshot_tree(&root.join("out")),
        common::snapshot_tree(&here.join("out")),
    );
    assert!(a.len() > 10);
    assert!(
        a == b,
        "the release binary and the test binary build different trees"
    );

    // Talking to a cluster needs what every Linux host and the distroless
    // image have: the CA bundle and /etc/hosts. With those two files (no
    // library) the static build loads the roots and resolves a host name
    // (glibc's built-in files lookup) and reaches the TCP connect: a closed
    // loopback port refuses it.
    let certs = root.join("etc/ssl/certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        certs.join("ca-certificates.crt"),
    )
    .unwrap();
    std::fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        root.join("kubeconfig"),
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster: {{server: 'https://localhost:{port}'}}\nusers:\n- name: u\n  user: {{token: x}}\ncontexts:\n- name: t\n  context: {{cluster: c, user: u}}\n"
        ),
    )
    .unwrap();
    let o = in_root(&[
        "diff",
        "/catalog.yaml",
        "--kubeconfig",
        "/kubeconfig",
        "--context",
        "t",
    ]);
    let (out, err) = common::text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    assert!(
        err.contains("Connection refused"),
        "resolved and connected:\n{err}"
    );
}

/// A fresh venv, no Rust toolchain on PATH: `pip install` of the wheel puts
/// gen on the venv's PATH, and `pipx run` runs it from the wheel.
#[test]
fn wheel_installs_gen_without_rust() {
    let Some(d) = dist::dist() else {
        return;
    };
    let Some(python) = common::peer_tool("python") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let venv = t.path().join("venv");
    let path = dist::path_without_rust();
    let run = |program: &Path, args: &[&std::ffi::OsStr]| {
        let o = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", t.path())
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            // pipx refreshes its own pip from the index; gen comes from
            // the wheel's path (pip install gets --no-index).
            .env("PIPX_HOME", t.path().join("pipx"))
            .output()
            .unwrap();
        let (out, err) = common::text(&o);
        assert!(o.status.success(), "{program:?} {args:?}: {out}{err}");
        out
    };
    run(&python, &["-m".as_ref(), "venv".as_ref(), venv.as_os_str()]);
    run(
        &venv.join("bin/pip"),
        &[
            "install".as_ref(),
            "--no-index".as_ref(),
            d.wheel.as_os_str(),
        ],
    );
    let out = run(&venv.join("bin/gen"), &["--version".as_ref()]);
    assert_eq!(out.trim(), dist::version_line());
    // The wheel is tagged for any Python 3 and this platform (manylinux:
    // the binary needs no glibc symbols), not for one CPython.
    let name = d.wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.contains("-py3-none-"), "{name}");

    let Some(pipx) = dist_tool("pipx") else {
        return;
    };
    let out = run(
        &pipx,
        &[
            "run".as_ref(),
            "--spec".as_ref(),
            d.wheel.as_os_str(),
            "gen".as_ref(),
            "--version".as_ref(),
        ],
    );
    assert!(
        out.lines().any(|l| l.trim() == dist::version_line()),
        "{out}"
    );
}

/// The Dockerfile: multi-stage, a static build, only the binary in a
/// distroless image, a non-root user; hadolint finds nothing.
#[test]
fn dockerfile_is_multi_stage_static_non_root_and_lint_clean() {
    let text = std::fs::read_to_string(common::root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"));
    assert_eq!(froms[1], "FROM gcr.io/distroless/static-debian12:nonroot");
    let last = &text[text.find(froms[1]).unwrap()..];
    let copies: Vec<&str> = last.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(copies, ["COPY --from=build /gen /usr/local/bin/gen"]);
    assert!(last.contains("\nUSER 65532:65532\n"), "non-root");
    assert!(!last.contains("\nRUN "), "nothing runs in the final image");
    assert!(text.contains("RUSTFLAGS=\"-C target-feature=+crt-static\""));
    assert!(text.contains("readelf -d /gen | grep NEEDED"));
    let ignore = std::fs::read_to_string(common::root().join(".dockerignore")).unwrap();
    for line in ["target", ".git", ".venv-*"] {
        assert!(ignore.lines().any(|l| l == line), ".dockerignore: {line}");
    }
    let Some(hadolint) = dist_tool("hadolint") else {
        return;
    };
    let lint = |dir: &Path| {
        Command::new(&hadolint)
            .args(["--no-color", "Dockerfile"])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let o = lint(&common::root());
    assert!(o.status.success(), "hadolint: {:?}", common::text(&o));
    // hadolint does report a bad Dockerfile (the check can fail).
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("Dockerfile"),
        "FROM debian\nRUN cd /tmp && apt-get install -y curl\n",
    )
    .unwrap();
    let o = lint(t.path());
    assert!(!o.status.success(), "{:?}", common::text(&o));
}

/// The Action's own steps, run as a runner runs them against the local
/// release (`base-url` pointing at target/dist): a cache miss downloads,
/// verifies and installs gen and puts it on PATH; a cache hit skips the
/// download; a tampered archive is refused.
#[test]
fn action_installs_verified_release_binary() {
    let action = dist::action();
    let step_names: Vec<&str> = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        step_names,
        [
            "Which archive",
            "Cache",
            "Download and verify",
            "Put gen on PATH"
        ]
    );
    // shellcheck finds nothing in the steps' scripts.
    if let Some(shellcheck) = common::peer_tool("shellcheck") {
        for step in action["runs"]["steps"].as_array().unwrap() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let o = Command::new(&shellcheck)
                .args(["--shell=bash", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(script.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            assert!(
                o.status.success(),
                "shellcheck {}:\n{}",
                step["name"],
                common::text(&o).0
            );
        }
    }
    // Without base-url: the release of the action's repository.
    let t = tempfile::tempdir().unwrap();
    let run = dist::run_action(
        &[("base-url", "file:///nonexistent")],
        &t.path().join("cache"),
        t.path(),
        false,
    );
    assert!(!run.ok, "nothing to download:\n{}", run.log);
    let plan = &run.outputs["plan"];
    assert_eq!(plan["target"], dist::host_target());
    assert_eq!(
        plan["url"],
        format!(
            "file:///nonexistent/v{v}/gen-{v}-{}.tar.gz",
            dist::host_target(),
            v = env!("CARGO_PKG_VERSION")
        )
    );
    let t2 = tempfile::tempdir().unwrap();
    let run = dist::run_action(
        &[("version", "latest")],
        &t2.path().join("cache"),
        t2.path(),
        false,
    );
    assert!(
        !run.ok && run.log.contains("is not a gen release version"),
        "{}",
        run.log
    );

    let Some(d) = dist::dist() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let base_url = dist::local_release(&d, &t.path().join("release"));
    let release = t.path().join("release").join(format!("v{}", d.version));
    let cache = t.path().join("toolcache");
    let work = t.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let miss = dist::run_action(
        &[
            ("base-url", &base_url),
            ("version", &format!("v{}", d.version)),
        ],
        &cache,
        &work,
        false,
    );
    assert!(miss.ok, "{}", miss.log);
    let dir = cache.join("gen").join(d.version).join(&d.target);
    assert_eq!(
        miss.path,
        std::slice::from_ref(&dir),
        "gen's directory is added to PATH"
    );
    let (cpath, key) = miss.cache.clone().unwrap();
    assert_eq!(
        PathBuf::from(cpath),
        dir,
        "the cache keeps exactly that directory"
    );
    assert_eq!(key, format!("gen-{}-{}", d.version, d.target));
    assert!(miss.log.contains(&dist::version_line()), "{}", miss.log);
    // The installed binary runs from PATH as later workflow steps run it.
    let o = Command::new("bash")
        .args(["-c", "gen --version"])
        .env(
            "PATH",
            std::env::join_paths(
                miss.path
                    .iter()
                    .cloned()
                    .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")]),
            )
            .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(common::text(&o).0.trim(), dist::version_line());
    // A cache hit restores the directory; nothing is downloaded.
    let hit = dist::run_action(&[("base-url", "file:///nonexistent")], &cache, &work, true);
    assert!(hit.ok, "{}", hit.log);
    assert_eq!(hit.path, [dir]);

    // A tampered archive: refused, nothing installed.
    let mut bytes = std::fs::read(&d.archive).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(release.join(d.archive.file_name().unwrap()), bytes).unwrap();
    let cache = t.path().join("toolcache2");
    let bad = dist::run_action(&[("base-url", &base_url)], &cache, &work, false);
    assert!(
        !bad.ok && bad.log.contains("checksum mismatch"),
        "{}",
        bad.log
    );
    assert!(
        bad.path.is_empty()
            && !cache
                .join("gen")
                .join(d.version)
                .join(&d.target)
                .join("gen")
                .exists()
    );
}

/// The README's one command for the release binary, run as written (bash,
/// for the `{,.sha256}`) against the local release instead of GitHub's.
#[test]
fn readme_binary_install_command_works() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("| Release binary"))
        .expect("the Install table's release binary row");
    let command = line.split('`').nth(1).unwrap();
    let github = "https://github.com/your-org/gen/releases/download";
    let target = dist::host_target();
    assert!(
        command.contains(&format!(
            "{github}/v{v}/gen-{v}-{target}.tar.gz{{,.sha256}}",
            v = env!("CARGO_PKG_VERSION")
        )),
        "{command}"
    );
    let Some(d) = dist::dist() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let base_url = dist::local_release(&d, &t.path().join("release"));
    let work = t.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let o = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(command.replace(github, &base_url))
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", common::text(&o));
    let o = Command::new(work.join("gen"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(common::text(&o).0.trim(), dist::version_line());
}
