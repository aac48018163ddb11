# --- shared by the gen K3s scripts (blueprints/k3s/common.sh) ---

# Every path written is under GEN_K3S_ROOT (empty in production; a
# directory for tests and image builds).
ROOT="${GEN_K3S_ROOT:-}"
CONF_DIR="$ROOT/etc/rancher/k3s"
CHANGED=0
TMP_FILES=()

cleanup() {
  if ((${#TMP_FILES[@]})); then
    rm -f -- "${TMP_FILES[@]}"
  fi
}
trap cleanup EXIT

log() { printf 'gen-k3s: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# new_tmp VAR: a private (0600) temporary file, removed on exit.
new_tmp() {
  local t
  t="$(mktemp)"
  TMP_FILES+=("$t")
  printf -v "$1" '%s' "$t"
}

# place MODE PATH < CONTENT: write PATH atomically with MODE, only when its
# content or mode differs; sets CHANGED=1 when it wrote.
place() {
  local mode="$1" path="$2" tmp
  mkdir -p -- "$(dirname -- "$path")"
  tmp="$(mktemp "$path.XXXXXX")"
  TMP_FILES+=("$tmp")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$path" ]] && cmp -s -- "$tmp" "$path" &&
    [[ "$(stat -c %a -- "$path")" == "${mode#0}" ]]; then
    rm -f -- "$tmp"
    return 0
  fi
  mv -f -- "$tmp" "$path"
  CHANGED=1
  log "wrote ${path#"$ROOT"}"
}

# valid_host NAME: a DNS name, IPv4 address or [IPv6] address, nothing else.
valid_host() {
  [[ "$1" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ || "$1" =~ ^\[[0-9A-Fa-f:.]+\]$ ]]
}

# ssm_get NAME OUT: read a SecureString parameter into the file OUT. The
# value goes from the aws CLI's stdout to a 0600 file, never into argv.
ssm_get() {
  command -v aws >/dev/null || die "the aws CLI is needed to read SSM parameter $1"
  local region=()
  if [[ -n "${AWS_REGION:-$DEFAULT_REGION}" ]]; then
    region=(--region "${AWS_REGION:-$DEFAULT_REGION}")
  fi
  aws ssm get-parameter "${region[@]}" --name "$1" --with-decryption \
    --query Parameter.Value --output text >"$2" ||
    die "could not read SSM parameter $1"
}

# install_token MODE: put the cluster token in $CONF_DIR/token (0600) from
# --token-file or --token-ssm; a first server generates one when none exists.
install_token() {
  local token="$CONF_DIR/token" tmp
  if [[ -n "$TOKEN_FILE" ]]; then
    [[ -r "$TOKEN_FILE" ]] || die "cannot read token file $TOKEN_FILE"
    place 0600 "$token" <"$TOKEN_FILE"
  elif [[ -n "$TOKEN_SSM" ]]; then
    new_tmp tmp
    ssm_get "$TOKEN_SSM" "$tmp"
    place 0600 "$token" <"$tmp"
  elif [[ -s "$token" ]]; then
    chmod 0600 "$token"
  elif [[ "$1" == first ]]; then
    new_tmp tmp
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp"
    place 0600 "$token" <"$tmp"
    log "generated the cluster token in /etc/rancher/k3s/token; keep it in SSM:"
    log "  aws ssm put-parameter --name $DEFAULT_TOKEN_SSM --type SecureString --value file:///etc/rancher/k3s/token"
  else
    die "joining needs the cluster token: --token-file PATH or --token-ssm NAME"
  fi
  [[ -s "$token" ]] || die "the cluster token is empty"
}

# server_url_from ADDR|'': the supervisor URL of the first server, from an
# address or from --server-ssm.
server_url() {
  local addr="$1" tmp
  if [[ -z "$addr" && -n "$SERVER_SSM" ]]; then
    new_tmp tmp
    ssm_get "$SERVER_SSM" "$tmp"
    addr="$(tr -d ' \n' <"$tmp")"
    addr="${addr#https://}"
    addr="${addr%:6443}"
  fi
  [[ -n "$addr" ]] || die "name the first server: --server ADDRESS or --server-ssm NAME"
  valid_host "$addr" || die "not a host name or address: $addr"
  printf 'https://%s:6443' "$addr"
}

# wait_for URL: until the server's supervisor answers (agents and joining
# servers must not start before it does).
wait_for() {
  local tries=$((${GEN_K3S_WAIT_SECONDS:-600} / 5))
  until curl -ksf --max-time 5 -o /dev/null "$1/ping"; do
    ((tries-- > 0)) || die "no answer from $1 (is 6443/tcp open from this node?)"
    sleep 5
  done
}

installed_version() {
  local v=""
  if command -v k3s >/dev/null; then
    v="$(k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }')" || v=""
  fi
  printf '%s' "$v"
}

# run_installer ROLE: the K3s installer of the pinned release.
run_installer() {
  local installer
  if [[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" == true ]]; then
    installer="${K3S_INSTALLER:-$ROOT/usr/local/share/k3s/install.sh}"
    [[ -r "$installer" ]] || die "air-gapped install: put install.sh of K3s $K3S_VERSION at $installer (or set K3S_INSTALLER), the k3s binary in /usr/local/bin and the images in /var/lib/rancher/k3s/agent/images/"
  else
    new_tmp installer
    curl -sfL --retry 3 -o "$installer" \
      "${K3S_INSTALLER_URL:-https://raw.githubusercontent.com/k3s-io/k3s/$K3S_VERSION/install.sh}" ||
      die "could not download the K3s installer"
  fi
  if [[ -n "${K3S_INSTALLER_SHA256:-}" ]]; then
    printf '%s  %s\n' "$K3S_INSTALLER_SHA256" "$installer" | sha256sum -c - >/dev/null ||
      die "the K3s installer does not match K3S_INSTALLER_SHA256"
  fi
  INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC="$1" sh "$installer"
}

# converge SERVICE ROLE: install the pinned release, or restart when the
# configuration changed (the installer does not notice config.yaml changes).
converge() {
  local have
  have="$(installed_version)"
  if [[ "$have" != "$K3S_VERSION" ]]; then
    log "installing K3s $K3S_VERSION (found: ${have:-none})"
    run_installer "$2"
  elif ((CHANGED)); then
    log "configuration changed: restarting $1"
    systemctl restart "$1"
  else
    log "K3s $K3S_VERSION is installed and configured; nothing to do"
  fi
}
