# --- main (blueprints/k3s/fetch-kubeconfig.sh) ---

usage() {
  cat <<USAGE
Fetch the kubeconfig of $PROJECT from a K3s server, point it at the server's
address and name its context $PROJECT.

  $0 SERVER [--via BASTION] [--user USER] [--out FILE]

SERVER        the server's address as this machine reaches it (in the API certificate)
--via BASTION jump through the bastion host (ssh -J)
--user USER   SSH user (default: ubuntu)
--out FILE    where to write (default: ~/.kube/$PROJECT.yaml), mode 0600
USAGE
}

SERVER="" VIA="" SSH_USER=ubuntu OUT="$HOME/.kube/$PROJECT.yaml"
while (($#)); do
  case "$1" in
    --via) VIA="${2:?--via needs a host}"; shift ;;
    --user) SSH_USER="${2:?--user needs a name}"; shift ;;
    --out) OUT="${2:?--out needs a path}"; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown argument: $1" ;;
    *) SERVER="$1" ;;
  esac
  shift
done
[[ -n "$SERVER" ]] || { usage >&2; die "name the server"; }
valid_host "$SERVER" || die "not a host name or address: $SERVER"
[[ "$SSH_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "not a user name: $SSH_USER"
ssh_args=()
if [[ -n "$VIA" ]]; then
  ssh_args+=(-J "$VIA")
fi

new_tmp RAW
ssh "${ssh_args[@]}" "$SSH_USER@$SERVER" sudo cat /etc/rancher/k3s/k3s.yaml >"$RAW" ||
  die "could not read /etc/rancher/k3s/k3s.yaml on $SERVER"
mkdir -p -- "$(dirname -- "$OUT")"
place 0600 "$OUT" < <(sed -e "s#https://127\.0\.0\.1:6443#https://$SERVER:6443#" \
  -e "s/^\(\s*\(name\|cluster\|user\|current-context\)\): default$/\1: $PROJECT/" "$RAW")
log "kubeconfig in $OUT; try: KUBECONFIG=$OUT kubectl --context $PROJECT get nodes"
