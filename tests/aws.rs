//! Security groups: the Terraform and the CloudFormation hold exactly the
//! rules an independent recomputation of the K3s or EKS requirements expects
//! (python-hcl2 parses the Terraform), cfn-lint accepts the CloudFormation, checkov (own venv) fails no check
//! that lacks an emitted skip reason, and the Terraform is `terraform fmt`
//! clean (HCL's own formatter, built by `scripts/hclfmt.sh`; terraform
//! itself too when it is on PATH).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn venv(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(default))
}

fn tool(dir: &Path, name: &str) -> Option<PathBuf> {
    common::tool_in(dir, name, "scripts/test.sh")
}

struct Topology {
    name: &'static str,
    servers: u32,
    agents: u32,
    flannel: &'static str,
    ipv6: bool,
    registry: bool,
    bastion: bool,
    zones: &'static str,
    monitoring: bool,
}

const TOPOLOGIES: [Topology; 6] = [
    Topology {
        name: "1 server + 2 agents, vxlan",
        servers: 1,
        agents: 2,
        flannel: "vxlan",
        ipv6: false,
        registry: false,
        bastion: true,
        zones: "[eu-west-1a, eu-west-1b]",
        monitoring: false,
    },
    Topology {
        name: "3 servers + 3 agents",
        servers: 3,
        agents: 3,
        flannel: "vxlan",
        ipv6: false,
        registry: false,
        bastion: false,
        zones: "[eu-west-1a, eu-west-1b]",
        monitoring: true,
    },
    Topology {
        name: "wireguard-native",
        servers: 1,
        agents: 2,
        flannel: "wireguard-native",
        ipv6: false,
        registry: false,
        bastion: false,
        zones: "[eu-west-1a, eu-west-1b]",
        monitoring: false,
    },
    Topology {
        name: "embedded registry",
        servers: 3,
        agents: 0,
        flannel: "vxlan",
        ipv6: false,
        registry: true,
        bastion: true,
        zones: "[eu-west-1a, eu-west-1b]",
        monitoring: false,
    },
    Topology {
        name: "host-gw, one zone",
        servers: 1,
        agents: 2,
        flannel: "host-gw",
        ipv6: false,
        registry: false,
        bastion: false,
        zones: "[eu-west-1a]",
        monitoring: false,
    },
    Topology {
        name: "IPv6 on",
        servers: 1,
        agents: 2,
        flannel: "wireguard-native",
        ipv6: true,
        registry: false,
        bastion: false,
        zones: "[eu-west-1a, eu-west-1b]",
        monitoring: false,
    },
];

fn catalog(t: &Topology) -> String {
    let admin = if t.ipv6 {
        "[198.51.100.7/32, '2001:db8:7::/48']"
    } else {
        "[198.51.100.7/32, 203.0.113.0/28]"
    };
    let lines = [
        "version: 1".to_owned(),
        "project: lab".to_owned(),
        "ingress: {host: lab.example, class: nginx, tls_secret: lab-tls}".to_owned(),
        "cluster:".to_owned(),
        format!(
            "  k3s: {{version: v1.33.5+k3s1, servers: {}, agents: {}, flannel_backend: {}, ipv6: {}, embedded_registry: {}}}",
            t.servers, t.agents, t.flannel, t.ipv6, t.registry
        ),
        "  aws:".to_owned(),
        "    region: eu-west-1".to_owned(),
        "    vpc_cidr: 10.0.0.0/16".to_owned(),
        format!("    admin_cidrs: {admin}"),
        format!("    zones: {}", t.zones),
        "    load_balancer: alb".to_owned(),
        format!("    bastion: {}", t.bastion),
        "    database: {engine: postgres}".to_owned(),
        "services:".to_owned(),
        "  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080, routes: [/], egress: [{cidr: 10.0.200.0/24, port: 6379}, {cidr: 0.0.0.0/0, port: 443}]}".to_owned(),
    ];
    let mut text = lines.join("\n") + "\n";
    if t.monitoring {
        text.push_str("addons: {monitoring: {}}\n");
    }
    text
}

fn topology_json(t: &Topology) -> serde_json::Value {
    let admin: Vec<&str> = if t.ipv6 {
        vec!["198.51.100.7/32", "2001:db8:7::/48"]
    } else {
        vec!["198.51.100.7/32", "203.0.113.0/28"]
    };
    serde_json::json!({
        "servers": t.servers, "agents": t.agents, "flannel": t.flannel,
        "ipv6": t.ipv6, "registry": t.registry, "bastion": t.bastion,
        "admin_cidrs": admin, "load_balancer": true, "tls": true,
        "db_port": 5432, "egress": [["10.0.200.0/24", 6379], ["0.0.0.0/0", 443]],
        "monitoring": t.monitoring
    })
}

/// An EKS cluster: what decides which rules cross the edge of EKS's cluster
/// security group.
struct EksTopology {
    name: &'static str,
    /// `alb` (the ALB routes to each service's pods) or `nginx` (behind an NLB).
    class: &'static str,
    endpoint: &'static str,
    bastion: bool,
    /// `(engine, port)` of the database, if any.
    database: Option<(&'static str, u16)>,
    /// The cluster ends TLS (`tls_secret`).
    tls: bool,
    redirect: bool,
    egress: &'static [(&'static str, u16)],
}

const EKS_TOPOLOGIES: [EksTopology; 4] = [
    EksTopology {
        name: "EKS: ALB, private endpoint through the bastion, database, egress",
        class: "alb",
        endpoint: "private",
        bastion: true,
        database: Some(("postgres", 5432)),
        tls: false,
        redirect: true,
        egress: &[("10.0.200.0/24", 6379), ("0.0.0.0/0", 443)],
    },
    EksTopology {
        name: "EKS: ALB, private endpoint from the admin networks, plain HTTP",
        class: "alb",
        endpoint: "private",
        bastion: false,
        database: None,
        tls: false,
        redirect: false,
        egress: &[],
    },
    EksTopology {
        name: "EKS: ingress-nginx behind an NLB ending TLS, public endpoint, database",
        class: "nginx",
        endpoint: "public",
        bastion: false,
        database: Some(("mysql", 3307)),
        tls: true,
        redirect: true,
        egress: &[("0.0.0.0/0", 443)],
    },
    EksTopology {
        name: "EKS: ingress-nginx behind an NLB, public endpoint, bastion, nothing else",
        class: "nginx",
        endpoint: "public",
        bastion: true,
        database: None,
        tls: false,
        redirect: false,
        egress: &[],
    },
];

/// Routed services' container ports in [`eks_catalog`] (`worker` has none routed).
const EKS_ROUTED_PORTS: [u16; 2] = [8080, 9000];

fn eks_catalog(t: &EksTopology) -> String {
    let tls = if t.tls { ", tls_secret: lab-tls" } else { "" };
    let egress = t
        .egress
        .iter()
        .map(|(c, p)| format!("{{cidr: '{c}', port: {p}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines = vec![
        "version: 1".to_owned(),
        "project: lab".to_owned(),
        format!(
            "ingress: {{host: lab.example, class: {}, https_redirect: {}{tls}}}",
            t.class, t.redirect
        ),
        "cluster:".to_owned(),
        format!("  eks: {{version: '1.34', endpoint: {}, node_groups: {{general: {{instance_types: [m6i.large], min: 2, desired: 2, max: 4}}}}}}", t.endpoint),
        "  aws:".to_owned(),
        "    region: eu-west-1".to_owned(),
        "    vpc_cidr: 10.0.0.0/16".to_owned(),
        "    admin_cidrs: [198.51.100.7/32, 203.0.113.0/28]".to_owned(),
        "    zones: [eu-west-1a, eu-west-1b]".to_owned(),
        format!(
            "    load_balancer: {}",
            if t.class == "alb" { "alb" } else { "nlb" }
        ),
        format!("    bastion: {}", t.bastion),
    ];
    if let Some((engine, port)) = t.database {
        lines.push(format!("    database: {{engine: {engine}, port: {port}}}"));
    }
    lines.extend([
        "services:".to_owned(),
        format!(
            "  web: {{image: 'ghcr.io/lab/web:1.0.0', port: {}, routes: [/], egress: [{egress}]}}",
            EKS_ROUTED_PORTS[0]
        ),
        format!(
            "  api: {{image: 'ghcr.io/lab/api:1.0.0', port: {}, routes: [/api]}}",
            EKS_ROUTED_PORTS[1]
        ),
        "  worker: {image: 'ghcr.io/lab/worker:1.0.0', port: 7000}".to_owned(),
    ]);
    lines.join("\n") + "\n"
}

fn eks_topology_json(t: &EksTopology) -> serde_json::Value {
    serde_json::json!({
        "cluster": "eks", "endpoint": t.endpoint, "bastion": t.bastion,
        "admin_cidrs": ["198.51.100.7/32", "203.0.113.0/28"],
        "ingress": t.class, "load_balancer": true, "tls": t.tls,
        "redirect": t.redirect, "routed_ports": EKS_ROUTED_PORTS,
        "db_port": t.database.map(|(_, p)| p),
        "egress": t.egress,
    })
}

/// A topology the tests build: its catalog and what the recomputation reads.
trait Case {
    fn name(&self) -> &'static str;
    fn catalog(&self) -> String;
    fn topology(&self) -> serde_json::Value;
}

impl Case for Topology {
    fn name(&self) -> &'static str {
        self.name
    }
    fn catalog(&self) -> String {
        catalog(self)
    }
    fn topology(&self) -> serde_json::Value {
        topology_json(self)
    }
}

impl Case for EksTopology {
    fn name(&self) -> &'static str {
        self.name
    }
    fn catalog(&self) -> String {
        eks_catalog(self)
    }
    fn topology(&self) -> serde_json::Value {
        eks_topology_json(self)
    }
}

/// Build each topology; return (topology, dir) with the temp dir kept alive.
fn built<T: Case>(all: &'static [T]) -> (tempfile::TempDir, Vec<(&'static T, PathBuf)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vec::new();
    for (i, t) in all.iter().enumerate() {
        let d = dir.path().join(format!("t{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("catalog.yaml"), t.catalog()).unwrap();
        let o = common::gen(&d, &["build"]);
        assert!(o.status.success(), "{}: {:?}", t.name(), common::text(&o));
        std::fs::write(
            d.join("topology.json"),
            serde_json::to_string(&t.topology()).unwrap(),
        )
        .unwrap();
        v.push((t, d));
    }
    (dir, v)
}

/// Every aws/ directory: the topologies plus the examples and golden cases
/// that have one.
fn aws_dirs(k3s: &[(&Topology, PathBuf)], eks: &[(&EksTopology, PathBuf)]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = k3s.iter().map(|(_, d)| d.join("out/aws")).collect();
    v.extend(eks.iter().map(|(_, d)| d.join("out/aws")));
    for ex in ["examples/karina", "examples/msa-k3s", "golden/eks"] {
        v.push(common::root().join(ex).join("out/aws"));
    }
    for d in &v {
        assert!(d.join("security-groups.tf").is_file(), "{}", d.display());
    }
    v
}

/// Run the independent recomputation (`tests/peers/sg_flows.py`) on one
/// built topology, Terraform and CloudFormation; return its summary.
fn recompute(python: &Path, name: &str, d: &Path) -> serde_json::Value {
    let o = Command::new(python)
        .arg(common::root().join("tests/peers/sg_flows.py"))
        .arg(d.join("topology.json"))
        .arg(d.join("out/aws/security-groups.tf"))
        .arg(d.join("out/aws/security-groups.cfn.yaml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{name}:\n{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["actual"], last["cfn_actual"], "{name}: {last}");
    last
}

/// K3s: more than 20 rules each. EKS: the rules cross the edge of EKS's own
/// cluster security group, which the files take as an input and never
/// create, and no K3s port appears (the recomputation checks both).
#[test]
fn rules_equal_an_independent_recomputation() {
    let Some(python) = tool(&venv("GEN_VENV", ".venv"), "python") else {
        return;
    };
    let (_keep, k3s) = built(&TOPOLOGIES);
    let (_keep_eks, eks) = built(&EKS_TOPOLOGIES);
    let runs = k3s
        .iter()
        .map(|(t, d)| (t.name, d, 20))
        .chain(eks.iter().map(|(t, d)| (t.name, d, 2)));
    for (name, d, more_than) in runs {
        let last = recompute(&python, name, d);
        assert!(
            last["actual"].as_u64().unwrap() > more_than,
            "{name}: {last}"
        );
    }
}

/// The cluster group is an input: a Terraform variable and a CloudFormation
/// parameter that say where to read its ID, no resource or output of it.
#[test]
fn the_eks_cluster_group_is_an_input_not_a_resource() {
    let (_keep, k3s) = built(&EKS_TOPOLOGIES);
    for (t, d) in &k3s {
        let tf = std::fs::read_to_string(d.join("out/aws/security-groups.tf")).unwrap();
        assert!(
            tf.contains("variable \"cluster_security_group_id\""),
            "{}",
            t.name
        );
        assert!(
            tf.contains("aws eks describe-cluster --name lab --query cluster.resourcesVpcConfig.clusterSecurityGroupId"),
            "{}",
            t.name
        );
        assert!(tf.contains("= var.cluster_security_group_id"), "{}", t.name);
        assert!(!tf.contains("aws_security_group.cluster"), "{}", t.name);
        assert!(
            !tf.contains("output \"cluster_security_group_id\""),
            "{}",
            t.name
        );
        let cfn = std::fs::read_to_string(d.join("out/aws/security-groups.cfn.yaml")).unwrap();
        let doc = gen::catalog::yaml::load(&gen::SourceFile::new("cfn.yaml", &cfn))
            .unwrap()
            .value;
        assert_eq!(
            doc["Parameters"]["ClusterSecurityGroupId"]["Type"], "AWS::EC2::SecurityGroup::Id",
            "{}",
            t.name
        );
        assert!(doc["Resources"].get("ClusterSecurityGroup").is_none());
        assert!(doc["Outputs"].get("ClusterSecurityGroup").is_none());
        // VpcId is asked for only when a group is created (cfn-lint flags
        // an unused parameter).
        assert_eq!(
            doc["Parameters"].get("VpcId").is_some(),
            cfn.contains("Ref: VpcId"),
            "{}",
            t.name
        );
    }
}

#[test]
fn cfn_lint_accepts_the_cloudformation() {
    let Some(cfn_lint) = tool(&venv("GEN_VENV", ".venv"), "cfn-lint") else {
        return;
    };
    let (_keep, k3s) = built(&TOPOLOGIES);
    let (_keep_eks, eks) = built(&EKS_TOPOLOGIES);
    let files: Vec<PathBuf> = aws_dirs(&k3s, &eks)
        .iter()
        .map(|d| d.join("security-groups.cfn.yaml"))
        .collect();
    let o = Command::new(cfn_lint).args(&files).output().unwrap();
    assert!(
        o.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Resources in the Terraform or the CloudFormation of an aws/ directory.
fn resource_count(d: &Path, framework: &str) -> u64 {
    let n = if framework == "terraform" {
        let tf = std::fs::read_to_string(d.join("security-groups.tf")).unwrap();
        tf.matches("\nresource \"").count()
    } else {
        let cfn = std::fs::read_to_string(d.join("security-groups.cfn.yaml")).unwrap();
        let doc = gen::catalog::yaml::load(&gen::SourceFile::new("cfn.yaml", &cfn))
            .unwrap()
            .value;
        doc["Resources"].as_object().map_or(0, |r| r.len())
    };
    n as u64
}

#[test]
fn checkov_fails_nothing_without_an_emitted_reason() {
    let Some(checkov) = tool(&venv("GEN_CHECKOV_VENV", ".venv-checkov"), "checkov") else {
        return;
    };
    let (_keep, k3s) = built(&TOPOLOGIES);
    let (_keep_eks, eks) = built(&EKS_TOPOLOGIES);
    for d in aws_dirs(&k3s, &eks) {
        let o = Command::new(&checkov)
            .args([
                "-d",
                d.to_str().unwrap(),
                "--framework",
                "terraform",
                "cloudformation",
                "--skip-download",
                "--quiet",
                "--compact",
                "-o",
                "json",
            ])
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "TRUE")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let report: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("checkov output is not JSON ({e}):\n{text}"));
        let reports = match report {
            serde_json::Value::Array(a) => a,
            one => vec![one],
        };
        let mut frameworks = Vec::new();
        for r in &reports {
            let s = &r["summary"];
            let framework = r["check_type"].as_str().unwrap_or("?").to_owned();
            // checkov silently scans nothing when it cannot parse: insist
            // that it saw every resource of the file.
            let resources = resource_count(&d, &framework);
            assert!(resources > 0, "{}", d.display());
            assert_eq!(
                s["resource_count"].as_u64(),
                Some(resources),
                "{} {framework}: {r}",
                d.display()
            );
            frameworks.push(framework);
            let failed: Vec<String> = r["results"]["failed_checks"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| format!("{} {}", f["check_id"], f["resource"]))
                        .collect()
                })
                .unwrap_or_default();
            assert!(failed.is_empty(), "{}: {failed:#?}", d.display());
            assert_eq!(s["parsing_errors"], 0);
        }
        frameworks.sort();
        assert_eq!(
            frameworks,
            ["cloudformation", "terraform"],
            "{}",
            d.display()
        );
    }
}

/// `terraform fmt` is HCL's own formatter (`hclwrite.Format`) after two
/// Terraform rewrites: interpolation-only strings (`"${x}"` -> `x`) and
/// quoted type constraints (`type = "string"` -> `string`). Terraform is on
/// none of the registries this project may use, so `scripts/hclfmt.sh`
/// builds HCL's formatter (`hclfmt`) from Debian's packages. Every `.tf` must
/// come out of it unchanged, neither rewrite may apply, and when terraform
/// is on PATH `terraform fmt -check` runs too.
#[test]
fn terraform_fmt_is_clean() {
    let Some(hclfmt) = tool(&common::root().join(".tools"), "hclfmt") else {
        return;
    };
    let unchanged = |tf: &Path| {
        Command::new(&hclfmt)
            .arg("-require-no-change")
            .arg(tf)
            .output()
            .unwrap()
    };
    let (_keep, k3s) = built(&TOPOLOGIES);
    let (_keep_eks, eks) = built(&EKS_TOPOLOGIES);
    let dirs = aws_dirs(&k3s, &eks);
    for d in &dirs {
        let tf = d.join("security-groups.tf");
        let o = unchanged(&tf);
        assert!(
            o.status.success(),
            "{}: hclfmt would reformat it:\n{}",
            tf.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(&tf).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some((key, value)) = line.split_once(" = ") else {
                continue;
            };
            let value = value.trim();
            assert!(
                !(value.starts_with("\"${")
                    && value.ends_with("}\"")
                    && value.matches("${").count() == 1),
                "{}:{}: an interpolation-only string; terraform fmt unwraps it: {line}",
                tf.display(),
                i + 1
            );
            if key.trim() == "type" {
                assert!(
                    !value.starts_with('"'),
                    "{}:{}: a quoted type constraint; terraform fmt unquotes it: {line}",
                    tf.display(),
                    i + 1
                );
            }
        }
    }
    // The check can fail: one attribute pushed out of alignment is caught.
    let text = std::fs::read_to_string(dirs[0].join("security-groups.tf")).unwrap();
    assert!(text.contains(" = "));
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("bad.tf");
    std::fs::write(&bad, text.replacen(" = ", "    = ", 1)).unwrap();
    assert!(
        !unchanged(&bad).status.success(),
        "hclfmt accepted a misaligned attribute"
    );

    if Command::new("terraform").arg("version").output().is_ok() {
        for d in &dirs {
            let o = Command::new("terraform")
                .args(["fmt", "-check", "-diff"])
                .arg(d)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{}:\n{}",
                d.display(),
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

/// The egress rules of `group` in a Terraform file: (peer, from port, to port),
/// the peer a group name or a CIDR.
fn terraform_egress(tf: &str, group: &str) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    let own = format!("aws_security_group.{group}.id");
    for block in tf.split("\nresource ").skip(1) {
        if !block.starts_with("\"aws_vpc_security_group_egress_rule\"") {
            continue;
        }
        let attr = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if attr("security_group_id").as_deref() != Some(own.as_str()) {
            continue;
        }
        let peer = attr("referenced_security_group_id")
            .map(|r| r.split('.').nth(1).unwrap_or("?").to_owned())
            .or_else(|| attr("cidr_ipv4"))
            .or_else(|| attr("cidr_ipv6"))
            .unwrap_or_default();
        let port = |k: &str| attr(k).and_then(|p| p.parse().ok()).unwrap_or(-1);
        out.push((peer, port("from_port"), port("to_port")));
    }
    out.sort();
    out
}

/// The egress rules of the group resource `group` (e.g. `BastionSecurityGroup`)
/// in a CloudFormation template: (peer, from port, to port).
fn cloudformation_egress(cfn: &str, group: &str) -> Vec<(String, i64, i64)> {
    let doc = gen::catalog::yaml::load(&gen::SourceFile::new("cfn.yaml", cfn))
        .unwrap()
        .value;
    let mut out = Vec::new();
    for r in doc["Resources"].as_object().unwrap().values() {
        let p = &r["Properties"];
        if r["Type"] != "AWS::EC2::SecurityGroupEgress" || p["GroupId"]["Fn::GetAtt"][0] != group {
            continue;
        }
        let peer = p["DestinationSecurityGroupId"]["Fn::GetAtt"][0]
            .as_str()
            .or(p["CidrIp"].as_str())
            .or(p["CidrIpv6"].as_str())
            .unwrap_or_default()
            .to_owned();
        let port = |k: &str| p[k].as_i64().unwrap_or(-1);
        out.push((peer, port("FromPort"), port("ToPort")));
    }
    out.sort();
    out
}

/// The bastion is a jump host: it reaches SSH on the nodes and the API
/// server, and nothing else, in Terraform and in CloudFormation alike (the
/// docs promise it; no internet egress).
#[test]
fn the_bastion_reaches_only_ssh_and_the_api_server() {
    let (_keep, k3s) = built(&TOPOLOGIES);
    let mut seen = 0;
    for (t, d) in k3s.iter().filter(|(t, _)| t.bastion) {
        let tf = std::fs::read_to_string(d.join("out/aws/security-groups.tf")).unwrap();
        let mut want: Vec<(String, i64, i64)> =
            vec![("servers".into(), 22, 22), ("servers".into(), 6443, 6443)];
        if t.agents > 0 {
            want.push(("agents".into(), 22, 22));
        }
        want.sort();
        assert_eq!(
            terraform_egress(&tf, "bastion"),
            want,
            "{}: Terraform",
            t.name
        );
        let cfn = std::fs::read_to_string(d.join("out/aws/security-groups.cfn.yaml")).unwrap();
        let cap = |s: &str| s[..1].to_uppercase() + &s[1..];
        let mut want_cfn: Vec<(String, i64, i64)> = want
            .iter()
            .map(|(g, a, b)| (format!("{}SecurityGroup", cap(g)), *a, *b))
            .collect();
        want_cfn.sort();
        assert_eq!(
            cloudformation_egress(&cfn, "BastionSecurityGroup"),
            want_cfn,
            "{}: CloudFormation",
            t.name
        );
        // The readers see egress at all: the servers' rules are found.
        assert!(terraform_egress(&tf, "servers").len() > 3, "{}", t.name);
        assert!(
            cloudformation_egress(&cfn, "ServersSecurityGroup").len() > 3,
            "{}",
            t.name
        );
        seen += 1;
    }
    assert!(seen >= 2);
}
