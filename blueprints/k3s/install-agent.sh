# --- main (blueprints/k3s/install-agent.sh) ---

SYSCTL_FILE="$ROOT/etc/sysctl.d/90-k3s-cis.conf"

usage() {
  cat <<USAGE
Install or update a K3s agent of $PROJECT (K3s $K3S_VERSION). Idempotent:
a second run changes nothing; K3s restarts only when its configuration changed.

  sudo $0 (--server ADDRESS | --server-ssm NAME) (--token-file PATH | --token-ssm NAME)

--server ADDRESS  a server's address (waits until it answers on 6443)
--server-ssm NAME read the server address from SSM parameter NAME
--token-file PATH the cluster token, read from a file (never pass it as an argument)
--token-ssm NAME  the cluster token, from SSM SecureString parameter NAME (e.g. $DEFAULT_TOKEN_SSM)

USAGE
  install_notes
}

SERVER="" SERVER_SSM="" TOKEN_FILE="" TOKEN_SSM=""
while (($#)); do
  case "$1" in
    --server) SERVER="${2:?--server needs an address}"; shift ;;
    --server-ssm) SERVER_SSM="${2:?--server-ssm needs a parameter name}"; shift ;;
    --token-file) TOKEN_FILE="${2:?--token-file needs a path}"; shift ;;
    --token-ssm) TOKEN_SSM="${2:?--token-ssm needs a parameter name}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ -n "$ROOT" || "$(id -u)" == 0 ]] || die "run as root (sudo)"

URL="$(server_url "$SERVER")"
install_token join

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
  printf 'server: "%s"\n' "$URL"
} >"$CONFIG"
place 0600 "$CONF_DIR/config.yaml" <"$CONFIG"

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

wait_for "$URL"
converge k3s-agent agent
