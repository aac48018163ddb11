#!/usr/bin/env bash
# Builds gen's release artifacts for one target, with ONE cargo release build:
# maturin compiles gen (statically linked on Linux) and wraps it in a wheel
# (pyproject.toml, `bindings = "bin"`); the same binary is then checked and
# packed with its sha256 checksum.
#
# Usage: bash scripts/dist.sh [TARGET [OUT]]
#   TARGET  a Rust target triple (default: this machine's)
#   OUT     where the artifacts go (default: target/dist)
# Writes, in OUT:
#   gen-<version>-<target>.tar.gz          gen, README.md, CHANGELOG.md
#   gen-<version>-<target>.tar.gz.sha256   in `sha256sum` format
#   gen_catalog-<version>-...whl           the wheel (PyPI: gen-catalog)
# Used by .github/workflows/release.yml for every target and by
# scripts/test.sh (CI) for this machine's; tests/dist.rs checks the result.
# maturin and hadolint come from PyPI into ./.venv-dist (pinned in
# scripts/requirements-dist.txt); no Rust target or toolchain is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

host="$(rustc -vV | sed -n 's/^host: //p')"
target="${1:-$host}"
out="${2:-target/dist}"
# Its own target dir: the static (crt-static) flags would otherwise rebuild
# target/release's dependencies, and the other way round.
export CARGO_TARGET_DIR="${GEN_DIST_TARGET_DIR:-$PWD/target/dist-build}"

venv=.venv-dist
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-dist.txt

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
case "$target" in
  *-linux-gnu)
    # Static glibc: the binary needs no shared library, so it runs on any
    # Linux of its architecture (old glibc, Alpine, distroless, scratch).
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
    ;;
esac

mkdir -p "$out"
rm -f "$out"/gen-"$version"-"$target".tar.gz* "$out"/gen_catalog-"$version"-*.whl
echo "== dist: maturin build --release --target $target"
"$venv/bin/maturin" build --release --locked --target "$target" --out "$out"
bin="$CARGO_TARGET_DIR/$target/release/gen"

if [[ "$target" == *-linux-* ]]; then
  # No program interpreter and no NEEDED entry: nothing to load at run time.
  elf="$(readelf -ld "$bin")"
  if grep -q -e 'Requesting program interpreter' -e '(NEEDED)' <<<"$elf"; then
    echo "$elf" >&2
    echo "dist: $bin is dynamically linked" >&2
    exit 1
  fi
fi

# The binary says the version of Cargo.toml (the release tag without its v)
# and the commit it was built from.
commit="${GEN_BUILD_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
if [[ "$target" == "$host" ]]; then
  said="$("$bin" --version)"
  if [[ "$said" != "gen $version (commit $commit)" ]]; then
    echo "dist: $bin --version says '$said', expected 'gen $version (commit $commit)'" >&2
    exit 1
  fi
fi

# A reproducible archive: fixed order, owner and time (the commit's).
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$bin" README.md CHANGELOG.md "$stage/"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
archive="gen-$version-$target.tar.gz"
tar_flags=(--owner=0 --group=0 --numeric-owner --mtime="@$epoch" --sort=name)
if ! tar --version 2>/dev/null | grep -q GNU; then
  tar_flags=() # bsdtar (macOS): no such flags; the archive is still valid
fi
tar -C "$stage" "${tar_flags[@]}" -cf - gen README.md CHANGELOG.md | gzip -n -9 >"$out/$archive"
if command -v sha256sum >/dev/null; then
  (cd "$out" && sha256sum "$archive" >"$archive.sha256")
else
  (cd "$out" && shasum -a 256 "$archive" >"$archive.sha256")
fi
echo "dist: $out/$archive ($(cut -d' ' -f1 "$out/$archive.sha256"))"
ls "$out"/gen_catalog-"$version"-*.whl
