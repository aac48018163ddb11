//! The flow table: every network flow the cluster and its services need.
//!
//! One list of `source -> destination, protocol, ports, why`, derived from the
//! K3s topology, the AWS facts and the services. The K3s bootstrap and the
//! security groups (Terraform and CloudFormation) are both derived from it,
//! so they cannot disagree about what must be open.
//!
//! Architecture invariant: no emitter opens a port that is not in this table,
//! and the table never lists K3s's loopback-only ports (2381, 2382, 6444,
//! 10010, 10248, 10249, 10256-10259).

use std::collections::BTreeMap;
use std::fmt;

use super::{IngressModel, Model};
use crate::catalog::types::{DbEngine, FlannelBackend};

/// node-exporter's port on every node (host network), which the monitoring
/// add-on's Prometheus scrapes.
pub const NODE_EXPORTER_PORT: u16 = 9100;

/// A security-group role: the machines (or load balancer) gen gives a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The SSH bastion host.
    Bastion,
    /// K3s servers (control plane, embedded etcd).
    Servers,
    /// K3s agents (workers).
    Agents,
    /// The public load balancer in front of the ingress controller.
    LoadBalancer,
    /// The database in private subnets.
    Database,
    /// EKS's cluster security group, which EKS creates and puts on the
    /// control plane's network interfaces, the managed nodes and (VPC CNI)
    /// their pods. gen adds rules to it but does not own it.
    Cluster,
}

impl Group {
    /// Identifier used in resource names, e.g. `load_balancer`.
    pub fn ident(self) -> &'static str {
        match self {
            Group::Bastion => "bastion",
            Group::Servers => "servers",
            Group::Agents => "agents",
            Group::LoadBalancer => "load_balancer",
            Group::Database => "database",
            Group::Cluster => "cluster",
        }
    }

    /// Whether the group exists outside gen's files (gen only adds rules to it).
    pub fn external(self) -> bool {
        self == Group::Cluster
    }

    /// Human name, e.g. `load balancer`.
    pub fn human(self) -> &'static str {
        match self {
            Group::Bastion => "bastion host",
            Group::Servers => "K3s servers",
            Group::Agents => "K3s agents",
            Group::LoadBalancer => "public load balancer",
            Group::Database => "database",
            Group::Cluster => "EKS cluster (control plane, nodes and pods)",
        }
    }
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// A group gen defines.
    Group(Group),
    /// The administrators' networks (`cluster.aws.admin_cidrs`, or any
    /// administrator when there is no aws block).
    Admins,
    /// The whole internet (0.0.0.0/0, and ::/0 with IPv6).
    Internet,
    /// A network outside the cluster a service connects to.
    Cidr(String),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Group(g) => f.write_str(g.human()),
            Peer::Admins => f.write_str("admin networks"),
            Peer::Internet => f.write_str("internet"),
            Peer::Cidr(c) => f.write_str(c),
        }
    }
}

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// Every protocol and port (routed pod traffic with flannel host-gw).
    All,
}

impl Proto {
    /// Lowercase name (`tcp`, `udp`), as AWS spells `ip_protocol`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::All => "-1",
        }
    }
}

/// One allowed flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flow {
    /// Who opens the connection.
    pub from: Peer,
    /// Who accepts it.
    pub to: Peer,
    /// Protocol.
    pub proto: Proto,
    /// First port.
    pub from_port: u16,
    /// Last port (equal to `from_port` for one port).
    pub to_port: u16,
    /// Why it is needed (becomes the rule description).
    pub why: String,
}

impl Flow {
    /// `6443/tcp` or `2379-2380/tcp`.
    pub fn ports(&self) -> String {
        if self.proto == Proto::All {
            return "all traffic".to_owned();
        }
        if self.from_port == self.to_port {
            format!("{}/{}", self.from_port, self.proto.as_str())
        } else {
            format!(
                "{}-{}/{}",
                self.from_port,
                self.to_port,
                self.proto.as_str()
            )
        }
    }
}

/// Ports K3s binds to loopback only; never opened.
pub const LOOPBACK_ONLY: [(u16, u16); 7] = [
    (2381, 2381),
    (2382, 2382),
    (6444, 6444),
    (10010, 10010),
    (10248, 10248),
    (10249, 10249),
    (10256, 10259),
];

/// Default port of a database engine.
pub fn db_port(engine: DbEngine) -> u16 {
    match engine {
        DbEngine::Mariadb | DbEngine::Mysql => 3306,
        DbEngine::Postgres => 5432,
    }
}

/// The groups present in the model's topology, sorted.
pub fn groups(model: &Model) -> Vec<Group> {
    let mut g = if let Some(k) = &model.k3s {
        let mut g = vec![Group::Servers];
        if k.agents > 0 {
            g.push(Group::Agents);
        }
        g
    } else if model.eks.is_some() && model.aws.is_some() {
        vec![Group::Cluster]
    } else {
        return Vec::new();
    };
    if let Some(a) = &model.aws {
        if a.bastion {
            g.push(Group::Bastion);
        }
        // On EKS the controller's ALB of `class: alb` is the load balancer
        // even when `load_balancer` does not say so: it gets gen's group.
        let eks_alb = model.eks.is_some()
            && model
                .ingress
                .as_ref()
                .is_some_and(|i| i.class == crate::catalog::types::IngressClass::Alb);
        if a.load_balancer.is_some() || eks_alb {
            g.push(Group::LoadBalancer);
        }
        if a.database.is_some() {
            g.push(Group::Database);
        }
    }
    g.sort();
    g
}

/// Flows keyed by their ends, protocol and ports, with every reason.
#[derive(Default)]
struct Table(BTreeMap<(Peer, Peer, Proto, u16, u16), Vec<String>>);

impl Table {
    /// Add a flow. The whole internet is one peer however it is written,
    /// so a service's `egress: 0.0.0.0/0` merges with the nodes' own rule
    /// instead of duplicating it (AWS refuses duplicate rules).
    fn add(&mut self, from: Peer, to: Peer, proto: Proto, ports: (u16, u16), why: &str) {
        let norm = |p: Peer| match p {
            Peer::Cidr(c) if c == "0.0.0.0/0" || c == "::/0" => Peer::Internet,
            p => p,
        };
        let (from, to) = (norm(from), norm(to));
        self.0
            .entry((from, to, proto, ports.0, ports.1))
            .or_default()
            .push(why.to_owned());
    }

    /// The internet to the public load balancer: HTTPS when TLS ends there
    /// or in the cluster, and HTTP (served, or redirected to HTTPS).
    fn internet_to_load_balancer(&mut self, ing: &IngressModel) {
        let lb = Peer::Group(Group::LoadBalancer);
        if ing.tls_secret.is_some() || ing.https_redirect {
            self.add(
                Peer::Internet,
                lb.clone(),
                Proto::Tcp,
                (443, 443),
                "HTTPS from the internet to the public load balancer",
            );
        }
        self.add(
            Peer::Internet,
            lb,
            Proto::Tcp,
            (80, 80),
            if ing.https_redirect {
                "HTTP from the internet, redirected to HTTPS"
            } else {
                "HTTP from the internet (the catalog serves plain HTTP)"
            },
        );
    }

    /// The workloads, leaving from `from` (the workers, or EKS's cluster
    /// group), to the database and to the networks the services declare.
    fn workload_egress(&mut self, model: &Model, from: &Peer) {
        if let Some(db) = model.aws.as_ref().and_then(|a| a.database.as_ref()) {
            let port = db
                .port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or_else(|| db_port(db.engine));
            self.add(
                from.clone(),
                Peer::Group(Group::Database),
                Proto::Tcp,
                (port, port),
                "workloads to the database",
            );
        }
        for svc in &model.services {
            for (cidr, port) in &svc.egress {
                let why = format!("service {} to {cidr}", svc.name);
                self.add(
                    from.clone(),
                    Peer::Cidr(cidr.clone()),
                    Proto::Tcp,
                    (*port, *port),
                    &why,
                );
            }
        }
    }

    fn into_flows(self) -> Vec<Flow> {
        self.0
            .into_iter()
            .map(|((from, to, proto, from_port, to_port), whys)| Flow {
                from,
                to,
                proto,
                from_port,
                to_port,
                why: whys.join("; "),
            })
            .collect()
    }
}

/// Derive the flow table. Empty without `cluster.k3s` or `cluster.eks`.
pub fn derive(model: &Model) -> Vec<Flow> {
    if model.eks.is_some() {
        return derive_eks(model);
    }
    let Some(k) = &model.k3s else {
        return Vec::new();
    };
    let groups = groups(model);
    let has = |g: Group| groups.contains(&g);
    let mut t = Table::default();
    let servers = Peer::Group(Group::Servers);
    let nodes: Vec<Peer> = [Group::Servers, Group::Agents]
        .into_iter()
        .filter(|g| has(*g))
        .map(Peer::Group)
        .collect();
    // Workloads run on agents; on servers only when there are no agents
    // (servers are tainted CriticalAddonsOnly when agents exist).
    let workers = if has(Group::Agents) {
        Peer::Group(Group::Agents)
    } else {
        servers.clone()
    };
    let node_pairs = || {
        nodes
            .iter()
            .flat_map(|a| nodes.iter().map(move |b| (a.clone(), b.clone())))
            .collect::<Vec<_>>()
    };

    // Administration: SSH, and kubectl to the API server.
    let admin_entry = if has(Group::Bastion) {
        t.add(
            Peer::Admins,
            Peer::Group(Group::Bastion),
            Proto::Tcp,
            (22, 22),
            "SSH from the admin networks to the bastion",
        );
        Peer::Group(Group::Bastion)
    } else {
        Peer::Admins
    };
    for n in &nodes {
        t.add(
            admin_entry.clone(),
            n.clone(),
            Proto::Tcp,
            (22, 22),
            "SSH for administration",
        );
    }
    t.add(
        admin_entry,
        servers.clone(),
        Proto::Tcp,
        (6443, 6443),
        "kubectl to the Kubernetes API",
    );

    // K3s itself.
    if has(Group::Agents) {
        t.add(
            Peer::Group(Group::Agents),
            servers.clone(),
            Proto::Tcp,
            (6443, 6443),
            "agents join and reach the K3s supervisor and API server",
        );
    }
    if k.servers > 1 {
        t.add(
            servers.clone(),
            servers.clone(),
            Proto::Tcp,
            (6443, 6443),
            "servers join the cluster through the first server",
        );
    }
    if k.servers >= 3 {
        t.add(
            servers.clone(),
            servers.clone(),
            Proto::Tcp,
            (2379, 2380),
            "embedded etcd client and peer traffic (HA)",
        );
    }
    for (a, b) in node_pairs() {
        match k.flannel_backend {
            FlannelBackend::Vxlan => t.add(
                a.clone(),
                b.clone(),
                Proto::Udp,
                (8472, 8472),
                "flannel VXLAN pod network",
            ),
            FlannelBackend::WireguardNative => {
                t.add(
                    a.clone(),
                    b.clone(),
                    Proto::Udp,
                    (51820, 51820),
                    "flannel WireGuard pod network (IPv4)",
                );
                if k.ipv6 {
                    t.add(
                        a.clone(),
                        b.clone(),
                        Proto::Udp,
                        (51821, 51821),
                        "flannel WireGuard pod network (IPv6)",
                    );
                }
            }
            // host-gw routes pod packets between nodes unencapsulated: any
            // protocol and port, from the other nodes' pod addresses (the EC2
            // source/destination check must be off too).
            FlannelBackend::HostGw => t.add(
                a.clone(),
                b.clone(),
                Proto::All,
                (0, 0),
                "flannel host-gw: pod traffic routed between nodes",
            ),
            // `none`: the replacement network plugin opens its own ports.
            FlannelBackend::None => {}
        }
        t.add(
            a.clone(),
            b.clone(),
            Proto::Tcp,
            (10250, 10250),
            "kubelet: metrics-server, logs and exec",
        );
        if k.embedded_registry {
            t.add(
                a.clone(),
                b.clone(),
                Proto::Tcp,
                (5001, 5001),
                "embedded registry mirror (Spegel) peer traffic",
            );
            t.add(
                a,
                b,
                Proto::Tcp,
                (6443, 6443),
                "embedded registry mirror (Spegel) peer discovery",
            );
        }
    }

    // Outbound from the nodes (images, the K3s installer, OS packages). The
    // bastion gets none: it is a jump host that reaches only SSH and the API
    // server above, and is patched by replacing its image, so a compromised
    // bastion cannot download tools or send data out.
    for n in &nodes {
        t.add(
            n.clone(),
            Peer::Internet,
            Proto::Tcp,
            (443, 443),
            "HTTPS to registries, the K3s installer and AWS APIs",
        );
        t.add(
            n.clone(),
            Peer::Internet,
            Proto::Tcp,
            (80, 80),
            "HTTP to OS package mirrors",
        );
    }

    // The public entry point.
    if let (true, Some(ing)) = (has(Group::LoadBalancer), &model.ingress) {
        let lb = Peer::Group(Group::LoadBalancer);
        let tls_in_cluster = ing.tls_secret.is_some();
        t.internet_to_load_balancer(ing);
        t.add(
            lb.clone(),
            workers.clone(),
            Proto::Tcp,
            (80, 80),
            "load balancer to the ingress controller's HTTP host port",
        );
        if tls_in_cluster {
            t.add(
                lb,
                workers.clone(),
                Proto::Tcp,
                (443, 443),
                "load balancer to the ingress controller's HTTPS host port",
            );
        }
    }

    // The monitoring add-on: its Prometheus (a pod on a worker, leaving
    // through the node's address) scrapes node-exporter, which listens on
    // every node's own network.
    if model.addons.monitoring.is_some() {
        for n in &nodes {
            t.add(
                workers.clone(),
                n.clone(),
                Proto::Tcp,
                (NODE_EXPORTER_PORT, NODE_EXPORTER_PORT),
                "Prometheus scrapes node-exporter (monitoring add-on)",
            );
        }
    }

    // The database (from the workers only) and what the services declare
    // they reach outside the cluster (pods leave through their node's
    // address).
    t.workload_egress(model, &workers);

    t.into_flows()
}

/// The flows of an EKS cluster. EKS owns the control plane and opens what
/// it needs between the control plane, the nodes and the pods itself: its
/// cluster security group admits all traffic from its own members and
/// allows all outbound. What gen adds is what crosses that group's edge:
/// admins to the private API endpoint, the load balancer to the pods
/// (target type ip: the VPC CNI gives pods VPC addresses), the pods to the
/// database, and the networks the services declare. No K3s port appears.
fn derive_eks(model: &Model) -> Vec<Flow> {
    let Some(eks) = model.eks.as_ref().filter(|_| model.aws.is_some()) else {
        return Vec::new();
    };
    let groups = groups(model);
    let has = |g: Group| groups.contains(&g);
    let cluster = Peer::Group(Group::Cluster);
    let mut t = Table::default();

    // Administration. The private endpoint is reached from inside the VPC
    // (or networks routed into it) through the cluster security group; the
    // public one is limited by the endpoint's own CIDR list instead.
    let admin_entry = if has(Group::Bastion) {
        t.add(
            Peer::Admins,
            Peer::Group(Group::Bastion),
            Proto::Tcp,
            (22, 22),
            "SSH from the admin networks to the bastion",
        );
        Some(Peer::Group(Group::Bastion))
    } else if eks.endpoint == crate::catalog::types::EndpointAccess::Private {
        Some(Peer::Admins)
    } else {
        None
    };
    if let Some(entry) = admin_entry {
        t.add(
            entry,
            cluster.clone(),
            Proto::Tcp,
            (443, 443),
            "kubectl to the private EKS API endpoint",
        );
    }

    // The public entry point.
    if let (true, Some(ing)) = (has(Group::LoadBalancer), &model.ingress) {
        let lb = Peer::Group(Group::LoadBalancer);
        let tls_in_cluster = ing.tls_secret.is_some();
        let alb = ing.class == crate::catalog::types::IngressClass::Alb;
        t.internet_to_load_balancer(ing);
        if alb {
            for svc in model.services.iter().filter(|s| !s.routes.is_empty()) {
                if let Some(port) = svc.port {
                    let why = format!("ALB to the pods of service {} (target type ip)", svc.name);
                    t.add(lb.clone(), cluster.clone(), Proto::Tcp, (port, port), &why);
                }
            }
        } else {
            t.add(
                lb.clone(),
                cluster.clone(),
                Proto::Tcp,
                (80, 80),
                "load balancer to the ingress-nginx pods' HTTP port (target type ip)",
            );
            if tls_in_cluster {
                t.add(
                    lb,
                    cluster.clone(),
                    Proto::Tcp,
                    (443, 443),
                    "load balancer to the ingress-nginx pods' HTTPS port (target type ip)",
                );
            }
        }
    }

    // The database and the networks the services declare, from the pods
    // (and nodes).
    t.workload_egress(model, &cluster);
    t.into_flows()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(src: &str) -> Model {
        crate::compile("catalog.yaml", src.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .model
    }

    const BASE: &str = "version: 1\nproject: p\nservices:\n  a: {image: 'r/a:1', port: 80}\n";

    #[test]
    fn no_k3s_no_flows() {
        assert!(derive(&model(BASE)).is_empty());
    }

    #[test]
    fn never_a_loopback_only_port() {
        let src = format!(
            "{BASE}cluster:\n  k3s: {{version: v1.33.5+k3s1, servers: 3, agents: 3, embedded_registry: true, flannel_backend: wireguard-native, ipv6: true}}\n"
        );
        let flows = derive(&model(&src));
        assert!(flows.len() > 10);
        for f in &flows {
            for (lo, hi) in LOOPBACK_ONLY {
                assert!(
                    f.to_port < lo || f.from_port > hi,
                    "{f:?} opens a loopback-only port"
                );
            }
        }
    }

    const EKS: &str = "cluster:\n  eks: {version: '1.34', node_groups: {g: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}}}\n  aws: {region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [203.0.113.7/32], zones: [eu-west-1a, eu-west-1b]}\n";

    #[test]
    fn eks_alb_gets_the_load_balancer_group_and_opens_each_routed_port_to_the_cluster() {
        let src = format!("version: 1\nproject: p\n{EKS}ingress: {{host: p.example, class: alb}}\nservices:\n  a: {{image: 'r/a:1', port: 8080, routes: [/]}}\n  b: {{image: 'r/b:1', port: 9000}}\n");
        let m = model(&src);
        assert_eq!(groups(&m), [Group::LoadBalancer, Group::Cluster]);
        let f = derive(&m);
        let lb_to_cluster: Vec<u16> = f
            .iter()
            .filter(|x| {
                x.from == Peer::Group(Group::LoadBalancer) && x.to == Peer::Group(Group::Cluster)
            })
            .map(|x| x.from_port)
            .collect();
        assert_eq!(lb_to_cluster, [8080], "{f:#?}");
        // Private endpoint, no bastion: the admins reach 443 on the cluster group.
        assert!(f.iter().any(|x| x.from == Peer::Admins
            && x.to == Peer::Group(Group::Cluster)
            && x.from_port == 443));
    }

    #[test]
    fn eks_opens_no_k3s_port_and_a_public_endpoint_needs_no_admin_rule() {
        let src = format!("version: 1\nproject: p\n{}ingress: {{host: p.example, class: nginx, tls_secret: t}}\nservices:\n  a: {{image: 'r/a:1', port: 8080, routes: [/], egress: [{{cidr: 10.9.0.0/16, port: 5432}}]}}\n", EKS.replace("version: '1.34',", "version: '1.34', endpoint: public,").replace("eu-west-1b]}", "eu-west-1b], load_balancer: nlb}"));
        let f = derive(&model(&src));
        assert!(!f.is_empty());
        for x in &f {
            for p in [6443, 8472, 10250, 2379, 2380, 51820, 51821, 5001, 22] {
                assert!(!(x.from_port..=x.to_port).contains(&p), "{x:?}");
            }
            assert_ne!(x.from, Peer::Admins, "{x:?}");
        }
        let to_pods: Vec<u16> = f
            .iter()
            .filter(|x| x.to == Peer::Group(Group::Cluster))
            .map(|x| x.from_port)
            .collect();
        assert_eq!(to_pods, [80, 443]);
    }

    #[test]
    fn etcd_only_with_three_servers() {
        let one =
            format!("{BASE}cluster:\n  k3s: {{version: v1.33.5+k3s1, servers: 1, agents: 2}}\n");
        let three =
            format!("{BASE}cluster:\n  k3s: {{version: v1.33.5+k3s1, servers: 3, agents: 2}}\n");
        let etcd = |f: &Flow| f.from_port == 2379;
        assert!(!derive(&model(&one)).iter().any(etcd));
        assert!(derive(&model(&three)).iter().any(etcd));
    }
}
