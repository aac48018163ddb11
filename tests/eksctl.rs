//! gen's eksctl ClusterConfigs (`eks/cluster.yaml`), checked by eksctl's own
//! code: `eksctl-validate` (scripts/testcluster/eksctl/validate, built into
//! ./.tools/bin by `scripts/testcluster.sh build`, which scripts/test.sh
//! calls) loads each file
//! the way `eksctl create cluster -f` does (strict YAML into eksctl's
//! ClusterConfig type) and runs eksctl's defaulting and validation of the
//! cluster, its IAM service accounts, add-ons and managed node groups, up to
//! the first call to AWS. It does not check what only AWS knows (supported
//! versions, zones, instance offerings, AMIs).
//!
//! Covered: every committed tree whose catalog has `cluster.eks`, catalogs
//! built here through the gen binary, and hand-written configs (from eksctl's
//! documented fields, not from gen) that eksctl must accept or refuse, so the
//! checks above can fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The validator, from ./.tools/bin.
fn validator() -> Option<PathBuf> {
    common::local_tool("eksctl-validate", "scripts/testcluster.sh build")
}

/// Run the validator on `files`: (exit 0, stdout, stderr).
fn validate(tool: &Path, files: &[PathBuf]) -> (bool, String, String) {
    let o = Command::new(tool)
        .args(files)
        .output()
        .expect("run eksctl-validate");
    let (out, err) = common::text(&o);
    (o.status.success(), out, err)
}

/// Whether the catalog at `path` asks for an EKS cluster.
fn has_eks(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    let src = gen::SourceFile::new(path.display().to_string(), text);
    let doc = gen::catalog::yaml::load(&src)
        .unwrap_or_else(|p| panic!("{}: {p:?}", path.display()))
        .value;
    !doc["cluster"]["eks"].is_null()
}

/// Every committed catalog with `cluster.eks` (examples/*, golden/*) and the
/// ClusterConfig its out tree should hold.
fn committed_cluster_configs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["examples", "golden"] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            let case = e.unwrap().path();
            let catalog = case.join("catalog.yaml");
            if catalog.is_file() && has_eks(&catalog) {
                v.push(case.join("out/eks/cluster.yaml"));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn every_committed_eks_tree_has_a_cluster_config_eksctl_accepts() {
    let files = committed_cluster_configs();
    // golden/eks, examples/ordersystem and examples/karina-eks at least: the
    // check must not pass by finding nothing.
    assert!(files.len() >= 3, "{files:?}");
    let missing: Vec<&PathBuf> = files.iter().filter(|f| !f.is_file()).collect();
    assert!(
        missing.is_empty(),
        "catalogs with cluster.eks whose out tree has no eks/cluster.yaml: {missing:?}"
    );
    let Some(tool) = validator() else {
        return;
    };
    let (ok, out, err) = validate(&tool, &files);
    assert!(ok, "eksctl refused gen's ClusterConfig:\n{err}{out}");
}

/// EKS catalogs gen must build into a ClusterConfig eksctl accepts: the
/// add-ons' service accounts (ALB → Load Balancer Controller, HPA →
/// metrics-server, volumes → EBS CSI driver), private and public endpoints,
/// spot groups on a subset of the zones, one to three zones' worth of groups.
const BUILT: &[(&str, &str)] = &[
    (
        "private-alb-hpa-volume",
        "version: 1
project: lab
cluster:
  eks:
    version: \"1.34\"
    node_groups:
      general: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}
  aws:
    region: eu-west-1
    vpc_cidr: 10.20.0.0/16
    admin_cidrs: [198.51.100.7/32]
    zones: [eu-west-1a, eu-west-1b]
    load_balancer: alb
ingress: {host: lab.example.org, class: alb}
services:
  web:
    image: ghcr.io/lab/web:1.0.0
    port: 8080
    routes: [/]
    hpa: {min: 2, max: 6, cpu: 70}
    resources: {cpu: 250m, memory: 256Mi}
  db:
    image: ghcr.io/lab/db:1.0.0
    port: 5432
    replicas: 1
    probes: {type: tcp}
    volumes: [{path: /data, size: 5Gi}]
    waivers:
      - {rule: stateful-single-replica, reason: a test database}
",
    ),
    (
        "public-nlb-spot",
        "version: 1
project: shop
cluster:
  eks:
    version: \"1.33\"
    endpoint: public
    node_groups:
      base: {instance_types: [m6i.large, m5.large], min: 3, desired: 3, max: 9}
      spot: {instance_types: [c6i.xlarge, c5.xlarge], min: 0, desired: 1, max: 20, spot: true, zones: [us-west-2a, us-west-2b], volume_size: 40}
  aws:
    region: us-west-2
    vpc_cidr: 172.16.0.0/20
    admin_cidrs: [203.0.113.0/28, 198.51.100.7/32]
    zones: [us-west-2a, us-west-2b, us-west-2c]
    load_balancer: nlb
ingress: {host: shop.example.com, class: nginx}
services:
  api: {image: 'ghcr.io/shop/api:2.0.0', port: 9000, routes: [/]}
",
    ),
];

/// Catalogs at the edge of what eksctl takes: gen must refuse them at the
/// offending line, or emit a ClusterConfig eksctl accepts. eksctl plans its
/// own subnets and refuses a VPC wider than /16 or narrower than /24.
const EDGE: &[(&str, &str, &str)] = &[
    ("vpc-wider-than-16", "10.20.0.0/16", "10.16.0.0/12"),
    ("vpc-narrower-than-24", "10.20.0.0/16", "10.20.0.0/26"),
];

/// Build `catalog` in a fresh directory below `dir`: gen's output (exit 0,
/// stderr) and the ClusterConfig path.
fn build(dir: &Path, name: &str, catalog: &str) -> (bool, String, PathBuf) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("catalog.yaml"), catalog).unwrap();
    let o = common::gen(&d, &["build"]);
    let (out, err) = common::text(&o);
    (
        o.status.success(),
        format!("{out}{err}"),
        d.join("out/eks/cluster.yaml"),
    )
}

#[test]
fn catalogs_built_here_give_cluster_configs_eksctl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, catalog) in BUILT {
        let (ok, text, cfg) = build(dir.path(), name, catalog);
        assert!(ok, "{name}: gen refused it:\n{text}");
        assert!(cfg.is_file(), "{name}: gen wrote no eks/cluster.yaml");
        files.push(cfg);
    }
    let Some(tool) = validator() else {
        return;
    };
    let (ok, out, err) = validate(&tool, &files);
    assert!(ok, "eksctl refused gen's ClusterConfig:\n{err}{out}");
}

#[test]
fn gen_refuses_at_its_line_what_eksctl_would_refuse() {
    let tool = validator();
    let dir = tempfile::tempdir().unwrap();
    for (name, from, to) in EDGE {
        let catalog = BUILT[0].1;
        assert!(catalog.contains(from), "{name}");
        let (ok, text, cfg) = build(dir.path(), name, &catalog.replace(from, to));
        if !ok {
            // A located diagnostic at the VPC's line.
            let line = catalog
                .lines()
                .position(|l| l.contains("vpc_cidr"))
                .unwrap()
                + 1;
            assert!(
                text.contains(&format!("catalog.yaml:{line}:")),
                "{name}: gen refused it, but not at `vpc_cidr`:\n{text}"
            );
            continue;
        }
        assert!(cfg.is_file(), "{name}: gen wrote no eks/cluster.yaml");
        if let Some(tool) = &tool {
            let (ok, out, err) = validate(tool, &[cfg]);
            assert!(
                ok,
                "{name}: gen accepted the catalog and wrote a ClusterConfig eksctl refuses:\n{err}{out}"
            );
        }
    }
}

/// A small ClusterConfig written from eksctl's documented fields (the
/// config-file schema and its examples), shaped like what an EKS cluster
/// with IRSA, managed node groups and add-ons needs.
const HAND_WRITTEN: &str = "apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: demo
  region: eu-central-1
  version: \"1.33\"
vpc:
  cidr: 10.10.0.0/16
  clusterEndpoints:
    privateAccess: true
    publicAccess: true
  publicAccessCIDRs: [192.0.2.0/24]
availabilityZones: [eu-central-1a, eu-central-1b]
iam:
  withOIDC: true
  serviceAccounts:
    - metadata: {name: s3-reader, namespace: apps}
      attachPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    - metadata: {name: queue-writer, namespace: apps}
      attachPolicy:
        Version: \"2012-10-17\"
        Statement:
          - Effect: Allow
            Action: [sqs:SendMessage]
            Resource: arn:aws:sqs:eu-central-1:111122223333:jobs
managedNodeGroups:
  - name: ng-1
    instanceTypes: [t3.large, t3a.large]
    minSize: 1
    desiredCapacity: 2
    maxSize: 3
    availabilityZones: [eu-central-1a, eu-central-1b]
    spot: true
    volumeSize: 30
    volumeType: gp3
    volumeEncrypted: true
    privateNetworking: true
    labels: {role: worker}
addons:
  - name: vpc-cni
  - name: coredns
  - name: kube-proxy
cloudWatch:
  clusterLogging:
    enableTypes: [api, audit]
";

/// One change to `HAND_WRITTEN` each, and a piece of eksctl's refusal.
const REFUSED: &[(&str, &str, &str, &str)] = &[
    (
        "unknown-field",
        "    desiredCapacity: 2\n",
        "    desiredSize: 2\n",
        "unknown field \"desiredSize\"",
    ),
    (
        "desired-above-max",
        "    desiredCapacity: 2\n",
        "    desiredCapacity: 5\n",
        "--nodes-max=3 and --nodes=5",
    ),
    (
        "min-above-max",
        "    minSize: 1\n",
        "    minSize: 4\n",
        "--nodes-min=4 and --nodes=2",
    ),
    (
        "one-zone",
        "availabilityZones: [eu-central-1a, eu-central-1b]\niam",
        "availabilityZones: [eu-central-1a]\niam",
        "only 1 zone(s) specified",
    ),
    (
        "service-accounts-without-oidc",
        "  withOIDC: true\n",
        "  withOIDC: false\n",
        "iam.withOIDC must be enabled explicitly",
    ),
    (
        "service-account-without-policy",
        "      attachPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n",
        "",
        "iam.serviceAccounts[0].attachPolicy must be set",
    ),
    (
        "duplicate-service-account",
        "{name: queue-writer, namespace: apps}",
        "{name: s3-reader, namespace: apps}",
        "apps/s3-reader",
    ),
    (
        "unknown-log-type",
        "enableTypes: [api, audit]",
        "enableTypes: [api, audit, kubelet]",
        "log type \"kubelet\"",
    ),
    (
        "no-endpoint-access",
        "    privateAccess: true\n    publicAccess: true\n",
        "    privateAccess: false\n    publicAccess: false\n",
        "must have one of public or private clusterEndpoints enabled",
    ),
    (
        "amazon-linux-2-past-its-last-version",
        "    spot: true\n",
        "    spot: true\n    amiFamily: AmazonLinux2\n",
        "AmazonLinux2 is not supported for Kubernetes version 1.33",
    ),
    (
        "vpc-wider-than-16",
        "cidr: 10.10.0.0/16",
        "cidr: 10.0.0.0/12",
        "VPC CIDR prefix must be between /16 and /24",
    ),
    (
        "unknown-region",
        "region: eu-central-1",
        "region: eu-middle-9",
        "--region=eu-middle-9 is not supported",
    ),
    (
        "cluster-name",
        "name: demo\n",
        "name: demo_cluster\n",
        "validation for demo_cluster failed",
    ),
    (
        "instance-type-and-types",
        "    spot: true\n",
        "    spot: true\n    instanceType: m5.large\n",
        "only one of instanceType or instanceTypes",
    ),
    (
        "wrong-kind",
        "kind: ClusterConfig\n",
        "kind: Cluster\n",
        "no kind \"Cluster\"",
    ),
];

/// `text` written to `dir/NAME.yaml`.
fn config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn eksctl_refuses_each_broken_cluster_config_with_its_reason() {
    let Some(tool) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, from, to, reason) in REFUSED {
        assert!(
            HAND_WRITTEN.contains(from),
            "{name}: {from:?} not in the base"
        );
        let file = config(dir.path(), name, &HAND_WRITTEN.replacen(from, to, 1));
        let (ok, out, err) = validate(&tool, std::slice::from_ref(&file));
        assert!(!ok, "{name}: eksctl accepted it:\n{out}{err}");
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("{}: ", file.display())))
            .unwrap_or_else(|| panic!("{name}: no refusal naming the file:\n{err}"));
        assert!(line.contains(reason), "{name}: want {reason:?} in\n{err}");
    }
}

#[test]
fn eksctl_accepts_the_hand_written_config_and_fails_a_run_with_one_refused_file() {
    let Some(tool) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = config(dir.path(), "good", HAND_WRITTEN);
    let (ok, out, err) = validate(&tool, std::slice::from_ref(&good));
    assert!(ok, "{err}{out}");
    assert_eq!(out, format!("{}: ok\n", good.display()));
    // Next to a refused file, the good one is still reported and the run fails.
    let bad = config(
        dir.path(),
        "bad",
        &HAND_WRITTEN.replace("maxSize: 3", "maxSize: 1"),
    );
    let (ok, out, err) = validate(&tool, &[good.clone(), bad.clone()]);
    assert!(!ok, "{out}{err}");
    assert_eq!(out, format!("{}: ok\n", good.display()));
    assert!(
        err.contains(&format!("{}: cannot use", bad.display())),
        "{err}"
    );
}
