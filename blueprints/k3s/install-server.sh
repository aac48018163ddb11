# --- main (blueprints/k3s/install-server.sh) ---

MANIFEST_DIR="$ROOT/var/lib/rancher/k3s/server/manifests"
SYSCTL_FILE="$ROOT/etc/sysctl.d/90-k3s-cis.conf"

usage() {
  cat <<USAGE
Install or update a K3s server of $PROJECT (K3s $K3S_VERSION). Idempotent:
a second run changes nothing; K3s restarts only when its configuration changed.

  sudo $0 --first [--token-file PATH | --token-ssm NAME] [--tls-san NAME]...
  sudo $0 --server ADDRESS | --server-ssm NAME  (--token-file PATH | --token-ssm NAME) [--tls-san NAME]...

--first           the first server (creates the cluster; makes a token if none is given)
--server ADDRESS  join the cluster of the first server at ADDRESS
--server-ssm NAME read the first server's address from SSM parameter NAME
--token-file PATH the cluster token, read from a file (never pass it as an argument)
--token-ssm NAME  the cluster token, from SSM SecureString parameter NAME (e.g. $DEFAULT_TOKEN_SSM)
--tls-san NAME    an extra name or address for the API server certificate

USAGE
  install_notes
}

MODE="" SERVER="" SERVER_SSM="" TOKEN_FILE="" TOKEN_SSM="" SANS=()
while (($#)); do
  case "$1" in
    --first) MODE=first ;;
    --server) MODE=join SERVER="${2:?--server needs an address}"; shift ;;
    --server-ssm) MODE=join SERVER_SSM="${2:?--server-ssm needs a parameter name}"; shift ;;
    --token-file) TOKEN_FILE="${2:?--token-file needs a path}"; shift ;;
    --token-ssm) TOKEN_SSM="${2:?--token-ssm needs a parameter name}"; shift ;;
    --tls-san) SANS+=("${2:?--tls-san needs a name}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ -n "$MODE" ]] || { usage >&2; die "say --first or --server ADDRESS"; }
[[ -n "$ROOT" || "$(id -u)" == 0 ]] || die "run as root (sudo)"
for san in "${SANS[@]}"; do
  valid_host "$san" || die "not a host name or address: $san"
done

URL=""
if [[ "$MODE" == join ]]; then
  URL="$(server_url "$SERVER")"
fi
install_token "$MODE"

# The configuration every server shares, plus what only this one needs.
NODE_IPS=""
if [[ "$DUAL_STACK" == true ]]; then
  NODE_IPS="$(node_ips)"
fi
new_tmp CONFIG
{
  embedded config.yaml
  if [[ -n "$NODE_IPS" ]]; then
    printf 'node-ip: "%s"\n' "$NODE_IPS"
  fi
  if [[ "$MODE" == first && "$HA" == true ]]; then
    printf 'cluster-init: true\n'
  fi
  if [[ -n "$URL" ]]; then
    printf 'server: "%s"\n' "$URL"
  fi
  if ((${#SANS[@]})); then
    printf 'tls-san:\n'
    printf '  - "%s"\n' "${SANS[@]}"
  fi
} >"$CONFIG"
place 0600 "$CONF_DIR/config.yaml" <"$CONFIG"

for f in "${EMBEDDED_MANIFESTS[@]}"; do
  place 0600 "$MANIFEST_DIR/$f" < <(embedded "$f")
done
if [[ "$EMBEDDED_REGISTRIES" == true ]]; then
  place 0600 "$CONF_DIR/registries.yaml" < <(embedded registries.yaml)
fi
if [[ "$CIS" == true ]]; then
  before=$CHANGED
  place 0644 "$SYSCTL_FILE" < <(embedded sysctl-cis.conf)
  if ((CHANGED != before)) && [[ -z "$ROOT" ]]; then
    sysctl -p "$SYSCTL_FILE" >/dev/null
  fi
fi

if [[ -n "$URL" ]]; then
  wait_for "$URL"
fi
converge k3s server
