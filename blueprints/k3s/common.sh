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

# verify_sha256 FILE HASH WHAT: stop unless FILE has SHA-256 HASH.
verify_sha256() {
  printf '%s  %s\n' "$2" "$1" | sha256sum -c - >/dev/null 2>&1 ||
    die "$3 $1 does not match sha256 $2; refusing to use it"
}

# verify_airgap_binary: the k3s binary of an air-gapped install against the
# release's sha256sum file (shipped with the air-gap bundle).
verify_airgap_binary() {
  local arch name sums want
  arch="${GEN_K3S_ARCH:-$(uname -m)}"
  case "$arch" in
    x86_64 | amd64) name=k3s sums=sha256sum-amd64.txt ;;
    aarch64 | arm64) name=k3s-arm64 sums=sha256sum-arm64.txt ;;
    armv7l | arm) name=k3s-armhf sums=sha256sum-arm.txt ;;
    *) die "air-gapped install: no K3s binary for architecture $arch" ;;
  esac
  sums="${K3S_SHA256SUMS:-$ROOT/usr/local/share/k3s/$sums}"
  [[ -r "$sums" ]] || die "air-gapped install: put $(basename -- "$sums") of K3s $K3S_VERSION (a release asset) at $sums (or set K3S_SHA256SUMS) to verify the k3s binary"
  want="$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1; exit }' "$sums")"
  [[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "air-gapped install: $sums lists no sha256 for $name"
  verify_sha256 "$ROOT/usr/local/bin/k3s" "$want" "the air-gapped k3s binary"
}

# run_installer ROLE: the K3s installer of the pinned release, verified
# against the hash gen pins for it (or K3S_INSTALLER_SHA256) before it runs.
run_installer() {
  local installer want="${K3S_INSTALLER_SHA256:-${INSTALLER_SHA256:-}}"
  [[ -n "$want" ]] || die "this gen pins no sha256 for the installer of K3s $K3S_VERSION: set K3S_INSTALLER_SHA256 to the sha256 of install.sh at tag $K3S_VERSION (git show '$K3S_VERSION:install.sh' | sha256sum, in a k3s-io/k3s clone)"
  if [[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" == true ]]; then
    installer="${K3S_INSTALLER:-$ROOT/usr/local/share/k3s/install.sh}"
    [[ -r "$installer" ]] || die "air-gapped install: put install.sh of K3s $K3S_VERSION at $installer (or set K3S_INSTALLER), the k3s binary in /usr/local/bin and the images in /var/lib/rancher/k3s/agent/images/"
    verify_airgap_binary
  else
    new_tmp installer
    curl -sfL --retry 3 -o "$installer" \
      "${K3S_INSTALLER_URL:-https://raw.githubusercontent.com/k3s-io/k3s/$K3S_VERSION/install.sh}" ||
      die "could not download the K3s installer"
  fi
  verify_sha256 "$installer" "$want" "the K3s installer"
  INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC="$1" sh "$installer"
}

# release_key VERSION: "MAJOR MINOR PATCH RC K3S" of a K3s release name
# (RC 9999 for a final release, which comes after its candidates); fails
# for anything else.
release_key() {
  [[ "$1" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)(-rc([0-9]+))?\+k3s([0-9]+)$ ]] || return 1
  printf '%s %s %s %s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
    "${BASH_REMATCH[3]}" "${BASH_REMATCH[5]:-9999}" "${BASH_REMATCH[6]}"
}

# is_downgrade FROM TO: status 0 when going from release FROM to TO is a
# downgrade, 1 when not, 2 when either is not a K3s release name.
is_downgrade() {
  local from to i
  from="$(release_key "$1")" && to="$(release_key "$2")" || return 2
  read -ra from <<<"$from"
  read -ra to <<<"$to"
  for i in 0 1 2 3 4; do
    ((10#${to[i]} < 10#${from[i]})) && return 0
    ((10#${to[i]} > 10#${from[i]})) && return 1
  done
  return 1
}

# refuse_downgrade INSTALLED: stop before replacing a newer K3s by this
# script's release (K3s does not support downgrades), unless
# GEN_K3S_ALLOW_DOWNGRADE=1.
refuse_downgrade() {
  local rc=0
  is_downgrade "$1" "$K3S_VERSION" || rc=$?
  ((rc != 1)) || return 0
  if [[ "${GEN_K3S_ALLOW_DOWNGRADE:-}" == 1 ]]; then
    log "GEN_K3S_ALLOW_DOWNGRADE=1: replacing K3s $1 by $K3S_VERSION"
    return 0
  fi
  if ((rc == 0)); then
    die "K3s $1 is installed, newer than this script's $K3S_VERSION, and K3s does not support downgrades: run a script generated for $1 or newer (raise cluster.k3s.version and gen build), or set GEN_K3S_ALLOW_DOWNGRADE=1 to downgrade anyway"
  fi
  die "cannot tell whether K3s $1 (installed) is newer than $K3S_VERSION: set GEN_K3S_ALLOW_DOWNGRADE=1 to install $K3S_VERSION anyway"
}

# install_notes: the end of the install scripts' --help.
install_notes() {
  cat <<NOTES
Air-gapped: set INSTALL_K3S_SKIP_DOWNLOAD=true with the binary, images,
install.sh and the release's sha256sum-<arch>.txt in place (K3S_INSTALLER
and K3S_SHA256SUMS name the last two); the binary is checked against it.

The installer runs only when its sha256 is the one gen pins for K3s
$K3S_VERSION (or K3S_INSTALLER_SHA256). An installed K3s newer than
$K3S_VERSION is not downgraded unless GEN_K3S_ALLOW_DOWNGRADE=1.
NOTES
}

# converge SERVICE ROLE: install the pinned release, or restart when the
# configuration changed (the installer does not notice config.yaml changes).
converge() {
  local have
  have="$(installed_version)"
  if [[ "$have" != "$K3S_VERSION" ]]; then
    if [[ -n "$have" ]]; then
      refuse_downgrade "$have"
    fi
    log "installing K3s $K3S_VERSION (found: ${have:-none})"
    run_installer "$2"
  elif ((CHANGED)); then
    log "configuration changed: restarting $1"
    systemctl restart "$1"
  else
    log "K3s $K3S_VERSION is installed and configured; nothing to do"
  fi
}
