#!/usr/bin/env bash
# Install promtool and amtool into ./.tools/bin for the tests that run the
# real Prometheus and Alertmanager checks on gen's monitoring output
# (`promtool check rules`, `promtool test rules`, `amtool check-config`).
# Both are pinned here, and only here:
# - promtool from Debian's `prometheus` package, fetched with
#   `apt-get download` and unpacked into a temporary directory (only the
#   binary is kept; nothing is installed system-wide);
# - amtool built from the Alertmanager Go module (Debian bookworm's 0.25
#   does not know `url_file` in a webhook receiver, which gen emits).
# A later run does nothing while both binaries are there with these pins.
# Usage: bash scripts/prometheus-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS_DEBIAN_VERSION=2.42.0+ds-5+deb12u1
ALERTMANAGER_MODULE_VERSION=v0.35.0

tools="$PWD/.tools"
pins="prometheus=$PROMETHEUS_DEBIAN_VERSION alertmanager=$ALERTMANAGER_MODULE_VERSION"
stamp="$tools/bin/.prometheus-tools"
if [[ -x "$tools/bin/promtool" && -x "$tools/bin/amtool" && "$(cat "$stamp" 2>/dev/null)" == "$pins" ]]; then
  exit 0
fi
for cmd in apt-get dpkg-deb go; do
  if ! command -v "$cmd" >/dev/null; then
    echo "error: installing promtool and amtool needs $cmd (Debian or Ubuntu with Go)" >&2
    exit 2
  fi
done
mkdir -p "$tools/bin"
rm -f "$stamp"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

echo "== promtool (Debian prometheus $PROMETHEUS_DEBIAN_VERSION)"
(
  cd "$work"
  # apt-get download reads the package lists; a machine that never ran
  # `apt-get update` has none.
  if ! apt-get download "prometheus=$PROMETHEUS_DEBIAN_VERSION" >/dev/null 2>apt.log; then
    if [[ "$(id -u)" == 0 ]]; then
      apt-get update -qq >/dev/null
      apt-get download "prometheus=$PROMETHEUS_DEBIAN_VERSION" >/dev/null 2>apt.log || {
        cat apt.log >&2
        echo "error: Debian no longer has prometheus $PROMETHEUS_DEBIAN_VERSION; update the pin in scripts/prometheus-tools.sh" >&2
        exit 2
      }
    else
      cat apt.log >&2
      echo "error: apt-get download failed; run \`sudo apt-get update\` and retry" >&2
      exit 2
    fi
  fi
  dpkg-deb -x ./prometheus_*.deb root
)
install -m 0755 "$work/root/usr/bin/promtool" "$tools/bin/promtool"

echo "== amtool (github.com/prometheus/alertmanager $ALERTMANAGER_MODULE_VERSION, built)"
GOBIN="$work/bin" GOMODCACHE="$work/mod" GOCACHE="$work/cache" GOFLAGS=-buildvcs=false \
  go install "github.com/prometheus/alertmanager/cmd/amtool@$ALERTMANAGER_MODULE_VERSION"
install -m 0755 "$work/bin/amtool" "$tools/bin/amtool"

echo "$pins" >"$stamp"
"$tools/bin/promtool" --version | head -n 1
echo "installed $tools/bin/promtool and $tools/bin/amtool ($pins)"
