#!/usr/bin/env bash
# Build hclfmt, HCL's own formatter (hclwrite.Format, the formatter
# `terraform fmt` is built on), into ./.tools/bin/hclfmt for the tests.
# Terraform itself is on none of the registries this project may use; HCL's
# Go source and a Go toolchain are Debian packages. They are fetched with
# `apt-get download` and unpacked into a temporary directory (only the
# static binary is kept): nothing is installed system-wide and no root is
# needed.
# Usage: bash scripts/hclfmt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.tools"
if [[ -x "$tools/bin/hclfmt" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "error: building hclfmt needs apt-get and dpkg-deb (Debian or Ubuntu)" >&2
  exit 2
fi

# The formatter's package and Go, with every Go package they depend on
# (the closure is asked of apt, so it fits the distribution's versions:
# Debian bookworm has HCL 2.14 and Go 1.19).
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances golang-github-hashicorp-hcl-v2-dev golang-go |
    grep -E '^golang-' | sort -u
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  # apt-get download reads the package lists; a machine that never ran
  # `apt-get update` has none.
  mapfile -t packages < <(closure)
  if [[ "${#packages[@]}" -lt 3 ]] || ! apt-get download "${packages[@]}" >/dev/null 2>apt.log; then
    if [[ "$(id -u)" == 0 ]]; then
      apt-get update -qq >/dev/null
      mapfile -t packages < <(closure)
      apt-get download "${packages[@]}" >/dev/null 2>apt.log
    else
      cat apt.log >&2
      echo "error: apt-get download failed; run \`sudo apt-get update\` and retry" >&2
      exit 2
    fi
  fi
  mkdir root
  for deb in ./*.deb; do
    dpkg-deb -x "$deb" root
  done
)
hcl_deb="$(basename "$work"/golang-github-hashicorp-hcl-v2-dev_*.deb)"
hcl_version="$(cut -d_ -f2 <<<"$hcl_deb")"
mkdir -p "$tools/bin"
GOROOT="$(printf '%s\n' "$work"/root/usr/lib/go-*/bin/go | sort -V | tail -n 1)"
export GOROOT="${GOROOT%/bin/go}"
export GOPATH="$work/root/usr/share/gocode"
export GO111MODULE=off GOFLAGS='' GOTOOLCHAIN=local GOCACHE="$work/cache"
"$GOROOT/bin/go" build -o "$tools/bin/hclfmt.tmp" github.com/hashicorp/hcl/v2/cmd/hclfmt
mv "$tools/bin/hclfmt.tmp" "$tools/bin/hclfmt"
echo "built $tools/bin/hclfmt (HCL $hcl_version, Debian)"
