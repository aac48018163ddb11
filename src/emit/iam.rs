//! IAM policies as data: the AWS Load Balancer Controller's permissions
//! (`aws/iam/aws-load-balancer-controller.json`, and the policy eksctl
//! attaches to the controller's IRSA role in `eks/cluster.yaml`).
//!
//! Written for the controller version [`LOAD_BALANCER_CONTROLLER_VERSION`]
//! (the `appVersion` of the chart pinned in `emit::upstream`), from the
//! calls that controller makes. Least privilege beyond the controller's
//! reference policy: every ARN is limited to the cluster's partition and
//! region; WAF, WAFv2, Shield and Cognito are left out (gen's Ingresses use
//! none of them and `emit::eks` turns those features off in the chart);
//! everything the controller creates must carry its cluster tag
//! (`elbv2.k8s.aws/cluster`) at creation, and what it modifies or deletes
//! must already carry it. The exceptions are the ones the controller's
//! design needs: rules on the security groups EKS made (the nodes' and the
//! cluster's, which gen does not tag), and listeners, rules and targets,
//! which live inside the load balancers it owns.
//!
//! Upgrading the chart means re-reading the controller's release notes for
//! new permissions and updating the statements here.

use serde_json::{json, Map, Value};

/// The controller version the policy is written for.
pub const LOAD_BALANCER_CONTROLLER_VERSION: &str = "v3.5.0";

/// The tag the controller puts on everything it creates.
pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// Output path of the controller's policy.
pub const LOAD_BALANCER_CONTROLLER_POLICY_PATH: &str = "aws/iam/aws-load-balancer-controller.json";

/// The AWS partition of a region: `aws`, `aws-cn`, `aws-us-gov`, or one of
/// the isolated partitions.
pub fn partition(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| region.starts_with(p))
        .map_or("aws", |(_, part)| part)
}

/// What a statement requires of the request or the resource's tags.
#[derive(Clone, Copy)]
enum Tagged {
    /// Nothing (the reason is at the statement).
    No,
    /// The request creates the resource with the cluster tag.
    OnCreate,
    /// The resource already carries the cluster tag.
    Owned,
    /// The resource carries the cluster tag and the request does not set it
    /// (tag changes on owned resources never remove or move ownership).
    OwnedKeepingTag,
}

impl Tagged {
    fn condition(self) -> Option<Value> {
        let req = format!("aws:RequestTag/{CLUSTER_TAG}");
        let res = format!("aws:ResourceTag/{CLUSTER_TAG}");
        // `Null: false` means "the key is present".
        match self {
            Tagged::No => None,
            Tagged::OnCreate => Some(json!({"Null": {req: "false"}})),
            Tagged::Owned => Some(json!({"Null": {res: "false"}})),
            Tagged::OwnedKeepingTag => Some(json!({"Null": {req: "true", res: "false"}})),
        }
    }
}

/// One Allow statement.
struct Statement {
    sid: &'static str,
    actions: &'static [&'static str],
    resources: Vec<String>,
    tagged: Tagged,
    /// Conditions besides the tag's (merged by operator).
    extra: Option<Value>,
}

impl Statement {
    fn to_value(&self) -> Value {
        let mut cond = Map::new();
        for c in [self.tagged.condition(), self.extra.clone()]
            .into_iter()
            .flatten()
        {
            if let Value::Object(ops) = c {
                for (op, kv) in ops {
                    let entry = cond.entry(op).or_insert_with(|| json!({}));
                    if let (Some(e), Value::Object(kv)) = (entry.as_object_mut(), kv) {
                        e.extend(kv);
                    }
                }
            }
        }
        let mut s = json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": self.actions,
            "Resource": if self.resources.len() == 1 { json!(self.resources[0]) } else { json!(self.resources) },
        });
        if !cond.is_empty() {
            s["Condition"] = Value::Object(cond);
        }
        s
    }
}

/// Read-only calls: what exists in the VPC and in Elastic Load Balancing.
/// These take no resource-level permissions.
const DESCRIBE: &[&str] = &[
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeCoipPools",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeIpamPools",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeVpcs",
    "ec2:GetCoipPoolUsage",
    "ec2:GetSecurityGroupsForVpc",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTrustStores",
];

/// The AWS Load Balancer Controller's policy document for a cluster in
/// `region`.
pub fn load_balancer_controller_policy(region: &str) -> Value {
    let p = partition(region);
    let ec2 = |r: &str| format!("arn:{p}:ec2:{region}:*:{r}");
    let elb = |r: &str| format!("arn:{p}:elasticloadbalancing:{region}:*:{r}");
    let security_groups = || vec![ec2("security-group/*")];
    let balancers = || {
        vec![
            elb("loadbalancer/app/*/*"),
            elb("loadbalancer/net/*/*"),
            elb("targetgroup/*/*"),
        ]
    };
    let statements = [
        Statement {
            sid: "ElbServiceLinkedRole",
            actions: &["iam:CreateServiceLinkedRole"],
            resources: vec!["*".into()],
            tagged: Tagged::No,
            extra: Some(
                json!({"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
            ),
        },
        Statement {
            sid: "Describe",
            actions: DESCRIBE,
            resources: vec!["*".into()],
            tagged: Tagged::No,
            extra: None,
        },
        // Finding the certificate of an HTTPS listener by its host.
        Statement {
            sid: "DiscoverCertificates",
            actions: &[
                "acm:DescribeCertificate",
                "acm:ListCertificates",
                "iam:GetServerCertificate",
                "iam:ListServerCertificates",
            ],
            resources: vec!["*".into()],
            tagged: Tagged::No,
            extra: None,
        },
        // Rules from the load balancer's group into the groups EKS made
        // for the nodes and pods, which carry no controller tag.
        Statement {
            sid: "BackendSecurityGroupRules",
            actions: &[
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            resources: security_groups(),
            tagged: Tagged::No,
            extra: None,
        },
        Statement {
            sid: "CreateSecurityGroup",
            actions: &["ec2:CreateSecurityGroup"],
            resources: vec![ec2("security-group/*"), ec2("vpc/*")],
            tagged: Tagged::No,
            extra: None,
        },
        Statement {
            sid: "TagNewSecurityGroups",
            actions: &["ec2:CreateTags"],
            resources: security_groups(),
            tagged: Tagged::OnCreate,
            extra: Some(json!({"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}})),
        },
        Statement {
            sid: "TagOwnSecurityGroups",
            actions: &["ec2:CreateTags", "ec2:DeleteTags"],
            resources: security_groups(),
            tagged: Tagged::OwnedKeepingTag,
            extra: None,
        },
        Statement {
            sid: "DeleteOwnSecurityGroups",
            actions: &["ec2:DeleteSecurityGroup"],
            resources: security_groups(),
            tagged: Tagged::Owned,
            extra: None,
        },
        Statement {
            sid: "CreateTaggedLoadBalancers",
            actions: &[
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            resources: balancers(),
            tagged: Tagged::OnCreate,
            extra: None,
        },
        Statement {
            sid: "TagNewLoadBalancers",
            actions: &["elasticloadbalancing:AddTags"],
            resources: balancers(),
            tagged: Tagged::OnCreate,
            extra: Some(
                json!({"StringEquals": {"elasticloadbalancing:CreateAction": [
                    "CreateLoadBalancer", "CreateTargetGroup"
                ]}}),
            ),
        },
        Statement {
            sid: "TagOwnLoadBalancers",
            actions: &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
            ],
            resources: balancers(),
            tagged: Tagged::OwnedKeepingTag,
            extra: None,
        },
        Statement {
            sid: "ChangeOwnLoadBalancers",
            actions: &[
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyCapacityReservation",
                "elasticloadbalancing:ModifyIpPools",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            resources: vec![elb("*")],
            tagged: Tagged::Owned,
            extra: None,
        },
        // Listeners and rules live inside the load balancers above.
        Statement {
            sid: "ListenersAndRules",
            actions: &[
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:SetRulePriorities",
            ],
            resources: vec![elb("*")],
            tagged: Tagged::No,
            extra: None,
        },
        Statement {
            sid: "TagListenersAndRules",
            actions: &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
            ],
            resources: vec![
                elb("listener/app/*/*/*"),
                elb("listener/net/*/*/*"),
                elb("listener-rule/app/*/*/*"),
                elb("listener-rule/net/*/*/*"),
            ],
            tagged: Tagged::No,
            extra: None,
        },
        // The pods behind the target groups (target type ip).
        Statement {
            sid: "Targets",
            actions: &[
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:RegisterTargets",
            ],
            resources: vec![elb("targetgroup/*/*")],
            tagged: Tagged::No,
            extra: None,
        },
    ];
    json!({
        "Version": "2012-10-17",
        "Statement": statements.iter().map(Statement::to_value).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("ap-northeast-2"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
    }

    #[test]
    fn conditions_merge_by_operator() {
        let p = load_balancer_controller_policy("cn-north-1");
        let s = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "TagNewSecurityGroups")
            .unwrap();
        assert_eq!(
            s["Condition"],
            json!({"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"},
                   "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}})
        );
        assert_eq!(
            s["Resource"],
            "arn:aws-cn:ec2:cn-north-1:*:security-group/*"
        );
    }
}
