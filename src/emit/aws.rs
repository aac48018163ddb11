//! AWS security groups from the flow table: Terraform
//! (`aws/security-groups.tf`) and CloudFormation
//! (`aws/security-groups.cfn.yaml`).
//!
//! Each flow becomes an ingress rule on the destination group and, when the
//! source is one of ours, the matching egress rule on the source group (egress
//! is explicit: Terraform drops AWS's allow-all default, and CloudFormation's
//! is replaced by a placeholder). Peers that are ours are referenced by
//! security group, never by CIDR; one source per rule.
//!
//! On EKS the cluster security group is EKS's own ([`Group::external`]):
//! the files take its ID as an input (a Terraform variable, a CloudFormation
//! parameter) and add rules to it, but never create or output it.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use super::hcl::{self, Block, Expr};
use super::{EmitError, Tree, HEADER};
use crate::catalog::types::{IngressClass, LoadBalancer};
use crate::model::flows::{self, Flow, Group, Peer};
use crate::model::Model;

/// A rule on one group, resolved to one source or destination.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Resource name (snake case, unique).
    pub name: String,
    /// Ingress (true) or egress.
    pub ingress: bool,
    /// The group the rule belongs to.
    pub group: Group,
    /// The other end: a group or a CIDR.
    pub other: Other,
    /// The flow it implements.
    pub flow: Flow,
}

/// The far end of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Other {
    /// One of our groups.
    Group(Group),
    /// An IPv4 network.
    V4(String),
    /// An IPv6 network.
    V6(String),
}

/// checkov findings that are correct by design, with the reason gen writes
/// next to the resource.
fn skips(rule: Option<&Rule>, group: Option<Group>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(g) = group {
        out.push((
            "CKV2_AWS_5",
            format!(
                "instances of the {} use this group; they are defined outside this file",
                g.human()
            ),
        ));
    }
    if let Some(r) = rule {
        // checkov reads a rule without a CIDR (one whose source is a
        // security group) as open to the world on these ports.
        if let (true, Other::Group(src)) = (r.ingress, &r.other) {
            let id = match r.flow.from_port {
                22 => Some("CKV_AWS_24"),
                80 => Some("CKV_AWS_260"),
                3389 => Some("CKV_AWS_25"),
                _ => None,
            };
            if let Some(id) = id {
                out.push((
                    id,
                    format!(
                        "the source is the {} security group, not 0.0.0.0/0",
                        src.human()
                    ),
                ));
            }
        }
        let world = matches!(&r.other, Other::V4(c) if c == "0.0.0.0/0")
            || matches!(&r.other, Other::V6(c) if c == "::/0");
        if r.ingress && world && r.flow.from_port == 80 {
            let why = if r.flow.why.contains("redirected") {
                "the public load balancer answers HTTP only to redirect to HTTPS"
            } else {
                "the catalog serves plain HTTP on purpose (ingress.https_redirect is off; gen lint reports it)"
            };
            out.push(("CKV_AWS_260", why.to_owned()));
        }
    }
    out
}

fn peers_of(model: &Model, p: &Peer) -> Vec<Other> {
    let ipv6 = model.k3s.as_ref().is_some_and(|k| k.ipv6);
    let cidr = |c: &str| match c.parse::<IpNet>() {
        Ok(IpNet::V6(_)) => Other::V6(c.to_owned()),
        _ => Other::V4(c.to_owned()),
    };
    match p {
        Peer::Group(g) => vec![Other::Group(*g)],
        Peer::Admins => model
            .aws
            .as_ref()
            .map(|a| a.admin_cidrs.iter().map(|c| cidr(&c.0)).collect())
            .unwrap_or_default(),
        Peer::Internet => {
            let mut v = vec![Other::V4("0.0.0.0/0".into())];
            if ipv6 {
                v.push(Other::V6("::/0".into()));
            }
            v
        }
        Peer::Cidr(c) => vec![cidr(c)],
    }
}

fn other_ident(o: &Other, cidrs: &BTreeMap<String, usize>) -> String {
    match o {
        Other::Group(g) => g.ident().to_owned(),
        Other::V4(c) if c == "0.0.0.0/0" => "internet".to_owned(),
        Other::V6(c) if c == "::/0" => "internet_v6".to_owned(),
        Other::V4(c) | Other::V6(c) => format!("net{}", cidrs.get(c).copied().unwrap_or(0)),
    }
}

/// How the Terraform refers to a group's ID.
fn tf_group_ref(g: Group) -> String {
    if g.external() {
        format!("var.{}_security_group_id", g.ident())
    } else {
        format!("aws_security_group.{}.id", g.ident())
    }
}

/// How the CloudFormation refers to a group's ID.
fn cfn_group_ref(g: Group) -> Value {
    if g.external() {
        json!({"Ref": format!("{}Id", sg_id(g))})
    } else {
        json!({"Fn::GetAtt": [sg_id(g), "GroupId"]})
    }
}

/// What gen relies on for EKS's cluster security group, said next to the
/// input that names it.
const CLUSTER_GROUP_NOTE: [&str; 6] = [
    "gen relies on EKS's defaults for this group: it admits all traffic from its",
    "own members (control plane, managed nodes, pods) and allows all outbound",
    "traffic; gen's egress rules on it state what the services need should that",
    "default be removed. The managed node groups carry only this group and pods",
    "share their node's interfaces (no security groups for pods). A rule on it",
    "applies to every member, the control plane's network interfaces included.",
];

/// Where to read the cluster security group's ID.
fn cluster_group_source(model: &Model) -> String {
    format!(
        "ID of the security group EKS created for the cluster {p}: aws eks describe-cluster --name {p} --query cluster.resourcesVpcConfig.clusterSecurityGroupId --output text, or the ClusterSecurityGroupId output of eksctl's eksctl-{p}-cluster stack",
        p = model.project
    )
}

/// The Name tag of the public load balancer's group when the load balancer
/// is made by the AWS Load Balancer Controller on EKS: the ALB of the
/// Ingresses, or the NLB of ingress-nginx's Service. The controller attaches
/// it (found by Name tag) instead of a group of its own, and gen's rules
/// open the pods' ports to it.
pub fn load_balancer_group(model: &Model) -> Option<String> {
    (model.eks.is_some() && flows::groups(model).contains(&Group::LoadBalancer))
        .then(|| group_name(model, Group::LoadBalancer))
}

/// The annotations of ingress-nginx's `LoadBalancer` Service on EKS that put
/// the NLB in gen's load balancer security group, and leave the backend
/// rules to gen's flows; empty when the catalog's ingress is not
/// ingress-nginx behind an NLB on EKS.
pub fn nlb_service_annotations(model: &Model) -> BTreeMap<String, String> {
    let nginx = model
        .ingress
        .as_ref()
        .is_some_and(|i| i.class == IngressClass::Nginx);
    let nlb = model.aws.as_ref().and_then(|a| a.load_balancer) == Some(LoadBalancer::Nlb);
    match load_balancer_group(model) {
        Some(name) if nginx && nlb => BTreeMap::from([
            (
                "service.beta.kubernetes.io/aws-load-balancer-security-groups".to_owned(),
                name,
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"
                    .to_owned(),
                "false".to_owned(),
            ),
        ]),
        _ => BTreeMap::new(),
    }
}

/// Every rule, named, in a stable order.
pub fn rules(model: &Model, flows: &[Flow]) -> Vec<Rule> {
    // Number the networks so rule names stay short and stable.
    let mut nets = BTreeSet::new();
    for f in flows {
        for p in [&f.from, &f.to] {
            for o in peers_of(model, p) {
                if let Other::V4(c) | Other::V6(c) = o {
                    nets.insert(c);
                }
            }
        }
    }
    let cidrs: BTreeMap<String, usize> = nets.into_iter().zip(1..).collect();
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |ingress: bool, group: Group, other: Other, flow: &Flow| {
        // `tcp_6443`, `udp_8472`, `tcp_2379_2380`, or `all` for all traffic.
        let ports = if flow.proto == crate::model::flows::Proto::All {
            "all".to_owned()
        } else if flow.from_port == flow.to_port {
            format!("{}_{}", flow.proto.as_str(), flow.from_port)
        } else {
            format!(
                "{}_{}_{}",
                flow.proto.as_str(),
                flow.from_port,
                flow.to_port
            )
        };
        let base = format!(
            "{}_{}_{}_{}",
            group.ident(),
            if ingress { "from" } else { "to" },
            other_ident(&other, &cidrs),
            ports
        );
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(Rule {
            name,
            ingress,
            group,
            other,
            flow: flow.clone(),
        });
    };
    for f in flows {
        if let Peer::Group(dst) = f.to {
            for src in peers_of(model, &f.from) {
                push(true, dst, src, f);
            }
        }
        if let Peer::Group(src) = f.from {
            for dst in peers_of(model, &f.to) {
                push(false, src, dst, f);
            }
        }
    }
    out
}

/// The name (and Name tag) of a group gen creates, e.g. `shop-load-balancer`.
pub fn group_name(model: &Model, g: Group) -> String {
    format!("{}-{}", model.project, g.ident().replace('_', "-"))
}

fn group_description(model: &Model, g: Group) -> String {
    format!("{} of {} (generated by gen)", g.human(), model.project)
}

fn rule_description(r: &Rule) -> String {
    let (from, to) = if r.ingress {
        (describe(&r.other), r.group.human().to_owned())
    } else {
        (r.group.human().to_owned(), describe(&r.other))
    };
    format!("{from} -> {to} {}: {}", r.flow.ports(), r.flow.why)
}

fn describe(o: &Other) -> String {
    match o {
        Other::Group(g) => g.human().to_owned(),
        Other::V4(c) | Other::V6(c) => c.clone(),
    }
}

fn terraform(model: &Model, groups: &[Group], rules: &[Rule]) -> String {
    let mut blocks =
        vec![
            Block::new("terraform", &[]).block(Block::new("required_providers", &[]).attr(
                "aws",
                Expr::Object(vec![
                    ("source".into(), Expr::Str("hashicorp/aws".into())),
                    ("version".into(), Expr::Str(">= 5.30".into())),
                ]),
            )),
        ];
    let vpc = model
        .aws
        .as_ref()
        .map(|a| a.vpc_cidr.0.clone())
        .unwrap_or_default();
    let (external, owned): (Vec<Group>, Vec<Group>) = groups.iter().partition(|g| g.external());
    if !owned.is_empty() {
        blocks.push(
            Block::new("variable", &["vpc_id"])
                .attr(
                    "description",
                    Expr::Str(format!(
                        "ID of the VPC ({vpc}) the security groups belong to"
                    )),
                )
                .attr("type", Expr::Ref("string".into())),
        );
    }
    for g in &external {
        let b = CLUSTER_GROUP_NOTE.iter().fold(
            Block::new("variable", &[&format!("{}_security_group_id", g.ident())]),
            |b, line| b.comment(&format!(" {line}")),
        );
        blocks.push(
            b.attr("description", Expr::Str(cluster_group_source(model)))
                .attr("type", Expr::Ref("string".into())),
        );
    }
    for g in &owned {
        let mut b = Block::new("resource", &["aws_security_group", g.ident()]);
        for (id, why) in skips(None, Some(*g)) {
            b = b.comment(&format!("checkov:skip={id}:{why}"));
        }
        b = b
            .attr("name", Expr::Str(group_name(model, *g)))
            .attr("description", Expr::Str(group_description(model, *g)))
            .attr("vpc_id", Expr::Ref("var.vpc_id".into()))
            .attr(
                "tags",
                Expr::Object(vec![
                    ("Name".into(), Expr::Str(group_name(model, *g))),
                    ("Project".into(), Expr::Str(model.project.clone())),
                    ("Role".into(), Expr::Str(g.ident().into())),
                    ("ManagedBy".into(), Expr::Str("gen".into())),
                ]),
            );
        blocks.push(b);
    }
    for r in rules {
        let kind = if r.ingress {
            "aws_vpc_security_group_ingress_rule"
        } else {
            "aws_vpc_security_group_egress_rule"
        };
        let mut b = Block::new("resource", &[kind, &r.name]);
        for (id, why) in skips(Some(r), None) {
            b = b.comment(&format!("checkov:skip={id}:{why}"));
        }
        b = b
            .attr("security_group_id", Expr::Ref(tf_group_ref(r.group)))
            .attr("description", Expr::Str(rule_description(r)))
            .attr("ip_protocol", Expr::Str(r.flow.proto.as_str().into()));
        // Ports do not apply to "-1" (all traffic); AWS refuses them there.
        if r.flow.proto != crate::model::flows::Proto::All {
            b = b
                .attr("from_port", Expr::Num(i64::from(r.flow.from_port)))
                .attr("to_port", Expr::Num(i64::from(r.flow.to_port)));
        }
        b = match &r.other {
            Other::Group(g) => b.attr("referenced_security_group_id", Expr::Ref(tf_group_ref(*g))),
            Other::V4(c) => b.attr("cidr_ipv4", Expr::Str(c.clone())),
            Other::V6(c) => b.attr("cidr_ipv6", Expr::Str(c.clone())),
        };
        b = b.attr(
            "tags",
            Expr::Object(vec![
                ("Project".into(), Expr::Str(model.project.clone())),
                ("ManagedBy".into(), Expr::Str("gen".into())),
            ]),
        );
        blocks.push(b);
    }
    for g in &owned {
        blocks.push(
            Block::new("output", &[&format!("{}_security_group_id", g.ident())])
                .attr(
                    "description",
                    Expr::Str(format!("Security group of the {}", g.human())),
                )
                .attr(
                    "value",
                    Expr::Ref(format!("aws_security_group.{}.id", g.ident())),
                ),
        );
    }
    let head = HEADER.trim_start_matches("# ").trim_end();
    hcl::file(
        &[
            head,
            &format!(
                "Security groups of {}: exactly the flows in gen's flow table; every rule says why.",
                model.project
            ),
        ],
        &blocks,
    )
}

fn sg_id(g: Group) -> String {
    format!("{}SecurityGroup", super::camel(g.ident()))
}

fn cfn_skips(list: Vec<(&'static str, String)>) -> Option<Value> {
    (!list.is_empty()).then(|| {
        json!({"checkov": {"skip": list
            .into_iter()
            .map(|(id, why)| json!({"id": id, "comment": why}))
            .collect::<Vec<_>>()}})
    })
}

fn cloudformation(model: &Model, groups: &[Group], rules: &[Rule]) -> Value {
    let mut resources = Map::new();
    let (external, owned): (Vec<Group>, Vec<Group>) = groups.iter().partition(|g| g.external());
    for g in &owned {
        let mut r = json!({
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupName": group_name(model, *g),
                "GroupDescription": group_description(model, *g),
                "VpcId": {"Ref": "VpcId"},
                // Replaces AWS's default allow-all egress; the real egress
                // rules are the standalone resources below.
                "SecurityGroupEgress": [{
                    "CidrIp": "127.0.0.1/32",
                    "IpProtocol": "-1",
                    "Description": "placeholder that removes the default allow-all egress"
                }],
                "Tags": [
                    {"Key": "Name", "Value": group_name(model, *g)},
                    {"Key": "Project", "Value": model.project},
                    {"Key": "Role", "Value": g.ident()},
                    {"Key": "ManagedBy", "Value": "gen"}
                ]
            }
        });
        if let Some(m) = cfn_skips(skips(None, Some(*g))) {
            r["Metadata"] = m;
        }
        resources.insert(sg_id(*g), r);
    }
    for rule in rules {
        let mut props = Map::new();
        props.insert("GroupId".into(), cfn_group_ref(rule.group));
        props.insert("Description".into(), json!(rule_description(rule)));
        props.insert("IpProtocol".into(), json!(rule.flow.proto.as_str()));
        if rule.flow.proto != crate::model::flows::Proto::All {
            props.insert("FromPort".into(), json!(rule.flow.from_port));
            props.insert("ToPort".into(), json!(rule.flow.to_port));
        }
        let (group_key, v4, v6) = if rule.ingress {
            ("SourceSecurityGroupId", "CidrIp", "CidrIpv6")
        } else {
            ("DestinationSecurityGroupId", "CidrIp", "CidrIpv6")
        };
        match &rule.other {
            Other::Group(g) => {
                props.insert(group_key.into(), cfn_group_ref(*g));
            }
            Other::V4(c) => {
                props.insert(v4.into(), json!(c));
            }
            Other::V6(c) => {
                props.insert(v6.into(), json!(c));
            }
        }
        let mut r = json!({
            "Type": if rule.ingress { "AWS::EC2::SecurityGroupIngress" } else { "AWS::EC2::SecurityGroupEgress" },
            "Properties": Value::Object(props),
        });
        if let Some(m) = cfn_skips(skips(Some(rule), None)) {
            r["Metadata"] = m;
        }
        resources.insert(super::camel(&rule.name), r);
    }
    let mut outputs = Map::new();
    for g in &owned {
        outputs.insert(
            sg_id(*g),
            json!({
                "Description": format!("Security group of the {}", g.human()),
                "Value": {"Fn::GetAtt": [sg_id(*g), "GroupId"]}
            }),
        );
    }
    let vpc = model
        .aws
        .as_ref()
        .map(|a| a.vpc_cidr.0.clone())
        .unwrap_or_default();
    let mut parameters = Map::new();
    if !owned.is_empty() {
        parameters.insert(
            "VpcId".into(),
            json!({
                "Type": "AWS::EC2::VPC::Id",
                "Description": format!("ID of the VPC ({vpc}) the security groups belong to")
            }),
        );
    }
    for g in &external {
        parameters.insert(
            format!("{}Id", sg_id(*g)),
            json!({
                "Type": "AWS::EC2::SecurityGroup::Id",
                "Description": format!("{}. {}", cluster_group_source(model), CLUSTER_GROUP_NOTE.join(" "))
            }),
        );
    }
    let mut doc = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Security groups of {}: exactly the flows in gen's flow table (generated by gen)", model.project),
        "Parameters": Value::Object(parameters),
        "Resources": Value::Object(resources),
    });
    if !outputs.is_empty() {
        doc["Outputs"] = Value::Object(outputs);
    }
    doc
}

/// Emit `aws/` when the catalog has `cluster.aws` and a cluster on it
/// (`cluster.k3s` or `cluster.eks`), unless no rule is needed (EKS with a
/// public endpoint and nothing else crossing the cluster group's edge).
pub fn emit(model: &Model, flows: &[Flow], tree: &mut Tree) -> Result<(), EmitError> {
    if model.aws.is_none() || (model.k3s.is_none() && model.eks.is_none()) {
        return Ok(());
    }
    let groups = flows::groups(model);
    let rules = rules(model, flows);
    if rules.is_empty() && groups.iter().all(|g| g.external()) {
        return Ok(());
    }
    tree.insert("aws/security-groups.tf", terraform(model, &groups, &rules));
    let cfn = cloudformation(model, &groups, &rules);
    let text = serde_saphyr::to_string(&cfn).map_err(|e| EmitError::Serialize {
        what: "security-groups.cfn.yaml".into(),
        why: e.to_string(),
    })?;
    tree.insert("aws/security-groups.cfn.yaml", format!("{HEADER}{text}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(cluster: &str, class: &str, lb: &str) -> Model {
        let src = format!(
            "version: 1\nproject: shop\ningress: {{host: shop.example, class: {class}}}\ncluster:\n{cluster}  aws: {{region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [198.51.100.0/24], zones: [eu-west-1a, eu-west-1b], load_balancer: {lb}}}\nservices:\n  api: {{image: r.example/api:1.0.0, port: 8080, routes: [/api]}}\n"
        );
        crate::compile("catalog.yaml", src.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .model
    }

    const EKS: &str = "  eks: {version: '1.34', node_groups: {general: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}}}\n";
    const K3S: &str = "  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n";

    #[test]
    fn the_nlb_of_ingress_nginx_on_eks_carries_gens_group() {
        let a = nlb_service_annotations(&model(EKS, "nginx", "nlb"));
        assert_eq!(
            a.get("service.beta.kubernetes.io/aws-load-balancer-security-groups")
                .map(String::as_str),
            Some("shop-load-balancer")
        );
        assert_eq!(
            a.get(
                "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"
            )
            .map(String::as_str),
            Some("false")
        );
        assert_eq!(a.len(), 2);
        // Not ingress-nginx behind an NLB on EKS: nothing.
        assert!(nlb_service_annotations(&model(EKS, "alb", "alb")).is_empty());
        assert!(nlb_service_annotations(&model(K3S, "nginx", "nlb")).is_empty());
        assert_eq!(
            load_balancer_group(&model(EKS, "alb", "alb")).as_deref(),
            Some("shop-load-balancer")
        );
        assert_eq!(load_balancer_group(&model(K3S, "nginx", "alb")), None);
    }

    /// EKS with a public endpoint and nothing crossing the cluster group's
    /// edge needs no rule: no `aws/` (an empty CloudFormation template is
    /// invalid). With a load balancer, the cluster group is an input only.
    #[test]
    fn eks_writes_aws_only_with_a_rule() {
        let write = |src: &str| {
            let m = crate::compile("catalog.yaml", src.as_bytes())
                .unwrap_or_else(|e| panic!("{e:?}"))
                .model;
            let mut tree = Tree::default();
            emit(&m, &flows::derive(&m), &mut tree).unwrap();
            tree.get("aws/security-groups.tf")
                .map(|t| String::from_utf8_lossy(t).into_owned())
        };
        let catalog = |api: &str| {
            format!("version: 1\nproject: shop\ncluster:\n  eks: {{version: '1.34', endpoint: public, node_groups: {{general: {{instance_types: [m6i.large], min: 2, desired: 2, max: 4}}}}}}\n  aws: {{region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [198.51.100.0/24], zones: [eu-west-1a, eu-west-1b]}}\nservices:\n  api: {{image: r.example/api:1.0.0, port: 8080{api}}}\n")
        };
        assert_eq!(write(&catalog("")), None);
        let tf = write(&catalog(", egress: [{cidr: 10.9.0.0/16, port: 443}]")).unwrap();
        assert!(tf.contains("variable \"cluster_security_group_id\""));
        assert!(!tf.contains("variable \"vpc_id\""), "{tf}");
        assert!(tf.contains("cidr_ipv4         = \"10.9.0.0/16\""), "{tf}");
    }
}
