# gen as a container image, for CI systems that run steps in containers:
#   docker run --rm -v "$PWD:/work" ghcr.io/your-org/gen:0.1.0 build --check
# Two stages: a Rust image compiles gen statically (no shared library, the
# same flags as scripts/dist.sh), and the image keeps only that binary on
# distroless/static (no shell, no package manager), running as a non-root
# user. Built and pushed for linux/amd64 and linux/arm64 by
# .github/workflows/release.yml; linted by hadolint in tests/dist.rs.

FROM rust:1.95-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The commit for `gen --version` (.git is not in the build context).
ARG GEN_BUILD_COMMIT=unknown
COPY . .
# crt-static needs an explicit --target (proc macros stay dynamic).
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
    && RUSTFLAGS="-C target-feature=+crt-static" \
       cargo build --release --locked --bin gen --target "$target" \
    && cp "target/$target/release/gen" /gen \
    && if readelf -d /gen | grep NEEDED; then echo "gen is not static" >&2; exit 1; fi \
    && /gen --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /gen /usr/local/bin/gen
# distroless' nonroot user, by number so that runtimes can check it.
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/gen"]
CMD ["--help"]
