#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the Python peer tools
# into ./.venv, then runs the CI gates (fmt, clippy -D warnings) and every test.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust from https://rustup.rs" >&2
  exit 2
fi

# Peer tools that check gen's outputs, pinned, in a local venv.
VENV=.venv
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-peers.txt
# checkov clashes with python-hcl2, so it gets a venv of its own.
CHECKOV_VENV=.venv-checkov
if [[ ! -x "$CHECKOV_VENV/bin/python" ]]; then
  python3 -m venv "$CHECKOV_VENV"
fi
"$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-checkov.txt

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
GEN_VENV="$PWD/$VENV" GEN_CHECKOV_VENV="$PWD/$CHECKOV_VENV" GEN_REQUIRE_PEERS=1 cargo test --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
