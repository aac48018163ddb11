"""Recompute the security-group rules a cluster topology needs, independently
of gen, and compare them with the rules in gen's Terraform (parsed by
python-hcl2) and, when given, its CloudFormation.
Usage: sg_flows.py TOPOLOGY.json security-groups.tf [security-groups.cfn.yaml]

K3s TOPOLOGY: {"servers", "agents", "flannel", "ipv6", "registry", "bastion",
"admin_cidrs", "load_balancer", "tls", "db_port", "egress": [[cidr, port]]}.
Facts from the K3s networking requirements: 6443/tcp agents->servers (and
servers->servers when joining), 2379-2380/tcp between servers only with
embedded etcd (3+ servers), 8472/udp between all nodes for vxlan, 51820/udp
(+51821 with IPv6) for wireguard-native, 10250/tcp between all nodes,
5001/tcp and 6443/tcp between all nodes with the embedded registry; with the
monitoring add-on ("monitoring"), 9100/tcp (node-exporter on the host
network) from the workers, where Prometheus runs, to every node.

EKS TOPOLOGY: {"cluster": "eks", "endpoint": "private"|"public", "bastion",
"admin_cidrs", "ingress": "alb"|"nginx", "load_balancer", "tls", "redirect",
"routed_ports": [port], "db_port", "egress": [[cidr, port]]}.
Facts from EKS: the control plane, the managed nodes and (VPC CNI) the pods
share the cluster security group EKS creates, which admits its own members
and allows all outbound, so only traffic crossing its edge needs rules: the
private API endpoint is 443/tcp on the control plane's interfaces (from the
admins, or from the bastion when there is one; a public endpoint is limited
by its own CIDR list instead); the load balancer targets pod IPs (target
type ip): an ALB each routed service's container port, an NLB in front of
ingress-nginx its 80 (and 443 when the cluster ends TLS); the pods reach the
database and the declared networks. That group is EKS's: the Terraform takes
its ID as a variable and creates no group for it, and no K3s port appears.
Prints the differences; exits 1 if any.
"""

import json
import sys

import hcl2
import yaml

t = json.load(open(sys.argv[1]))
eks = t.get("cluster") == "eks"
world = ["0.0.0.0/0"] + (["::/0"] if t.get("ipv6") else [])
admins = ["cidr:" + c for c in t["admin_cidrs"]]

flows = set()  # (src, dst, proto, lo, hi); src/dst: group name or "cidr:<net>"


def add(src, dst, proto, lo, hi=None):
    srcs = src if isinstance(src, list) else [src]
    dsts = dst if isinstance(dst, list) else [dst]
    for s in srcs:
        for d in dsts:
            flows.add((s, d, proto, lo, hi or lo))


def internet(cidr):
    """The whole internet is one peer (0.0.0.0/0, and ::/0 with IPv6)."""
    return ["cidr:" + w for w in world] if cidr in ("0.0.0.0/0", "::/0") else "cidr:" + cidr


def k3s_flows():
    nodes = ["servers"] + (["agents"] if t["agents"] else [])
    workers = "agents" if t["agents"] else "servers"
    groups = set(nodes) | {g for g, on in [("bastion", t["bastion"]),
                                            ("load_balancer", t["load_balancer"]),
                                            ("database", t["db_port"])] if on}
    if t["bastion"]:
        add(admins, "bastion", "tcp", 22)
        entry = "bastion"
    else:
        entry = admins
    add(entry, nodes, "tcp", 22)
    add(entry, "servers", "tcp", 6443)
    if t["agents"]:
        add("agents", "servers", "tcp", 6443)
    if t["servers"] > 1:
        add("servers", "servers", "tcp", 6443)
    if t["servers"] >= 3:
        add("servers", "servers", "tcp", 2379, 2380)
    for a in nodes:
        for b in nodes:
            if t["flannel"] == "vxlan":
                add(a, b, "udp", 8472)
            elif t["flannel"] == "wireguard-native":
                add(a, b, "udp", 51820)
                if t["ipv6"]:
                    add(a, b, "udp", 51821)
            elif t["flannel"] == "host-gw":
                # routed pod traffic: every protocol and port ("-1", no ports)
                add(a, b, "-1", -1, -1)
            add(a, b, "tcp", 10250)
            if t["registry"]:
                add(a, b, "tcp", 5001)
                add(a, b, "tcp", 6443)
    # the bastion is a jump host: no internet egress
    for n in nodes:
        add(n, ["cidr:" + w for w in world], "tcp", 443)
        add(n, ["cidr:" + w for w in world], "tcp", 80)
    if t["load_balancer"]:
        add(["cidr:" + w for w in world], "load_balancer", "tcp", 443)
        add(["cidr:" + w for w in world], "load_balancer", "tcp", 80)
        add("load_balancer", workers, "tcp", 80)
        if t["tls"]:
            add("load_balancer", workers, "tcp", 443)
    if t["db_port"]:
        add(workers, "database", "tcp", t["db_port"])
    if t.get("monitoring"):
        add(workers, nodes, "tcp", 9100)
    for cidr, port in t["egress"]:
        add(workers, internet(cidr), "tcp", port)
    return groups


def eks_flows():
    groups = {"cluster"}  # EKS's own group: rules only
    if t["bastion"]:
        groups.add("bastion")
        add(admins, "bastion", "tcp", 22)
        add("bastion", "cluster", "tcp", 443)
    elif t["endpoint"] == "private":
        add(admins, "cluster", "tcp", 443)
    if t["load_balancer"]:
        groups.add("load_balancer")
        add(["cidr:" + w for w in world], "load_balancer", "tcp", 80)
        if t["tls"] or t["redirect"]:
            add(["cidr:" + w for w in world], "load_balancer", "tcp", 443)
        if t["ingress"] == "alb":
            for port in t["routed_ports"]:
                add("load_balancer", "cluster", "tcp", port)
        else:
            add("load_balancer", "cluster", "tcp", 80)
            if t["tls"]:
                add("load_balancer", "cluster", "tcp", 443)
    if t["db_port"]:
        groups.add("database")
        add("cluster", "database", "tcp", t["db_port"])
    for cidr, port in t["egress"]:
        add("cluster", internet(cidr), "tcp", port)
    return groups


groups = eks_flows() if eks else k3s_flows()
expected = set()
for s, d, proto, lo, hi in flows:
    if d in groups:
        expected.add(("ingress", d, s, proto, lo, hi))
    if s in groups:
        expected.add(("egress", s, d, proto, lo, hi))
# groups gen creates, and inputs naming the groups it only adds rules to
want_created = groups - {"cluster"}
want_inputs = {"cluster"} if eks else set()
# K3s's ports (API/supervisor, flannel, kubelet, etcd, WireGuard, Spegel)
K3S_PORTS = [(6443, 6443), (8472, 8472), (10250, 10250), (2379, 2380),
             (51820, 51821), (5001, 5001)]
problems = []


def check(what, actual, duplicates, undescribed, created, inputs):
    for m in sorted(expected - actual):
        problems.append(f"{what}: missing: {m}")
    for x in sorted(actual - expected):
        problems.append(f"{what}: extra: {x}")
    for u in undescribed:
        problems.append(f"{what}: no description: {u}")
    for d in duplicates:
        problems.append(f"{what}: duplicate rule (AWS refuses it): {d}")
    if created != want_created:
        problems.append(f"{what}: creates groups {sorted(created)}, want {sorted(want_created)}")
    if inputs != want_inputs:
        problems.append(f"{what}: takes groups {sorted(inputs)} as inputs, want {sorted(want_inputs)}")
    if eks:
        for rule in actual:
            lo, hi = rule[4], rule[5]
            if rule[3] == "-1" or any(lo <= b and a <= hi for a, b in K3S_PORTS):
                problems.append(f"{what}: a K3s port on EKS: {rule}")


def add_rule(actual, duplicates, rule):
    if rule in actual:
        duplicates.append(rule)
    actual.add(rule)


def unq(v):
    """python-hcl2 8 keeps the quotes of string literals and labels."""
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    return v


def tf_group(ref):
    # "${aws_security_group.servers.id}" -> "servers";
    # "${var.cluster_security_group_id}" -> "cluster"
    parts = ref.strip("${}").split(".")
    if parts[0] == "var":
        return parts[1].removesuffix("_security_group_id")
    return parts[1]


doc = hcl2.load(open(sys.argv[2]))
actual, duplicates, undescribed, created = set(), [], [], set()
for res in doc["resource"]:
    for kind, items in res.items():
        kind = unq(kind)
        if kind == "aws_security_group":
            created |= {unq(n) for n in items}
        if kind not in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            continue
        for name, r in items.items():
            r = {k: unq(v) for k, v in r.items()}
            if not str(r.get("description", "")).strip():
                undescribed.append(name)
            if "referenced_security_group_id" in r:
                peer = tf_group(r["referenced_security_group_id"])
            else:
                peer = "cidr:" + r.get("cidr_ipv4", r.get("cidr_ipv6", "?"))
            add_rule(actual, duplicates,
                     ("ingress" if kind.endswith("ingress_rule") else "egress",
                      tf_group(r["security_group_id"]), peer, r["ip_protocol"],
                      int(r.get("from_port", -1)), int(r.get("to_port", -1))))
inputs = {unq(n).removesuffix("_security_group_id")
          for v in doc.get("variable", []) for n in v
          if unq(n).endswith("_security_group_id")}
check("terraform", actual, duplicates, undescribed, created, inputs)
summary = {"expected": len(expected), "actual": len(actual)}

if len(sys.argv) > 3:
    def snake(logical, suffix):
        name = logical.removesuffix(suffix)
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    cfn = yaml.safe_load(open(sys.argv[3]))
    params = cfn.get("Parameters", {})
    inputs = {snake(p, "SecurityGroupId") for p, v in params.items()
              if v["Type"] == "AWS::EC2::SecurityGroup::Id"}

    def cfn_group(ref):
        if "Ref" in ref:
            assert params[ref["Ref"]]["Type"] == "AWS::EC2::SecurityGroup::Id", ref
            return snake(ref["Ref"], "SecurityGroupId")
        return snake(ref["Fn::GetAtt"][0], "SecurityGroup")

    actual, duplicates, undescribed, created = set(), [], [], set()
    for name, r in cfn["Resources"].items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::EC2::SecurityGroup":
            created.add(snake(name, "SecurityGroup"))
        if r["Type"] not in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            continue
        if not str(p.get("Description", "")).strip():
            undescribed.append(name)
        other = p.get("SourceSecurityGroupId", p.get("DestinationSecurityGroupId"))
        peer = cfn_group(other) if other else "cidr:" + p.get("CidrIp", p.get("CidrIpv6", "?"))
        add_rule(actual, duplicates,
                 ("ingress" if r["Type"].endswith("Ingress") else "egress",
                  cfn_group(p["GroupId"]), peer, p["IpProtocol"],
                  int(p.get("FromPort", -1)), int(p.get("ToPort", -1))))
    check("cloudformation", actual, duplicates, undescribed, created, inputs)
    summary["cfn_actual"] = len(actual)

for p in problems:
    print(p)
summary["problems"] = len(problems)
print(json.dumps(summary))
sys.exit(1 if problems else 0)
