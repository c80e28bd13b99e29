# syntax=docker/dockerfile:1
#
# Image of the source-atlassian-admin connector, for any platform that speaks the Airbyte protocol.
#   docker build -t airbyte/source-atlassian-admin:0.4.0 .
#   docker run --rm airbyte/source-atlassian-admin:0.4.0 spec
#   docker run --rm -v "$PWD/secrets:/secrets" airbyte/source-atlassian-admin:0.4.0 check --config /secrets/config.json
#
# The conventions this file must keep (ENTRYPOINT == AIRBYTE_ENTRYPOINT, labels == metadata.yaml,
# non-root `airbyte` user, writable /airbyte, --locked release build) are checked by
# integration_tests/packaging.rs, since CI has no Docker engine. CI (.ci/run) and the demo build
# the binary this image carries with the very same cargo command, on the same target, and CI runs
# it through spec/check/discover/read under PyAirbyte.

# ---- build ------------------------------------------------------------------------------------
# Target: x86_64-unknown-linux-gnu (glibc), the host target of this amd64 builder. Not musl: a
# static musl binary would make a smaller image, but the musl target cannot be installed on our
# CI machines, so CI could not build and test the image's binary "the same way". The toolchain
# tag follows the one CI runs (packaging.rs checks it against `rustc --version`).
FROM --platform=linux/amd64 rust:1.95-bookworm AS builder
WORKDIR /src
# Everything the workspace needs to resolve (the sandbox is a workspace member) and the build
# embeds (schemas/). .dockerignore keeps target/, output/ and other local state out.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY schemas ./schemas
COPY sandbox ./sandbox
COPY integration_tests ./integration_tests
# The whole workspace, as the demo and CI build it (one feature set; the sandbox is not shipped).
# The release profile has no debuginfo and is stripped: the image carries a small binary.
RUN cargo build --release --locked --workspace

# ---- runtime ----------------------------------------------------------------------------------
# Same Debian release (glibc) as the builder. No extra packages: TLS uses rustls with built-in
# webpki roots, so not even ca-certificates is needed.
FROM --platform=linux/amd64 debian:bookworm-slim
RUN groupadd --system --gid 1000 airbyte \
 && useradd --system --uid 1000 --gid airbyte --home-dir /airbyte --shell /usr/sbin/nologin airbyte \
 && mkdir -p /airbyte/bin \
 && chown -R airbyte:airbyte /airbyte
COPY --from=builder /src/target/release/source-atlassian-admin /airbyte/bin/source-atlassian-admin

ENV AIRBYTE_ENTRYPOINT="/airbyte/bin/source-atlassian-admin"
ENTRYPOINT ["/airbyte/bin/source-atlassian-admin"]

LABEL io.airbyte.name="airbyte/source-atlassian-admin" \
      io.airbyte.version="0.4.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.description="Airbyte source for the Atlassian Cloud Organizations (Admin) REST API"

WORKDIR /airbyte
# uid 1000, non-root.
USER airbyte
