//! K3s bootstrap under `k3s/`: install scripts for servers and agents, the
//! K3s configuration of each role, server manifests (the ingress
//! controller and the add-ons of `emit::addons`), the embedded-registry mirrors, CIS sysctls, optional
//! cloud-init user-data and `fetch-kubeconfig.sh`.
//!
//! The scripts' logic is static (`blueprints/k3s/*.sh`); gen prepends a block
//! of constants, every value single-quoted for the shell by [`sh_quote`], and
//! the configuration files as quoted here-documents (no expansion). The
//! configuration files are built as data and serialized.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{EmitError, Tree, HEADER};
use crate::catalog::types::{FlannelBackend, IngressClass, LoadBalancer};
use crate::model::{K3sModel, Model};

const COMMON: &str = include_str!("../../blueprints/k3s/common.sh");
/// The node's addresses for a dual-stack `node-ip` (server and agent only).
const NODE_IP: &str = include_str!("../../blueprints/k3s/node-ip.sh");
const SERVER_MAIN: &str = include_str!("../../blueprints/k3s/install-server.sh");
const AGENT_MAIN: &str = include_str!("../../blueprints/k3s/install-agent.sh");
const FETCH_MAIN: &str = include_str!("../../blueprints/k3s/fetch-kubeconfig.sh");

/// Delimiter of the embedded here-documents.
const EOF_MARK: &str = "GEN_K3S_EOF";
/// Token path on the node.
pub const TOKEN_PATH: &str = "/etc/rancher/k3s/token";

/// Quote a value for the shell: single quotes, with `'` written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn ser(what: &str, v: &Value) -> Result<String, EmitError> {
    serde_saphyr::to_string(v).map_err(|e| EmitError::Serialize {
        what: what.to_owned(),
        why: e.to_string(),
    })
}

/// `config.yaml` shared by every server (join-specific keys are added by the
/// script at run time).
fn server_config(model: &Model, k: &K3sModel) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("write-kubeconfig-mode".into(), json!("0600"));
    c.insert("token-file".into(), json!(TOKEN_PATH));
    c.insert("secrets-encryption".into(), json!(true));
    c.insert("flannel-backend".into(), json!(k.flannel_backend.as_str()));
    if k.flannel_backend == FlannelBackend::None {
        c.insert("disable-network-policy".into(), json!(true));
    }
    c.insert("node-label".into(), json!(["gen.dev/role=server"]));
    if k.agents > 0 {
        c.insert(
            "node-taint".into(),
            json!(["CriticalAddonsOnly=true:NoExecute"]),
        );
    }
    let class = model.ingress.as_ref().map(|i| i.class);
    if class.is_some_and(|c| c != IngressClass::Traefik) {
        c.insert("disable".into(), json!(["traefik"]));
    }
    if k.embedded_registry {
        c.insert("embedded-registry".into(), json!(true));
    }
    if k.cis_profile {
        c.insert("protect-kernel-defaults".into(), json!(true));
    }
    if k.ipv6 {
        c.insert("cluster-cidr".into(), json!("10.42.0.0/16,fd42:42::/56"));
        c.insert("service-cidr".into(), json!("10.43.0.0/16,fd42:43::/112"));
        c.insert("flannel-ipv6-masq".into(), json!(true));
    }
    Value::Object(c)
}

fn agent_config(k: &K3sModel) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("token-file".into(), json!(TOKEN_PATH));
    c.insert("node-label".into(), json!(["gen.dev/role=agent"]));
    if k.cis_profile {
        c.insert("protect-kernel-defaults".into(), json!(true));
    }
    Value::Object(c)
}

/// Name of the Traefik middleware (in kube-system) that redirects HTTP to
/// HTTPS by the request's scheme, X-Forwarded-Proto included.
pub const REDIRECT_MIDDLEWARE: &str = "gen-https-redirect";

/// Server manifests: the ingress controller the catalog picks, configured
/// for what stands in front of it. Behind an ALB (`load_balancer: alb`), TLS
/// ends at the ALB and every request reaches the controller as HTTP with the
/// client's scheme in X-Forwarded-Proto: the controller trusts that header
/// (from the VPC) and redirects by it, else HTTPS requests would be
/// redirected forever. Without one, or behind an NLB (TCP pass-through), the
/// controller sees the client's own connection and trusts no such header.
fn manifests(model: &Model) -> Result<Vec<(String, Value)>, EmitError> {
    let Some(ing) = &model.ingress else {
        return Ok(Vec::new());
    };
    let behind_alb = model
        .aws
        .as_ref()
        .filter(|a| a.load_balancer == Some(LoadBalancer::Alb))
        .map(|a| a.vpc_cidr.0.clone());
    Ok(match ing.class {
        IngressClass::Nginx => {
            // Host ports 80/443 on the workers: what the load balancer
            // reaches (see the flow table).
            let mut controller = json!({
                "kind": "DaemonSet",
                "hostPort": {"enabled": true},
                "service": {"type": "ClusterIP"},
                "ingressClassResource": {"default": true},
            });
            if let Some(vpc) = &behind_alb {
                controller["config"] = json!({
                    "use-forwarded-headers": "true",
                    "proxy-real-ip-cidr": vpc,
                });
            }
            vec![(
                "ingress-nginx.yaml".into(),
                super::addons::helm_chart(
                    "k3s/manifests/ingress-nginx.yaml",
                    "ingress-nginx",
                    super::upstream::INGRESS_NGINX,
                    "ingress-nginx",
                    &json!({"controller": controller}),
                )?,
            )]
        }
        IngressClass::Traefik => {
            let config = |values: Value| -> Result<(String, Value), EmitError> {
                Ok((
                    "traefik-config.yaml".into(),
                    json!({
                        "apiVersion": "helm.cattle.io/v1",
                        "kind": "HelmChartConfig",
                        "metadata": {"name": "traefik", "namespace": "kube-system"},
                        "spec": {"valuesContent": ser("traefik values", &values)?}
                    }),
                ))
            };
            match behind_alb {
                Some(vpc) => {
                    let trusted = json!({"forwardedHeaders": {"trustedIPs": [vpc]}});
                    let mut out = vec![config(json!({
                        "ports": {"web": trusted, "websecure": trusted}
                    }))?];
                    if ing.https_redirect {
                        out.push((
                            "traefik-https-redirect.yaml".into(),
                            json!({
                                "apiVersion": "traefik.io/v1alpha1",
                                "kind": "Middleware",
                                "metadata": {"name": REDIRECT_MIDDLEWARE, "namespace": "kube-system"},
                                "spec": {"redirectScheme": {"scheme": "https", "permanent": true}}
                            }),
                        ));
                    }
                    out
                }
                None if ing.https_redirect => vec![config(json!({
                    "ports": {"web": {"redirections": {"entryPoint": {
                        "to": "websecure", "scheme": "https", "permanent": true
                    }}}}
                }))?],
                None => Vec::new(),
            }
        }
        IngressClass::Alb => Vec::new(),
    })
}

/// Registries the services pull from, mirrored by the embedded registry.
fn registries(model: &Model) -> Value {
    let images = model.services.iter().flat_map(|s| {
        let mut v = vec![&s.image];
        match &s.strategy {
            crate::model::StrategyModel::BlueGreen { blue, green, .. } => {
                v.push(blue);
                v.push(green);
            }
            crate::model::StrategyModel::Canary { image, .. } => v.push(image),
            crate::model::StrategyModel::Rolling { .. } => {}
        }
        v
    });
    let hosts: BTreeSet<String> = images
        .map(|i| {
            let repo = &i.repository;
            match repo.split_once('/') {
                Some((first, _))
                    if first.contains('.') || first.contains(':') || first == "localhost" =>
                {
                    first.to_owned()
                }
                _ => "docker.io".to_owned(),
            }
        })
        .collect();
    let mirrors: serde_json::Map<String, Value> =
        hosts.into_iter().map(|h| (h, json!({}))).collect();
    json!({"mirrors": mirrors})
}

const CIS_SYSCTLS: &str =
    "vm.panic_on_oom=0\nvm.overcommit_memory=1\nkernel.panic=10\nkernel.panic_on_oops=1\n";

/// The `embedded` shell function: `embedded NAME` prints file NAME.
fn embedded_fn(files: &[(String, String)]) -> Result<String, EmitError> {
    let mut out = String::from("# Files this script installs, verbatim (quoted here-documents).\nembedded() {\n  case \"$1\" in\n");
    for (name, content) in files {
        if content.lines().any(|l| l == EOF_MARK) {
            return Err(EmitError::Serialize {
                what: name.clone(),
                why: "a line equals the here-document delimiter".into(),
            });
        }
        out.push_str(&format!(
            "    {})\n      cat <<'{EOF_MARK}'\n",
            sh_quote(name)
        ));
        out.push_str(content);
        if !content.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(EOF_MARK);
        out.push_str("\n      ;;\n");
    }
    out.push_str("    *) die \"no embedded file $1\" ;;\n  esac\n}\n");
    Ok(out)
}

fn script(purpose: &str, consts: &[(&str, String)], body: &[&str]) -> String {
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str(HEADER);
    s.push_str(&format!("# {purpose}\nset -euo pipefail\n\n"));
    for (k, v) in consts {
        s.push_str(&format!("readonly {k}={}\n", sh_quote(v)));
    }
    for b in body {
        s.push('\n');
        s.push_str(b);
    }
    s
}

/// `readonly NAME=(...)` for an array of words.
fn sh_array(name: &str, items: &[String]) -> String {
    let words: Vec<String> = items.iter().map(|i| sh_quote(i)).collect();
    format!("readonly {name}=({})\n", words.join(" "))
}

/// Emit `k3s/` when the catalog has `cluster.k3s`.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let Some(k) = &model.k3s else {
        return Ok(());
    };
    let with_header = |text: String| format!("{HEADER}{text}");
    let server_cfg = with_header(ser("server config", &server_config(model, k))?);
    let agent_cfg = with_header(ser("agent config", &agent_config(k))?);
    tree.insert("k3s/config/server.yaml", server_cfg.clone());
    tree.insert("k3s/config/agent.yaml", agent_cfg.clone());

    let mut server_files = vec![("config.yaml".to_owned(), server_cfg)];
    let mut agent_files = vec![("config.yaml".to_owned(), agent_cfg)];
    let mut manifest_names = Vec::new();
    // The ingress controller, then the platform add-ons (`emit::addons`).
    let mut server_manifests = manifests(model)?;
    server_manifests.extend(super::addons::k3s_manifests(model)?);
    for (name, v) in server_manifests {
        let text = with_header(ser(&name, &v)?);
        tree.insert(format!("k3s/manifests/{name}"), text.clone());
        manifest_names.push(name.clone());
        server_files.push((name, text));
    }
    if k.embedded_registry {
        let text = with_header(ser("registries.yaml", &registries(model))?);
        tree.insert("k3s/registries.yaml", text.clone());
        server_files.push(("registries.yaml".into(), text.clone()));
        agent_files.push(("registries.yaml".into(), text));
    }
    if k.cis_profile {
        let text = format!("{HEADER}# Kernel settings K3s's CIS profile (protect-kernel-defaults) expects.\n{CIS_SYSCTLS}");
        tree.insert("k3s/sysctl-cis.conf", text.clone());
        server_files.push(("sysctl-cis.conf".into(), text.clone()));
        agent_files.push(("sysctl-cis.conf".into(), text));
    }

    let token_ssm = format!("/{}/k3s/token", model.project);
    let region = model
        .aws
        .as_ref()
        .map(|a| a.region.clone())
        .unwrap_or_default();
    let base = |server: bool| {
        let mut v = vec![
            ("PROJECT", model.project.clone()),
            ("K3S_VERSION", k.version.clone()),
            ("DEFAULT_TOKEN_SSM", token_ssm.clone()),
            ("DEFAULT_REGION", region.clone()),
            ("EMBEDDED_REGISTRIES", k.embedded_registry.to_string()),
            ("CIS", k.cis_profile.to_string()),
            ("DUAL_STACK", k.ipv6.to_string()),
            // Empty when gen pins no hash for this release: the script then
            // needs K3S_INSTALLER_SHA256 to install.
            (
                "INSTALLER_SHA256",
                super::k3s_installers::installer_sha256(&k.version)
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ];
        if server {
            v.push(("HA", (k.servers >= 3).to_string()));
        }
        v
    };
    let server_arrays = sh_array("EMBEDDED_MANIFESTS", &manifest_names);
    let server = script(
        &format!(
            "Install or update a K3s server of {} (K3s {}). Run with --help.",
            model.project, k.version
        ),
        &base(true),
        &[
            &server_arrays,
            &embedded_fn(&server_files)?,
            COMMON,
            NODE_IP,
            SERVER_MAIN,
        ],
    );
    let agent = script(
        &format!(
            "Install or update a K3s agent of {} (K3s {}). Run with --help.",
            model.project, k.version
        ),
        &base(false),
        &[&embedded_fn(&agent_files)?, COMMON, NODE_IP, AGENT_MAIN],
    );
    let fetch = script(
        &format!(
            "Fetch the kubeconfig of {} with context `{}`. Run with --help.",
            model.project, model.project
        ),
        &[
            ("PROJECT", model.project.clone()),
            ("K3S_VERSION", k.version.clone()),
            ("DEFAULT_TOKEN_SSM", token_ssm.clone()),
            ("DEFAULT_REGION", region.clone()),
        ],
        &[COMMON, FETCH_MAIN],
    );
    let server_url_ssm = format!("/{}/k3s/server-url", model.project);
    // cloud-init user-data: the script, run with the token (and the first
    // server's address) from SSM; no secret travels in the user-data.
    let cloud_init = |script: &str, args: Vec<String>| -> Result<String, EmitError> {
        let mut cmd = vec!["/usr/local/sbin/gen-k3s-install".to_owned()];
        cmd.extend(args);
        let v = json!({
            "write_files": [{
                "path": "/usr/local/sbin/gen-k3s-install",
                "permissions": "0700",
                "owner": "root:root",
                "content": script,
            }],
            "runcmd": [cmd],
        });
        Ok(format!("#cloud-config\n{HEADER}{}", ser("cloud-init", &v)?))
    };
    tree.insert(
        "k3s/cloud-init/server-first.yaml",
        cloud_init(
            &server,
            vec!["--first".into(), "--token-ssm".into(), token_ssm.clone()],
        )?,
    );
    if k.servers > 1 {
        tree.insert(
            "k3s/cloud-init/server-join.yaml",
            cloud_init(
                &server,
                vec![
                    "--server-ssm".into(),
                    server_url_ssm.clone(),
                    "--token-ssm".into(),
                    token_ssm.clone(),
                ],
            )?,
        );
    }
    if k.agents > 0 {
        tree.insert(
            "k3s/cloud-init/agent.yaml",
            cloud_init(
                &agent,
                vec![
                    "--server-ssm".into(),
                    server_url_ssm,
                    "--token-ssm".into(),
                    token_ssm,
                ],
            )?,
        );
    }
    tree.insert("k3s/install-server.sh", server);
    if k.agents > 0 {
        tree.insert("k3s/install-agent.sh", agent);
    }
    tree.insert("k3s/fetch-kubeconfig.sh", fetch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sh_quote;
    use std::process::Command;

    #[test]
    fn hostile_strings_survive_the_shell_literally() {
        for s in [
            "it's",
            "$(touch /tmp/gen-pwned)",
            "`id`",
            "a\"b\\c",
            "line\nbreak",
            "${HOME}",
            "; rm -rf /",
            "'",
            "",
        ] {
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("printf '%s' {}", sh_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }
}
