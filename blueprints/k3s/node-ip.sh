# --- node addresses, for the install scripts (blueprints/k3s/node-ip.sh) ---

# src_of FAMILY DEST: the source address of this node's route to DEST
# (a documentation address: the lookup follows the default route and sends
# nothing).
src_of() {
  { ip "-$1" route get "$2" 2>/dev/null || true; } |
    awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }'
}

# node_ips: "IPv4,IPv6" of this node, for a dual-stack cluster: K3s refuses
# a dual-stack cluster-cidr unless node-ip names an address of each family.
# The source addresses of the default routes; GEN_NODE_IPV4 and
# GEN_NODE_IPV6 override them.
node_ips() {
  local v4="${GEN_NODE_IPV4:-}" v6="${GEN_NODE_IPV6:-}"
  if [[ -z "$v4" || -z "$v6" ]]; then
    command -v ip >/dev/null || die "dual-stack: the ip command (iproute2) is needed to find this node's addresses (or set GEN_NODE_IPV4 and GEN_NODE_IPV6)"
  fi
  [[ -n "$v4" ]] || v4="$(src_of 4 192.0.2.1)"
  [[ -n "$v6" ]] || v6="$(src_of 6 2001:db8::1)"
  [[ "$v4" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
    die "dual-stack: this node has no IPv4 address with a default route (found '$v4'; set GEN_NODE_IPV4)"
  [[ "$v6" =~ ^[0-9A-Fa-f:]+$ && "$v6" == *:*:* ]] ||
    die "dual-stack: this node has no IPv6 address with a default route (found '$v6'): give the instance an IPv6 address (a subnet with an IPv6 CIDR block, auto-assign IPv6 on) or set GEN_NODE_IPV6"
  printf '%s,%s' "$v4" "$v6"
}
