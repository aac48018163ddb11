#!/usr/bin/env bash
# Fuzz gen with cargo-fuzz (libFuzzer + AddressSanitizer), time-bounded.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET]
#   SECONDS  wall time per target (default 60)
#   TARGET   catalog (default), policy, or all (each target SECONDS)
# FUZZ_ARGS adds libFuzzer flags, e.g. FUZZ_ARGS="-fork=1 -ignore_crashes=1"
# to keep going after a crash (each one still lands in fuzz/artifacts/).
# Installs cargo-fuzz if missing; the stable toolchain runs it with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags). Builds the seed corpus in
# fuzz/corpus/<target>/ (git-ignored) from the committed catalogs; crashes
# land in fuzz/artifacts/<target>/. Minimize one and keep it in
# tests/fuzz/regressions/ (tests/fuzz_regressions.rs runs them all):
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin catalog fuzz/artifacts/catalog/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
target="${2:-catalog}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

seed() {
  local t="$1" dir="fuzz/corpus/$1" f
  mkdir -p "$dir"
  if [[ "$t" == catalog ]]; then
    for f in examples/*/catalog.yaml golden/*/catalog.yaml tests/bad/*.yaml tests/fuzz/regressions/*; do
      [[ -f "$f" ]] && cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c1-16)"
    done
  else
    for f in tests/fuzz/policy-seeds/* tests/fuzz/regressions/policy-*; do
      [[ -f "$f" ]] && cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c1-16)"
    done
  fi
  return 0
}

run() {
  local t="$1"
  seed "$t"
  mkdir -p "fuzz/artifacts/$t"
  cargo fuzz run "$t" "$PWD/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -dict="$PWD/fuzz/$t.dict" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_ARGS:-}
}

case "$target" in
  catalog | policy) run "$target" ;;
  all) run catalog; run policy ;;
  *) echo "usage: bash scripts/fuzz.sh [SECONDS] [catalog|policy|all]" >&2; exit 2 ;;
esac
