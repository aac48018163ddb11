#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the Python peer tools
# into ./.venv, builds hclfmt into ./.tools and the release artifacts into
# target/dist (scripts/dist.sh), then runs the CI gates (fmt, clippy
# -D warnings) and every test.
# Usage: bash scripts/test.sh
# In CI (CI=true), or whenever GEN_FUZZ_SECONDS is set, it then fuzzes each
# cargo-fuzz target for GEN_FUZZ_SECONDS (default 30; 0 skips) with
# scripts/fuzz.sh, which installs cargo-fuzz into ./.tools on first use.
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
# AWS's IAM action database, for the IAM policies gen writes.
IAM_VENV=.venv-iam
if [[ ! -x "$IAM_VENV/bin/python" ]]; then
  python3 -m venv "$IAM_VENV"
fi
"$IAM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-iam.txt
# HCL's own formatter (what terraform fmt is built on), from Debian's
# packages into ./.tools: terraform is on none of the reachable registries.
bash scripts/hclfmt.sh
# promtool and amtool, the real checks of the monitoring output (rules,
# rule unit tests, the Alertmanager configuration), into ./.tools/bin.
bash scripts/prometheus-tools.sh

# The real control plane the apply tests run on (kube-apiserver,
# kube-controller-manager, etcd, kubectl, helm), built from their Go modules
# into ./.tools/bin once; later runs reuse it while the pins are unchanged.
echo "== control plane binaries (scripts/testcluster.sh build)"
bash scripts/testcluster.sh build

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
# The release artifacts of this machine's target (the static binary in its
# archive with the checksum, the wheel), as the release workflow builds
# them: tests/dist.rs and tests/precommit.rs install and run them.
echo "== release artifacts (scripts/dist.sh)"
bash scripts/dist.sh
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
GEN_VENV="$PWD/$VENV" GEN_CHECKOV_VENV="$PWD/$CHECKOV_VENV" GEN_IAM_VENV="$PWD/$IAM_VENV" GEN_DIST="$PWD/target/dist" GEN_REQUIRE_PEERS=1 cargo test --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
if [[ "$status" -ne 0 ]]; then
  exit "$status"
fi

# The shortened, time-bounded fuzz run (the full length is in BENCHMARKS.md).
# Without ASan and with 16 codegen units the first build takes ~5 min
# instead of ~9; gen has no unsafe code for ASan to watch.
fuzz_seconds="${GEN_FUZZ_SECONDS:-}"
if [[ -z "$fuzz_seconds" && "${CI:-}" == true ]]; then
  fuzz_seconds=30
fi
if [[ -n "$fuzz_seconds" && "$fuzz_seconds" != 0 ]]; then
  echo "== fuzz: ${fuzz_seconds}s per target"
  fuzz_log="$(mktemp)"
  trap 'rm -f "$log" "$fuzz_log"' EXIT
  for target in catalog policy; do
    if ! FUZZ_SANITIZER=none FUZZ_CODEGEN_UNITS=16 bash scripts/fuzz.sh "$fuzz_seconds" "$target" >"$fuzz_log" 2>&1; then
      tail -n 60 "$fuzz_log" >&2
      echo "fuzz: target $target failed; the input is in fuzz/artifacts/$target/" >&2
      exit 1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$fuzz_log" | tail -n 1)"
    echo "fuzz: $target passed, ${runs:-?} inputs"
  done
fi
