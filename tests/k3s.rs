//! The K3s scripts, run for real in a sandbox: a temporary root
//! (`GEN_K3S_ROOT`) and stub `curl` (which also serves a stub installer),
//! `systemctl` and `aws` on PATH, each logging its arguments. The scripts run
//! under `bash -x`, so every command they execute is traced with its
//! arguments: the token must appear in none.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "K10-s3cr3t-token-0123456789abcdef";

/// What the stub `curl` downloads as the K3s installer: it logs its call
/// and leaves a `k3s` that reports the version it installed.
const STUB_INSTALLER: &str = r#"printf 'installer VERSION=%s EXEC=%s\n' "$INSTALL_K3S_VERSION" "$INSTALL_K3S_EXEC" >> "$STUB_LOG"
printf '#!/bin/sh\necho "k3s version %s (0000000)"\n' "$INSTALL_K3S_VERSION" > "$STUB_BIN/k3s"
chmod +x "$STUB_BIN/k3s"
"#;

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Sandbox {
    dir: tempfile::TempDir,
    out: PathBuf,
}

fn write_exe(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

impl Sandbox {
    fn new(catalog: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let cat = dir.path().join("catalog.yaml");
        fs::write(&cat, catalog).unwrap();
        let out = dir.path().join("out");
        let o = common::gen(dir.path(), &["build", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{:?}", common::text(&o));
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(dir.path().join("root")).unwrap();
        fs::write(dir.path().join("installer.sh"), STUB_INSTALLER).unwrap();
        write_exe(
            &bin.join("curl"),
            r#"#!/usr/bin/env bash
printf 'curl %s\n' "$*" >> "$STUB_LOG"
out=""
while (($#)); do case "$1" in -o) out="$2"; shift ;; esac; shift; done
if [[ -n "$out" ]]; then
  cp "$STUB_INSTALLER" "$out"
fi
"#,
        );
        write_exe(
            &bin.join("systemctl"),
            "#!/usr/bin/env bash\nprintf 'systemctl %s\\n' \"$*\" >> \"$STUB_LOG\"\n",
        );
        // `aws ssm get-parameter ... --output text` prints the token.
        write_exe(
            &bin.join("aws"),
            &format!(
                "#!/usr/bin/env bash\nprintf 'aws %s\\n' \"$*\" >> \"$STUB_LOG\"\nprintf '%s\\n' '{TOKEN}'\n"
            ),
        );
        fs::write(dir.path().join("token"), TOKEN).unwrap();
        Sandbox { dir, out }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn root(&self, rel: &str) -> PathBuf {
        self.path("root").join(rel)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.run_with(script, args, &[])
    }

    fn run_with(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let bin = self.path("bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let o = Command::new("bash")
            .arg("-x")
            .arg(self.out.join("k3s").join(script))
            .args(args)
            .env("PATH", path)
            .env("GEN_K3S_ROOT", self.path("root"))
            .env("STUB_LOG", self.path("log"))
            .env("STUB_BIN", &bin)
            .env("GEN_K3S_WAIT_SECONDS", "5")
            .env("STUB_INSTALLER", self.path("installer.sh"))
            // gen pins no hash for the stub: the operator's hash it is.
            .env(
                "K3S_INSTALLER_SHA256",
                sha256_hex(STUB_INSTALLER.as_bytes()),
            )
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let trace = String::from_utf8_lossy(&o.stderr);
        assert!(
            !trace.contains(TOKEN),
            "the token appears in a traced command line"
        );
        assert!(!self.log().contains(TOKEN), "a stub saw the token in argv");
        o
    }
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "script failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

const SINGLE: &str = "version: 1\nproject: lab\ningress: {host: lab.example, class: nginx}\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2, cis_profile: true, embedded_registry: true}\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080, routes: [/]}\n";

#[test]
fn first_server_installs_once_then_is_a_no_op() {
    let sb = Sandbox::new(SINGLE);
    let tok = sb.path("token");
    ok(&sb.run(
        "install-server.sh",
        &["--first", "--token-file", tok.to_str().unwrap()],
    ));
    // Config written as generated, token 0600, manifests and mirrors placed.
    let config = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert_eq!(
        config,
        fs::read_to_string(sb.out.join("k3s/config/server.yaml")).unwrap()
    );
    assert!(config.contains("token-file: /etc/rancher/k3s/token"));
    assert!(config.contains("write-kubeconfig-mode: \"0600\""));
    assert!(config.contains("CriticalAddonsOnly=true:NoExecute"));
    assert!(config.contains("- traefik"));
    assert!(!config.contains("cluster-init"), "single server: no etcd");
    let token = sb.root("etc/rancher/k3s/token");
    assert_eq!(fs::read_to_string(&token).unwrap(), TOKEN);
    assert_eq!(mode(&token), 0o600);
    assert_eq!(mode(&sb.root("etc/rancher/k3s/config.yaml")), 0o600);
    assert!(sb
        .root("var/lib/rancher/k3s/server/manifests/ingress-nginx.yaml")
        .is_file());
    assert!(
        fs::read_to_string(sb.root("etc/rancher/k3s/registries.yaml"))
            .unwrap()
            .contains("ghcr.io")
    );
    assert!(sb.root("etc/sysctl.d/90-k3s-cis.conf").is_file());
    let log = sb.log();
    assert!(
        log.contains("installer VERSION=v1.33.5+k3s1 EXEC=server"),
        "{log}"
    );
    assert!(log.contains("k3s-io/k3s/v1.33.5+k3s1/install.sh"), "{log}");

    // Second run: nothing written, no install, no restart.
    let before = common::snapshot_tree(&sb.path("root"));
    let o = sb.run(
        "install-server.sh",
        &["--first", "--token-file", tok.to_str().unwrap()],
    );
    ok(&o);
    assert_eq!(common::snapshot_tree(&sb.path("root")), before);
    assert_eq!(
        sb.log(),
        log,
        "the second run called an installer or systemctl"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to do"));

    // A changed configuration is restored and K3s restarted (the installer
    // would not notice).
    fs::write(sb.root("etc/rancher/k3s/config.yaml"), "edited: true\n").unwrap();
    ok(&sb.run(
        "install-server.sh",
        &["--first", "--token-file", tok.to_str().unwrap()],
    ));
    assert!(
        sb.log().ends_with("systemctl restart k3s\n"),
        "{}",
        sb.log()
    );
    assert_eq!(
        fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap(),
        config
    );
}

#[test]
fn agent_waits_for_the_server_and_joins_with_the_token_from_ssm() {
    let sb = Sandbox::new(SINGLE);
    ok(&sb.run(
        "install-agent.sh",
        &["--server", "10.0.1.10", "--token-ssm", "/lab/k3s/token"],
    ));
    let config = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert!(
        config.ends_with("server: \"https://10.0.1.10:6443\"\n"),
        "{config}"
    );
    assert!(config.contains("protect-kernel-defaults: true"));
    let token = sb.root("etc/rancher/k3s/token");
    assert_eq!(fs::read_to_string(&token).unwrap().trim(), TOKEN);
    assert_eq!(mode(&token), 0o600);
    let log = sb.log();
    let ping = log
        .find("https://10.0.1.10:6443/ping")
        .expect("waited for the server");
    let install = log.find("installer VERSION").expect("installed");
    assert!(ping < install, "joined before the server answered:\n{log}");
    assert!(log.contains("EXEC=agent"));
    assert!(log.contains("aws ssm get-parameter"), "{log}");
}

#[test]
fn ha_servers_init_and_join_with_one_shared_config() {
    let sb = Sandbox::new(&SINGLE.replace("servers: 1, agents: 2", "servers: 3, agents: 2"));
    let tok = sb.path("token");
    ok(&sb.run(
        "install-server.sh",
        &["--first", "--token-file", tok.to_str().unwrap()],
    ));
    let first = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert!(first.ends_with("cluster-init: true\n"), "{first}");

    let sb2 = Sandbox::new(&SINGLE.replace("servers: 1, agents: 2", "servers: 3, agents: 2"));
    let tok2 = sb2.path("token");
    ok(&sb2.run(
        "install-server.sh",
        &[
            "--server",
            "k3s-1.lab.internal",
            "--token-file",
            tok2.to_str().unwrap(),
            "--tls-san",
            "api.lab.example",
        ],
    ));
    let join = fs::read_to_string(sb2.root("etc/rancher/k3s/config.yaml")).unwrap();
    let shared = fs::read_to_string(sb2.out.join("k3s/config/server.yaml")).unwrap();
    assert!(first.starts_with(&shared) && join.starts_with(&shared));
    assert!(join.contains("server: \"https://k3s-1.lab.internal:6443\""));
    assert!(join.contains("  - \"api.lab.example\""));
    assert!(!join.contains("cluster-init"));
}

#[test]
fn hostile_arguments_are_refused_not_executed() {
    let sb = Sandbox::new(SINGLE);
    let tok = sb.path("token");
    for bad in ["$(touch pwned)", "10.0.0.1;id", "a b", "-rf"] {
        let o = sb.run(
            "install-agent.sh",
            &["--server", bad, "--token-file", tok.to_str().unwrap()],
        );
        assert!(!o.status.success(), "{bad} accepted");
        assert!(!sb.path("pwned").exists());
    }
    assert!(!sb.root("etc/rancher/k3s/config.yaml").exists());
}

#[test]
fn shellcheck_finds_nothing_in_any_script() {
    let venv = std::env::var_os("GEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".venv"));
    let sc = venv.join("bin/shellcheck");
    if !sc.is_file() {
        assert!(
            std::env::var_os("GEN_REQUIRE_PEERS").is_none(),
            "{} is missing; run bash scripts/test.sh",
            sc.display()
        );
        eprintln!("skipping: shellcheck not installed");
        return;
    }
    let mut scripts = Vec::new();
    for parent in ["examples", "golden"] {
        for e in walkdir::WalkDir::new(common::root().join(parent))
            .into_iter()
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "sh") {
                scripts.push(e.into_path());
            }
        }
    }
    let sb = Sandbox::new(SINGLE);
    for e in walkdir::WalkDir::new(sb.out.join("k3s"))
        .into_iter()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "sh") {
            scripts.push(e.into_path());
        }
    }
    assert!(scripts.len() >= 6, "{scripts:?}");
    common::assert_shellcheck_clean(&sc, &scripts);
}

/// The cloud-init user-data carries the script byte for byte, runs it with
/// the token from SSM, and holds no token.
#[test]
fn cloud_init_carries_the_script_and_no_secret() {
    let venv = std::env::var_os("GEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".venv"));
    let python = venv.join("bin/python");
    if !python.is_file() {
        assert!(std::env::var_os("GEN_REQUIRE_PEERS").is_none());
        eprintln!("skipping: no venv");
        return;
    }
    let sb = Sandbox::new(&SINGLE.replace("servers: 1, agents: 2", "servers: 3, agents: 2"));
    let script = r##"
import sys, yaml
path, script = sys.argv[1], sys.argv[2]
text = open(path).read()
assert text.startswith("#cloud-config\n"), "first line"
d = yaml.safe_load(text)
f = d["write_files"][0]
assert f["content"] == open(script).read(), "script differs"
assert f["permissions"] == "0700"
cmd = d["runcmd"][0]
assert "--token-ssm" in cmd and "/lab/k3s/token" in cmd, cmd
print("ok")
"##;
    for (ud, sh) in [
        ("server-first.yaml", "install-server.sh"),
        ("server-join.yaml", "install-server.sh"),
        ("agent.yaml", "install-agent.sh"),
    ] {
        let path = sb.out.join("k3s/cloud-init").join(ud);
        let o = Command::new(&python)
            .args(["-c", script])
            .arg(&path)
            .arg(sb.out.join("k3s").join(sh))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{ud}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!fs::read_to_string(&path).unwrap().contains(TOKEN));
    }
}

/// A stub `ip`: `ip -4|-6 route get ADDR` answers as iproute2 prints it; no
/// IPv6 route when STUB_NO_V6 is set.
fn ip_stub(sb: &Sandbox) {
    write_exe(
        &sb.path("bin/ip"),
        r#"#!/usr/bin/env bash
printf 'ip %s\n' "$*" >> "$STUB_LOG"
case "$1" in
  -4) echo "192.0.2.1 via 10.20.1.1 dev ens5 src 10.20.1.17 uid 0" ;;
  -6) [[ -n "${STUB_NO_V6:-}" ]] && { echo "RTNETLINK answers: Network is unreachable" >&2; exit 2; }
      echo "2001:db8::1 from :: via fe80::1 dev ens5 proto ra src 2600:1f18:aa:bb::17 metric 1024 pref medium" ;;
esac
"#,
    );
}

/// K3s refuses a dual-stack cluster-cidr unless node-ip names an address of
/// each family: with `ipv6: true` the scripts find this node's addresses
/// (the source addresses of its default routes, here from a stub `ip`) and
/// write both; a node without an IPv6 address is refused with what to do.
#[test]
fn dual_stack_nodes_get_both_addresses_as_node_ip() {
    let catalog = SINGLE.replace(
        "embedded_registry: true}",
        "embedded_registry: true, ipv6: true}",
    );
    let sb = Sandbox::new(&catalog);
    let shared = fs::read_to_string(sb.out.join("k3s/config/server.yaml")).unwrap();
    assert!(shared.contains("fd42:42::/56"), "{shared}");
    ip_stub(&sb);
    let tok = sb.path("token");
    ok(&sb.run(
        "install-server.sh",
        &["--first", "--token-file", tok.to_str().unwrap()],
    ));
    let config = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert!(config.starts_with(&shared), "{config}");
    assert!(
        config.contains("node-ip: \"10.20.1.17,2600:1f18:aa:bb::17\"\n"),
        "{config}"
    );

    // An agent: the override variables win over the routes.
    ok(&sb.run_with(
        "install-agent.sh",
        &[
            "--server",
            "10.20.1.17",
            "--token-file",
            tok.to_str().unwrap(),
        ],
        &[
            ("GEN_NODE_IPV4", "10.20.2.9"),
            ("GEN_NODE_IPV6", "2600:1f18:aa:cc::9"),
        ],
    ));
    let agent = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert!(
        agent.contains("node-ip: \"10.20.2.9,2600:1f18:aa:cc::9\"\n"),
        "{agent}"
    );

    // No IPv6 route: refused before anything is written or installed.
    let sb = Sandbox::new(&catalog);
    ip_stub(&sb);
    let o = sb.run_with(
        "install-server.sh",
        &[
            "--first",
            "--token-file",
            sb.path("token").to_str().unwrap(),
        ],
        &[("STUB_NO_V6", "1")],
    );
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("this node has no IPv6 address with a default route")
            && stderr.contains("GEN_NODE_IPV6"),
        "{stderr}"
    );
    assert!(!sb.root("etc/rancher/k3s/config.yaml").exists());
    assert!(!sb.log().contains("installer"), "{}", sb.log());

    // Single-stack catalogs write no node-ip and never ask `ip`.
    let sb = Sandbox::new(SINGLE);
    ok(&sb.run(
        "install-server.sh",
        &[
            "--first",
            "--token-file",
            sb.path("token").to_str().unwrap(),
        ],
    ));
    let config = fs::read_to_string(sb.root("etc/rancher/k3s/config.yaml")).unwrap();
    assert!(!config.contains("node-ip"), "{config}");
    assert!(!sb.log().contains("ip -"), "{}", sb.log());
}

/// Run `body` under bash with the real `blueprints/k3s/common.sh` sourced,
/// `K3S_VERSION` set, a fake `k3s` reporting `installed` (none when None)
/// on PATH, and `run_installer`/`systemctl` replaced by loggers.
fn converge(installed: Option<&str>, pinned: &str, env: &[(&str, &str)]) -> Output {
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin");
    fs::create_dir(&bin).unwrap();
    if let Some(v) = installed {
        write_exe(
            &bin.join("k3s"),
            &format!("#!/bin/sh\necho 'k3s version {v} (1234abcd)'\necho 'go version go1.24'\n"),
        );
    }
    let path = format!("{}:/usr/bin:/bin", bin.display());
    Command::new("bash")
        .arg("-c")
        .arg(
            r#"set -euo pipefail
source "$1"
K3S_VERSION="$2"
run_installer() { echo "INSTALL $1"; }
systemctl() { echo "RESTART $*"; }
converge k3s server"#,
        )
        .arg("converge")
        .arg(common::root().join("blueprints/k3s/common.sh"))
        .arg(pinned)
        .env_clear()
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn an_older_script_refuses_to_downgrade_k3s_unless_forced() {
    // (installed, the script's release)
    let downgrades = [
        ("v1.33.5+k3s1", "v1.33.4+k3s1"),
        ("v1.33.10+k3s1", "v1.33.9+k3s1"),
        ("v1.34.0+k3s1", "v1.33.99+k3s9"),
        ("v2.0.0+k3s1", "v1.99.99+k3s9"),
        ("v1.33.5+k3s2", "v1.33.5+k3s1"),
        ("v1.33.5+k3s1", "v1.33.5-rc3+k3s1"),
        ("v1.33.5-rc2+k3s1", "v1.33.5-rc1+k3s1"),
        ("v1.33.05+k3s1", "v1.33.4+k3s1"),
    ];
    for (have, pinned) in downgrades {
        let o = converge(Some(have), pinned, &[]);
        let (out, err) = common::text(&o);
        assert_eq!(o.status.code(), Some(1), "{have} -> {pinned}: {out}{err}");
        assert!(
            !out.contains("INSTALL"),
            "{have} -> {pinned} installed: {out}"
        );
        assert!(
            err.contains("does not support downgrades") && err.contains(have),
            "{have} -> {pinned}: {err}"
        );
        let o = converge(Some(have), pinned, &[("GEN_K3S_ALLOW_DOWNGRADE", "1")]);
        let (out, err) = common::text(&o);
        assert!(o.status.success(), "forced {have} -> {pinned}: {err}");
        assert!(
            out.contains("INSTALL server"),
            "forced {have} -> {pinned}: {out}"
        );
    }
    let upgrades = [
        ("v1.33.4+k3s1", "v1.33.5+k3s1"),
        ("v1.33.9+k3s1", "v1.33.10+k3s1"),
        ("v1.32.99+k3s9", "v1.33.0+k3s1"),
        ("v1.33.5+k3s1", "v1.33.5+k3s2"),
        ("v1.33.5-rc3+k3s1", "v1.33.5+k3s1"),
        ("v1.33.5-rc1+k3s1", "v1.33.5-rc2+k3s1"),
    ];
    for (have, pinned) in upgrades {
        let o = converge(Some(have), pinned, &[]);
        let (out, err) = common::text(&o);
        assert!(o.status.success(), "{have} -> {pinned}: {err}");
        assert!(out.contains("INSTALL server"), "{have} -> {pinned}: {out}");
    }
    // Nothing installed: install. The same release: nothing to do.
    let o = converge(None, "v1.33.5+k3s1", &[]);
    assert!(common::text(&o).0.contains("INSTALL server"), "{o:?}");
    let o = converge(Some("v1.33.5+k3s1"), "v1.33.5+k3s1", &[]);
    assert!(o.status.success() && !common::text(&o).0.contains("INSTALL"));
    // A version that cannot be compared is not overwritten blindly.
    for odd in ["v1.33", "1.33.5+k3s1", "v1.33.5+rke2r1", "garbage"] {
        let o = converge(Some(odd), "v1.33.5+k3s1", &[]);
        let (out, err) = common::text(&o);
        assert_eq!(o.status.code(), Some(1), "{odd}: {out}{err}");
        assert!(err.contains("GEN_K3S_ALLOW_DOWNGRADE=1"), "{odd}: {err}");
        let o = converge(
            Some(odd),
            "v1.33.5+k3s1",
            &[("GEN_K3S_ALLOW_DOWNGRADE", "1")],
        );
        assert!(common::text(&o).0.contains("INSTALL server"), "{odd}");
    }
}

#[test]
fn the_installer_runs_only_with_a_matching_hash() {
    let sb = Sandbox::new(SINGLE);
    let tok = sb.path("token");
    let args = ["--first", "--token-file", tok.to_str().unwrap()];
    let wrong = sha256_hex(b"another installer");
    // gen pins no hash for the examples' release yet (see
    // src/emit/k3s_installers.rs): without the operator's, no install.
    for (env, why) in [
        (vec![("K3S_INSTALLER_SHA256", "")], "pins no sha256"),
        (
            vec![("K3S_INSTALLER_SHA256", wrong.as_str())],
            "does not match",
        ),
    ] {
        let o = sb.run_with("install-server.sh", &args, &env);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(!sb.log().contains("installer VERSION"), "ran: {}", sb.log());
    }
    ok(&sb.run("install-server.sh", &args));
    assert!(sb.log().contains("installer VERSION=v1.33.5+k3s1"));
}

#[test]
fn the_installer_hash_table_is_well_formed_and_reaches_the_scripts() {
    use gen::emit::k3s_installers::{installer_sha256, INSTALLER_SHA256};
    let release = regex_free_release;
    for w in INSTALLER_SHA256.windows(2) {
        assert!(w[0].0 < w[1].0, "not sorted: {w:?}");
    }
    for (v, h) in INSTALLER_SHA256 {
        assert!(release(v), "not a K3s release: {v}");
        assert!(
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{v}: not a sha256: {h}"
        );
        assert_eq!(installer_sha256(v), Some(*h));
    }
    // Every release the examples pin: the scripts carry gen's hash, or
    // (PENDING, none pinned yet) an empty one, which makes them refuse to
    // install without K3S_INSTALLER_SHA256 (see the test above).
    for ex in ["karina", "msa-k3s", "ordersystem", "strategies"] {
        let out = common::root().join("examples").join(ex).join("out/k3s");
        for script in ["install-server.sh", "install-agent.sh"] {
            let Ok(text) = fs::read_to_string(out.join(script)) else {
                continue;
            };
            let version = text
                .lines()
                .find_map(|l| l.strip_prefix("readonly K3S_VERSION="))
                .map(|v| v.trim_matches('\'').to_owned())
                .expect("K3S_VERSION");
            let want = format!(
                "readonly INSTALLER_SHA256='{}'",
                installer_sha256(&version).unwrap_or_default()
            );
            assert!(text.contains(&want), "{ex}/{script}: no {want}");
        }
    }
}

/// `vMAJOR.MINOR.PATCH[-rcN]+k3sN`.
fn regex_free_release(v: &str) -> bool {
    let Some((core, k3s)) = v.strip_prefix('v').and_then(|r| r.split_once("+k3s")) else {
        return false;
    };
    let core = core.split_once("-rc").map_or(core, |(c, rc)| {
        if rc.bytes().all(|b| b.is_ascii_digit()) && !rc.is_empty() {
            c
        } else {
            "x"
        }
    });
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .chain([&k3s])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn an_air_gapped_install_verifies_the_binary_against_the_release_sums() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    fs::create_dir_all(root.join("usr/local/share/k3s")).unwrap();
    fs::write(root.join("usr/local/bin/k3s"), "the k3s binary").unwrap();
    let good = sha256_hex(b"the k3s binary");
    let run = |sums: Option<&str>, arch: &str| {
        if let Some(s) = sums {
            fs::write(root.join("usr/local/share/k3s/sha256sum-amd64.txt"), s).unwrap();
        }
        Command::new("bash")
            .arg("-c")
            .arg("set -euo pipefail\nsource \"$1\"\nK3S_VERSION=v1.33.5+k3s1\nverify_airgap_binary && echo VERIFIED")
            .arg("airgap")
            .arg(common::root().join("blueprints/k3s/common.sh"))
            .env("GEN_K3S_ROOT", root)
            .env("GEN_K3S_ARCH", arch)
            .output()
            .unwrap()
    };
    let o = run(None, "x86_64");
    assert!(common::text(&o).1.contains("K3S_SHA256SUMS"), "{o:?}");
    for (sums, verified) in [
        (format!("{good}  k3s\n"), true),
        (format!("{good}  k3s-arm64\n0000  k3s\n"), false),
        (format!("{}  k3s\n", sha256_hex(b"other")), false),
        (format!("{good} *k3s\n"), true),
        ("garbage\n".to_owned(), false),
    ] {
        let o = run(Some(sums.as_str()), "x86_64");
        let (out, err) = common::text(&o);
        assert_eq!(out.contains("VERIFIED"), verified, "{sums}: {out}{err}");
        assert_eq!(o.status.success(), verified, "{sums}: {err}");
    }
    let o = run(None, "sparc64");
    assert!(common::text(&o)
        .1
        .contains("no K3s binary for architecture"));
}
