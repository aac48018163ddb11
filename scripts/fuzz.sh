#!/usr/bin/env bash
# Fuzz gen with cargo-fuzz (libFuzzer), time-bounded. The properties each
# input must keep are in fuzz/harness.rs.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET]
#   SECONDS  wall time per target (default 60)
#   TARGET   catalog (default), policy, or all (each target SECONDS)
# Environment:
#   FUZZ_ARGS           more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1"
#                       to keep going after a crash (each still lands in
#                       fuzz/artifacts/)
#   FUZZ_SANITIZER      address (default) or none: gen has no unsafe code,
#                       and without ASan the first build is ~2x faster
#   FUZZ_CODEGEN_UNITS  1 (default: fastest fuzzing) or e.g. 16 (faster
#                       build, what scripts/test.sh uses in CI)
# Installs cargo-fuzz (pinned) into ./.tools if no cargo-fuzz is found; the
# stable toolchain runs it with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z
# flags). Exits non-zero when an input breaks a property. Builds the seed corpus in
# fuzz/corpus/<target>/ (git-ignored) from the committed catalogs; crashes
# land in fuzz/artifacts/<target>/. Minimize one and keep it in
# tests/fuzz/regressions/ (tests/fuzz_regressions.rs runs them all):
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin catalog fuzz/artifacts/catalog/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
target="${2:-catalog}"
sanitizer="${FUZZ_SANITIZER:-address}"
cgu="${FUZZ_CODEGEN_UNITS:-1}"
export RUSTC_BOOTSTRAP=1
export PATH="$PWD/.tools/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2 --root "$PWD/.tools"
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
  local extra=()
  read -r -a extra <<<"${FUZZ_ARGS:-}"
  cargo fuzz run --sanitizer "$sanitizer" --codegen-units "$cgu" "$t" "$PWD/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -dict="$PWD/fuzz/$t.dict" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${extra[@]+"${extra[@]}"}
}

case "$target" in
  catalog | policy) run "$target" ;;
  all) run catalog; run policy ;;
  *) echo "usage: bash scripts/fuzz.sh [SECONDS] [catalog|policy|all]" >&2; exit 2 ;;
esac
