//! Amazon EKS under `eks/`: the eksctl ClusterConfig (`eks/cluster.yaml`),
//! and, without Argo CD, the add-ons as pinned Helm releases
//! (`eks/addons.sh` with `eks/values/<release>.yaml`). With
//! `gitops.argocd` the same releases are Argo CD Applications under
//! `argocd/addons/` (`emit::addons`, whose install list carries the EKS
//! charts too). The AWS Load Balancer Controller's IAM policy (`emit::iam`)
//! goes to `aws/iam/` and into the ClusterConfig as the policy of the
//! controller's IRSA role.
//!
//! Everything is built as data; the ClusterConfig is checked against the
//! subset of eksctl's schema in `schemas/eksctl-clusterconfig.schema.json`
//! before it is written, and the script's values are single-quoted for the
//! shell.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::addons::Install;
use super::k3s::sh_quote;
use super::{iam, upstream, EmitError, Tree, HEADER};
use crate::catalog::types::{Aws, EndpointAccess, IngressClass};
use crate::model::{EksModel, Model, EKS_STORAGE_CLASS};

/// The ClusterConfig subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/eksctl-clusterconfig.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("eksctl-clusterconfig.schema.json", SCHEMA, "ClusterConfig");

/// Output path of the ClusterConfig.
pub const CLUSTER_PATH: &str = "eks/cluster.yaml";
/// Output path of the add-on script.
pub const ADDONS_PATH: &str = "eks/addons.sh";
/// The script that turns the public endpoint off (`endpoint: private`).
pub const PRIVATE_ENDPOINT_PATH: &str = "eks/private-endpoint.sh";
/// vpc-cni's configuration: its network policy agent on, so the services'
/// NetworkPolicies are enforced.
pub const VPC_CNI_CONFIGURATION: &str = r#"{"enableNetworkPolicy": "true"}"#;

/// Namespace of the controllers that run the cluster's plumbing.
pub const SYSTEM_NAMESPACE: &str = "kube-system";
/// Release and service account of the AWS Load Balancer Controller.
pub const LOAD_BALANCER_CONTROLLER: &str = "aws-load-balancer-controller";
/// Release of the EBS CSI driver.
pub const EBS_CSI_RELEASE: &str = "aws-ebs-csi-driver";
/// Service account of the EBS CSI driver's controller.
pub const EBS_CSI_SERVICE_ACCOUNT: &str = "ebs-csi-controller-sa";
/// Release of ingress-nginx.
pub const INGRESS_NGINX_RELEASE: &str = "ingress-nginx";
/// Days CloudWatch keeps the control plane's logs (one of the values
/// CloudWatch accepts).
pub const LOG_RETENTION_DAYS: u32 = 90;
/// Node label naming a node's managed node group.
pub const NODE_GROUP_LABEL: &str = "gen.dev/node-group";
/// How long `helm --wait` waits for one release.
const HELM_TIMEOUT: &str = "10m";

/// Check a ClusterConfig against the subset of eksctl's schema.
pub fn validate(file: &str, cfg: &Value) -> Result<(), EmitError> {
    SUBSET.check(file, cfg)
}

/// The AWS-managed policy of the EBS CSI driver.
fn ebs_csi_policy_arn(region: &str) -> String {
    format!(
        "arn:{}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
        iam::partition(region)
    )
}

/// The eksctl ClusterConfig of the model's cluster.
pub fn cluster_config(model: &Model, eks: &EksModel, aws: &Aws) -> Value {
    // eksctl cannot create a cluster whose API is private only: it must
    // reach the API to finish (nodes, service accounts). So the cluster is
    // created with the public endpoint limited to the admin networks, and
    // with `endpoint: private` `eks/private-endpoint.sh` turns it off once
    // the add-ons are in.
    let vpc = json!({
        "cidr": aws.vpc_cidr.0,
        // Nodes reach the internet (images, AWS APIs) through one NAT
        // gateway per zone, so losing a zone loses no other zone's egress.
        "nat": {"gateway": "HighlyAvailable"},
        "clusterEndpoints": {"privateAccess": true, "publicAccess": true},
        "publicAccessCIDRs": aws.admin_cidrs.iter().map(|c| &c.0).collect::<Vec<_>>(),
    });
    let mut accounts = Vec::new();
    if eks.needs.load_balancer_controller {
        accounts.push(json!({
            "metadata": {"name": LOAD_BALANCER_CONTROLLER, "namespace": SYSTEM_NAMESPACE},
            "attachPolicy": iam::load_balancer_controller_policy(&aws.region),
        }));
    }
    if eks.needs.ebs_csi {
        accounts.push(json!({
            "metadata": {"name": EBS_CSI_SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE},
            "attachPolicyARNs": [ebs_csi_policy_arn(&aws.region)],
        }));
    }
    let mut iam = json!({"withOIDC": true});
    if !accounts.is_empty() {
        iam["serviceAccounts"] = json!(accounts);
    }
    let node_groups: Vec<Value> = eks
        .node_groups
        .iter()
        .map(|g| {
            json!({
                "name": g.name,
                "instanceTypes": g.instance_types,
                "minSize": g.min,
                "desiredCapacity": g.desired,
                "maxSize": g.max,
                "availabilityZones": g.zones,
                "spot": g.spot,
                "volumeSize": g.volume_size,
                "volumeType": "gp3",
                "volumeEncrypted": true,
                // Nodes in private subnets only; the load balancers are
                // the public entry.
                "privateNetworking": true,
                "disableIMDSv1": true,
                "labels": {NODE_GROUP_LABEL: g.name},
            })
        })
        .collect();
    json!({
        "apiVersion": "eksctl.io/v1alpha5",
        "kind": "ClusterConfig",
        "metadata": {
            "name": eks.name,
            "region": aws.region,
            "version": eks.version,
            "tags": {"app.kubernetes.io/part-of": model.project, "app.kubernetes.io/managed-by": "gen"},
        },
        "availabilityZones": aws.zones,
        "vpc": vpc,
        "iam": iam,
        // EKS-managed networking add-ons, at the default version for the
        // cluster's Kubernetes version; eksctl gives vpc-cni an IRSA role
        // with its recommended policy (withOIDC).
        // vpc-cni enforces NetworkPolicies only when asked to: without it
        // every policy gen writes would be accepted and ignored.
        "addons": [
            {"name": "vpc-cni", "configurationValues": VPC_CNI_CONFIGURATION},
            {"name": "coredns"},
            {"name": "kube-proxy"},
        ],
        "managedNodeGroups": node_groups,
        "cloudWatch": {"clusterLogging": {
            "enableTypes": ["api", "audit", "authenticator"],
            "logRetentionInDays": LOG_RETENTION_DAYS,
        }},
    })
}

/// The AWS Load Balancer Controller's chart values: the cluster it serves,
/// the IRSA service account eksctl made, and the features whose
/// permissions `emit::iam` leaves out turned off.
pub fn load_balancer_controller_values(eks: &EksModel, aws: &Aws) -> Value {
    json!({
        "clusterName": eks.name,
        "region": aws.region,
        "serviceAccount": {"create": false, "name": LOAD_BALANCER_CONTROLLER},
        "replicaCount": 2,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "enableShield": false,
        "enableWaf": false,
        "enableWafv2": false,
        "resources": super::addons::requests("50m", "128Mi", "512Mi"),
    })
}

/// The EBS CSI driver's chart values: its controller on the IRSA service
/// account eksctl made, and the `gp3` StorageClass gen's claims use
/// (encrypted, bound where the pod lands, expandable), marked default.
pub fn ebs_csi_values(aws: &Aws) -> Value {
    json!({
        "controller": {
            "region": aws.region,
            "serviceAccount": {"create": false, "name": EBS_CSI_SERVICE_ACCOUNT},
        },
        "storageClasses": [{
            "name": EKS_STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": true,
            "reclaimPolicy": "Delete",
            "parameters": {"type": "gp3", "encrypted": "true"},
        }],
    })
}

/// The annotations of ingress-nginx's Service: an internet-facing NLB made
/// by the AWS Load Balancer Controller, sending to the controller's pods
/// (target type ip), in gen's load balancer security group.
pub fn nginx_nlb_annotations(model: &Model) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = [
        (
            "service.beta.kubernetes.io/aws-load-balancer-type",
            "external",
        ),
        (
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
            "ip",
        ),
        (
            "service.beta.kubernetes.io/aws-load-balancer-scheme",
            "internet-facing",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // The NLB in gen's load balancer group, whose rules open the pods.
    a.extend(super::aws::nlb_service_annotations(model));
    a
}

/// ingress-nginx's chart values on EKS: two replicas behind the NLB.
pub fn ingress_nginx_values(model: &Model) -> Value {
    json!({"controller": {
        "replicaCount": 2,
        "service": {"type": "LoadBalancer", "annotations": nginx_nlb_annotations(model)},
        "ingressClassResource": {"default": true},
    }})
}

/// The charts EKS itself needs, in install order: the AWS Load Balancer
/// Controller and the EBS CSI driver first (the others' Services and
/// claims need them), then, last, ingress-nginx (`emit::addons::installs`
/// puts the other add-ons between).
pub fn installs(model: &Model) -> (Vec<Install>, Vec<Install>) {
    let (Some(eks), Some(aws)) = (&model.eks, &model.aws) else {
        return (Vec::new(), Vec::new());
    };
    let mut first = Vec::new();
    if eks.needs.load_balancer_controller {
        first.push(Install {
            chart: upstream::AWS_LOAD_BALANCER_CONTROLLER,
            release: LOAD_BALANCER_CONTROLLER,
            namespace: SYSTEM_NAMESPACE.to_owned(),
            values: load_balancer_controller_values(eks, aws),
        });
    }
    if eks.needs.ebs_csi {
        first.push(Install {
            chart: upstream::AWS_EBS_CSI_DRIVER,
            release: EBS_CSI_RELEASE,
            namespace: SYSTEM_NAMESPACE.to_owned(),
            values: ebs_csi_values(aws),
        });
    }
    let mut last = Vec::new();
    if let Some(ing) = model
        .ingress
        .as_ref()
        .filter(|i| i.class == IngressClass::Nginx)
    {
        last.push(Install {
            chart: upstream::INGRESS_NGINX,
            release: INGRESS_NGINX_RELEASE,
            namespace: ing.controller_namespace.clone().unwrap_or_else(|| {
                super::helm::values::controller_namespace(IngressClass::Nginx).to_owned()
            }),
            values: ingress_nginx_values(model),
        });
    }
    (first, last)
}

fn yaml(what: &str, v: &Value) -> Result<String, EmitError> {
    serde_saphyr::to_string(v).map_err(|e| EmitError::Serialize {
        what: what.to_owned(),
        why: e.to_string(),
    })
}

/// The ClusterConfig's top-level keys in the order eksctl's documentation
/// writes them (the serializer would sort them).
const TOP_LEVEL: [&str; 9] = [
    "apiVersion",
    "kind",
    "metadata",
    "availabilityZones",
    "vpc",
    "iam",
    "addons",
    "managedNodeGroups",
    "cloudWatch",
];

/// YAML of a ClusterConfig, its top-level keys in [`TOP_LEVEL`] order.
fn ordered_yaml(file: &str, cfg: &Value) -> Result<String, EmitError> {
    let Some(obj) = cfg.as_object() else {
        return yaml(file, cfg);
    };
    if let Some(k) = obj.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(EmitError::Serialize {
            what: file.to_owned(),
            why: format!("no place for top-level key `{k}`"),
        });
    }
    let mut out = String::new();
    for k in TOP_LEVEL {
        if let Some(v) = obj.get(k) {
            out.push_str(&yaml(file, &json!({k: v}))?);
        }
    }
    Ok(out)
}

const CLUSTER_COMMENT: &str = "\
# The EKS cluster, for eksctl. In order:
#   1. eksctl create cluster -f eks/cluster.yaml
#   2. the security groups in aws/ (Terraform or CloudFormation)
#   3. the add-ons: eks/addons.sh (with gitops.argocd: the Applications in argocd/addons/)
";

const PRIVATE_COMMENT: &str = "\
#   4. bash eks/private-endpoint.sh: the public endpoint off (it is open to the
#      admin networks only while eksctl and the add-ons need it); kubectl then
#      runs inside the VPC (the bastion) or from a network routed into it.
";

/// The script that turns the public endpoint of a private cluster off.
fn private_endpoint_script(eks: &EksModel, aws: &Aws) -> String {
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str(HEADER);
    s.push_str(
        "# Turns the cluster's public API endpoint off (`endpoint: private`). eksctl\n\
         # cannot create a private-only cluster, so eks/cluster.yaml opens the public\n\
         # endpoint to the admin networks until this runs. Run it last:\n\
         #   1. eksctl create cluster -f eks/cluster.yaml\n\
         #   2. the security groups in aws/ (Terraform or CloudFormation)\n\
         #   3. bash eks/addons.sh\n\
         #   4. bash eks/private-endpoint.sh\n\
         # Afterwards kubectl, helm and gen apply run inside the VPC (the bastion) or\n\
         # from a network routed into it. Running it again changes nothing.\n\
         set -euo pipefail\n\n\
         if ! command -v eksctl >/dev/null 2>&1; then\n  \
           echo \"error: eksctl is not installed (https://eksctl.io/installation/)\" >&2\n  \
           exit 1\n\
         fi\n",
    );
    s.push_str(&format!(
        "eksctl utils update-cluster-vpc-config --cluster {} --region {} \\\n  --private-access=true --public-access=false --approve\n",
        sh_quote(&eks.name),
        sh_quote(&aws.region),
    ));
    s
}

/// The script that installs the add-ons with Helm, in order.
fn addons_script(installs: &[Install]) -> String {
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str(HEADER);
    s.push_str(
        "# Installs the cluster's add-ons as pinned Helm releases, in dependency order.\n\
         # Run it third, with kubectl's current context on the new cluster:\n\
         #   1. eksctl create cluster -f eks/cluster.yaml\n\
         #   2. the security groups in aws/ (Terraform or CloudFormation)\n\
         #   3. bash eks/addons.sh\n\
         # Each release waits until it is ready; running it again upgrades in place.\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")/..\"\n\n\
         if ! command -v helm >/dev/null 2>&1; then\n  \
           echo \"error: helm is not installed (https://helm.sh/docs/intro/install/)\" >&2\n  \
           exit 1\n\
         fi\n",
    );
    for i in installs {
        s.push_str(&format!(
            "\necho {}\nhelm upgrade --install {} {} \\\n  --repo {} \\\n  --version {} \\\n  --namespace {} --create-namespace \\\n  --values {} \\\n  --wait --timeout {}\n",
            sh_quote(&format!("== {} {}", i.release, i.chart.version)),
            sh_quote(i.release),
            sh_quote(i.chart.chart),
            sh_quote(i.chart.repo),
            sh_quote(i.chart.version),
            sh_quote(&i.namespace),
            sh_quote(&values_path(i.release)),
            sh_quote(HELM_TIMEOUT),
        ));
    }
    s
}

/// Path of a release's values file.
pub fn values_path(release: &str) -> String {
    format!("eks/values/{release}.yaml")
}

/// Emit `eks/` and the controller's IAM policy.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let (Some(eks), Some(aws)) = (&model.eks, &model.aws) else {
        return Ok(());
    };
    let cfg = cluster_config(model, eks, aws);
    validate(CLUSTER_PATH, &cfg)?;
    let mut comment = CLUSTER_COMMENT.to_owned();
    if eks.endpoint == EndpointAccess::Private {
        comment.push_str(PRIVATE_COMMENT);
        tree.insert(PRIVATE_ENDPOINT_PATH, private_endpoint_script(eks, aws));
    }
    if eks.needs.load_balancer_controller {
        comment.push_str(&format!(
            "# The policy of the AWS Load Balancer Controller's role below (also in\n# {}) is written for controller {}.\n",
            iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH,
            iam::LOAD_BALANCER_CONTROLLER_VERSION,
        ));
    }
    tree.insert(
        CLUSTER_PATH,
        format!("{HEADER}{comment}{}", ordered_yaml(CLUSTER_PATH, &cfg)?),
    );
    if eks.needs.load_balancer_controller {
        let policy = iam::load_balancer_controller_policy(&aws.region);
        let text = serde_json::to_string_pretty(&policy).map_err(|e| EmitError::Serialize {
            what: iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH.to_owned(),
            why: e.to_string(),
        })?;
        tree.insert(iam::LOAD_BALANCER_CONTROLLER_POLICY_PATH, text + "\n");
    }
    if model.argocd.is_some() {
        return Ok(());
    }
    let installs = super::addons::installs(model);
    if installs.is_empty() {
        return Ok(());
    }
    for i in &installs {
        let path = values_path(i.release);
        let text = yaml(&path, &i.values)?;
        tree.insert(path, format!("{HEADER}{text}"));
    }
    tree.insert(ADDONS_PATH, addons_script(&installs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_reserves_every_release_name_gen_adds_on_eks() {
        for r in [
            LOAD_BALANCER_CONTROLLER,
            EBS_CSI_RELEASE,
            INGRESS_NGINX_RELEASE,
            crate::model::addons::METRICS_SERVER_RELEASE,
        ] {
            assert!(crate::model::addons::EKS_RELEASES.contains(&r), "{r}");
        }
    }

    #[test]
    fn the_schema_refuses_what_eksctl_would() {
        let good = json!({"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig",
            "metadata": {"name": "shop", "region": "us-east-1", "version": "1.34"},
            "availabilityZones": ["us-east-1a", "us-east-1b"],
            "managedNodeGroups": [{"name": "general", "instanceTypes": ["m6i.large"],
                "minSize": 1, "desiredCapacity": 2, "maxSize": 3, "volumeType": "gp3"}]});
        assert!(validate("c.yaml", &good).is_ok());
        let mut typo = good.clone();
        typo["managedNodeGroups"][0]["desiredSize"] = json!(2);
        assert!(validate("c.yaml", &typo).is_err());
        let mut kind = good.clone();
        kind["kind"] = json!("Cluster");
        assert!(validate("c.yaml", &kind).is_err());
        let mut volume = good.clone();
        volume["managedNodeGroups"][0]["volumeType"] = json!("gp4");
        assert!(validate("c.yaml", &volume).is_err());
        let mut logs = good.clone();
        logs["cloudWatch"] = json!({"clusterLogging": {"enableTypes": ["kubelet"]}});
        assert!(validate("c.yaml", &logs).is_err());
        let mut no_region = good;
        no_region["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("region");
        assert!(validate("c.yaml", &no_region).is_err());
    }
}
