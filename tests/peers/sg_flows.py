"""Recompute the security-group rules a K3s topology needs, independently of
gen, and compare them with the rules in gen's Terraform (parsed by
python-hcl2). Usage: sg_flows.py TOPOLOGY.json security-groups.tf

TOPOLOGY: {"servers", "agents", "flannel", "ipv6", "registry", "bastion",
"admin_cidrs", "load_balancer", "tls", "db_port", "egress": [[cidr, port]]}.
Facts from the K3s networking requirements: 6443/tcp agents->servers (and
servers->servers when joining), 2379-2380/tcp between servers only with
embedded etcd (3+ servers), 8472/udp between all nodes for vxlan, 51820/udp
(+51821 with IPv6) for wireguard-native, 10250/tcp between all nodes,
5001/tcp and 6443/tcp between all nodes with the embedded registry; with the
monitoring add-on ("monitoring"), 9100/tcp (node-exporter on the host
network) from the workers, where Prometheus runs, to every node.
Prints the differences; exits 1 if any.
"""

import json
import sys

import hcl2

t = json.load(open(sys.argv[1]))
nodes = ["servers"] + (["agents"] if t["agents"] else [])
workers = "agents" if t["agents"] else "servers"
world = ["0.0.0.0/0"] + (["::/0"] if t["ipv6"] else [])

flows = set()  # (src, dst, proto, lo, hi); src/dst: group name or "cidr:<net>"


def add(src, dst, proto, lo, hi=None):
    srcs = src if isinstance(src, list) else [src]
    dsts = dst if isinstance(dst, list) else [dst]
    for s in srcs:
        for d in dsts:
            flows.add((s, d, proto, lo, hi or lo))


admins = ["cidr:" + c for c in t["admin_cidrs"]]
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
    # the whole internet is one peer (0.0.0.0/0, and ::/0 with IPv6)
    dst = ["cidr:" + w for w in world] if cidr in ("0.0.0.0/0", "::/0") else "cidr:" + cidr
    add(workers, dst, "tcp", port)

GROUPS = {"servers", "agents", "bastion", "load_balancer", "database"}
expected = set()
for s, d, proto, lo, hi in flows:
    if d in GROUPS:
        expected.add(("ingress", d, s, proto, lo, hi))
    if s in GROUPS:
        expected.add(("egress", s, d, proto, lo, hi))


def unq(v):
    """python-hcl2 8 keeps the quotes of string literals and labels."""
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    return v


def group_of(ref):
    # "${aws_security_group.servers.id}" -> "servers"
    return ref.strip("${}").split(".")[1]


doc = hcl2.load(open(sys.argv[2]))
actual = set()
duplicates = []
undescribed = []
for res in doc["resource"]:
    for kind, items in res.items():
        kind = unq(kind)
        if kind not in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            continue
        for name, r in items.items():
            r = {k: unq(v) for k, v in r.items()}
            if not str(r.get("description", "")).strip():
                undescribed.append(name)
            if "referenced_security_group_id" in r:
                peer = group_of(r["referenced_security_group_id"])
            else:
                peer = "cidr:" + r.get("cidr_ipv4", r.get("cidr_ipv6", "?"))
            rule = ("ingress" if kind.endswith("ingress_rule") else "egress",
                    group_of(r["security_group_id"]), peer, r["ip_protocol"],
                    int(r.get("from_port", -1)), int(r.get("to_port", -1)))
            if rule in actual:
                duplicates.append(rule)  # AWS refuses duplicate rules
            actual.add(rule)

missing = sorted(expected - actual)
extra = sorted(actual - expected)
for m in missing:
    print("missing:", m)
for x in extra:
    print("extra:  ", x)
for u in undescribed:
    print("no description:", u)
for d in duplicates:
    print("duplicate rule:", d)
print(json.dumps({"expected": len(expected), "actual": len(actual),
                  "missing": len(missing), "extra": len(extra),
                  "undescribed": len(undescribed), "duplicates": len(duplicates)}))
sys.exit(1 if missing or extra or undescribed or duplicates else 0)
