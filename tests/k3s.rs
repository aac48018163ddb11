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
        write_exe(
            &bin.join("curl"),
            r#"#!/usr/bin/env bash
printf 'curl %s\n' "$*" >> "$STUB_LOG"
out=""
while (($#)); do case "$1" in -o) out="$2"; shift ;; esac; shift; done
if [[ -n "$out" ]]; then
  cat > "$out" <<'INSTALLER'
printf 'installer VERSION=%s EXEC=%s\n' "$INSTALL_K3S_VERSION" "$INSTALL_K3S_EXEC" >> "$STUB_LOG"
printf '#!/bin/sh\necho "k3s version %s (0000000)"\n' "$INSTALL_K3S_VERSION" > "$STUB_BIN/k3s"
chmod +x "$STUB_BIN/k3s"
INSTALLER
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
    for s in &scripts {
        let n = Command::new("bash").arg("-n").arg(s).output().unwrap();
        assert!(n.status.success(), "bash -n {}", s.display());
    }
    let o = Command::new(&sc).args(&scripts).output().unwrap();
    assert!(
        o.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
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
